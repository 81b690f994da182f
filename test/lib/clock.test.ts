import t from 'tap';
import { AssertionError } from '../../lib/assert.js';
import { FakeClock, RealClock, type Clock } from '../../lib/clock.js';

t.test('FakeClock', async (t) => {
  t.test('starts at the given time (0 by default) and only moves when advanced', async (t) => {
    t.equal(new FakeClock().now(), 0);
    const clock = new FakeClock(1_000);
    t.equal(clock.now(), 1_000);
    t.equal(clock.now(), 1_000);
    clock.advance(250);
    t.equal(clock.now(), 1_250);
    clock.advance(0);
    t.equal(clock.now(), 1_250);
  });

  t.test('fires timers in due order, not creation order', async (t) => {
    const clock = new FakeClock();
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push('c'));
    clock.setTimer(10, () => fired.push('a'));
    clock.setTimer(20, () => fired.push('b'));
    clock.advance(100);
    t.same(fired, ['a', 'b', 'c']);
  });

  t.test('timers due at the same time fire in creation order', async (t) => {
    const clock = new FakeClock();
    const fired: number[] = [];
    for (let i = 0; i < 20; i++) clock.setTimer(5, () => fired.push(i));
    clock.advance(5);
    t.same(fired, Array.from({ length: 20 }, (_, i) => i));
  });

  t.test('a timer sees now() equal to its due time while it runs', async (t) => {
    const clock = new FakeClock(100);
    const seen: number[] = [];
    clock.setTimer(7, () => seen.push(clock.now()));
    clock.setTimer(3, () => seen.push(clock.now()));
    clock.advance(50);
    t.same(seen, [103, 107]);
    t.equal(clock.now(), 150, 'now() ends at the target, not at the last timer');
  });

  t.test('fires only timers within the window; the rest wait for a later advance', async (t) => {
    const clock = new FakeClock();
    const fired: string[] = [];
    clock.setTimer(10, () => fired.push('at10'));
    clock.setTimer(11, () => fired.push('at11'));
    clock.advance(9);
    t.same(fired, []);
    t.equal(clock.pendingTimers(), 2);
    clock.advance(1);
    t.same(fired, ['at10'], 'a timer due exactly at the target fires');
    t.equal(clock.pendingTimers(), 1);
    clock.advance(1);
    t.same(fired, ['at10', 'at11']);
    t.equal(clock.pendingTimers(), 0);
  });

  t.test('a timer fires once only', async (t) => {
    const clock = new FakeClock();
    let count = 0;
    clock.setTimer(1, () => count++);
    clock.advance(5);
    clock.advance(5);
    t.equal(count, 1);
  });

  t.test('a zero-delay timer fires on the next advance, even advance(0)', async (t) => {
    const clock = new FakeClock(42);
    let at = -1;
    clock.setTimer(0, () => (at = clock.now()));
    t.equal(at, -1, 'not synchronously from setTimer');
    clock.advance(0);
    t.equal(at, 42);
  });

  t.test('cancelled timers never fire and stop counting as pending', async (t) => {
    const clock = new FakeClock();
    const fired: string[] = [];
    const a = clock.setTimer(10, () => fired.push('a'));
    clock.setTimer(10, () => fired.push('b'));
    const c = clock.setTimer(20, () => fired.push('c'));
    a.cancel();
    t.equal(clock.pendingTimers(), 2);
    clock.advance(15);
    c.cancel();
    c.cancel();
    t.equal(clock.pendingTimers(), 0);
    clock.advance(100);
    t.same(fired, ['b']);
  });

  t.test('cancel after firing is a no-op', async (t) => {
    const clock = new FakeClock();
    let count = 0;
    const timer = clock.setTimer(1, () => count++);
    clock.advance(1);
    t.doesNotThrow(() => timer.cancel());
    clock.advance(10);
    t.equal(count, 1);
  });

  t.test('a timer may cancel another due at the same instant, which then never fires', async (t) => {
    const clock = new FakeClock();
    const fired: string[] = [];
    clock.setTimer(10, () => {
      fired.push('first');
      second.cancel();
    });
    const second = clock.setTimer(10, () => fired.push('second'));
    clock.advance(10);
    t.same(fired, ['first']);
  });

  t.test('timers set from inside a firing timer fire in the same advance when due within the window', async (t) => {
    const clock = new FakeClock();
    const fired: Array<[string, number]> = [];
    clock.setTimer(10, () => {
      fired.push(['outer', clock.now()]);
      clock.setTimer(5, () => {
        fired.push(['inner', clock.now()]);
        clock.setTimer(0, () => fired.push(['innermost', clock.now()]));
      });
      clock.setTimer(50, () => fired.push(['late', clock.now()]));
    });
    clock.setTimer(12, () => fired.push(['sibling', clock.now()]));
    clock.advance(30);
    t.same(fired, [
      ['outer', 10],
      ['sibling', 12],
      ['inner', 15],
      ['innermost', 15],
    ]);
    t.equal(clock.now(), 30);
    t.equal(clock.pendingTimers(), 1, 'the timer due at 60 waits');
    clock.advance(30);
    t.same(fired.at(-1), ['late', 60]);
  });

  t.test('a periodic timer that re-arms itself fires once per period', async (t) => {
    const clock = new FakeClock();
    const ticks: number[] = [];
    const tick = (): void => {
      ticks.push(clock.now());
      clock.setTimer(100, tick);
    };
    clock.setTimer(100, tick);
    clock.advance(1_000);
    t.same(ticks, [100, 200, 300, 400, 500, 600, 700, 800, 900, 1_000]);
    t.equal(clock.pendingTimers(), 1);
  });

  t.test('many timers in random order fire sorted by due time, ties by creation', async (t) => {
    const clock = new FakeClock();
    const fired: Array<{ due: number; seq: number }> = [];
    // A fixed, scrambled sequence of delays (no Math.random: the test must replay).
    for (let seq = 0; seq < 500; seq++) {
      const due = (seq * 7919) % 97;
      clock.setTimer(due, () => fired.push({ due, seq }));
    }
    clock.advance(96);
    t.equal(fired.length, 500);
    const sorted = [...fired].sort((a, b) => a.due - b.due || a.seq - b.seq);
    t.same(fired, sorted);
  });

  t.test('sleep resolves when time reaches it, not before', async (t) => {
    const clock = new FakeClock();
    let woke = false;
    const done = clock.sleep(100).then(() => {
      woke = true;
    });
    clock.advance(99);
    await Promise.resolve();
    t.equal(woke, false);
    clock.advance(1);
    await done;
    t.equal(woke, true);
    t.equal(clock.now(), 100);
  });

  t.test('refuses negative delays and moving time backwards', async (t) => {
    const clock = new FakeClock(10);
    t.throws(() => clock.setTimer(-1, () => {}), AssertionError);
    t.throws(() => clock.advance(-1), AssertionError);
    t.equal(clock.now(), 10);
    t.equal(clock.pendingTimers(), 0);
  });

  t.test('an exception from a timer stops time there; later timers stay pending', async (t) => {
    const clock = new FakeClock();
    const fired: string[] = [];
    clock.setTimer(1, () => {
      throw new Error('timer failed');
    });
    clock.setTimer(2, () => fired.push('next'));
    t.throws(() => clock.advance(5), { message: 'timer failed' });
    t.equal(clock.now(), 1, 'time stopped at the failing timer');
    t.same(fired, []);
    t.equal(clock.pendingTimers(), 1, 'the failed timer is gone, the next one waits');
    clock.advance(4);
    t.same(fired, ['next']);
    t.equal(clock.now(), 5);
  });
});

