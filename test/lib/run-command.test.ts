import t from 'tap';
import { runAttached, runCommand } from '../../lib/run-command.js';

t.test('runCommand returns what the command printed', async (t) => {
  const r = await runCommand('sh', ['-c', 'echo out; echo err >&2']);
  t.equal(r.stdout, 'out\n');
  t.equal(r.stderr, 'err\n');
});

t.test('input goes to the command on stdin', async (t) => {
  const r = await runCommand('cat', [], { input: 'hello\n' });
  t.equal(r.stdout, 'hello\n');
});

t.test('a failing command is an EXTERNAL error naming the command and its stderr', async (t) => {
  await t.rejects(runCommand('sh', ['-c', 'echo broken pipe dream >&2; exit 3']), {
    code: 'EEXTERNAL',
    message: /sh -c .*: broken pipe dream/,
  });
});

t.test('a missing tool is UNSUPPORTED and says to run setup', async (t) => {
  await t.rejects(runCommand('tsswarm-no-such-tool', []), { code: 'EUNSUPPORTED', message: /command not found \(run deploy\/setup\.sh\)/ });
});

t.test('a command over its time limit is killed', async (t) => {
  const start = Date.now();
  await t.rejects(runCommand('sleep', ['5'], { timeoutMs: 200 }), { code: 'EEXTERNAL' });
  t.ok(Date.now() - start < 2_000, 'it did not wait for the command');
});

t.test('runAttached resolves with the exit code, 128+n for a signal', async (t) => {
  t.equal(await runAttached('sh', ['-c', 'exit 5']), 5);
  t.equal(await runAttached('sh', ['-c', 'kill -TERM $$']), 128 + 15);
});
