/**
 * The set of things one node must know to run its tasks, and the changes to it since the last
 * message: a pure core (no I/O, no clock) fed with the store's contents and watch events, drained
 * by the assignments stream into AssignmentsMessages.
 *
 * Which tasks: as SwarmKit's dispatcher, tasks on the node that the scheduler has placed (observed
 * state ASSIGNED or later; below that the task may not fit the node yet, so its secrets must not
 * leave the managers), and that still matter to the worker: desired state at most RUNNING, or
 * observed state not yet final. A task that is final and not wanted running again leaves the set
 * (REMOVE), as does a deleted one. A status change the worker itself reported (the task is
 * otherwise unchanged and past ASSIGNED) is not echoed back.
 *
 * Dependencies: the secrets, configs and networks a task references are in the set while at least
 * one task in the set that has not finished (observed state at most RUNNING) references them and
 * the store has them; they leave when the last such reference goes.
 */
import {
  AssignmentAction,
  Task,
  type Assignment,
  TaskState,
  type AssignmentChange,
  type Config,
  type Network,
  type Secret,
} from '../../proto/index.js';
import type { StoreEvent } from '../store/index.js';

/** The kinds of object a task depends on and the assignment carries besides tasks. */
export type DependencyKind = 'secret' | 'config' | 'network';

/** Reads a dependency from the store (the node's view is built from these reads and watch events). */
export type DependencyReader = <K extends DependencyKind>(kind: K, id: string) => DependencyTypes[K] | undefined;

/** The object type of each dependency kind. */
export interface DependencyTypes {
  secret: Secret;
  config: Config;
  network: Network;
}

interface Dependency {
  refs: number;
  /** The object as last read or watched; undefined while the store does not have it. */
  object: Secret | Config | Network | undefined;
  /** True when the worker was told about it (so a removal must be sent). */
  sent: boolean;
}

/** True when `task` belongs in the assignment set of `nodeId`. */
export function isAssignedTask(task: Task, nodeId: string): boolean {
  if (task.nodeId !== nodeId || task.nodeId === '') return false;
  const observed = task.status?.state ?? TaskState.NEW;
  if (observed < TaskState.ASSIGNED) return false;
  return task.desiredState <= TaskState.RUNNING || observed < TaskState.COMPLETE;
}

/** The dependency keys ("secret/<id>", ...) a task references. */
export function dependencyKeys(task: Task): string[] {
  const keys = new Set<string>();
  for (const s of task.spec?.container?.secrets ?? []) if (s.secretId !== '') keys.add(`secret/${s.secretId}`);
  for (const c of task.spec?.container?.configs ?? []) if (c.configId !== '') keys.add(`config/${c.configId}`);
  for (const n of task.networks) if (n.networkId !== '') keys.add(`network/${n.networkId}`);
  return [...keys];
}

/** True when two versions of a task differ only in what the worker reports (status) and store bookkeeping (meta). */
export function tasksEqualStable(a: Task, b: Task): boolean {
  const strip = (t: Task): Task => {
    const { status: _status, meta: _meta, ...rest } = t;
    return rest;
  };
  const x = Task.encode(strip(a));
  const y = Task.encode(strip(b));
  if (x.byteLength !== y.byteLength) return false;
  for (let i = 0; i < x.byteLength; i++) if (x[i] !== y[i]) return false;
  return true;
}

function splitKey(key: string): { kind: DependencyKind; id: string } {
  const slash = key.indexOf('/');
  return { kind: key.slice(0, slash) as DependencyKind, id: key.slice(slash + 1) };
}

function assignmentOf(kind: DependencyKind, object: Secret | Config | Network): Assignment {
  switch (kind) {
    case 'secret':
      return { secret: object as Secret };
    case 'config':
      return { config: object as Config };
    case 'network':
      return { network: object as Network };
  }
}

/** One node's assignment set and its pending changes. */
export class AssignmentSet {
  private readonly tasks = new Map<string, Task>();
  /** Dependency keys each task holds a reference on. */
  private readonly held = new Map<string, string[]>();
  private readonly dependencies = new Map<string, Dependency>();
  /** Changes not yet taken, by "task/<id>" or dependency key; later changes replace earlier ones. */
  private readonly changes = new Map<string, AssignmentChange>();
  /** Counts recorded changes, so apply() can tell whether an event mattered. */
  private revision = 0;

  constructor(
    readonly nodeId: string,
    private readonly read: DependencyReader,
  ) {}

  /** Number of tasks in the set. */
  get taskCount(): number {
    return this.tasks.size;
  }

  /** Number of changes waiting to be taken. */
  get pendingChanges(): number {
    return this.changes.size;
  }

  /** True when a store event may concern this set (the cheap filter for the store watch). */
  concerns(event: StoreEvent): boolean {
    const o = event.object;
    if (o.kind === 'task') return o.value.nodeId === this.nodeId || this.tasks.has(o.value.id);
    if (o.kind === 'secret' || o.kind === 'config' || o.kind === 'network') return this.dependencies.has(`${o.kind}/${o.value.id}`);
    return false;
  }

