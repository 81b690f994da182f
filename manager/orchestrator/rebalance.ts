/**
 * Rebalancing (pure), which Swarm never had: when nodes join or come back, a replicated service's
 * running tasks sit unevenly (the scheduler only places new tasks). With rebalancing on, tasks move
 * from nodes above their share to nodes below it, a batch at a time with the service's update
 * settings (parallelism, delay, order). A move is a new task in the same slot, marked "rebalanced
 * from node X", which the scheduler places; the old task stops (stop-first) or stays until the new
 * one runs (start-first).
 *
 * A node's share is computed as the scheduler spreads: over the service's spread preferences level
 * by level (each branch an even part of the tasks above it), then evenly over the nodes of a
 * branch. Only READY, ACTIVE nodes matching the constraints take part; tasks elsewhere stay where
 * they are. A batch that did not bring the tasks closer to their shares (the scheduler put them
 * back, e.g. for lack of memory) stops rebalancing until the set of eligible nodes changes, so
 * tasks never move back and forth.
 */
import { NodeAvailability, NodeState, RebalanceMode, TaskState, UpdateOrder, type Node, type Service, type Task } from '../../proto/index.js';
import { millisOf } from '../../proto/time.js';
import { matches, nodeInfoOf, parseConstraint, spreadValue } from '../scheduler/index.js';
import { makeTask } from './reconcile.js';
import { isWanted } from './restart-policy.js';

/** What rebalancing remembers between two passes (in memory; a new leader starts afresh). */
export interface RebalanceMemory {
  /** A batch of moves was made and its new tasks have not all run yet. */
  readonly batchActive: boolean;
  /** No new batch before this wall-clock time (the update delay after the last batch). */
  readonly notBeforeMs: number;
  /** Tasks away from their share when the last batch started. */
  readonly excessBefore: number;
  /** The eligible nodes when a batch did not help; nothing moves until they change ('' = not stuck). */
  readonly stuckOn: string;
}

/** Memory of a service with no rebalancing under way. */
export const idleRebalance: RebalanceMemory = { batchActive: false, notBeforeMs: 0, excessBefore: 0, stuckOn: '' };

/** The status message prefix (and placement reason) of a task made by a move. */
export function rebalancedFromMessage(node: string): string {
  return `rebalanced from node ${node}`;
}

/** What `rebalance` needs. Call it only when the service is quiet (no update, nothing in flight). */
export interface RebalanceInput {
  readonly service: Service;
  /** Every task of the service. */
  readonly tasks: readonly Task[];
  readonly nodes: readonly Node[];
  /** The cluster's default for services that leave it to the cluster. */
  readonly clusterDefault: boolean;
  readonly nowMs: number;
  readonly memory: RebalanceMemory;
  readonly newId: () => string;
}

/** The moves of one pass. */
export interface RebalanceOutput {
  readonly create: Task[];
  readonly shutdown: Task[];
  readonly memory: RebalanceMemory;
  readonly wakeAtMs: number | undefined;
}

/** True when the service is rebalanced: its own setting, else the cluster's. */
export function rebalanceEnabled(service: Service, clusterDefault: boolean): boolean {
  const mode = service.spec?.rebalance ?? RebalanceMode.DEFAULT;
  if (mode === RebalanceMode.ON) return true;
  if (mode === RebalanceMode.OFF) return false;
  return clusterDefault;
}

/** A node taking part, with its place in the spread tree and its running tasks of the service. */
export interface Member {
  readonly id: string;
  /** Values of the spread levels, outermost first. */
  readonly path: readonly string[];
  readonly count: number;
}

/**
 * Each member's share of `total` tasks: even parts per branch at each spread level, then per
 * node; where parts cannot be even, the branches (nodes) holding more now keep the larger part, so
 * the fewest tasks move.
 */
