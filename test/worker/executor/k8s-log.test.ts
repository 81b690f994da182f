import t from 'tap';
import { filterLog, formatLogLine, parseK8sLog } from '../../../worker/executor/k8s-log.js';

const text = [
  '2026-11-23T09:18:05.492304741+00:00 stdout F hello',
  '2026-11-23T09:18:06.000000000+00:00 stderr P par',
  '2026-11-23T09:18:06.100000000+00:00 stdout F between',
  '2026-11-23T09:18:06.200000000+00:00 stderr F tial',
  'garbage line',
  '2026-11-23T09:18:07.000000000+00:00 stdout F  leading space kept',
  '',
].join('\n');

t.test('records become lines; partial records join their stream', async (t) => {
  const { lines, pending } = parseK8sLog(text);
  t.same(
    lines.map((l) => [l.stream, l.text]),
    [
      ['stdout', 'hello'],
      ['stdout', 'between'],
      ['stderr', 'partial'],
      ['stdout', ' leading space kept'],
    ],
  );
  t.equal(pending.size, 0);
  t.equal(lines[0]?.timeMs, Date.UTC(2026, 10, 23, 9, 18, 5, 492));
});

t.test('a partial record at the end is carried to the next read', async (t) => {
  const first = parseK8sLog('2026-11-23T09:18:06.000000000+00:00 stdout P abc\n');
  t.same(first.lines, []);
  const second = parseK8sLog('2026-11-23T09:18:06.100000000+00:00 stdout F def\n', first.pending);
  t.same(second.lines.map((l) => l.text), ['abcdef']);
});

t.test('--since and --tail', async (t) => {
  const { lines } = parseK8sLog(text);
  t.same(filterLog(lines, { tail: 2 }).map((l) => l.text), ['partial', ' leading space kept']);
  t.same(filterLog(lines, { sinceMs: Date.UTC(2026, 10, 23, 9, 18, 6, 150) }).map((l) => l.text), ['partial', ' leading space kept']);
  t.same(filterLog(lines, { tail: 0 }), []);
  t.equal(formatLogLine(lines[0]!, true), '2026-11-23T09:18:05.492304741+00:00 hello\n');
  t.equal(formatLogLine(lines[0]!, false), 'hello\n');
});
