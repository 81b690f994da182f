/**
 * Rolling updates and rollbacks (pure), on top of reconcile: when a service's task template
 * changes, the slots (replicated) or nodes (global) whose wanted task still runs the old template
 * are replaced a batch at a time: at most `parallelism` slots (0: all) per batch, the next batch
 * only once every new task of the last one is RUNNING and `delay` has passed. Stop-first (the
 * default) shuts the old task down as the new one is created; start-first keeps the old one until
 * the new one runs. Global tasks on paused nodes are left alone (as SwarmKit does).
 *
 * Failures: a new task that fails before it runs, or within `monitor` (default 5 s) of running,
 * counts. Once the failures exceed `maxFailureRatio` of the service's slots, the failure action
 * applies: pause (default) → PAUSED; continue → nothing; rollback → the spec goes back to the
 * previous one (the orchestrator writes it) and ROLLBACK_STARTED, after which the rollback config
 * (`spec.rollback`) paces the way back; a failing rollback pauses (ROLLBACK_PAUSED), never rolls
 * back again. The update is COMPLETED (ROLLBACK_COMPLETED) once every slot runs the template and
 * the last new task has run for the monitor period. PAUSED / ROLLBACK_PAUSED stay until the
 * service is updated again (the control API clears the status then).
 *
 * A task is outdated when its spec differs from the service's task template (as SwarmKit decides),
 * so a service update that changes only labels or the replica count redeploys nothing. A quiet
 * replicated service (no update, nothing in flight) may be rebalanced (rebalance.ts). Jobs are not
 * updated in place.
 */
import { NodeAvailability, NodeState, TaskSpec, TaskState, UpdateFailureAction, UpdateOrder, UpdateState, type Service, type Task, type UpdateConfig, type UpdateStatus } from '../../proto/index.js';
import { millisOf, timestampFromMs } from '../../proto/time.js';
import { idleRebalance, rebalance, type RebalanceMemory } from './rebalance.js';
import { makeTask, reconcile, type ReconcileInput, type ReconcileOutput } from './reconcile.js';
import { isFinished, isWanted } from './restart-policy.js';

/** The message of a finished update. */
export const updateCompletedMessage = 'update completed';
/** The message while an update runs. */
export const updateInProgressMessage = 'update in progress';
/** The message of a finished rollback (followed by why it started, in parentheses). */
export const rollbackCompletedMessage = 'rollback completed';

/** Tasks replaced at once when the service has no update config (docker's default). */
export const defaultUpdateParallelism = 1;
/** How long a new task is watched for failure when the config sets no monitor (docker's default). */
export const defaultUpdateMonitorMs = 5_000;

/** What the orchestrator remembers of an update between two passes (in memory; lost with leadership). */
export interface UpdatePacing {
  /** A batch was started and has not finished yet. */
  readonly batchActive: boolean;
  /** No new batch before this wall-clock time (the update delay after the last batch). */
  readonly notBeforeMs: number;
  /** Tasks of the template seen RUNNING during the update: task ID → since when (ms). */
  readonly runningSince: Readonly<Record<string, number>>;
  /** Rebalancing's memory. */
  readonly rebalance: RebalanceMemory;
}

/** Pacing of a service with no update under way. */
export const idlePacing: UpdatePacing = { batchActive: false, notBeforeMs: 0, runningSince: {}, rebalance: idleRebalance };

/** What orchestrate needs: reconcile's input plus the pacing of the last pass. */
export interface OrchestrateInput extends ReconcileInput {
  readonly pacing: UpdatePacing;
  /** The cluster's rebalancing default (ClusterSpec.orchestration.rebalance). */
  readonly clusterRebalance?: boolean;
}

