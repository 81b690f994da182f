/** The agent's reconnection backoff: bounded, jittered, never zero. */
import t from 'tap';
import { seededRng } from '../../../lib/rng.js';
import { backoffDelayMs, defaultBackoff } from '../../../worker/agent/index.js';

t.test('backoff grows exponentially, stays within its bounds, and is jittered', async (t) => {
  for (const seed of [1, 2, 3, 42, 1234]) {
    const rng = seededRng(seed);
    for (let failures = 0; failures < 60; failures++) {
      const ceiling = Math.min(defaultBackoff.maxMs, defaultBackoff.initialMs * 2 ** failures);
      const delay = backoffDelayMs(failures, rng);
      if (delay < ceiling / 2 || delay > ceiling) t.fail(`seed ${seed}, ${failures} failures: ${delay} ms outside [${ceiling / 2}, ${ceiling}]`);
    }
  }
  t.equal(backoffDelayMs(1000, seededRng(7)) <= defaultBackoff.maxMs, true, 'bounded however many failures');
  t.ok(backoffDelayMs(0, seededRng(7), { initialMs: 1, maxMs: 1 }) >= 1, 'never zero');
  const rng = seededRng(9);
  const delays = new Set(Array.from({ length: 20 }, () => backoffDelayMs(10, rng)));
  t.ok(delays.size > 10, 'jitter spreads workers that failed together');
  t.same(
    Array.from({ length: 5 }, (_, i) => backoffDelayMs(i, seededRng(5))),
    Array.from({ length: 5 }, (_, i) => backoffDelayMs(i, seededRng(5))),
    'the same seed gives the same delays',
  );
});
