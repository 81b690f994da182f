/**
 * A counting semaphore: at most `limit` pieces of work at once, the rest wait in arrival order.
 */
import { assert } from '../../lib/assert.js';

/** Runs work with bounded concurrency. */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    assert(Number.isInteger(limit) && limit > 0, `limit must be a positive integer, got ${limit}`);
  }

  /** Work running now. */
  get running(): number {
    return this.active;
  }

  /** Runs `work` once fewer than `limit` others run. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` stays as it is.
      if (next !== undefined) next();
      else this.active--;
    }
  }
}
