import t from 'tap';
import { parseFormat, renderJson, renderTable } from '../../cli/output.js';

t.test('tables align columns to the widest cell, docker style', async (t) => {
  const out = renderTable(
    ['ID', 'NAME', 'REPLICAS'],
    [
      ['abc', 'web', '3/3'],
      ['defghi', 'x', '0/1'],
    ],
  );
  t.equal(out, 'ID       NAME   REPLICAS\nabc      web    3/3\ndefghi   x      0/1\n');
  t.equal(renderTable(['A', 'B'], []), 'A   B\n', 'headers alone when there are no rows');
});

t.test('--format takes table or json only', async (t) => {
  t.equal(parseFormat(undefined), 'table');
  t.equal(parseFormat('json'), 'json');
  t.throws(() => parseFormat('yaml'), { code: 'EINVAL' });
  t.equal(renderJson({ a: 1 }), '{\n  "a": 1\n}\n');
});
