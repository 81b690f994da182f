/**
 * The orchestrator loop (the leader's): for every service a service, task or node change touches,
 * runs the pure `orchestrate` (reconcile + rolling update) and writes what it decided: new tasks
 * (NEW, desired RUNNING), shutdowns (desired SHUTDOWN), removals of old history, the service's
 * updateStatus. Restart and update delays come back as one wake time per service. Tasks of removed
 * services (or services marked pendingDelete) are shut down and their objects removed once they
 * finished, never ran, or sit on a node that is down or gone; a pendingDelete service is removed
 * with its last task. Every write re-reads what it changes: a task that moved on since the
 * decision is left alone, a service changed meanwhile is redone in the next pass.
 */
import type { Logger } from '../../lib/log.js';
import { NodeState, TaskState, type Cluster, type Node, type Service, type Task } from '../../proto/index.js';
import { timestampFromMs } from '../../proto/time.js';
import type { LoopBody, LoopContext, PassResult } from '../leader-loops.js';
import type { Store, StoreEvent, Tx } from '../store/index.js';
import { isFinished, isWanted } from './restart-policy.js';
import { idlePacing, orchestrate, type UpdatePacing } from './update.js';

/** Services reconciled in one pass; the rest follow in the next pass at once. */
export const maxServicesPerPass = 200;
/** Tasks kept per slot when the cluster object sets no task history retention limit (docker's 5). */
export const defaultTaskHistoryLimit = 5;
/** The status message of a task shut down before any node got it. */
export const shutdownBeforeAssignedMessage = 'shut down before it was assigned';

/** The dirty-set key of the tasks without a service (standalone containers' network attachments). */
const attachmentsKey = '';

/** What the Orchestrator is built from. */
export interface OrchestratorOptions {
  readonly store: Store;
  readonly log: Logger;
  readonly newId: () => string;
}

/** The orchestrator's loop body. */
export class Orchestrator implements LoopBody {
  readonly name = 'orchestrator';
  private readonly dirty = new Set<string>();
  private everything = true;
  /** Wall-clock wake time per service (restart and update delays). */
  private readonly wakes = new Map<string, number>();
  private readonly pacing = new Map<string, UpdatePacing>();
  private historyLimit = defaultTaskHistoryLimit;
  private rebalance = false;

  constructor(private readonly options: OrchestratorOptions) {}

  follows(e: StoreEvent): boolean {
    return e.object.kind === 'service' || e.object.kind === 'task' || e.object.kind === 'node' || e.object.kind === 'cluster';
  }

  note(e: StoreEvent): void {
    const o = e.object;
    if (o.kind === 'service') this.dirty.add(o.value.id);
    else if (o.kind === 'task') this.dirty.add(o.value.serviceId);
    else if (o.kind === 'node') this.everything = true;
    // The cluster object changes for many reasons (certificates, tokens); only the history limit
    // and the rebalancing default matter here.
    else if (o.kind === 'cluster' && (historyLimitOf(o.value) !== this.historyLimit || rebalanceOf(o.value) !== this.rebalance)) this.everything = true;
  }

  reset(): void {
    this.everything = true;
    this.wakes.clear();
  }

  async pass(ctx: LoopContext): Promise<PassResult> {
    const memory = this.options.store.memory;
    for (const [id, at] of this.wakes) {
      if (at > ctx.nowMs) continue;
      this.wakes.delete(id);
      this.dirty.add(id);
    }
    if (this.everything) {
      this.everything = false;
      for (const s of memory.list('service')) this.dirty.add(s.id);
      for (const t of memory.list('task')) this.dirty.add(t.serviceId);
    }
    const batch = [...this.dirty].sort().slice(0, maxServicesPerPass);
    for (const id of batch) this.dirty.delete(id);
    const nodes = memory.list('node');
    const cluster = memory.list('cluster')[0];
    const historyLimit = historyLimitOf(cluster);
    this.historyLimit = historyLimit;
    this.rebalance = rebalanceOf(cluster);
    for (const id of batch) {
      if (id === attachmentsKey) {
        await this.reapAttachments(ctx, nodes);
        continue;
      }
      const service = memory.get('service', id);
      if (service === undefined || service.pendingDelete) await this.drain(ctx, id, service, nodes);
      else await this.reconcileService(ctx, service, nodes, historyLimit);
    }
    for (const id of this.pacing.keys()) if (memory.get('service', id) === undefined) this.pacing.delete(id);
    let wakeAtMs: number | undefined;
    for (const at of this.wakes.values()) wakeAtMs = wakeAtMs === undefined ? at : Math.min(wakeAtMs, at);
    return { more: this.dirty.size > 0 || this.everything, wakeAtMs };
  }

