/**
 * Placing pending tasks on nodes (pure). A batch of identical tasks is filtered against every node
 * once (O(nodes)); then each task takes the best node from a heap, O(log nodes) per task, so the
 * cost of a decision does not grow with the cluster. Ranking: spread preferences first (the branch
 * of each preference level with the fewest tasks of the service), then the node with the fewest
 * tasks of the service, then the least loaded node. Tasks that cannot be placed get a reason that
 * adds up why each node was rejected: `no suitable node (2 nodes: insufficient memory; ...)`.
 */
import { parseConstraint, spreadValue } from './constraints.js';
import { capacity, rejectReason, type Candidate } from './filters.js';
import { Heap } from './heap.js';
import type { NodeInfo, Placement, TaskGroup, Unplaced } from './node-info.js';

/** What one call decided. */
export interface ScheduleResult {
  readonly placements: Placement[];
  readonly unplaced: Unplaced[];
}

function byLoad(a: Candidate, b: Candidate): boolean {
  if (a.serviceCount !== b.serviceCount) return a.serviceCount < b.serviceCount;
  if (a.taskCount !== b.taskCount) return a.taskCount < b.taskCount;
  return a.index < b.index;
}

/** A level of the spread tree: branches by label value, or nodes at the bottom. */
interface Branch {
  readonly value: string;
  /** The spread key the children are split by. */
  readonly key?: string;
  count: number;
  readonly nodes?: Heap<Candidate>;
  readonly children?: Heap<Branch>;
}

function byBranchCount(a: Branch, b: Branch): boolean {
  return a.count !== b.count ? a.count < b.count : a.value < b.value;
}

function buildTree(cands: readonly Candidate[], levels: readonly string[], value: string, serviceId: string): Branch {
  const [level, ...rest] = levels;
  if (level === undefined) {
    const nodes = new Heap<Candidate>(byLoad);
    for (const c of cands) nodes.push(c);
    return { value, count: cands.reduce((n, c) => n + c.serviceCount, 0), nodes };
  }
  const groups = new Map<string, Candidate[]>();
  for (const c of cands) {
    const v = spreadValue(c.info, level);
    const list = groups.get(v);
    if (list) list.push(c);
    else groups.set(v, [c]);
  }
  const children = new Heap<Branch>(byBranchCount);
  let count = 0;
  for (const [v, list] of groups) {
    const child = buildTree(list, rest, v, serviceId);
    count += child.count;
    children.push(child);
  }
  return { value, key: level, count, children };
}

/**
 * Takes one task from the branch: the best node below it, or undefined when it is full. `why`
 * collects the ranking that chose it (spread branches, then the node).
 */
function take(branch: Branch, group: TaskGroup, why: string[]): Candidate | undefined {
  if (branch.nodes) {
    for (;;) {
      const c = branch.nodes.pop();
      if (!c) return undefined;
      if (capacity(c, group).count <= 0) continue;
      why.push(`fewest tasks of the service on the node (${c.serviceCount}), then least loaded (${c.taskCount} tasks)`);
      land(c, group);
      if (capacity(c, group).count > 0) branch.nodes.push(c);
      branch.count++;
      return c;
    }
  }
  const children = branch.children as Heap<Branch>;
  for (;;) {
    const child = children.pop();
    if (!child) return undefined;
    const mark = why.length;
    why.push(`spread ${branch.key ?? ''}=${child.value} had the fewest tasks of the service (${child.count})`);
    const c = take(child, group, why);
    if (!c) {
      why.length = mark;
      continue;
    }
    children.push(child);
    branch.count++;
    return c;
  }
}

function land(c: Candidate, group: TaskGroup): void {
  c.nanoCpus -= group.reservations.nanoCpus;
  c.memoryBytes -= group.reservations.memoryBytes;
  c.taskCount++;
  c.serviceCount++;
  for (const p of group.hostPorts) c.hostPorts.add(p);
}

/** Renders the reason counts: `no suitable node (2 nodes: insufficient memory; 1 node: ...)`. */
export function explain(counts: ReadonlyMap<string, number>, total: number): string {
  if (total === 0) return 'no suitable node (no nodes in the cluster)';
  const parts = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([why, n]) => `${n} node${n === 1 ? '' : 's'}: ${why}`);
  return `no suitable node (${parts.join('; ')})`;
}

/** Scheduler state for one round: node usage that placements update as they are made. */
export class Scheduler {
  private readonly cands: Candidate[];
  private readonly tasksByService: Map<string, number>[];

  constructor(nodes: readonly NodeInfo[]) {
    this.cands = nodes.map((info, index) => ({
      index,
      id: info.id,
      info,
      nanoCpus: info.available.nanoCpus,
      memoryBytes: info.available.memoryBytes,
      taskCount: info.taskCount,
      serviceCount: 0,
      hostPorts: new Set(info.hostPorts),
    }));
    this.tasksByService = nodes.map((n) => new Map(Object.entries(n.tasksByService)));
  }

  /** Places a group of identical tasks; the state remembers the placements for later groups. */
  place(group: TaskGroup): ScheduleResult {
    const constraints = group.constraints.map(parseConstraint);
    const eligible: Candidate[] = [];
    const rejected = new Map<string, number>();
    for (const c of this.cands) {
      c.serviceCount = this.tasksByService[c.index]?.get(group.serviceId) ?? 0;
      const why = rejectReason(c, group, constraints);
      if (why === undefined) eligible.push(c);
      else rejected.set(why, (rejected.get(why) ?? 0) + 1);
    }
    const root = buildTree(eligible, group.spreadOver, '', group.serviceId);
    const placements: Placement[] = [];
    const unplaced: Unplaced[] = [];
    let reason: string | undefined;
    for (const taskId of group.taskIds) {
      const why: string[] = [];
      const c = reason === undefined ? take(root, group, why) : undefined;
      if (c) {
        placements.push({ taskId, nodeId: c.id, reason: `${why.join('; ')} among ${eligible.length} eligible node${eligible.length === 1 ? '' : 's'}` });
        const counts = this.tasksByService[c.index] as Map<string, number>;
        counts.set(group.serviceId, (counts.get(group.serviceId) ?? 0) + 1);
        continue;
      }
      reason ??= this.fullReason(eligible, group, rejected);
      unplaced.push({ taskId, reason });
    }
    return { placements, unplaced };
  }

  private fullReason(eligible: readonly Candidate[], group: TaskGroup, rejected: ReadonlyMap<string, number>): string {
    const counts = new Map(rejected);
    for (const c of eligible) {
      const why = capacity(c, group).limit ?? 'full';
      counts.set(why, (counts.get(why) ?? 0) + 1);
    }
    return explain(counts, this.cands.length);
  }
}