/** Reconcile's decisions plus the update's. */
export interface OrchestrateOutput extends ReconcileOutput {
  /** The service's new updateStatus, when it changes. */
  readonly updateStatus: UpdateStatus | undefined;
  /** Roll the spec back: spec = previousSpec, previousSpec cleared (with updateStatus ROLLBACK_STARTED). */
  readonly rollback: boolean;
  readonly pacing: UpdatePacing;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `task` runs another template than the service's current one. */
export function isOutdated(task: Task, template: Uint8Array): boolean {
  return !sameBytes(TaskSpec.encode(task.spec ?? TaskSpec.create()), template);
}

function templateOf(service: Service): Uint8Array {
  return TaskSpec.encode(service.spec?.task ?? TaskSpec.create());
}

function isRunning(task: Task): boolean {
  return (task.status?.state ?? TaskState.NEW) === TaskState.RUNNING;
}

function isJob(service: Service): boolean {
  return service.spec?.replicatedJob !== undefined || service.spec?.globalJob !== undefined;
}

/** True for a task that ended on its own (not asked to stop, not a clean exit). */
function failedOnItsOwn(task: Task): boolean {
  const state = task.status?.state ?? TaskState.NEW;
  return state === TaskState.FAILED || state === TaskState.REJECTED;
}

/** The monitor period of a config: docker's 5 s when it sets none. */
export function monitorMsOf(config: UpdateConfig | undefined): number {
  return config?.monitor === undefined ? defaultUpdateMonitorMs : millisOf(config.monitor);
}

function failureText(verb: string, task: Task): string {
  const why = task.status?.err ? `: ${task.status.err}` : '';
  return `${verb} due to failure or early termination of task ${task.id}${why}`;
}

/** Reconciles the service and advances its rolling update or rollback; see the file comment. */
export function orchestrate(input: OrchestrateInput): OrchestrateOutput {
  const base = reconcile(input);
  const { service, nowMs } = input;
  if (isJob(service) || service.pendingDelete) return { ...base, updateStatus: undefined, rollback: false, pacing: idlePacing };
  const previous = service.updateStatus;
  const state = previous?.state ?? UpdateState.UNKNOWN;
  const rollingBack = state === UpdateState.ROLLBACK_STARTED || state === UpdateState.ROLLBACK_PAUSED;
  const config = rollingBack ? service.spec?.rollback : service.spec?.update;
  const template = templateOf(service);
  const outdated = (t: Task): boolean => isOutdated(t, template);
  const global = service.spec?.global !== undefined;
  const keyOf = (t: Task): string => (global ? `node:${t.nodeId}` : `slot:${t.slot}`);
  const startFirst = config?.order === UpdateOrder.START_FIRST;
  const nodes = new Map(input.nodes.map((n) => [n.id, n]));

  // The tasks as they are once reconcile's decisions apply.
  const stoppedIds = new Set(base.shutdown.map((t) => t.id));
  const removed = new Set(base.remove);
  const view = [...input.tasks.filter((t) => !removed.has(t.id)).map((t): Task => (stoppedIds.has(t.id) ? { ...t, desiredState: TaskState.SHUTDOWN } : t)), ...base.create];
  const slots = new Map<string, Task[]>();
  for (const t of view) {
    if (!isWanted(t)) continue;
    const list = slots.get(keyOf(t));
    if (list) list.push(t);
    else slots.set(keyOf(t), [t]);
  }

  // Start-first: reconcile stops the older of two wanted tasks in a slot; keep it (while its node
  // is usable) until the newest one runs. This serves updates and rebalancing moves alike.
  let shutdown = base.shutdown;
  if (startFirst) {
    const waitingFor = new Set<string>();
    for (const [key, tasks] of slots) if (tasks.some((t) => !outdated(t) && !isRunning(t))) waitingFor.add(key);
    const usable = (t: Task): boolean => {
      const n = nodes.get(t.nodeId);
      return n !== undefined && n.status?.state !== NodeState.DOWN && (n.spec?.availability ?? NodeAvailability.ACTIVE) !== NodeAvailability.DRAIN;
    };
    const kept = base.shutdown.filter((t) => !isFinished(t) && usable(t) && waitingFor.has(keyOf(t)) && olderInSlot(t, input.tasks, keyOf));
    shutdown = base.shutdown.filter((t) => !kept.includes(t));
    for (const t of kept) {
      const list = slots.get(keyOf(t));
      if (list) list.push(t);
      else slots.set(keyOf(t), [t]);
    }
  }

  const dirty: { key: string; old: Task[] }[] = [];
  let inFlight = 0;
  for (const [key, tasks] of slots) {
    const current = tasks.filter((t) => !outdated(t));
    if (current.some((t) => (t.status?.state ?? TaskState.NEW) < TaskState.RUNNING)) inFlight++;
    if (current.length > 0) continue;
    // Global tasks on a paused node are not updated (the node takes no new task).
    const node = global ? nodes.get(key.slice('node:'.length)) : undefined;
    if (node !== undefined && node.spec?.availability === NodeAvailability.PAUSE) continue;
    dirty.push({ key, old: tasks });
  }
  dirty.sort((a, b) => compareKeys(a.key, b.key));

  const paused = state === UpdateState.PAUSED || state === UpdateState.ROLLBACK_PAUSED;
  const active = state === UpdateState.UPDATING || state === UpdateState.ROLLBACK_STARTED;
  const keep = (updateStatus: UpdateStatus | undefined, pacing: UpdatePacing, extra: { create?: Task[]; shutdown?: Task[]; wakeAtMs?: number | undefined } = {}): OrchestrateOutput => ({
    create: [...base.create, ...(extra.create ?? [])],
    shutdown: [...shutdown, ...(extra.shutdown ?? [])],
    remove: base.remove,
    wakeAtMs: minDefined(base.wakeAtMs, extra.wakeAtMs),
    updateStatus,
    rollback: false,
    pacing,
  });
  if (paused) return keep(undefined, { ...idlePacing, rebalance: input.pacing.rebalance });
  if (!active && dirty.length === 0) {
    // Quiet: a replicated service may be rebalanced once nothing is in flight.
    const quiet = inFlight === 0 && base.create.length === 0 && shutdown.length === 0 && !global;
    if (!quiet) return keep(undefined, { ...idlePacing, rebalance: input.pacing.rebalance });
    const moves = rebalance({ service, tasks: view, nodes: input.nodes, clusterDefault: input.clusterRebalance ?? false, nowMs, memory: input.pacing.rebalance, newId: input.newId });
    return keep(undefined, { ...idlePacing, rebalance: moves.memory }, { create: moves.create, shutdown: moves.shutdown, wakeAtMs: moves.wakeAtMs });
  }

  let status: UpdateStatus | undefined;
  let startedAt = previous?.startedAt;
  let pacing = input.pacing;
  if (!active) {
    // A new update starts (a finished one, or none before).
    startedAt = timestampFromMs(nowMs);
    status = { state: UpdateState.UPDATING, startedAt, message: updateInProgressMessage };
    pacing = idlePacing;
  }
  const rollbackRun = state === UpdateState.ROLLBACK_STARTED;

  // Watch the template's tasks: when they first ran, for the monitor period.
  const runningSince: Record<string, number> = {};
  for (const t of view) {
    if (outdated(t)) continue;
    const seen = pacing.runningSince[t.id];
    if (seen !== undefined) runningSince[t.id] = seen;
    else if (isRunning(t)) runningSince[t.id] = Math.min(nowMs, millisOf(t.status?.timestamp) || nowMs);
  }
  const monitorMs = monitorMsOf(config);
  const startedMs = millisOf(startedAt);
  const failures = input.tasks.filter((t) => {
    if (outdated(t) || !failedOnItsOwn(t)) return false;
    const endedMs = millisOf(t.status?.timestamp);
    if (endedMs < startedMs) return false;
    const since = pacing.runningSince[t.id];
    return since === undefined || endedMs - since <= monitorMs;
  });
  const action = config?.failureAction ?? UpdateFailureAction.PAUSE;
  const ratio = config?.maxFailureRatio ?? 0;
  const total = Math.max(1, slots.size);
  const first = failures.sort((a, b) => millisOf(a.status?.timestamp) - millisOf(b.status?.timestamp) || (a.id < b.id ? -1 : 1))[0];
  if (first !== undefined && action !== UpdateFailureAction.CONTINUE && failures.length / total > ratio + 1e-9) {
    const since = startedAt ? { startedAt } : {};
    if (rollbackRun) {
      return keep({ state: UpdateState.ROLLBACK_PAUSED, ...since, message: failureText('rollback paused', first) }, { ...idlePacing, rebalance: input.pacing.rebalance });
    }
    if (action === UpdateFailureAction.ROLLBACK && service.previousSpec !== undefined) {
      const rolled: UpdateStatus = { state: UpdateState.ROLLBACK_STARTED, startedAt: timestampFromMs(nowMs), message: failureText('update rolled back', first) };
      // Nothing is created from the failing spec this pass; the next pass works from the previous one.
      return { create: [], shutdown: [], remove: base.remove, wakeAtMs: base.wakeAtMs, updateStatus: rolled, rollback: true, pacing: { ...idlePacing, rebalance: input.pacing.rebalance } };
    }
    const noPrevious = action === UpdateFailureAction.ROLLBACK ? ' (no previous spec to roll back to)' : '';
    return keep({ state: UpdateState.PAUSED, ...since, message: `${failureText('update paused', first)}${noPrevious}` }, { ...idlePacing, rebalance: input.pacing.rebalance });
  }

  const nextPacing = (p: Pick<UpdatePacing, 'batchActive' | 'notBeforeMs'>): UpdatePacing => ({ ...p, runningSince, rebalance: input.pacing.rebalance });
  if (dirty.length === 0 && inFlight === 0) {
    // Every slot runs the template: done once the newest task has been watched long enough.
    let watchedUntil = 0;
    for (const [id, since] of Object.entries(runningSince)) if (view.some((t) => t.id === id && isWanted(t))) watchedUntil = Math.max(watchedUntil, since + monitorMs);
    if (nowMs < watchedUntil) return keep(status, nextPacing({ batchActive: false, notBeforeMs: 0 }), { wakeAtMs: watchedUntil });
    const done: UpdateStatus = {
      state: rollingBack ? UpdateState.ROLLBACK_COMPLETED : UpdateState.COMPLETED,
      ...(startedAt ? { startedAt } : {}),
      completedAt: timestampFromMs(nowMs),
      // A finished rollback keeps why it started: "rollback completed (update rolled back due to ...)".
      message: rollingBack ? `${rollbackCompletedMessage}${previous?.message ? ` (${previous.message})` : ''}` : updateCompletedMessage,
    };
    return keep(done, { ...idlePacing, rebalance: input.pacing.rebalance });
  }
  if (inFlight > 0) return keep(status, nextPacing({ batchActive: true, notBeforeMs: 0 }));

  // No batch in flight: wait out the delay after the last one, then start the next.
  let batch: Pick<UpdatePacing, 'batchActive' | 'notBeforeMs'> = pacing;
  if (batch.batchActive) batch = { batchActive: false, notBeforeMs: nowMs + millisOf(config?.delay) };
  if (nowMs < batch.notBeforeMs) return keep(status, nextPacing(batch), { wakeAtMs: batch.notBeforeMs });
  if (dirty.length === 0) return keep(status, nextPacing(batch));
  // No config at all: docker's default of one at a time; an explicit 0: all at once.
  const parallelism = config === undefined ? defaultUpdateParallelism : config.parallelism || dirty.length;
  const create: Task[] = [];
  const stop: Task[] = [];
  for (const { key, old } of dirty.slice(0, parallelism)) {
    const sample = old[0] as Task;
    const slot = global ? 0 : sample.slot;
    const nodeId = global ? key.slice('node:'.length) : '';
    create.push(makeTask(service, slot, nodeId, nowMs, input.newId()));
    if (!startFirst) for (const t of old) if (!stoppedIds.has(t.id)) stop.push({ ...t, desiredState: TaskState.SHUTDOWN });
  }
  return keep(status, nextPacing({ batchActive: true, notBeforeMs: 0 }), { create, shutdown: stop });
}

/** True when the slot of `t` holds a newer wanted task (so `t` is the older of two). */
function olderInSlot(t: Task, tasks: readonly Task[], keyOf: (t: Task) => string): boolean {
  const key = keyOf(t);
  const v = t.meta?.version?.index ?? 0;
  return tasks.some((o) => o.id !== t.id && keyOf(o) === key && isWanted(o) && (o.meta?.version?.index ?? 0) > v);
}

function compareKeys(a: string, b: string): number {
  const na = Number(a.slice(a.indexOf(':') + 1));
  const nb = Number(b.slice(b.indexOf(':') + 1));
  if (a.startsWith('slot:') && b.startsWith('slot:') && na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
