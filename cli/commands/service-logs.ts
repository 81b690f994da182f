/**
 * `tsswarm service logs [OPTIONS] SERVICE|TASK`: the logs of every task of a service (or of one
 * task), from every node, merged as they arrive, each line prefixed with its task and node.
 */
import { Command } from 'commander';
import { ErrorCode, TsswarmError, isTsswarmError } from '../../lib/errors.js';
import { LogSource, timestampFromMs, type LogMessage, type LogSelector, type Task } from '../../proto/index.js';
import type { ControlClient } from '../control-client.js';
import { sinceMs, tailCount } from '../log-flags.js';
import { withControl } from './swarm.js';

interface LogsFlags {
  follow?: boolean;
  timestamps?: boolean;
  since?: string;
  tail: string;
  taskIds: boolean;
  trunc: boolean;
  resolve: boolean;
  raw?: boolean;
}

/** Most lookups of tasks the CLI did not know yet (new tasks while following). */
export const maxNameRefreshes = 100;

/** The `service logs` command. */
export function serviceLogsCommand(): Command {
  return new Command('logs')
    .description('Fetch the logs of a service or task, from every node')
    .argument('<service|task>', 'service name, ID or ID prefix, or a task ID')
    .option('-f, --follow', 'keep streaming new output')
    .option('-t, --timestamps', 'show timestamps')
    .option('--since <time>', 'only lines since a time (RFC 3339, unix seconds) or a duration (10m)')
    .option('-n, --tail <n>', 'only the last N lines of each task', 'all')
    .option('--no-task-ids', 'leave task IDs out of the prefix')
    .option('--no-trunc', 'do not truncate task IDs')
    .option('--no-resolve', 'show IDs instead of service and node names')
    .option('--raw', 'only the text: no prefix')
    .action(async (ref: string, flags: LogsFlags, cmd: Command) => {
      const tail = tailCount(flags.tail);
      const since = flags.since !== undefined ? sinceMs(flags.since) : undefined;
      const format = {
        timestamps: flags.timestamps === true,
        noTaskIds: flags.taskIds === false,
        noTrunc: flags.trunc === false,
        noResolve: flags.resolve === false,
        raw: flags.raw === true,
      };
      const [view, { subscribeLogs }, { engineAddress }] = await Promise.all([import('../service-logs-view.js'), import('../logs-client.js'), import('../engine-client.js')]);
      await withControl(cmd, async (control) => {
        const { selector, names } = await resolveTarget(control, ref);
        let width = Math.max(0, ...[...names.tasks.values()].map((t) => view.logPrefix(sample(t), names, format).length));
        let refreshes = 0;
        const unknown = new Set<string>();
        const stream = subscribeLogs(
          engineAddress(rootHost(cmd)),
          { selector, options: { follow: flags.follow === true, tail: tail ?? -1, ...(since !== undefined ? { since: timestampFromMs(since) } : {}) } },
          (m) => {
            for (const w of m.warnings) process.stderr.write(`warning: ${w}\n`);
            for (const message of m.messages) {
              const taskId = message.context?.taskId ?? '';
              if (!names.tasks.has(taskId) && !unknown.has(taskId) && refreshes < maxNameRefreshes) {
                unknown.add(taskId);
                refreshes++;
                void refreshNames(control, names, message).then(() => unknown.delete(taskId), () => undefined);
              }
              const line = view.formatLogLine(message, names, format, width);
              width = Math.max(width, view.logPrefix(message, names, format).length);
              (message.source === LogSource.STDERR ? process.stderr : process.stdout).write(line);
            }
          },
        );
        const interrupt = (): void => stream.cancel();
        process.once('SIGINT', interrupt);
        try {
          await stream.done;
        } finally {
          process.off('SIGINT', interrupt);
        }
      });
    });
}

function rootHost(cmd: Command): string | undefined {
  let root = cmd;
  while (root.parent) root = root.parent;
  return (root.opts() as { host?: string }).host;
}

interface Names {
  serviceNames: Map<string, string>;
  tasks: Map<string, Task>;
  hostnames: Map<string, string>;
}

/** The selector for `ref` (a service first, else a task) and the names its lines need. */
async function resolveTarget(control: ControlClient, ref: string): Promise<{ selector: LogSelector; names: Names }> {
  const view = await import('../service-view.js');
  const [services, nodes] = await Promise.all([control.listServices(), control.listNodes()]);
  const names: Names = {
    serviceNames: new Map(services.map((s) => [s.id, view.serviceName(s)])),
    tasks: new Map(),
    hostnames: new Map(nodes.map((n) => [n.id, n.description?.hostname ?? ''])),
  };
  let serviceId: string | undefined;
  try {
    serviceId = view.resolveService(services, ref).id;
  } catch (err) {
    if (!isTsswarmError(err, ErrorCode.NOT_FOUND)) throw err;
  }
  if (serviceId !== undefined) {
    for (const t of await control.listTasks({ serviceIds: [serviceId] })) names.tasks.set(t.id, t);
    return { selector: { serviceIds: [serviceId], taskIds: [] }, names };
  }
  const tasks = (await control.listTasks({})).filter((t) => t.id === ref || (ref.length >= 4 && t.id.startsWith(ref)));
  if (tasks.length === 0) throw new TsswarmError(ErrorCode.NOT_FOUND, `no such service or task: ${ref}`);
  if (tasks.length > 1) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `task ID prefix ${ref} is ambiguous (${tasks.length} tasks match); give more of it`);
  const task = tasks[0] as Task;
  names.tasks.set(task.id, task);
  return { selector: { serviceIds: [], taskIds: [task.id] }, names };
}

async function refreshNames(control: ControlClient, names: Names, message: LogMessage): Promise<void> {
  const serviceId = message.context?.serviceId ?? '';
  if (serviceId === '') return;
  for (const t of await control.listTasks({ serviceIds: [serviceId] })) names.tasks.set(t.id, t);
  const nodeId = message.context?.nodeId ?? '';
  if (nodeId !== '' && !names.hostnames.has(nodeId)) {
    const node = await control.getNode(nodeId).catch(() => undefined);
    if (node) names.hostnames.set(nodeId, node.description?.hostname ?? '');
  }
}

/** A message carrying only `task`'s context, to measure its prefix. */
function sample(t: Task): LogMessage {
  return { context: { serviceId: t.serviceId, taskId: t.id, nodeId: t.nodeId }, source: 0, data: new Uint8Array() };
}
