import t from 'tap';
import { mapLimit } from '../../../worker/images/concurrency.js';

t.test('mapLimit keeps at most N calls in flight and results in order', async (t) => {
  let inFlight = 0;
  let most = 0;
  const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (ms, i) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((r) => setTimeout(r, ms * 3));
    inFlight--;
    return i * 10;
  });
  t.same(out, [0, 10, 20, 30, 40, 50]);
  t.equal(most, 2);
});

t.test('mapLimit rejects with the first failure and starts nothing after it', async (t) => {
  const started: number[] = [];
  let running = 0;
  await t.rejects(
    mapLimit([1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      running++;
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (n === 2) throw new Error('boom');
      return n;
    }),
    { message: 'boom' },
  );
  t.equal(running, 0, 'nothing left running behind the caller');
  t.ok(started.length < 5, 'items after the failure were not started');
});
