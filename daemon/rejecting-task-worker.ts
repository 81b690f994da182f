/**
 * The task worker of a tsswarmd that cannot run swarm tasks yet: every task assigned to it that is
 * not already finished is reported REJECTED with the reason, so the orchestrator places it
 * elsewhere instead of waiting. Replaced by the executor-backed worker with the services issue.
 */
import { AssignmentAction, TaskState, type AssignmentsMessage, type TaskStatus } from '../proto/index.js';
import { timestampFromMs } from '../proto/time.js';
import type { TaskWorker } from '../worker/agent/index.js';

/** Why tasks are refused. */
export const rejectionMessage = 'this tsswarmd does not run swarm tasks yet';

/** Reports every new task as REJECTED. */
export class RejectingTaskWorker implements TaskWorker {
  constructor(private readonly report: (taskId: string, status: TaskStatus) => void) {}

  assign(message: AssignmentsMessage): Promise<void> {
    for (const change of message.changes) {
      const task = change.assignment?.task;
      if (change.action !== AssignmentAction.UPDATE || task === undefined) continue;
      if ((task.status?.state ?? TaskState.NEW) >= TaskState.RUNNING) continue;
      this.report(task.id, { timestamp: timestampFromMs(Date.now()), state: TaskState.REJECTED, message: 'rejected', err: rejectionMessage } as TaskStatus);
    }
    return Promise.resolve();
  }
}
