/**
 * The scheduler loop (the leader's): tasks in PENDING that are wanted running are grouped by
 * service and spec and placed with the pure Scheduler over every node (nodes that are not READY
 * and ACTIVE are filtered out by it, with reasons). A placed task gets its node and moves to
 * ASSIGNED ("assigned"), where the dispatcher hands it to the node; one that fits nowhere stays
 * PENDING with status.err set to the scheduler's reason and is tried again when nodes change,
 * when tasks free resources, and every unplacedRetryIntervalMs. A task that already names a node
 * (global services) is checked against that node alone. Writes re-read every task: one that moved
 * on meanwhile is left alone.
 */
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { PublishMode, TaskSpec, TaskState, type Task } from '../../proto/index.js';
import { timestampFromMs } from '../../proto/time.js';
import type { LoopBody, LoopContext, PassResult } from '../leader-loops.js';
import type { Store, StoreEvent } from '../store/index.js';
import type { NodeInfo, TaskGroup } from './node-info.js';
import { hostPortKey, nodeInfoOf } from './node-view.js';
import { Scheduler } from './scheduler.js';

/** Tasks placed in one pass (one store write); the rest follow in the next pass at once. */
export const maxTasksPerSchedulerPass = 1_000;
/** How often tasks that fit nowhere are tried again, even when nothing seems to have changed. */
export const unplacedRetryIntervalMs = 5_000;
/** The status message of a placed task. */
export const assignedMessage = 'assigned';
/** The status message of a task waiting for a node. */
export const pendingMessage = 'pending task scheduling';

/** What the SchedulerLoop is built from. */
export interface SchedulerLoopOptions {
  readonly store: Store;
  readonly log: Logger;
}

function isPending(t: Task): boolean {
  return (t.status?.state ?? TaskState.NEW) === TaskState.PENDING && t.desiredState <= TaskState.RUNNING;
}

/** What a task asks of a node, as the pure scheduler wants it. */
export function taskGroupOf(task: Task, taskIds: readonly string[]): TaskGroup {
  const spec = task.spec;
  const placement = spec?.placement;
  const reservations = spec?.resources?.reservations;
  return {
    serviceId: task.serviceId,
    taskIds,
    reservations: { nanoCpus: reservations?.nanoCpus ?? 0, memoryBytes: reservations?.memoryBytes ?? 0 },
    constraints: placement?.constraints ?? [],
    spreadOver: (placement?.preferences ?? []).map((p) => p.spread?.spreadDescriptor ?? '').filter((k) => k !== ''),
    maxReplicasPerNode: placement?.maxReplicas ?? 0,
    hostPorts: (task.endpoint?.ports ?? []).filter((p) => p.publishMode === PublishMode.HOST && p.publishedPort > 0).map(hostPortKey),
    platforms: (placement?.platforms ?? []).map((p) => ({ os: p.os, architecture: p.architecture })),
  };
}

function groupKey(t: Task): string {
  return `${t.serviceId}/${t.specVersion?.index ?? 0}/${Buffer.from(TaskSpec.encode(t.spec ?? TaskSpec.create())).toString('base64')}`;
}

/** The scheduler's loop body. */
export class SchedulerLoop implements LoopBody {
  readonly name = 'scheduler';
  private readonly pending = new Set<string>();
  private readonly unplaced = new Set<string>();
  private everything = true;
  private retryAtMs: number | undefined;

  constructor(private readonly options: SchedulerLoopOptions) {}

  follows(e: StoreEvent): boolean {
    return e.object.kind === 'task' || e.object.kind === 'node';
  }

  note(e: StoreEvent): void {
    const o = e.object;
    if (o.kind === 'node') {
      this.retryUnplaced();
      return;
    }
    if (o.kind !== 'task') return;
    if (e.kind !== 'remove' && isPending(o.value)) {
      if (!this.unplaced.has(o.value.id)) this.pending.add(o.value.id);
      return;
    }
    this.pending.delete(o.value.id);
    this.unplaced.delete(o.value.id);
    // A task that stopped holding its node's resources may make room for one that did not fit.
    const state = o.value.status?.state ?? TaskState.NEW;
    if (o.value.nodeId !== '' && (e.kind === 'remove' || state >= TaskState.COMPLETE || o.value.desiredState > TaskState.RUNNING)) this.retryUnplaced();
  }

  reset(): void {
    this.everything = true;
  }

  private retryUnplaced(): void {
    for (const id of this.unplaced) this.pending.add(id);
    this.unplaced.clear();
  }