  /** Fills the set from the node's tasks as the store holds them now; pending changes are dropped. */
  load(tasks: readonly Task[]): void {
    for (const task of tasks) this.upsertTask(task);
    this.changes.clear();
  }

  /** Everything in the set, as UPDATE changes: the body of a COMPLETE message. */
  snapshot(): AssignmentChange[] {
    const out: AssignmentChange[] = [];
    for (const task of this.tasks.values()) out.push({ action: AssignmentAction.UPDATE, assignment: { task } });
    for (const [key, dep] of this.dependencies) {
      if (dep.object === undefined) continue;
      dep.sent = true;
      out.push({ action: AssignmentAction.UPDATE, assignment: assignmentOf(splitKey(key).kind, dep.object) });
    }
    return out;
  }

  /** Applies one store event; returns true when it changed what the worker must be told. */
  apply(event: StoreEvent): boolean {
    const o = event.object;
    const before = this.revision;
    switch (o.kind) {
      case 'task':
        if (event.kind === 'remove') this.removeTask(o.value.id);
        else this.upsertTask(o.value);
        break;
      case 'secret':
      case 'config':
      case 'network':
        this.dependencyChanged(o.kind, o.value, event.kind === 'remove');
        break;
      default:
        return false;
    }
    return this.revision !== before;
  }

  /** Takes up to `max` pending changes, oldest first. */
  take(max: number): AssignmentChange[] {
    const out: AssignmentChange[] = [];
    for (const [key, change] of this.changes) {
      if (out.length >= max) break;
      out.push(change);
      this.changes.delete(key);
    }
    return out;
  }

  private record(key: string, change: AssignmentChange): void {
    this.changes.delete(key);
    this.changes.set(key, change);
    this.revision++;
  }

  private upsertTask(task: Task): void {
    if (!isAssignedTask(task, this.nodeId)) {
      this.removeTask(task.id);
      return;
    }
    const old = this.tasks.get(task.id);
    this.tasks.set(task.id, task);
    const observed = task.status?.state ?? TaskState.NEW;
    this.hold(task.id, observed <= TaskState.RUNNING ? dependencyKeys(task) : []);
    // States up to ASSIGNED are set by managers, so they are always news to the worker.
    if (old !== undefined && observed > TaskState.ASSIGNED && tasksEqualStable(old, task)) return;
    this.record(`task/${task.id}`, { action: AssignmentAction.UPDATE, assignment: { task } });
  }

  private removeTask(id: string): void {
    const old = this.tasks.get(id);
    if (old === undefined) return;
    this.tasks.delete(id);
    // The task goes before what it used; a new task's dependencies go before the task.
    this.record(`task/${id}`, { action: AssignmentAction.REMOVE, assignment: { task: old } });
    this.hold(id, []);
  }

  /** Makes task `taskId` hold exactly `keys`, acquiring and releasing references. */
  private hold(taskId: string, keys: readonly string[]): void {
    const before = this.held.get(taskId) ?? [];
    const next = new Set(keys);
    for (const key of before) if (!next.has(key)) this.release(key);
    const prior = new Set(before);
    for (const key of next) if (!prior.has(key)) this.acquire(key);
    if (next.size === 0) this.held.delete(taskId);
    else this.held.set(taskId, [...next]);
  }

  private acquire(key: string): void {
    const dep = this.dependencies.get(key);
    if (dep !== undefined) {
      dep.refs++;
      return;
    }
    const { kind, id } = splitKey(key);
    const object = this.read(kind, id);
    this.dependencies.set(key, { refs: 1, object, sent: object !== undefined });
    if (object !== undefined) this.record(key, { action: AssignmentAction.UPDATE, assignment: assignmentOf(kind, object) });
  }

  private release(key: string): void {
    const dep = this.dependencies.get(key);
    if (dep === undefined) return;
    dep.refs--;
    if (dep.refs > 0) return;
    this.dependencies.delete(key);
    if (dep.sent) this.record(key, removal(splitKey(key)));
    else this.changes.delete(key);
  }

  private dependencyChanged(kind: DependencyKind, object: Secret | Config | Network, removed: boolean): void {
    const key = `${kind}/${object.id}`;
    const dep = this.dependencies.get(key);
    if (dep === undefined) return;
    if (removed) {
      dep.object = undefined;
      if (dep.sent) this.record(key, removal({ kind, id: object.id }));
      dep.sent = false;
      return;
    }
    dep.object = object;
    dep.sent = true;
    this.record(key, { action: AssignmentAction.UPDATE, assignment: assignmentOf(kind, object) });
  }
}

/** A REMOVE change naming a dependency by ID only (a removed secret's data is not sent again). */
function removal({ kind, id }: { kind: DependencyKind; id: string }): AssignmentChange {
  switch (kind) {
    case 'secret':
      return { action: AssignmentAction.REMOVE, assignment: { secret: { id, internal: false } } };
    case 'config':
      return { action: AssignmentAction.REMOVE, assignment: { config: { id } } };
    case 'network':
      return { action: AssignmentAction.REMOVE, assignment: { network: { id, vni: 0, pendingDelete: false } } };
  }
}
