/**
 * Writes the listings `service` and `stack` share: services (`service ls`, `stack services`) and
 * tasks (`service ps`, `stack ps`) as docker's table, JSON, a template or IDs only; task names
 * resolved (or IDs with --no-resolve) and IDs shortened unless --no-trunc.
 */
import type { Node, Service, Task } from '../proto/index.js';
import { renderTemplateRows, type OutputChoice } from './format-template.js';
import { hostnameOf } from './node-view.js';
import { renderJson } from './output.js';
import { filterTasks, serviceName, serviceRow, serviceTable, serviceTaskRows, serviceTaskTable, sortServices, type TaskContext, type TaskFilter } from './service-view.js';

/** The flags both commands share. */
export interface TaskListFlags {
  readonly quiet?: boolean;
  readonly trunc: boolean;
  readonly resolve: boolean;
}

/** Writes `tasks` of `services` to stdout as `choice` asks. */
export function writeServiceTasks(services: readonly Service[], tasks: readonly Task[], nodes: readonly Node[], flags: TaskListFlags, filter: TaskFilter, choice: OutputChoice): void {
  const ctx = (noTrunc: boolean): TaskContext => ({
    serviceNames: new Map(services.map((s) => [s.id, flags.resolve ? serviceName(s) : s.id])),
    hostnames: new Map(flags.resolve ? nodes.map((n) => [n.id, hostnameOf(n)]) : []),
    nowMs: Date.now(),
    noTrunc,
  });
  const shown = filterTasks(tasks, filter, ctx(true));
  const rows = serviceTaskRows(shown, ctx(!flags.trunc));
  if (flags.quiet) process.stdout.write(rows.map((r) => `${r.ID}\n`).join(''));
  else if (choice.kind === 'json') process.stdout.write(renderJson(serviceTaskRows(shown, ctx(true))));
  else if (choice.kind === 'template') process.stdout.write(renderTemplateRows(choice.template, rows));
  else process.stdout.write(serviceTaskTable(rows));
}

/** Writes `services` (sorted, with their task counts) to stdout as `choice` asks. */
export function writeServices(services: readonly Service[], tasks: readonly Task[], nodes: readonly Node[], quiet: boolean, choice: OutputChoice): void {
  const shown = sortServices(services);
  const rows = shown.map((s) => serviceRow(s, tasks, nodes));
  if (quiet) process.stdout.write(shown.map((s) => `${s.id}\n`).join(''));
  else if (choice.kind === 'json') process.stdout.write(renderJson(shown.map((s) => serviceRow(s, tasks, nodes, true))));
  else if (choice.kind === 'template') process.stdout.write(renderTemplateRows(choice.template, rows));
  else process.stdout.write(serviceTable(rows));
}
