/**
 * Time as a dependency. Cores take a Clock so that tests and simulators drive time by hand
 * (FakeClock) while daemons use the wall clock (RealClock).
 */
import { assert } from './assert.js';

/** A timer handle returned by Clock.setTimer. */
export interface Timer {
  /** Cancels the timer; a no-op when it already fired. */
  cancel(): void;
}

/** Source of time and timers. */
export interface Clock {
  /** Milliseconds since an arbitrary, fixed origin; never goes backwards. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimer(ms: number, fn: () => void): Timer;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
}

/**
 * Longest delay one Node timer takes (2^31 - 1 ms, about 24.8 days); Node fires a longer one after
 * 1 ms instead, so RealClock waits longer delays in steps of at most this.
 */
export const maxNodeTimerMs = 2 ** 31 - 1;

/** The process's monotonic clock and Node timers. */
export class RealClock implements Clock {
  constructor(private readonly maxStepMs = maxNodeTimerMs) {}

  now(): number {
    return performance.now();
  }

  setTimer(ms: number, fn: () => void): Timer {
    const due = this.now() + ms;
    let handle: NodeJS.Timeout;
    const arm = (left: number): void => {
      handle = setTimeout(() => {
        const rest = due - this.now();
        if (rest > 0 && left > this.maxStepMs) arm(rest);
        else fn();
      }, Math.min(Math.max(0, left), this.maxStepMs));
    };
    arm(ms);
    return { cancel: () => clearTimeout(handle) };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(ms, resolve));
  }
}

interface PendingTimer {
  readonly due: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** A clock that moves only when told to; timers fire in due order, ties in creation order. */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: PendingTimer[] = [];
  private advancing = false;

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): Timer {
    assert(ms >= 0, `negative timer ${ms}`);
    const timer: PendingTimer = { due: this.current + ms, seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(ms, resolve));
  }

  /** Number of timers that have neither fired nor been cancelled. */
  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    assert(ms >= 0, `cannot move time backwards by ${ms}`);
    assert(!this.advancing, 'FakeClock.advance called from inside a timer');
    const target = this.current + ms;
    this.advancing = true;
    try {
      for (;;) {
        const next = this.nextDue(target);
        if (next === undefined) break;
        this.timers = this.timers.filter((t) => t !== next);
        this.current = next.due;
        next.fn();
      }
      this.current = target;
    } finally {
      this.advancing = false;
    }
  }

  private nextDue(limit: number): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.timers) {
      if (t.cancelled || t.due > limit) continue;
      if (best === undefined || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    if (best === undefined) this.timers = this.timers.filter((t) => !t.cancelled);
    return best;
  }
}
