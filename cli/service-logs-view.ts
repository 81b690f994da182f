/**
 * How `service logs` prints a line (pure): `web.1.kq2w3j5pw0lb@node1    | text`, docker's form —
 * the task's name, its short ID and its node's host name, padded so the bars line up — with the
 * RFC 3339 timestamp after the bar for --timestamps, and nothing but the text for --raw.
 */
import type { LogMessage, Task } from '../proto/index.js';

/** What `service logs` shows. */
export interface LogFormat {
  readonly timestamps: boolean;
  readonly noTaskIds: boolean;
  readonly noTrunc: boolean;
  readonly noResolve: boolean;
  readonly raw: boolean;
}

/** What names come from. */
export interface LogNames {
  readonly serviceNames: ReadonlyMap<string, string>;
  readonly tasks: ReadonlyMap<string, Task>;
  readonly hostnames: ReadonlyMap<string, string>;
}

/** Characters of a task ID shown without --no-trunc (docker's short IDs). */
export const shortTaskIdLength = 12;

/** The prefix of a line from `context`: `web.1.TASKID@node`. */
export function logPrefix(message: LogMessage, names: LogNames, format: LogFormat): string {
  const serviceId = message.context?.serviceId ?? '';
  const taskId = message.context?.taskId ?? '';
  const nodeId = message.context?.nodeId ?? '';
  const task = names.tasks.get(taskId);
  const service = format.noResolve ? serviceId : names.serviceNames.get(serviceId) ?? serviceId;
  const slot = task === undefined ? '' : task.slot > 0 ? String(task.slot) : task.nodeId;
  let name = slot === '' ? service : `${service}.${slot}`;
  if (!format.noTaskIds) name += `.${format.noTrunc ? taskId : taskId.slice(0, shortTaskIdLength)}`;
  const node = format.noResolve ? nodeId : names.hostnames.get(nodeId) || nodeId;
  return `${name}@${node}`;
}

/** One output line (with its newline). `width` pads the prefix so that bars line up. */
export function formatLogLine(message: LogMessage, names: LogNames, format: LogFormat, width: number): string {
  const text = Buffer.from(message.data).toString('utf8');
  const stamp = format.timestamps ? `${rfc3339Nano(message.timestamp?.seconds ?? 0, message.timestamp?.nanos ?? 0)} ` : '';
  if (format.raw) return `${stamp}${text}\n`;
  return `${logPrefix(message, names, format).padEnd(width)} | ${stamp}${text}\n`;
}

/** `2026-11-23T15:04:05.123456789Z`. */
export function rfc3339Nano(seconds: number, nanos: number): string {
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  return `${base}.${String(nanos).padStart(9, '0')}Z`;
}
