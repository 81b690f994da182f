/**
 * Converting between milliseconds and the Timestamp / Duration messages (seconds + nanos). Pure,
 * and free of the generated module, so cheap to import.
 */
import type { Duration, Timestamp } from './gen/tsswarm.js';

/** A Timestamp (or Duration) for `ms` milliseconds. */
export function timestampFromMs(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.floor(ms - seconds * 1000) * 1e6 };
}

/** Milliseconds of a Timestamp or Duration; 0 when absent. */
export function millisOf(t: Timestamp | Duration | undefined): number {
  return t ? t.seconds * 1000 + Math.floor(t.nanos / 1e6) : 0;
}