  private async reconcileService(ctx: LoopContext, service: Service, nodes: readonly Node[], historyLimit: number): Promise<void> {
    const memory = this.options.store.memory;
    const out = orchestrate({
      service,
      tasks: memory.tasksOfService(service.id),
      nodes,
      nowMs: ctx.nowMs,
      historyLimit,
      newId: this.options.newId,
      pacing: this.pacing.get(service.id) ?? idlePacing,
      clusterRebalance: this.rebalance,
    });
    if (out.wakeAtMs === undefined) this.wakes.delete(service.id);
    else this.wakes.set(service.id, out.wakeAtMs);
    if (out.create.length === 0 && out.shutdown.length === 0 && out.remove.length === 0 && out.updateStatus === undefined && !out.rollback) {
      this.pacing.set(service.id, out.pacing);
      return;
    }
    let stale = false;
    await ctx.write((tx) => {
      stale = false;
      const current = tx.get('service', service.id);
      if (current === undefined || version(current) !== version(service)) {
        stale = true;
        return;
      }
      if (out.rollback && current.previousSpec !== undefined) {
        // Back to the previous spec; it is not kept as a new previous one (as SwarmKit does).
        const { previousSpec, ...rest } = current;
        tx.update('service', { ...rest, spec: previousSpec, specVersion: { index: version(current) }, ...(out.updateStatus ? { updateStatus: out.updateStatus } : {}) });
      } else if (out.updateStatus !== undefined) tx.update('service', { ...current, updateStatus: out.updateStatus });
      for (const t of out.shutdown) shutdownTask(tx, t.id, ctx.nowMs);
      for (const id of out.remove) {
        const t = tx.get('task', id);
        if (t !== undefined && !isWanted(t) && isFinished(t)) tx.remove('task', id);
      }
      for (const t of out.create) tx.create('task', t);
    });
    if (stale) this.dirty.add(service.id);
    else {
      this.pacing.set(service.id, out.pacing);
      if (out.create.length > 0 || out.shutdown.length > 0) {
        this.options.log.debug({ service: service.id, created: out.create.length, shutdown: out.shutdown.length, removed: out.remove.length }, 'reconciled');
      }
    }
  }

  /**
   * Standalone containers' attachment tasks (no service; the node's engine removes them through
   * DetachNetwork): those of nodes no longer in the cluster, and finished ones, are removed.
   */
  private async reapAttachments(ctx: LoopContext, nodes: readonly Node[]): Promise<void> {
    const present = new Set(nodes.map((n) => n.id));
    const dead = (t: Task): boolean => t.spec?.attachment !== undefined && (!present.has(t.nodeId) || isFinished(t));
    const gone = this.options.store.memory.tasksOfService(attachmentsKey).filter(dead);
    if (gone.length === 0) return;
    await ctx.write((tx) => {
      for (const read of gone) {
        const t = tx.get('task', read.id);
        if (t !== undefined && dead(t)) tx.remove('task', t.id);
      }
    });
    this.options.log.info({ removed: gone.length }, 'removed the network attachments of containers on nodes that left or finished');
  }

  /** A removed (or pendingDelete) service: shut its tasks down, forget the dead ones, then the service. */
  private async drain(ctx: LoopContext, serviceId: string, service: Service | undefined, nodes: readonly Node[]): Promise<void> {
    this.wakes.delete(serviceId);
    this.pacing.delete(serviceId);
    const tasks = this.options.store.memory.tasksOfService(serviceId);
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const gone = (t: Task): boolean => isFinished(t) || t.nodeId === '' || (t.status?.state ?? TaskState.NEW) < TaskState.ASSIGNED || nodeGone(byId.get(t.nodeId));
    if (tasks.every((t) => !isWanted(t) && !gone(t)) && !(service?.pendingDelete === true && tasks.length === 0)) return;
    await ctx.write((tx) => {
      let left = 0;
      for (const read of tasks) {
        const t = tx.get('task', read.id);
        if (t === undefined) continue;
        if (isWanted(t)) shutdownTask(tx, t.id, ctx.nowMs);
        const now = tx.get('task', t.id) as Task;
        if (gone(now)) tx.remove('task', t.id);
        else left++;
      }
      const current = tx.get('service', serviceId);
      if (current?.pendingDelete === true && left === 0) tx.remove('service', serviceId);
    });
  }
}

function rebalanceOf(cluster: Cluster | undefined): boolean {
  return cluster?.spec?.orchestration?.rebalance === true;
}

function historyLimitOf(cluster: Cluster | undefined): number {
  const limit = cluster?.spec?.orchestration?.taskHistoryRetentionLimit;
  return limit !== undefined && limit > 0 ? limit : defaultTaskHistoryLimit;
}

function version(service: Service): number {
  return service.meta?.version?.index ?? 0;
}

function nodeGone(node: Node | undefined): boolean {
  return node === undefined || node.status?.state === NodeState.DOWN;
}

/** Sets a task's desired state to SHUTDOWN (re-read in `tx`); one no node got is also marked SHUTDOWN. */
function shutdownTask(tx: Tx, id: string, nowMs: number): void {
  const t = tx.get('task', id);
  if (t === undefined || t.desiredState >= TaskState.SHUTDOWN) return;
  const state = t.status?.state ?? TaskState.NEW;
  const unassigned = state < TaskState.ASSIGNED;
  tx.update('task', {
    ...t,
    desiredState: TaskState.SHUTDOWN,
    ...(unassigned ? { status: { ...t.status, state: TaskState.SHUTDOWN, message: shutdownBeforeAssignedMessage, err: '', timestamp: timestampFromMs(nowMs) } } : {}),
  });
}
