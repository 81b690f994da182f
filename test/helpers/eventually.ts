/**
 * Polls `fn` until `ok` holds, bounded in time: resolves with the value and how long it took, or
 * throws naming what was awaited and the last value or error seen.
 */
export async function eventually<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number, intervalMs = 100): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  let last: T | undefined;
  let lastErr: unknown;
  while (Date.now() - start < timeoutMs) {
    try {
      last = await fn();
      if (ok(last)) return { value: last, ms: Date.now() - start };
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms; last: ${JSON.stringify(last)} ${String(lastErr ?? '')}`);
}
