/**
 * Parsing of the quantities users type: memory sizes (`32m`, `1.5g`), CPU counts (`0.5`) and
 * durations (`10s`, `1m30s`, `250ms`), with docker's spelling and clear errors.
 */
import { invalidArgument } from './errors.js';

const byteUnits: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Parses a memory size as docker does: a number with an optional b/k/m/g/t suffix (binary units). */
export function parseBytes(text: string, flag = 'size'): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(text.trim());
  const unit = byteUnits[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined) {
    throw invalidArgument(`invalid ${flag} ${JSON.stringify(text)}: use a number with an optional unit b, k, m, g (e.g. 64m)`);
  }
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw invalidArgument(`${flag} ${JSON.stringify(text)} is too large`);
  return bytes;
}

/** Parses a CPU count (`--cpus 0.5`) into nano-CPUs, as docker's NanoCPUs. */
export function parseNanoCpus(text: string): number {
  const n = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0) throw invalidArgument(`invalid --cpus ${JSON.stringify(text)}: use a positive number such as 0.5 or 2`);
  return Math.round(n * 1e9);
}

const durationUnits: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration (`1m30s`, `250ms`, `2h`) into milliseconds. */
export function parseDurationMs(text: string, flag = 'duration'): number {
  const s = text.trim();
  if (s === '0') return 0;
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = part.exec(s); m !== null; m = part.exec(s)) {
    total += Number(m[1]) * (durationUnits[m[2] ?? ''] ?? Number.NaN);
    consumed = part.lastIndex;
  }
  if (s.length === 0 || consumed !== s.length || !Number.isFinite(total)) {
    throw invalidArgument(`invalid ${flag} ${JSON.stringify(text)}: use a duration such as 10s, 1m30s or 500ms`);
  }
  return total;
}
