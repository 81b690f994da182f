import t from 'tap';
import { type HistoryOp, checkLinearizable } from './linearizability.js';

const put = (key: string, value: string, call: number, ret: number): HistoryOp => ({
  key,
  input: { kind: 'put', value },
  output: undefined,
  call,
  ret,
});
const get = (key: string, value: string, call: number, ret: number): HistoryOp => ({
  key,
  input: { kind: 'get' },
  output: value,
  call,
  ret,
});

t.test('sequential history that reads its own writes is linearizable', async (t) => {
  t.ok(checkLinearizable([put('a', '1', 1, 2), get('a', '1', 3, 4), put('a', '2', 5, 6), get('a', '2', 7, 8)]).ok);
});

t.test('a stale read after a completed write is not linearizable', async (t) => {
  const r = checkLinearizable([put('a', '1', 1, 2), put('a', '2', 3, 4), get('a', '1', 5, 6)]);
  t.notOk(r.ok);
  t.match(r, { key: 'a', reason: 'not linearizable' });
});

t.test('concurrent writes may be seen in either order, but consistently', async (t) => {
  t.ok(checkLinearizable([put('a', '1', 1, 10), put('a', '2', 2, 9), get('a', '1', 11, 12), get('a', '1', 13, 14)]).ok);
  t.ok(checkLinearizable([put('a', '1', 1, 10), put('a', '2', 2, 9), get('a', '2', 11, 12)]).ok);
  const flip = checkLinearizable([put('a', '1', 1, 10), put('a', '2', 2, 9), get('a', '1', 11, 12), get('a', '2', 13, 14)]);
  t.notOk(flip.ok, 'values cannot flip back without a write');
});

t.test('a write with unknown outcome may take effect late, or never', async (t) => {
  const lost = put('a', '9', 1, Number.POSITIVE_INFINITY);
  t.ok(checkLinearizable([lost, get('a', '', 2, 3)]).ok, 'not yet applied');
  t.ok(checkLinearizable([lost, get('a', '', 2, 3), get('a', '9', 4, 5)]).ok, 'applied later');
  t.notOk(checkLinearizable([lost, get('a', '9', 2, 3), get('a', '', 4, 5)]).ok, 'cannot be undone');
});

t.test('keys are independent registers', async (t) => {
  t.ok(checkLinearizable([put('a', '1', 1, 2), put('b', '2', 3, 4), get('a', '1', 5, 6), get('b', '2', 7, 8)]).ok);
  t.notOk(checkLinearizable([put('a', '1', 1, 2), get('b', '1', 3, 4)]).ok, 'b was never written');
});

t.test('reading a value that was never written is caught among many concurrent ops', async (t) => {
  const ops: HistoryOp[] = [];
  for (let i = 0; i < 12; i++) ops.push(put('a', String(i), i, 100 + i));
  ops.push(get('a', 'x', 50, 200));
  t.notOk(checkLinearizable(ops).ok);
  ops.pop();
  ops.push(get('a', '7', 50, 200), get('a', '3', 201, 202));
  t.ok(checkLinearizable(ops).ok);
});

t.test('an exhausted search budget is a failure, never a pass', async (t) => {
  const ops: HistoryOp[] = [];
  for (let i = 0; i < 16; i++) ops.push(put('a', String(i), i, 1000));
  ops.push(get('a', 'never', 2000, 2001));
  const r = checkLinearizable(ops, 50);
  t.match(r, { ok: false, reason: 'search budget exceeded' });
});
