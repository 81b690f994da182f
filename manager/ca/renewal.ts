/**
 * When a node renews its certificate: at a random point between 50% and 80% of its life, so that
 * nodes that joined together do not all renew together. Pure functions plus a small scheduler on
 * an injected Clock and Rng; certificate validity is wall time, so the current wall time is
 * injected too.
 */
import { assert } from '../../lib/assert.js';
import type { Clock, Timer } from '../../lib/clock.js';
import type { Rng } from '../../lib/rng.js';

/** Renewal never happens before this fraction of a certificate's life. */
export const renewalWindowStart = 0.5;
/** Renewal never happens after this fraction of a certificate's life. */
export const renewalWindowEnd = 0.8;

/** A certificate's wall-clock validity, ms since the epoch. */
export interface Validity {
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
}

/** The wall-clock ms at which to renew a certificate with `validity`, drawn from `rng`. */
export function renewalTimeMs(validity: Validity, rng: Rng): number {
  const lifeMs = validity.notAfterMs - validity.notBeforeMs;
  assert(lifeMs > 0, `certificate validity ends (${validity.notAfterMs}) before it starts (${validity.notBeforeMs})`);
  const fraction = renewalWindowStart + (renewalWindowEnd - renewalWindowStart) * rng.next();
  return validity.notBeforeMs + Math.floor(lifeMs * fraction);
}

/** How long from `wallNowMs` until renewal: 0 when the renewal time has passed already. */
export function renewalDelayMs(validity: Validity, wallNowMs: number, rng: Rng): number {
  return Math.max(0, renewalTimeMs(validity, rng) - wallNowMs);
}

/** Options of scheduleRenewal. */
export interface ScheduleRenewalOptions {
  readonly validity: Validity;
  readonly clock: Clock;
  readonly rng: Rng;
  /** The current wall-clock time, ms since the epoch. */
  readonly wallNowMs: () => number;
  /** Called once when renewal is due. */
  readonly renew: () => void;
}

/** Sets a timer on `clock` for the renewal of a certificate; cancel it when the certificate is replaced. */
export function scheduleRenewal(options: ScheduleRenewalOptions): Timer {
  const delayMs = renewalDelayMs(options.validity, options.wallNowMs(), options.rng);
  return options.clock.setTimer(delayMs, options.renew);
}
