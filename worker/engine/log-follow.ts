/**
 * Reading a container's k8s-file log: everything so far (with --since / --tail), then, when
 * following, new lines as conmon appends them until the container has exited and the file is
 * drained, or the reader gives up.
 */
import { watch } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { filterLog, parseK8sLog, type LogFilter, type LogLine } from '../executor/k8s-log.js';

/** How often a follower looks for new lines when no file-system event woke it. */
export const logPollMs = 250;
/** Largest chunk read at once. */
export const logReadChunkBytes = 1 << 20;

/** Options of readLog. */
export interface FollowOptions extends LogFilter {
  readonly follow: boolean;
  /** True once the container has ended (checked after each drained read while following). */
  readonly ended: () => Promise<boolean>;
  /** True when the reader went away. */
  readonly cancelled: () => boolean;
  /** A folder whose changes should wake the follower at once (e.g. where the exit file appears). */
  readonly changes?: string;
}

/** Calls `emit` for each line of the log at `path`, in order. */
export async function readLog(path: string, options: FollowOptions, emit: (line: LogLine) => void): Promise<void> {
  let offset = 0;
  let pending = new Map<string, string>();
  let rest = '';
  const readMore = async (): Promise<LogLine[]> => {
    const size = await stat(path).then((s) => s.size, () => 0);
    if (size <= offset) return [];
    const handle = await open(path, 'r');
    try {
      const length = Math.min(size - offset, logReadChunkBytes);
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      offset += bytesRead;
      const text = rest + buffer.subarray(0, bytesRead).toString('utf8');
      const cut = text.lastIndexOf('\n') + 1;
      rest = text.slice(cut);
      const parsed = parseK8sLog(text.slice(0, cut), pending);
      pending = parsed.pending;
      return parsed.lines;
    } finally {
      await handle.close();
    }
  };
  const initial: LogLine[] = [];
  for (let batch = await readMore(); batch.length > 0; batch = await readMore()) initial.push(...batch);
  for (const line of filterLog(initial, options)) emit(line);
  if (!options.follow) return;
  const since = options.sinceMs;
  // Wake on any change next to the log (new lines, the exit file), with a poll as a safety net.
  let wake: () => void = () => undefined;
  const watcher = watch(options.changes ?? dirname(path), { recursive: true }, () => wake());
  watcher.on('error', () => undefined);
  try {
    while (!options.cancelled()) {
      const lines = await readMore();
      for (const line of lines) if (since === undefined || line.timeMs >= since) emit(line);
      if (lines.length > 0) continue;
      if (await options.ended()) {
        for (const line of await readMore()) emit(line);
        return;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, logPollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = () => undefined;
    }
  } finally {
    watcher.close();
  }
}
