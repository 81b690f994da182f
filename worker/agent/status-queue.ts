/**
 * Task status reports waiting to be sent to the dispatcher: one entry per task (a newer report
 * replaces an older one; a report never moves a task backwards), bounded so that a worker cut off
 * from every manager does not grow without limit.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import type { TaskStatus, TaskStatusUpdate } from '../../proto/index.js';

/** Most tasks with a report waiting. */
export const maxQueuedStatusReports = 10_000;

/** The agent's outgoing task status reports. */
export class StatusQueue {
  private readonly pending = new Map<string, TaskStatus>();

  constructor(readonly capacity = maxQueuedStatusReports) {}

  /** Reports waiting. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Queues the status of task `taskId`, replacing a waiting report of the same or an earlier
   * state (a waiting later state is kept). QUEUE_FULL when `capacity` other tasks are waiting.
   */
  push(taskId: string, status: TaskStatus): void {
    const waiting = this.pending.get(taskId);
    if (waiting === undefined && this.pending.size >= this.capacity) {
      throw new TsswarmError(ErrorCode.QUEUE_FULL, `${this.pending.size} task status reports are waiting to be sent (at most ${this.capacity})`);
    }
    if (waiting !== undefined && waiting.state > status.state) return;
    this.pending.delete(taskId);
    this.pending.set(taskId, status);
  }

  /** Takes up to `max` reports, oldest first. */
  take(max: number): TaskStatusUpdate[] {
    const out: TaskStatusUpdate[] = [];
    for (const [taskId, status] of this.pending) {
      if (out.length >= max) break;
      out.push({ taskId, status });
      this.pending.delete(taskId);
    }
    return out;
  }

  /** Puts back reports whose sending failed, unless a newer report of the task arrived meanwhile. */
  putBack(updates: readonly TaskStatusUpdate[]): void {
    for (const u of updates) {
      if (u.status === undefined || this.pending.has(u.taskId)) continue;
      this.pending.set(u.taskId, u.status);
    }
  }
}
