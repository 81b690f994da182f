import t from 'tap';
import { idAlphabet, idLength, isId, newId, newIdFrom, shortId } from '../../lib/ids.js';
import { seededRng } from '../../lib/rng.js';

const idShape = /^[0-9a-z]{25}$/;

t.test('the ID format is 25 characters of [0-9a-z]', async (t) => {
  t.equal(idLength, 25);
  t.equal(idAlphabet, '0123456789abcdefghijklmnopqrstuvwxyz');
});

t.test('newId gives well-formed IDs, unique over 10k draws', async (t) => {
  const ids = new Set<string>();
  let malformed = 0;
  for (let i = 0; i < 10_000; i++) {
    const id = newId();
    if (!idShape.test(id) || !isId(id)) malformed++;
    ids.add(id);
  }
  t.equal(malformed, 0);
  t.equal(ids.size, 10_000);
});

t.test('newId uses the whole alphabet in every position', async (t) => {
  const perPosition = Array.from({ length: idLength }, () => new Set<string>());
  for (let i = 0; i < 2_000; i++) [...newId()].forEach((c, pos) => perPosition[pos]!.add(c));
  t.same(
    perPosition.map((s) => s.size),
    new Array<number>(idLength).fill(idAlphabet.length),
  );
});

t.test('newIdFrom is reproducible from a seed', async (t) => {
  const a = seededRng(1);
  const b = seededRng(1);
  const xs = Array.from({ length: 100 }, () => newIdFrom(a));
  const ys = Array.from({ length: 100 }, () => newIdFrom(b));
  t.same(xs, ys);
  t.notSame(newIdFrom(seededRng(2)), xs[0]);
});

t.test('newIdFrom gives well-formed IDs, unique over 10k draws', async (t) => {
  const rng = seededRng(3);
  const ids = new Set<string>();
  let malformed = 0;
  for (let i = 0; i < 10_000; i++) {
    const id = newIdFrom(rng);
    if (!idShape.test(id) || !isId(id)) malformed++;
    ids.add(id);
  }
  t.equal(malformed, 0);
  t.equal(ids.size, 10_000);
});

t.test('newIdFrom uses every character of the alphabet about equally', async (t) => {
  const rng = seededRng(4);
  const counts = new Map<string, number>();
  for (let i = 0; i < 4_000; i++) for (const c of newIdFrom(rng)) counts.set(c, (counts.get(c) ?? 0) + 1);
  t.equal(counts.size, 36);
  const expected = (4_000 * idLength) / 36;
  for (const [c, n] of counts) if (Math.abs(n - expected) > expected * 0.1) t.fail(`${c} drawn ${n} times, expected ~${expected}`);
  t.pass('no character is over- or under-drawn by 10%');
});

t.test('isId accepts only the ID form', async (t) => {
  t.ok(isId('0123456789abcdefghijklmno'));
  t.ok(isId('zzzzzzzzzzzzzzzzzzzzzzzzz'));
  t.notOk(isId(''), 'empty');
  t.notOk(isId('0123456789abcdefghijklmn'), '24 characters');
  t.notOk(isId('0123456789abcdefghijklmnop'), '26 characters');
  t.notOk(isId('0123456789ABCDEFGHIJKLMNO'), 'upper case');
  t.notOk(isId('0123456789abcdefghijklmn-'), 'punctuation');
  t.notOk(isId('0123456789abcdefghijklmn_'), 'underscore');
  t.notOk(isId('0123456789abcdefghijklmn '), 'trailing space');
  t.notOk(isId('0123456789abcdefghijklmné'), 'non-ASCII');
  t.notOk(isId('web'), 'a name is not an ID');
});

t.test('shortId is the first 12 characters, as docker shows them', async (t) => {
  t.equal(shortId('0123456789abcdefghijklmno'), '0123456789ab');
  const id = newId();
  t.equal(shortId(id).length, 12);
  t.ok(id.startsWith(shortId(id)));
  t.equal(shortId('abc'), 'abc', 'a short string is left as is');
});
