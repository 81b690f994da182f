/**
 * The attachment tasks of this node: standalone containers' memberships of swarm networks
 * (`container run --network`), which come with the node's assignments like any task but run no
 * container of their own. The engine asks the managers for one (AttachNetwork), waits here until it
 * arrives with its addresses, has netd join the container to it, and reports it RUNNING; the task
 * ends when the container is removed (DetachNetwork) and leaves the set then.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { TaskState, type Task, type TaskStatus } from '../../proto/index.js';
import { taskStatus } from './task-status.js';

/** How long the engine waits for an attachment task to reach this node. */
export const attachmentArrivalTimeoutMs = 30_000;

/** True when `task` stands for a standalone container's network attachment. */
export function isAttachmentTask(task: Task): boolean {
  return task.spec?.attachment !== undefined;
}

/** True once the allocator gave the task an address on every network it asked for. */
function allocated(task: Task): boolean {
  const wanted = task.spec?.networks.length ?? 0;
  return task.networks.length >= wanted && task.networks.every((n) => n.addresses.length > 0);
}

interface Waiter {
  readonly resolve: (task: Task) => void;
  readonly reject: (err: TsswarmError) => void;
  readonly timer: NodeJS.Timeout;
}

/** The set of attachment tasks assigned to this node, and who waits for which. */
export class AttachmentTasks {
  private readonly tasks = new Map<string, Task>();
  /** When each task first reached this node (this node's clock). */
  private readonly arrived = new Map<string, number>();
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(
    private readonly report: (taskId: string, status: TaskStatus) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** The task as last assigned, if it is in the set. */
  get(taskId: string): Task | undefined {
    return this.tasks.get(taskId);
  }

  /** IDs in the set. */
  ids(): string[] {
    return [...this.tasks.keys()];
  }

  /** When the task first reached this node (ms, this node's clock); undefined when it is not here. */
  arrivedAt(taskId: string): number | undefined {
    return this.arrived.get(taskId);
  }

  /** A task of the assignments (added or changed). */
  update(task: Task): void {
    this.tasks.set(task.id, task);
    if (!this.arrived.has(task.id)) this.arrived.set(task.id, this.now());
    if (!allocated(task)) return;
    const waiting = this.waiters.get(task.id) ?? [];
    this.waiters.delete(task.id);
    for (const w of waiting) {
      clearTimeout(w.timer);
      w.resolve(task);
    }
  }

  /** A task that left the assignments: its waiters fail. */
  remove(taskId: string): void {
    this.tasks.delete(taskId);
    this.arrived.delete(taskId);
    const waiting = this.waiters.get(taskId) ?? [];
    this.waiters.delete(taskId);
    for (const w of waiting) {
      clearTimeout(w.timer);
      w.reject(new TsswarmError(ErrorCode.CONFLICT, `network attachment ${taskId} was removed by the managers before it was used`));
    }
  }

  /** Keeps only the IDs in `keep` (a COMPLETE assignments message). */
  retainOnly(keep: ReadonlySet<string>): void {
    for (const id of [...this.tasks.keys()]) if (!keep.has(id)) this.remove(id);
  }

  /** Resolves with the task once it is here with its addresses; TIMEOUT after `timeoutMs`. */
  waitFor(taskId: string, timeoutMs = attachmentArrivalTimeoutMs): Promise<Task> {
    const present = this.tasks.get(taskId);
    if (present !== undefined && allocated(present)) return Promise.resolve(present);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const list = (this.waiters.get(taskId) ?? []).filter((w) => w.timer !== timer);
        if (list.length > 0) this.waiters.set(taskId, list);
        else this.waiters.delete(taskId);
        reject(new TsswarmError(ErrorCode.TIMEOUT, `the managers did not hand network attachment ${taskId} to this node within ${Math.round(timeoutMs / 1000)} s (no free address on the network?)`));
      }, timeoutMs);
      timer.unref();
      const list = this.waiters.get(taskId) ?? [];
      list.push({ resolve, reject, timer });
      this.waiters.set(taskId, list);
    });
  }

  /** Reports the attachment's container joined (RUNNING) or gone (COMPLETE). */
  reportState(taskId: string, state: typeof TaskState.RUNNING | typeof TaskState.COMPLETE): void {
    this.report(taskId, taskStatus(state, this.now(), { message: state === TaskState.RUNNING ? 'attached' : 'detached' }));
  }
}
