/** The flags `container logs` and `service logs` share: --since and --tail. */
import { invalidArgument } from '../lib/errors.js';
import { parseDurationMs } from '../lib/units.js';

/** --since: an RFC 3339 time, unix seconds, or a duration before now (`10m`); milliseconds since the epoch. */
export function sinceMs(text: string, nowMs = Date.now()): number {
  const absolute = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && Number.isFinite(absolute)) return absolute;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.floor(Number(text) * 1000);
  return nowMs - parseDurationMs(text, '--since');
}

/** --tail: a line count, or undefined for "all". */
export function tailCount(text: string): number | undefined {
  if (text === 'all') return undefined;
  if (!/^\d+$/.test(text)) throw invalidArgument(`--tail must be a number or "all", got ${JSON.stringify(text)}`);
  return Number(text);
}
