/**
 * Bounded concurrency: run async work over a list with at most N in flight.
 */
import { assert } from '../../lib/assert.js';

/**
 * Runs `fn` on every item with at most `limit` calls in flight; resolves with results in input
 * order. The first failure rejects, after the calls already running have settled (so no work is
 * left running behind the caller's back); items not yet started are not started.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  assert(Number.isInteger(limit) && limit > 0, `concurrency limit must be a positive integer, got ${limit}`);
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (err) {
        if (!failed) firstError = err;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw firstError;
  return results;
}
