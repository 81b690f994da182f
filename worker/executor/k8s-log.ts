/**
 * The k8s-file log format conmon writes: one record per line,
 * `<RFC3339Nano timestamp> <stdout|stderr> <F|P> <text>`, where P marks a partial line continued by
 * the next record. Pure parsing and filtering; reading and following the file is in logs.ts.
 */

/** One complete log line of a container. */
export interface LogLine {
  /** The timestamp as written (nanosecond precision, with offset). */
  readonly time: string;
  /** Milliseconds since the epoch, for --since filtering. */
  readonly timeMs: number;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

const recordPattern = /^(\S+) (stdout|stderr) ([FP]) (.*)$/;

/**
 * Joins records into lines. Partial records (P) are carried until the full (F) one for the same
 * stream; returns the complete lines and what is still pending.
 */
export function parseK8sLog(text: string, pending: ReadonlyMap<string, string> = new Map()): { lines: LogLine[]; pending: Map<string, string> } {
  const carry = new Map(pending);
  const lines: LogLine[] = [];
  for (const raw of text.split('\n')) {
    const m = recordPattern.exec(raw);
    if (!m) continue;
    const [, time = '', stream = 'stdout', tag, body = ''] = m;
    const sofar = (carry.get(stream) ?? '') + body;
    if (tag === 'P') {
      carry.set(stream, sofar);
      continue;
    }
    carry.delete(stream);
    lines.push({ time, timeMs: Date.parse(time), stream: stream as LogLine['stream'], text: sofar });
  }
  return { lines, pending: carry };
}

/** Options of `logs`. */
export interface LogFilter {
  /** Only lines at or after this time (ms since epoch). */
  readonly sinceMs?: number;
  /** Only the last N lines. */
  readonly tail?: number;
}

/** Applies --since and --tail (pure). */
export function filterLog(lines: readonly LogLine[], filter: LogFilter): LogLine[] {
  const since = filter.sinceMs;
  const kept = since === undefined ? [...lines] : lines.filter((l) => l.timeMs >= since);
  return filter.tail === undefined ? kept : kept.slice(Math.max(0, kept.length - filter.tail));
}

/** Renders a line for the terminal, with the timestamp first when asked (`logs -t`). */
export function formatLogLine(line: LogLine, timestamps: boolean): string {
  return timestamps ? `${line.time} ${line.text}\n` : `${line.text}\n`;
}