export function shares(members: readonly Member[], total: number): Map<string, number> {
  const out = new Map<string, number>();
  const depth = members[0]?.path.length ?? 0;
  const split = (group: readonly Member[], level: number, n: number): void => {
    const branches = new Map<string, Member[]>();
    for (const m of group) {
      const key = level < depth ? (m.path[level] ?? '') : m.id;
      const list = branches.get(key);
      if (list) list.push(m);
      else branches.set(key, [m]);
    }
    const held = (list: readonly Member[]): number => list.reduce((s, m) => s + m.count, 0);
    const ordered = [...branches.entries()].sort((a, b) => held(b[1]) - held(a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const part = Math.floor(n / ordered.length);
    let extra = n - part * ordered.length;
    for (const [, list] of ordered) {
      const mine = part + (extra > 0 ? 1 : 0);
      if (extra > 0) extra--;
      if (level >= depth) out.set((list[0] as Member).id, mine);
      else split(list, level + 1, mine);
    }
  };
  if (members.length > 0) split(members, 0, total);
  return out;
}

/** Tasks above their node's share, summed over the nodes. */
export function excessOf(members: readonly Member[], share: ReadonlyMap<string, number>): number {
  return members.reduce((s, m) => s + Math.max(0, m.count - (share.get(m.id) ?? 0)), 0);
}

function eligible(service: Service, nodes: readonly Node[]): Node[] {
  const constraints = (service.spec?.task?.placement?.constraints ?? []).map(parseConstraint);
  return nodes.filter((n) => {
    if (n.status?.state !== NodeState.READY || (n.spec?.availability ?? NodeAvailability.ACTIVE) !== NodeAvailability.ACTIVE) return false;
    const info = nodeInfoOf(n, []);
    return constraints.every((c) => matches(c, info));
  });
}

function hostnameOf(node: Node | undefined, id: string): string {
  return node?.description?.hostname || node?.spec?.annotations?.name || id;
}

/** Moves of one pass for a quiet replicated service; see the file comment. */
export function rebalance(input: RebalanceInput): RebalanceOutput {
  const { service, nowMs } = input;
  const none = (memory: RebalanceMemory, wakeAtMs?: number): RebalanceOutput => ({ create: [], shutdown: [], memory, wakeAtMs });
  if (service.spec?.replicated === undefined || !rebalanceEnabled(service, input.clusterDefault)) return none(idleRebalance);

  const nodes = eligible(service, input.nodes);
  const levels = (service.spec.task?.placement?.preferences ?? []).map((p) => p.spread?.spreadDescriptor ?? '').filter((k) => k !== '');
  const running = input.tasks.filter((t) => isWanted(t) && t.status?.state === TaskState.RUNNING);
  const byNode = new Map<string, Task[]>();
  for (const t of running) {
    const list = byNode.get(t.nodeId);
    if (list) list.push(t);
    else byNode.set(t.nodeId, [t]);
  }
  const members: Member[] = nodes.map((n) => {
    const info = nodeInfoOf(n, []);
    return { id: n.id, path: levels.map((k) => spreadValue(info, k)), count: byNode.get(n.id)?.length ?? 0 };
  });
  const total = members.reduce((s, m) => s + m.count, 0);
  const share = shares(members, total);
  const excess = excessOf(members, share);
  const fingerprint = nodes
    .map((n) => n.id)
    .sort()
    .join(',');

  let memory = input.memory;
  if (memory.batchActive) {
    // The last batch's tasks all run (the caller saw nothing in flight): did it help?
    const helped = excess < memory.excessBefore;
    memory = { batchActive: false, notBeforeMs: nowMs + millisOf(service.spec.update?.delay), excessBefore: 0, stuckOn: helped ? '' : fingerprint };
  }
  if (memory.stuckOn !== '' && memory.stuckOn !== fingerprint) memory = { ...memory, stuckOn: '' };
  if (excess === 0 || memory.stuckOn !== '') return none(memory);
  if (nowMs < memory.notBeforeMs) return none(memory, memory.notBeforeMs);

  const update = service.spec.update;
  const parallelism = update === undefined ? 1 : update.parallelism || excess;
  const byId = new Map(input.nodes.map((n) => [n.id, n]));
  const donors = members
    .filter((m) => m.count > (share.get(m.id) ?? 0))
    .sort((a, b) => b.count - (share.get(b.id) ?? 0) - (a.count - (share.get(a.id) ?? 0)) || (a.id < b.id ? -1 : 1));
  const create: Task[] = [];
  const shutdown: Task[] = [];
  const startFirst = update?.order === UpdateOrder.START_FIRST;
  // Round-robin over the donors, highest slots first, so one batch draws from every crowded node.
  const queues = donors.map((m) => ({ m, left: m.count - (share.get(m.id) ?? 0), tasks: [...(byNode.get(m.id) ?? [])].sort((a, b) => b.slot - a.slot) }));
  while (create.length < parallelism && queues.some((q) => q.left > 0)) {
    for (const q of queues) {
      if (create.length >= parallelism || q.left <= 0) continue;
      const t = q.tasks.shift();
      if (t === undefined) {
        q.left = 0;
        continue;
      }
      q.left--;
      const from = rebalancedFromMessage(hostnameOf(byId.get(t.nodeId), t.nodeId));
      const made = makeTask(service, t.slot, '', nowMs, input.newId());
      create.push({ ...made, placementReason: from, status: { ...made.status, state: made.status?.state ?? TaskState.NEW, message: from, err: '' } });
      if (!startFirst) shutdown.push({ ...t, desiredState: TaskState.SHUTDOWN });
    }
  }
  return { create, shutdown, memory: { batchActive: true, notBeforeMs: 0, excessBefore: excess, stuckOn: '' }, wakeAtMs: undefined };
}
