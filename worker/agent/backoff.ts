/**
 * How long the agent waits before its next connection attempt: exponential in the number of
 * consecutive failures, capped, with jitter from an injected Rng so that workers that lost the
 * same manager do not all come back at the same instant. Never zero, so the agent never spins.
 */
import { assert } from '../../lib/assert.js';
import type { Rng } from '../../lib/rng.js';

/** The first retry waits up to this long. */
export const defaultBackoffInitialMs = 100;
/** No retry waits longer than this. */
export const defaultBackoffMaxMs = 10_000;

/** The bounds of the agent's reconnection backoff. */
export interface BackoffPolicy {
  /** The longest wait after the first failure (> 0). */
  readonly initialMs: number;
  /** The longest wait ever (>= initialMs). */
  readonly maxMs: number;
}

/** The default backoff: 100 ms doubling up to 10 s. */
export const defaultBackoff: BackoffPolicy = { initialMs: defaultBackoffInitialMs, maxMs: defaultBackoffMaxMs };

/**
 * The wait before attempt `failures` + 1, after `failures` consecutive failures (0 for the first
 * retry): a value in [ceiling / 2, ceiling] where ceiling = min(maxMs, initialMs · 2^failures).
 */
export function backoffDelayMs(failures: number, rng: Rng, policy: BackoffPolicy = defaultBackoff): number {
  assert(Number.isInteger(failures) && failures >= 0, `bad failure count ${failures}`);
  assert(policy.initialMs > 0 && policy.maxMs >= policy.initialMs, `bad backoff policy ${policy.initialMs}..${policy.maxMs} ms`);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(failures, 40));
  const half = ceiling / 2;
  return Math.max(1, Math.round(half + rng.next() * half));
}
