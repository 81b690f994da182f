/**
 * Whether and when a finished task is replaced, by its service's restart policy (pure).
 * Docker's defaults: services restart on any exit, jobs on failure; delay 5 s; no attempt limit.
 */
import { RestartCondition, TaskState, type RestartPolicy, type Task } from '../../proto/index.js';
import { millisOf } from '../../proto/time.js';

/** Docker's default restart delay. */
export const defaultRestartDelayMs = 5_000;

/** True once the task's process has ended (or it never got to run). */
export function isFinished(task: Task): boolean {
  return (task.status?.state ?? TaskState.NEW) >= TaskState.COMPLETE;
}

/** True while the managers want the task running. */
export function isWanted(task: Task): boolean {
  return task.desiredState <= TaskState.RUNNING;
}

/** The decision for a finished task. */
export type RestartDecision = { readonly restart: false } | { readonly restart: true; readonly atMs: number };

/**
 * `finished` ended; `history` are the earlier tasks of the same slot (for the attempt limit);
 * `isJob` picks the default condition (on-failure for jobs, any for services).
 */
export function restartDecision(finished: Task, history: readonly Task[], policy: RestartPolicy | undefined, isJob: boolean): RestartDecision {
  const state = finished.status?.state ?? TaskState.NEW;
  const condition = policy?.condition ?? (isJob ? RestartCondition.ON_FAILURE : RestartCondition.ANY);
  if (condition === RestartCondition.NONE) return { restart: false };
  if (state === TaskState.COMPLETE && (condition === RestartCondition.ON_FAILURE || isJob)) return { restart: false };
  const endedAt = millisOf(finished.status?.timestamp);
  const windowMs = millisOf(policy?.window);
  const maxAttempts = policy?.maxAttempts ?? 0;
  if (maxAttempts > 0) {
    const attempts = [...history, finished].filter((t) => isFinished(t) && (windowMs === 0 || millisOf(t.status?.timestamp) > endedAt - windowMs)).length;
    // The first run is not a restart: maxAttempts restarts allow maxAttempts + 1 runs.
    if (attempts > maxAttempts) return { restart: false };
  }
  const delay = policy?.delay ? millisOf(policy.delay) : defaultRestartDelayMs;
  return { restart: true, atMs: endedAt + delay };
}
