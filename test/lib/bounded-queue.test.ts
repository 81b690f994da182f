import t from 'tap';
import { AssertionError } from '../../lib/assert.js';
import { BoundedQueue } from '../../lib/bounded-queue.js';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';

/** Lets pending promise callbacks run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Observes a promise without awaiting it: 'pending' until it settles. */
function watch<T>(p: Promise<T>): { state: () => string; value: () => T | undefined; error: () => unknown } {
  let state = 'pending';
  let value: T | undefined;
  let error: unknown;
  p.then(
    (v) => {
      state = 'resolved';
      value = v;
    },
    (e: unknown) => {
      state = 'rejected';
      error = e;
    },
  );
  return { state: () => state, value: () => value, error: () => error };
}

t.test('capacity must be a positive integer', async (t) => {
  for (const c of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => new BoundedQueue(c), AssertionError, `capacity ${c}`);
  }
  t.equal(new BoundedQueue(3).capacity, 3);
});

t.test('items come out in the order they went in', async (t) => {
  const q = new BoundedQueue<number>(10);
  for (let i = 0; i < 10; i++) q.push(i);
  const out: Array<number | undefined> = [];
  while (q.length > 0) out.push(q.tryShift());
  t.same(out, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.equal(q.tryShift(), undefined, 'empty gives undefined');
});

t.test('length counts the items waiting to be taken', async (t) => {
  const q = new BoundedQueue<string>(3);
  t.equal(q.length, 0);
  q.push('a');
  q.push('b');
  t.equal(q.length, 2);
  q.tryShift();
  t.equal(q.length, 1);
});

t.test('a full queue refuses more: tryPush gives false, push throws EQUEUEFULL', async (t) => {
  const q = new BoundedQueue<string>(2);
  t.equal(q.tryPush('a'), true);
  t.equal(q.tryPush('b'), true);
  t.equal(q.tryPush('c'), false);
  t.throws(() => q.push('d'), { name: 'TsswarmError', code: ErrorCode.QUEUE_FULL, message: /capacity 2/ });
  t.equal(q.length, 2, 'refused items were not stored');
  t.same(q.drain(10), ['a', 'b']);
});

t.test('taking an item makes room for one more', async (t) => {
  const q = new BoundedQueue<number>(1);
  q.push(1);
  t.equal(q.tryPush(2), false);
  t.equal(q.tryShift(), 1);
  t.equal(q.tryPush(2), true);
  t.equal(q.tryShift(), 2);
});

t.test('FIFO order and the bound hold over a long interleaved run', async (t) => {
  // Long enough to make the queue compact its internal array several times.
  const q = new BoundedQueue<number>(7);
  let nextIn = 0;
  let nextOut = 0;
  let refused = 0;
  let outOfOrder = 0;
  for (let step = 0; step < 20_000; step++) {
    // Push in bursts of 3, take in bursts of 2 or 4, so the queue fills and empties repeatedly.
    for (let k = 0; k < 3; k++) {
      if (q.tryPush(nextIn)) nextIn++;
      else refused++;
    }
    for (let k = 0; k < (step % 3 === 0 ? 4 : 2); k++) {
      const item = q.tryShift();
      if (item === undefined) break;
      if (item !== nextOut) outOfOrder++;
      nextOut++;
    }
    if (q.length > q.capacity) t.fail(`length ${q.length} over capacity`);
  }
  t.equal(outOfOrder, 0);
  t.ok(refused > 0, 'the bound was reached');
  t.equal(nextIn - nextOut, q.length, 'nothing lost or duplicated');
  t.same(
    q.drain(100),
    Array.from({ length: nextIn - nextOut }, (_, i) => nextOut + i),
  );
});

t.test('shift resolves at once when an item is queued', async (t) => {
  const q = new BoundedQueue<string>(2);
  q.push('a');
  q.push('b');
  t.equal(await q.shift(), 'a');
  t.equal(await q.shift(), 'b');
});

t.test('shift on an empty queue waits, then resolves with the next pushed item', async (t) => {
  const q = new BoundedQueue<string>(1);
  const taken = watch(q.shift());
  await settle();
  t.equal(taken.state(), 'pending');
  t.equal(q.tryPush('x'), true);
  await settle();
  t.equal(taken.state(), 'resolved');
  t.equal(taken.value(), 'x');
  t.equal(q.length, 0, 'handed straight to the waiter, not queued');
});

t.test('several waiters are served in the order they asked', async (t) => {
  const q = new BoundedQueue<number>(1);
  const a = q.shift();
  const b = q.shift();
  const c = q.shift();
  // More pushes than the capacity succeed, because each goes straight to a waiter.
  q.push(1);
  q.push(2);
  q.push(3);
  t.same(await Promise.all([a, b, c]), [1, 2, 3]);
  q.push(4);
  t.equal(q.tryPush(5), false, 'with no waiters left the bound applies again');
});

t.test('drain(max) takes up to max items without waiting', async (t) => {
  const q = new BoundedQueue<number>(10);
  for (let i = 0; i < 5; i++) q.push(i);
  t.same(q.drain(2), [0, 1]);
  t.same(q.drain(0), []);
  t.same(q.drain(10), [2, 3, 4], 'fewer than max when fewer are queued');
  t.same(q.drain(10), [], 'empty queue gives an empty batch');
  q.push(9);
  t.same(q.tryShift(), 9, 'still usable after draining');
});

t.test('close', async (t) => {
  t.test('rejects every waiting shift with ECLOSED', async (t) => {
    const q = new BoundedQueue<number>(2);
    const a = watch(q.shift());
    const b = watch(q.shift());
    t.equal(q.isClosed, false);
    q.close();
    t.equal(q.isClosed, true);
    await settle();
    for (const w of [a, b]) {
      t.equal(w.state(), 'rejected');
      t.ok(w.error() instanceof TsswarmError);
      t.equal((w.error() as TsswarmError).code, ErrorCode.CLOSED);
    }
  });

  t.test('refuses further pushes with ECLOSED', async (t) => {
    const q = new BoundedQueue<number>(2);
    q.close();
    t.throws(() => q.tryPush(1), { code: ErrorCode.CLOSED });
    t.throws(() => q.push(1), { code: ErrorCode.CLOSED });
    t.equal(q.length, 0);
  });

  t.test('leaves queued items takeable, then shift rejects', async (t) => {
    const q = new BoundedQueue<string>(3);
    q.push('a');
    q.push('b');
    q.push('c');
    q.close();
    t.equal(q.length, 3);
    t.equal(q.tryShift(), 'a');
    t.equal(await q.shift(), 'b');
    t.same(q.drain(5), ['c']);
    await t.rejects(q.shift(), { code: ErrorCode.CLOSED });
    t.equal(q.tryShift(), undefined);
  });

  t.test('is idempotent', async (t) => {
    const q = new BoundedQueue<number>(1);
    const w = q.shift();
    q.close();
    t.doesNotThrow(() => q.close());
    await t.rejects(w, { code: ErrorCode.CLOSED });
    t.equal(q.isClosed, true);
  });
});

t.test('a consumer loop takes everything a producer pushes, then stops on close', async (t) => {
  const q = new BoundedQueue<number>(4);
  const received: number[] = [];
  const consumer = (async () => {
    for (;;) {
      try {
        received.push(await q.shift());
      } catch (err) {
        if (err instanceof TsswarmError && err.code === ErrorCode.CLOSED) return 'closed';
        throw err;
      }
    }
  })();
  for (let i = 0; i < 100; i++) {
    while (!q.tryPush(i)) await settle();
  }
  while (q.length > 0) await settle();
  q.close();
  t.equal(await consumer, 'closed');
  t.same(
    received,
    Array.from({ length: 100 }, (_, i) => i),
  );
});
