/**
 * Rolling updates (pure), on top of reconcile: when a service's task template changes, the slots
 * (replicated) or nodes (global) whose wanted task still runs the old template are replaced a
 * batch at a time: at most `update.parallelism` slots (0: all) per batch, the next batch only once
 * every new task of the last one is RUNNING and `update.delay` has passed. Stop-first (the
 * default) shuts the old task down as the new one is created; start-first keeps the old one until
 * the new one runs. A new task that fails while the update runs pauses it (failure action pause,
 * the default; continue ignores failures). The service's updateStatus follows: UPDATING with
 * startedAt, PAUSED with the failed task, COMPLETED with completedAt.
 *
 * A task is outdated when its spec differs from the service's task template (as SwarmKit decides),
 * so a service update that changes only labels or the replica count redeploys nothing. Not yet
 * here: rollback (failure action rollback pauses instead, and says so), the monitor period and
 * max failure ratio (the first failure counts), updates of job services.
 */
import { TaskSpec, TaskState, UpdateFailureAction, UpdateOrder, UpdateState, type Service, type Task, type UpdateStatus } from '../../proto/index.js';
import { millisOf, timestampFromMs } from '../../proto/time.js';
import { makeTask, reconcile, type ReconcileInput, type ReconcileOutput } from './reconcile.js';
import { isFinished, isWanted } from './restart-policy.js';

/** The message of a finished update. */
export const updateCompletedMessage = 'update completed';
/** The message while an update runs. */
export const updateInProgressMessage = 'update in progress';

/** Tasks replaced at once when the service has no update config (docker's default). */
export const defaultUpdateParallelism = 1;

/** What the orchestrator remembers of an update between two passes (in memory; lost with leadership). */
export interface UpdatePacing {
  /** A batch was started and has not finished yet. */
  readonly batchActive: boolean;
  /** No new batch before this wall-clock time (the update delay after the last batch). */
  readonly notBeforeMs: number;
}

/** Pacing of a service with no update under way. */
export const idlePacing: UpdatePacing = { batchActive: false, notBeforeMs: 0 };

/** What orchestrate needs: reconcile's input plus the pacing of the last pass. */
export interface OrchestrateInput extends ReconcileInput {
  readonly pacing: UpdatePacing;
}

/** Reconcile's decisions plus the update's. */
export interface OrchestrateOutput extends ReconcileOutput {
  /** The service's new updateStatus, when it changes. */
  readonly updateStatus: UpdateStatus | undefined;
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

/** Reconciles the service and advances its rolling update; see the file comment. */
export function orchestrate(input: OrchestrateInput): OrchestrateOutput {
  const base = reconcile(input);
  const { service } = input;
  if (isJob(service) || service.pendingDelete) return { ...base, updateStatus: undefined, pacing: idlePacing };
  const template = templateOf(service);
  const outdated = (t: Task): boolean => isOutdated(t, template);
  const global = service.spec?.global !== undefined;
  const keyOf = (t: Task): string => (global ? `node:${t.nodeId}` : `slot:${t.slot}`);
  const startFirst = service.spec?.update?.order === UpdateOrder.START_FIRST;

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

  // Start-first: reconcile stops the older of two wanted tasks in a slot; keep it until the new one runs.
  let shutdown = base.shutdown;
  if (startFirst) {
    const waitingFor = new Set<string>();
    for (const [key, tasks] of slots) if (tasks.some((t) => !outdated(t) && !isRunning(t))) waitingFor.add(key);
    const kept = base.shutdown.filter((t) => outdated(t) && !isFinished(t) && waitingFor.has(keyOf(t)));
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
    if (current.length === 0) dirty.push({ key, old: tasks });
  }
  dirty.sort((a, b) => compareKeys(a.key, b.key));

  const nowMs = input.nowMs;
  const previous = service.updateStatus;
  const state = previous?.state ?? UpdateState.UNKNOWN;
  const paused = state === UpdateState.PAUSED || state === UpdateState.ROLLBACK_PAUSED || state === UpdateState.ROLLBACK_STARTED;
  const keep = (updateStatus: UpdateStatus | undefined, pacing: UpdatePacing, extra: { create?: Task[]; shutdown?: Task[]; wakeAtMs?: number } = {}): OrchestrateOutput => ({
    create: [...base.create, ...(extra.create ?? [])],
    shutdown: [...shutdown, ...(extra.shutdown ?? [])],
    remove: base.remove,
    wakeAtMs: minDefined(base.wakeAtMs, extra.wakeAtMs),
    updateStatus,
    pacing,
  });
  if (paused) return keep(undefined, idlePacing);
  if (state !== UpdateState.UPDATING && dirty.length === 0) return keep(undefined, idlePacing);

  let status: UpdateStatus | undefined;
  let startedAt = previous?.startedAt;
  if (state !== UpdateState.UPDATING) {
    startedAt = timestampFromMs(nowMs);
    status = { state: UpdateState.UPDATING, startedAt, message: updateInProgressMessage };
  }

  const action = service.spec?.update?.failureAction ?? UpdateFailureAction.PAUSE;
  if (action !== UpdateFailureAction.CONTINUE) {
    const failed = input.tasks.find((t) => !outdated(t) && isWanted(t) && isFinished(t) && t.status?.state !== TaskState.COMPLETE);
    if (failed) {
      const why = failed.status?.err ? `: ${failed.status.err}` : '';
      const rollback = action === UpdateFailureAction.ROLLBACK ? ' (rollback is not implemented yet, so the update paused)' : '';
      const pausedStatus: UpdateStatus = {
        state: UpdateState.PAUSED,
        ...(startedAt ? { startedAt } : {}),
        message: `update paused due to failure or early termination of task ${failed.id}${why}${rollback}`,
      };
      return keep(pausedStatus, idlePacing);
    }
  }

  if (dirty.length === 0 && inFlight === 0) {
    const done: UpdateStatus = { state: UpdateState.COMPLETED, ...(startedAt ? { startedAt } : {}), completedAt: timestampFromMs(nowMs), message: updateCompletedMessage };
    return keep(done, idlePacing);
  }
  if (inFlight > 0) return keep(status, { batchActive: true, notBeforeMs: 0 });

  // No batch in flight: wait out the delay after the last one, then start the next.
  let pacing = input.pacing;
  if (pacing.batchActive) pacing = { batchActive: false, notBeforeMs: nowMs + millisOf(service.spec?.update?.delay) };
  if (nowMs < pacing.notBeforeMs) return keep(status, pacing, { wakeAtMs: pacing.notBeforeMs });
  // No update config at all: docker's default of one at a time; an explicit 0: all at once.
  const update = service.spec?.update;
  const parallelism = update === undefined ? defaultUpdateParallelism : update.parallelism || dirty.length;
  const create: Task[] = [];
  const stop: Task[] = [];
  for (const { key, old } of dirty.slice(0, parallelism)) {
    const sample = old[0] as Task;
    const slot = global ? 0 : sample.slot;
    const nodeId = global ? key.slice('node:'.length) : '';
    create.push(makeTask(service, slot, nodeId, nowMs, input.newId()));
    if (!startFirst) for (const t of old) if (!stoppedIds.has(t.id)) stop.push({ ...t, desiredState: TaskState.SHUTDOWN });
  }
  return keep(status, { batchActive: true, notBeforeMs: 0 }, { create, shutdown: stop });
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
