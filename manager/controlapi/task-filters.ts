/**
 * ListTasks filters, as SwarmKit's controlapi applies them: every criterion given must match; within
 * one criterion any listed value may match. Names and name prefixes are the task's name
 * (`taskName`), labels the labels of the task's service, and the rest the task's service, node,
 * desired state and slot.
 */
import type { Task, TaskFilters } from '../../proto/index.js';
import { labelsMatch } from './node-filters.js';

/**
 * The name a task is shown by: its annotations' name when the orchestrator set one, otherwise
 * `service.slot.id` (`service.node.id` for tasks of global services, which have no slot), as
 * SwarmKit's naming.Task.
 */
export function taskName(task: Task): string {
  const given = task.annotations?.name ?? '';
  if (given !== '') return given;
  const slot = task.slot !== 0 ? String(task.slot) : task.nodeId;
  return `${task.serviceAnnotations?.name ?? ''}.${slot}.${task.id}`;
}

/** True when `task` passes every criterion of `filters` (no filters: every task passes). */
export function taskMatches(task: Task, filters: TaskFilters | undefined): boolean {
  if (filters === undefined) return true;
  const object = filters.object;
  if (object !== undefined) {
    const name = taskName(task);
    if (object.names.length > 0 && !object.names.includes(name)) return false;
    if (object.namePrefixes.length > 0 && !object.namePrefixes.some((p) => name.startsWith(p))) return false;
    if (object.idPrefixes.length > 0 && !object.idPrefixes.some((p) => task.id.startsWith(p))) return false;
    if (Object.keys(object.labels).length > 0 && !labelsMatch(task.serviceAnnotations?.labels, object.labels)) return false;
  }
  if (filters.serviceIds.length > 0 && !filters.serviceIds.includes(task.serviceId)) return false;
  if (filters.nodeIds.length > 0 && !filters.nodeIds.includes(task.nodeId)) return false;
  if (filters.desiredStates.length > 0 && !filters.desiredStates.includes(task.desiredState)) return false;
  if (filters.slots.length > 0 && !filters.slots.includes(task.slot)) return false;
  return true;
}

/** The tasks of `tasks` that pass `filters`, in the same order. */
export function filterTasks(tasks: readonly Task[], filters: TaskFilters | undefined): Task[] {
  return tasks.filter((t) => taskMatches(t, filters));
}
