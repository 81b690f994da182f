/**
 * How container commands show things: log lines and the `ls` table. Loaded with the client.
 */
import { ContainerRunState, LogStream, type ContainerSummary, type LogEntry } from '../proto/index.js';
import { humanDuration, renderTable, truncate } from './output.js';

/** Writes a log entry to stdout or stderr, with its timestamp when asked (`logs -t`). */
export function writeEntry(entry: LogEntry, timestamps: boolean): void {
  const text = timestamps ? `${entry.time} ${entry.text}\n` : `${entry.text}\n`;
  (entry.stream === LogStream.STDERR ? process.stderr : process.stdout).write(text);
}

/** docker's health suffix of a running container's status: ` (healthy)`, ` (health: starting)`, ` (unhealthy)`. */
export function healthSuffix(health: string): string {
  if (health === 'starting') return ' (health: starting)';
  if (health === 'healthy' || health === 'unhealthy') return ` (${health})`;
  return '';
}

function stateText(c: ContainerSummary, nowMs: number): string {
  const ago = (t: { seconds: number } | undefined): number => (t ? nowMs - t.seconds * 1000 : 0);
  if (c.state === ContainerRunState.RUNNING) return `Up ${humanDuration(ago(c.startedAt))}${healthSuffix(c.health)}`;
  if (c.state === ContainerRunState.CREATED) return 'Created';
  return `Exited (${c.exitCode}) ${humanDuration(ago(c.finishedAt))} ago`;
}

/** The `ls` table (pure). */
export function containerTable(containers: readonly ContainerSummary[], noTrunc: boolean, nowMs: number): string {
  return renderTable(
    ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES'],
    containers.map((c) => [
      noTrunc ? c.id : c.id.slice(0, 12),
      c.image,
      `"${noTrunc ? c.command : truncate(c.command, 20)}"`,
      `${humanDuration(nowMs - (c.createdAt?.seconds ?? 0) * 1000)} ago`,
      stateText(c, nowMs),
      c.name,
    ]),
  );
}
