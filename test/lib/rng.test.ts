import t from 'tap';
import { seededRng } from '../../lib/rng.js';

t.test('the same seed gives the same sequence', async (t) => {
  const a = seededRng(42);
  const b = seededRng(42);
  const xs = Array.from({ length: 100 }, () => a.next());
  const ys = Array.from({ length: 100 }, () => b.next());
  t.same(xs, ys);
  t.not(seededRng(43).next(), xs[0]);
});
