import t from 'tap';
import { FakeClock } from '../../../lib/clock.js';
import { seededRng } from '../../../lib/rng.js';
import { renewalDelayMs, renewalTimeMs, scheduleRenewal } from '../../../manager/ca/renewal.js';

const dayMs = 24 * 60 * 60 * 1000;
const validity = { notBeforeMs: Date.parse('2026-01-01T00:00:00Z'), notAfterMs: Date.parse('2026-01-01T00:00:00Z') + 90 * dayMs };

t.test('renewal falls between 50% and 80% of the life, spread evenly (seed 42, 10,000 draws)', async (t) => {
  const rng = seededRng(42);
  const life = validity.notAfterMs - validity.notBeforeMs;
  const buckets = new Array<number>(6).fill(0);
  let sum = 0;
  let min = 1;
  let max = 0;
  const draws = 10_000;
  for (let i = 0; i < draws; i++) {
    const fraction = (renewalTimeMs(validity, rng) - validity.notBeforeMs) / life;
    min = Math.min(min, fraction);
    max = Math.max(max, fraction);
    sum += fraction;
    const bucket = Math.floor((fraction - 0.5) / 0.05);
    buckets[bucket] = (buckets[bucket] ?? 0) + 1;
  }
  t.ok(min >= 0.5, `earliest at ${min.toFixed(4)} of the life`);
  t.ok(max < 0.8, `latest at ${max.toFixed(4)} of the life`);
  t.ok(min < 0.51 && max > 0.79, 'the whole window is used');
  t.ok(Math.abs(sum / draws - 0.65) < 0.005, `mean ${(sum / draws).toFixed(4)} is the middle of the window`);
  t.equal(buckets.length, 6, 'nothing landed outside the six 5% buckets');
  for (const [i, n] of buckets.entries()) t.ok(n > draws / 6 * 0.9 && n < draws / 6 * 1.1, `bucket ${i} holds ${n}, about a sixth`);
});

t.test('the same seed gives the same renewal times; another seed does not', async (t) => {
  const a = seededRng(7);
  const b = seededRng(7);
  const c = seededRng(8);
  const xs = [1, 2, 3].map(() => renewalTimeMs(validity, a));
  t.same([1, 2, 3].map(() => renewalTimeMs(validity, b)), xs);
  t.notSame([1, 2, 3].map(() => renewalTimeMs(validity, c)), xs);
});

t.test('the delay counts from now and is never negative', async (t) => {
  const at = renewalTimeMs(validity, seededRng(1));
  t.equal(renewalDelayMs(validity, validity.notBeforeMs, seededRng(1)), at - validity.notBeforeMs);
  t.equal(renewalDelayMs(validity, validity.notAfterMs + dayMs, seededRng(1)), 0, 'overdue: renew at once');
});

t.test('scheduleRenewal fires once, at the drawn time, on the injected clock', async (t) => {
  const clock = new FakeClock();
  const wallStart = validity.notBeforeMs + 10 * dayMs;
  const expected = renewalDelayMs(validity, wallStart, seededRng(3));
  let fired = 0;
  scheduleRenewal({ validity, clock, rng: seededRng(3), wallNowMs: () => wallStart + clock.now(), renew: () => fired++ });
  clock.advance(expected - 1);
  t.equal(fired, 0, 'not a millisecond early');
  clock.advance(1);
  t.equal(fired, 1);
  clock.advance(100 * dayMs);
  t.equal(fired, 1, 'only once');
  const timer = scheduleRenewal({ validity, clock, rng: seededRng(3), wallNowMs: () => wallStart, renew: () => fired++ });
  timer.cancel();
  clock.advance(100 * dayMs);
  t.equal(fired, 1, 'a cancelled renewal never fires');
});

t.test('a validity that ends before it starts is a bug', async (t) => {
  t.throws(() => renewalTimeMs({ notBeforeMs: 10, notAfterMs: 10 }, seededRng(1)), { name: 'AssertionError' });
});
