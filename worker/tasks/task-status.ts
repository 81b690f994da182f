/**
 * Task status values the executor reports (pure): Docker's messages per state, and how a container's
 * exit becomes COMPLETE or FAILED ("task: non-zero exit (N)", OOM kills named).
 */
import { TaskState, type ContainerStatus, type TaskStatus } from '../../proto/index.js';
import { timestampFromMs } from '../../proto/time.js';

/** The exit of a task's container. */
export interface ContainerExit {
  readonly exitCode: number;
  readonly oomKilled: boolean;
}

/** Docker's status message for each state a worker reports. */
export const stateMessages: Readonly<Partial<Record<TaskState, string>>> = {
  [TaskState.ACCEPTED]: 'accepted',
  [TaskState.PREPARING]: 'preparing',
  [TaskState.READY]: 'prepared',
  [TaskState.STARTING]: 'starting',
  [TaskState.RUNNING]: 'started',
  [TaskState.COMPLETE]: 'finished',
  [TaskState.SHUTDOWN]: 'shutdown',
  [TaskState.FAILED]: 'started',
  [TaskState.REJECTED]: 'preparing',
};

/** True for COMPLETE and every state after it: nothing more happens to the task. */
export function isTerminal(state: TaskState): boolean {
  return state >= TaskState.COMPLETE;
}

/** A status of `state` at `nowMs`, with Docker's message unless one is given. */
export function taskStatus(
  state: TaskState,
  nowMs: number,
  extra: { readonly err?: string; readonly message?: string; readonly containerStatus?: ContainerStatus } = {},
): TaskStatus {
  return {
    timestamp: timestampFromMs(nowMs),
    state,
    message: extra.message ?? stateMessages[state] ?? '',
    err: extra.err ?? '',
    ...(extra.containerStatus !== undefined ? { containerStatus: extra.containerStatus } : {}),
  };
}

/** The error of a task whose container's health check failed (docker's ErrContainerUnhealthy). */
export const unhealthyError = 'unhealthy container';

/** The error of a failed exit, as docker words it. */
export function exitError(exit: ContainerExit): string {
  const base = `task: non-zero exit (${exit.exitCode})`;
  return exit.oomKilled ? `${base}: the container was killed for running out of memory (OOM)` : base;
}

/** COMPLETE for exit 0 (and no OOM kill), FAILED with docker's error otherwise. */
export function exitStatus(exit: ContainerExit, containerId: string, nowMs: number): TaskStatus {
  const containerStatus = { containerId, pid: 0, exitCode: exit.exitCode };
  if (exit.exitCode === 0 && !exit.oomKilled) return taskStatus(TaskState.COMPLETE, nowMs, { containerStatus });
  return taskStatus(TaskState.FAILED, nowMs, { err: exitError(exit), containerStatus });
}
