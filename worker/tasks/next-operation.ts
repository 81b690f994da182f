/**
 * The controller's decision (pure), as SwarmKit's exec.Do: from what is known of one task and its
 * container, the one operation to perform next. The controller performs it, updates what it knows,
 * and asks again until the answer is `idle`.
 */
import { TaskState } from '../../proto/index.js';
import { isTerminal } from './task-status.js';

/** What the executor knows of a task's container. */
export type ContainerPhase = 'none' | 'created' | 'running' | 'exited';

/** The health of a task's container: 'none' without a health check. */
export type ContainerHealth = 'none' | 'starting' | 'healthy' | 'unhealthy';

/** One task as the controller sees it. */
export interface ControllerView {
  /** The task left the node's assignment set. */
  readonly removed: boolean;
  /** The furthest state known: the manager's view of the task or ours, whichever is further. */
  readonly observed: TaskState;
  readonly desired: TaskState;
  readonly container: ContainerPhase;
  /** RUNNING has been reported by this executor (an adopted container is confirmed once). */
  readonly reportedRunning: boolean;
  /** A watch for the container's exit (and health) is under way. */
  readonly watching: boolean;
  /** The container's health; 'none' when absent. A task is RUNNING only once it is healthy. */
  readonly health?: ContainerHealth;
}

/** What the controller does next. */
export type Operation =
  | 'idle'
  /** Stop (if needed) and remove the container; the task is gone from the set. */
  | 'remove'
  /** Stop the container with the grace period; report SHUTDOWN. */
  | 'shutdown'
  /** Report the container's exit: COMPLETE or FAILED. */
  | 'report-exit'
  /** Report ACCEPTED. */
  | 'accept'
  /** Report PREPARING, pull the image if missing, create the container, report READY. */
  | 'prepare'
  /** Report STARTING, start the container, report RUNNING with its pid. */
  | 'start'
  /** Report RUNNING for a container found running (adopted after a restart). */
  | 'confirm-running'
  /** Watch the running container for its exit. */
  | 'watch'
  /** The task is past STARTING but its container is gone: report FAILED. */
  | 'lost'
  /** The container's health check says unhealthy: stop it, report FAILED. */
  | 'fail-unhealthy';

/** The next operation for `v`. */
export function nextOperation(v: ControllerView): Operation {
  if (v.removed) return v.container === 'none' ? 'idle' : 'remove';
  if (isTerminal(v.observed)) return 'idle';
  if (v.desired >= TaskState.SHUTDOWN) return 'shutdown';
  // Unhealthy is why the container ends (it is stopped for it): that is what the task reports.
  if (v.health === 'unhealthy' && v.observed >= TaskState.STARTING && v.container !== 'none') return 'fail-unhealthy';
  if (v.container === 'exited') return 'report-exit';
  if (v.observed < TaskState.ACCEPTED) return 'accept';
  // Never move past the desired state (a start-first update holds new tasks at READY).
  if (v.container === 'none') {
    if (v.observed >= TaskState.RUNNING) return 'lost';
    return v.desired >= TaskState.READY ? 'prepare' : 'idle';
  }
  if (v.observed < TaskState.READY) return v.desired >= TaskState.READY ? 'prepare' : 'idle';
  if (v.observed < TaskState.RUNNING) {
    if (v.desired < TaskState.RUNNING) return 'idle';
    // Started, with a health check that has not passed yet: STARTING until it does.
    if (v.container === 'running' && v.health === 'starting') return v.watching ? 'idle' : 'watch';
    return 'start';
  }
  if (v.container === 'created') return 'start';
  if (!v.reportedRunning) return 'confirm-running';
  return v.watching ? 'idle' : 'watch';
}