  async pass(ctx: LoopContext): Promise<PassResult> {
    const memory = this.options.store.memory;
    if (this.everything) {
      this.everything = false;
      this.pending.clear();
      this.unplaced.clear();
      for (const t of memory.list('task')) if (isPending(t)) this.pending.add(t.id);
    }
    if (this.retryAtMs !== undefined && ctx.nowMs >= this.retryAtMs) {
      this.retryAtMs = undefined;
      this.retryUnplaced();
    }
    const batch = [...this.pending].sort().slice(0, maxTasksPerSchedulerPass);
    for (const id of batch) this.pending.delete(id);
    const tasks = batch.map((id) => memory.get('task', id)).filter((t): t is Task => t !== undefined && isPending(t));
    if (tasks.length > 0) await this.place(ctx, tasks);
    if (this.unplaced.size > 0) this.retryAtMs ??= ctx.nowMs + unplacedRetryIntervalMs;
    else this.retryAtMs = undefined;
    return { more: this.pending.size > 0 || this.everything, wakeAtMs: this.retryAtMs };
  }

  private async place(ctx: LoopContext, tasks: readonly Task[]): Promise<void> {
    const memory = this.options.store.memory;
    const nodes = memory.list('node');
    const infos = new Map<string, NodeInfo>(nodes.map((n) => [n.id, nodeInfoOf(n, memory.tasksOfNode(n.id))]));
    const scheduler = new Scheduler([...infos.values()]);
    const placed = new Map<string, string>();
    const reasons = new Map<string, string>();
    const failed = new Map<string, string>();
    const groups = new Map<string, Task[]>();
    for (const t of tasks) {
      if (t.nodeId !== '') continue;
      const key = groupKey(t);
      const list = groups.get(key);
      if (list) list.push(t);
      else groups.set(key, [t]);
    }
    for (const group of groups.values()) {
      const first = group[0] as Task;
      try {
        const result = scheduler.place(taskGroupOf(first, group.map((t) => t.id)));
        for (const p of result.placements) {
          placed.set(p.taskId, p.nodeId);
          reasons.set(p.taskId, p.reason);
        }
        for (const u of result.unplaced) failed.set(u.taskId, u.reason);
      } catch (err) {
        for (const t of group) failed.set(t.id, errorMessage(err));
      }
    }
    // Tasks made for one node (global services): that node or nothing.
    for (const t of tasks) {
      if (t.nodeId === '') continue;
      const node = memory.get('node', t.nodeId);
      if (node === undefined) {
        failed.set(t.id, `no suitable node (node ${t.nodeId} is not in the cluster)`);
        continue;
      }
      // A standalone container's attachment: the container already runs there (drained or not).
      if (t.spec?.attachment !== undefined) {
        placed.set(t.id, t.nodeId);
        reasons.set(t.id, 'the node of the standalone container');
        continue;
      }
      try {
        const one = new Scheduler([nodeInfoOf(node, memory.tasksOfNode(node.id).filter((x) => x.id !== t.id))]);
        const result = one.place(taskGroupOf(t, [t.id]));
        if (result.placements.length > 0) {
          placed.set(t.id, t.nodeId);
          reasons.set(t.id, 'the node this global task is made for');
        }
        for (const u of result.unplaced) failed.set(u.taskId, u.reason);
      } catch (err) {
        failed.set(t.id, errorMessage(err));
      }
    }
    const expectedNode = new Map(tasks.map((t) => [t.id, t.nodeId]));
    await ctx.write((tx) => {
      for (const [id, nodeId] of placed) {
        const t = tx.get('task', id);
        if (t === undefined || !isPending(t) || t.nodeId !== expectedNode.get(id)) continue;
        const why = reasons.get(id) ?? '';
        // A reason the orchestrator gave (e.g. "rebalanced from node X") comes first.
        const placementReason = t.placementReason ? `${t.placementReason}; ${why}` : why;
        tx.update('task', { ...t, nodeId, placementReason, status: { ...t.status, state: TaskState.ASSIGNED, message: assignedMessage, err: '', timestamp: timestampFromMs(ctx.nowMs) } });
      }
      for (const [id, reason] of failed) {
        const t = tx.get('task', id);
        if (t === undefined || !isPending(t) || t.status?.err === reason) continue;
        tx.update('task', { ...t, status: { ...t.status, state: TaskState.PENDING, message: pendingMessage, err: reason, timestamp: timestampFromMs(ctx.nowMs) } });
      }
    });
    for (const id of failed.keys()) this.unplaced.add(id);
    if (placed.size > 0) this.options.log.debug({ placed: placed.size, unplaced: failed.size }, 'scheduled');
  }
}
