/**
 * One writer at a time per image store: an in-process queue (for a daemon serving many requests)
 * plus a lock file holding the owner's pid (for several CLI processes). A lock whose owner is dead
 * is taken over.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';

/** Longest wait for another process's lock, in milliseconds. */
export const storeLockWaitMs = 120_000;
/** Pause between attempts to take a busy lock, in milliseconds. */
export const storeLockRetryMs = 50;

const queues = new Map<string, Promise<unknown>>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function acquireFile(path: string): Promise<void> {
  const deadline = Date.now() + storeLockWaitMs;
  for (;;) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new TsswarmError(ErrorCode.TIMEOUT, `image store is busy (locked by pid ${owner || 'unknown'} for over ${storeLockWaitMs / 1000} s)`);
    }
    await new Promise((r) => setTimeout(r, storeLockRetryMs));
  }
}

/** Runs `fn` holding the lock file at `path`; releases it however `fn` ends. */
export async function withStoreLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(path) ?? Promise.resolve();
  const run = previous.then(
    () => locked(path, fn),
    () => locked(path, fn),
  );
  const tail = run.catch(() => undefined);
  queues.set(path, tail);
  try {
    return await run;
  } finally {
    if (queues.get(path) === tail) queues.delete(path);
  }
}

async function locked<T>(path: string, fn: () => Promise<T>): Promise<T> {
  await acquireFile(path);
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}
