/**
 * What `service create|update|scale|rollback` show while a service converges, as docker does (pure):
 * from the service and its tasks, one line per slot (`1/3: running   [=====>]`), the overall count,
 * and the verify phase (`verify: Waiting 5 seconds ...`, `verify: Service converged`). The command
 * polls the manager and prints the frames; this module reads no clock and does no I/O.
 */
import { millisOf } from '../proto/time.js';
import { TaskSpec, TaskState, UpdateState, enumKey, type Service, type Task } from '../proto/index.js';
import { modeNameOf } from './service-flags.js';

/** How long tasks must stay running before a service counts as converged when its spec says 0. */
export const defaultVerifyMs = 5_000;
/** Width of a progress bar, in '=' characters, as docker's. */
const barChars = 50;
/** Longest task error shown on a slot line. */
const maxErrorChars = 60;
/** Width the state is padded to (`preparing`), so bars line up. */
const stateWidth = 'preparing'.length;

/** docker's steps of a task on its way to running (docker counts `allocated` too). */
const stateSteps: ReadonlyMap<TaskState, number> = new Map<TaskState, number>([
  [TaskState.NEW, 1],
  [TaskState.PENDING, 3],
  [TaskState.ASSIGNED, 4],
  [TaskState.ACCEPTED, 5],
  [TaskState.PREPARING, 6],
  [TaskState.READY, 7],
  [TaskState.STARTING, 8],
  [TaskState.RUNNING, 9],
]);
const maxStep = 9;

/** One line of a frame: `key` identifies it across frames (a slot, `overall`, `verify`). */
export interface ProgressLine {
  readonly key: string;
  readonly text: string;
}

/** What the verify phase remembers between frames. */
export interface ProgressState {
  /** When every slot was first seen converged (undefined while not). */
  readonly convergedAtMs: number | undefined;
}

/** The initial state. */
export const initialProgress: ProgressState = { convergedAtMs: undefined };

/** One frame: the lines to show, and whether the wait is over. */
export interface ProgressFrame {
  readonly lines: readonly ProgressLine[];
  readonly state: ProgressState;
  readonly done: boolean;
  /** Set when the wait must stop without convergence (an update paused). */
  readonly error?: string;
}

/** docker's bar: `[=====>        ]`, 50 wide. */
export function progressBar(step: number, total: number): string {
  const filled = Math.max(0, Math.min(barChars, Math.floor((step / total) * barChars)));
  return `[${'='.repeat(filled)}>${' '.repeat(barChars - filled)}]`;
}

function stateName(state: TaskState): string {
  return (enumKey(TaskState, state) ?? 'unknown').toLowerCase();
}

function truncError(err: string): string {
  const line = err.split('\n')[0] ?? '';
  return line.length > maxErrorChars ? `${line.slice(0, maxErrorChars - 1)}…` : line;
}

/** The text after `1/3: ` for a task. */
export function taskProgressText(task: Task): string {
  const state = task.status?.state ?? TaskState.NEW;
  const err = task.status?.err ?? '';
  if (err !== '') return truncError(err);
  const step = stateSteps.get(state);
  if (step !== undefined) return `${stateName(state).padEnd(stateWidth)} ${progressBar(step, maxStep)}`;
  if (state === TaskState.COMPLETE) return `${stateName(state).padEnd(stateWidth)} ${progressBar(maxStep, maxStep)}`;
  return stateName(state);
}

function encodedSpec(spec: Service['spec']): string {
  return Buffer.from(TaskSpec.encode(TaskSpec.create(spec?.task ?? {}))).toString('base64');
}

/** True when `task` was made from the service's current task template (docker's `_up-to-date`). */
export function upToDate(task: Task, service: Service, serviceSpec = encodedSpec(service.spec)): boolean {
  return Buffer.from(TaskSpec.encode(TaskSpec.create(task.spec ?? {}))).toString('base64') === serviceSpec;
}

function createdOf(t: Task): number {
  return (t.meta?.version?.index ?? 0) * 1e13 + (millisOf(t.meta?.createdAt) || millisOf(t.status?.timestamp));
}

/** The newest task of each slot (or node, for global modes) that the managers still want. */
function currentBySlot(service: Service, tasks: readonly Task[], global: boolean, wantedOnly: boolean): Map<string, Task> {
  const spec = encodedSpec(service.spec);
  const out = new Map<string, Task>();
  for (const t of tasks) {
    if (t.serviceId !== service.id || !upToDate(t, service, spec)) continue;
    if (wantedOnly && t.desiredState > TaskState.RUNNING) continue;
    const key = global ? t.nodeId : String(t.slot);
    if (global && key === '') continue;
    const have = out.get(key);
    if (!have || createdOf(t) > createdOf(have)) out.set(key, t);
  }
  return out;
}

/** How long the service's tasks must stay up before it counts as converged. */
export function verifyMsOf(service: Service): number {
  return millisOf(service.spec?.update?.monitor) || defaultVerifyMs;
}