t.test('RealClock', async (t) => {
  const clock: Clock = new RealClock();

  t.test('now() never goes backwards and tracks elapsed time', async (t) => {
    const a = clock.now();
    await clock.sleep(20);
    const b = clock.now();
    t.ok(b - a >= 15, `at least ~20ms passed (got ${b - a})`);
    let prev = clock.now();
    let backwards = 0;
    for (let i = 0; i < 10_000; i++) {
      const cur = clock.now();
      if (cur < prev) backwards++;
      prev = cur;
    }
    t.equal(backwards, 0, 'never went backwards');
  });

  t.test('setTimer fires once after the delay', async (t) => {
    const start = clock.now();
    const firedAt = await new Promise<number>((resolve) => clock.setTimer(10, () => resolve(clock.now())));
    t.ok(firedAt - start >= 5, `fired after ~10ms (got ${firedAt - start})`);
  });

  t.test('a cancelled timer never fires', async (t) => {
    let fired = false;
    const timer = clock.setTimer(5, () => (fired = true));
    timer.cancel();
    await clock.sleep(30);
    t.equal(fired, false);
  });
});

t.test('RealClock waits delays longer than one Node timer in steps (Node would fire them after 1 ms)', async (t) => {
  const stepped = new RealClock(20);
  const start = performance.now();
  const fired = await new Promise<number>((resolve) => stepped.setTimer(75, () => resolve(performance.now() - start)));
  t.ok(fired >= 74, `a 75 ms timer in 20 ms steps fired after ${fired.toFixed(1)} ms`);
  let cancelledFired = false;
  const timer = stepped.setTimer(60, () => (cancelledFired = true));
  await new Promise((r) => setTimeout(r, 30));
  timer.cancel();
  await new Promise((r) => setTimeout(r, 60));
  t.notOk(cancelledFired, 'cancel between steps stops it');

  const real = new RealClock();
  let longFired = false;
  const long = real.setTimer(62 * 24 * 3_600_000, () => (longFired = true));
  await new Promise((r) => setTimeout(r, 50));
  long.cancel();
  t.notOk(longFired, 'a 62-day timer does not fire at once');
});
