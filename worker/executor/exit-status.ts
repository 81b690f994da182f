/**
 * How a container ended, from the files conmon leaves: the exit code file and the `oom` marker.
 */
import { watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';

/** The end of a container. */
export interface ExitStatus {
  readonly exitCode: number;
  readonly oomKilled: boolean;
  readonly finishedAt: string;
}

/** How often wait() looks at the exit file when no file-system event arrives. */
export const exitPollMs = 200;

/** The exit status, or undefined while the container has not ended. */
export async function readExitStatus(exitFile: string, oomFile: string): Promise<ExitStatus | undefined> {
  let text: string;
  let finishedAt: string;
  try {
    text = await readFile(exitFile, 'utf8');
    finishedAt = (await stat(exitFile)).mtime.toISOString();
  } catch {
    return undefined;
  }
  const exitCode = Number(text.trim());
  if (!Number.isInteger(exitCode)) return undefined;
  const oomKilled = await stat(oomFile).then(
    () => true,
    () => false,
  );
  return { exitCode, oomKilled, finishedAt };
}

/** Resolves when the exit file appears (watching its folder, with a poll as a safety net). */
export function waitForExit(exitFile: string, oomFile: string, timeoutMs?: number): Promise<ExitStatus> {
  return new Promise((resolve, reject) => {
    let done = false;
    const watcher = watch(dirname(exitFile), () => void check());
    watcher.on('error', () => undefined);
    const poll = setInterval(() => void check(), exitPollMs);
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => finish(new TsswarmError(ErrorCode.TIMEOUT, `container did not exit within ${timeoutMs} ms`)), timeoutMs);
    function finish(result: ExitStatus | TsswarmError): void {
      if (done) return;
      done = true;
      watcher.close();
      clearInterval(poll);
      if (timer) clearTimeout(timer);
      if (result instanceof TsswarmError) reject(result);
      else resolve(result);
    }
    async function check(): Promise<void> {
      const status = await readExitStatus(exitFile, oomFile);
      if (status) finish(status);
    }
    void check();
  });
}