/** Node IDs are shown shortened on global-service lines, as docker. */
const nodeIdChars = 12;

/**
 * One frame of progress for `service` with `tasks` at `nowMs`, given the previous state. Replicated:
 * every slot running the current template; global: every node with a task running it; jobs: the
 * completions reached. Converged services are verified for the update monitor period first.
 */
export function progressFrame(service: Service, tasks: readonly Task[], nowMs: number, prev: ProgressState): ProgressFrame {
  const mode = modeNameOf(service.spec);
  const u = service.updateStatus;
  if (u?.state === UpdateState.PAUSED) return { lines: [], state: prev, done: true, error: `update paused: ${u.message || 'see service inspect'}` };
  if (u?.state === UpdateState.ROLLBACK_PAUSED) return { lines: [], state: prev, done: true, error: `rollback paused: ${u.message || 'see service inspect'}` };
  const notes: ProgressLine[] = u && (u.state === UpdateState.ROLLBACK_STARTED || u.state === UpdateState.ROLLBACK_COMPLETED) && u.message ? [{ key: 'rollback', text: `rollback: ${u.message}` }] : [];

  if (mode === 'replicated-job' || mode === 'global-job') return jobFrame(service, tasks, mode === 'global-job', notes, prev);

  const global = mode === 'global';
  const current = currentBySlot(service, tasks, global, true);
  let keys: string[];
  let total: number;
  if (global) {
    keys = [...current.keys()].sort();
    total = keys.length;
  } else {
    total = service.spec?.replicated?.replicas ?? 0;
    keys = Array.from({ length: total }, (_v, i) => String(i + 1));
  }
  const running = keys.filter((k) => current.get(k)?.status?.state === TaskState.RUNNING).length;
  const lines: ProgressLine[] = [...notes, { key: 'overall', text: `overall progress: ${running} out of ${total} tasks` }];
  for (const k of keys) {
    const t = current.get(k);
    if (!t) continue;
    lines.push({ key: `slot:${k}`, text: `${global ? k.slice(0, nodeIdChars) : `${k}/${total}`}: ${taskProgressText(t)}` });
  }
  const updating = u?.state === UpdateState.UPDATING || u?.state === UpdateState.ROLLBACK_STARTED;
  const converged = running === total && (total > 0 || !global) && !updating;
  if (!converged) return { lines, state: { convergedAtMs: undefined }, done: false };
  const since = prev.convergedAtMs ?? nowMs;
  const left = verifyMsOf(service) - (nowMs - since);
  if (left > 0) {
    lines.push({ key: 'verify', text: `verify: Waiting ${Math.ceil(left / 1000)} seconds to verify that tasks are stable...` });
    return { lines, state: { convergedAtMs: since }, done: false };
  }
  lines.push({ key: 'verify', text: 'verify: Service converged' });
  return { lines, state: { convergedAtMs: since }, done: true };
}

function jobFrame(service: Service, tasks: readonly Task[], global: boolean, notes: readonly ProgressLine[], prev: ProgressState): ProgressFrame {
  const current = currentBySlot(service, tasks, global, false);
  const keys = [...current.keys()].sort((a, b) => (global ? a.localeCompare(b) : Number(a) - Number(b)));
  const complete = keys.filter((k) => current.get(k)?.status?.state === TaskState.COMPLETE).length;
  const total = global ? keys.length : (service.spec?.replicatedJob?.totalCompletions ?? 0);
  const active = keys.filter((k) => (current.get(k)?.status?.state ?? TaskState.NEW) < TaskState.COMPLETE).length;
  const concurrent = global ? keys.length - complete : Math.min(service.spec?.replicatedJob?.maxConcurrent || total, total - complete);
  const lines: ProgressLine[] = [
    ...notes,
    { key: 'overall', text: `job progress: ${complete} out of ${total} complete` },
    { key: 'active', text: `active tasks: ${active} out of ${Math.max(concurrent, active)} tasks` },
  ];
  for (const k of keys) {
    const t = current.get(k);
    if (t) lines.push({ key: `slot:${k}`, text: `${global ? k.slice(0, nodeIdChars) : `${k}/${total}`}: ${taskProgressText(t)}` });
  }
  const done = complete >= total && (total > 0 || !global);
  if (done) lines.push({ key: 'verify', text: 'job complete' });
  return { lines, state: prev, done };
}

/**
 * The lines a non-terminal output prints for a frame: those whose text changed since `shown`
 * (keyed lines; the verify countdown counts as unchanged). Updates `shown`.
 */
export function changedLines(frame: ProgressFrame, shown: Map<string, string>): string[] {
  const out: string[] = [];
  for (const line of frame.lines) {
    const norm = line.key === 'verify' ? line.text.replace(/\d+ seconds/, 'N seconds') : line.text;
    if (shown.get(line.key) === norm) continue;
    shown.set(line.key, norm);
    out.push(line.text);
  }
  return out;
}
