/**
 * The orchestrator's reconcile step for one service (pure): from the service, its tasks and the
 * nodes, which tasks to create, which to shut down, and which old ones to forget. Replicated
 * services keep N slots; global services one task per eligible node; replicated jobs run tasks
 * until N complete, at most M at once; global jobs run once per eligible node. Finished tasks are
 * replaced by the restart policy; tasks on nodes that went down or were drained are replaced
 * elsewhere; history beyond the limit is removed.
 */
import { matches, nodeInfoOf, parseConstraint } from '../scheduler/index.js';
import { NodeAvailability, NodeState, Task, TaskState, type Node, type Service } from '../../proto/index.js';
import { isFinished, isWanted, restartDecision } from './restart-policy.js';
import { timestampFromMs } from '../../proto/time.js';

/** What reconcile needs. */
export interface ReconcileInput {
  readonly service: Service;
  /** Every task of the service, in any state. */
  readonly tasks: readonly Task[];
  readonly nodes: readonly Node[];
  readonly nowMs: number;
  /** Tasks kept per slot (or per node for global modes), the current one included. */
  readonly historyLimit: number;
  readonly newId: () => string;
}

/** What reconcile decided. */
export interface ReconcileOutput {
  readonly create: Task[];
  /** Tasks whose desired state moves to SHUTDOWN. */
  readonly shutdown: Task[];
  /** IDs of finished tasks beyond the history limit. */
  readonly remove: string[];
  /** When a delayed restart falls due (call reconcile again then). */
  readonly wakeAtMs: number | undefined;
}

type Mode = 'replicated' | 'global' | 'replicatedJob' | 'globalJob';

function modeOf(service: Service): Mode {
  const spec = service.spec;
  if (spec?.global) return 'global';
  if (spec?.replicatedJob) return 'replicatedJob';
  if (spec?.globalJob) return 'globalJob';
  return 'replicated';
}

function nodeUsable(node: Node | undefined): boolean {
  return node !== undefined && node.status?.state !== NodeState.DOWN && (node.spec?.availability ?? NodeAvailability.ACTIVE) !== NodeAvailability.DRAIN;
}

function byCreated(a: Task, b: Task): number {
  return (a.meta?.version?.index ?? 0) - (b.meta?.version?.index ?? 0) || a.id.localeCompare(b.id);
}

/** The version of the service's spec that new tasks are made from: spec_version, else the object's version. */
export function specVersionOf(service: Service): number {
  return service.specVersion?.index || service.meta?.version?.index || 0;
}

/** A new task of `service` in `slot` (global services: slot 0 on `nodeId`), NEW and desired RUNNING. */
export function makeTask(service: Service, slot: number, nodeId: string, nowMs: number, id: string): Task {
  const name = service.spec?.annotations?.name ?? service.id;
  return Task.create({
    id,
    serviceId: service.id,
    slot,
    nodeId,
    spec: service.spec?.task ?? {},
    desiredState: TaskState.RUNNING,
    status: { state: TaskState.NEW, timestamp: timestampFromMs(nowMs), message: 'created' },
    annotations: { name: `${name}.${nodeId !== '' && slot === 0 ? nodeId : slot}.${id}`, labels: {} },
    serviceAnnotations: service.spec?.annotations ?? { name, labels: {} },
    specVersion: { index: specVersionOf(service) },
  });
}

class Plan {
  readonly create: Task[] = [];
  readonly shutdown: Task[] = [];
  readonly remove: string[] = [];
  wakeAtMs: number | undefined;

  constructor(private readonly input: ReconcileInput) {}

  newTask(slot: number, nodeId: string): void {
    const { service, nowMs } = this.input;
    this.create.push(makeTask(service, slot, nodeId, nowMs, this.input.newId()));
  }

  stop(task: Task): void {
    if (isWanted(task)) this.shutdown.push({ ...task, desiredState: TaskState.SHUTDOWN });
  }

  wake(atMs: number): void {
    this.wakeAtMs = this.wakeAtMs === undefined ? atMs : Math.min(this.wakeAtMs, atMs);
  }

  /**
   * Keeps the newest `limit` tasks of a slot (counting the `added` ones this step creates there);
   * forgets older finished ones that are no longer wanted, this step's shutdowns included.
   */
  reap(slotTasks: readonly Task[], added: number): void {
    const stopped = new Set(this.shutdown.map((t) => t.id));
    const old = [...slotTasks].sort(byCreated);
    const excess = old.length + added - Math.max(1, this.input.historyLimit);
    for (const t of old.slice(0, Math.max(0, excess))) if ((!isWanted(t) || stopped.has(t.id)) && isFinished(t)) this.remove.push(t.id);
  }
}

/**
 * Reconciles one slot (or one node of a global service): keeps the wanted task if it runs where it
 * may, else replaces it now or after the restart delay.
 */
function reconcileSlot(plan: Plan, slotTasks: readonly Task[], slot: number, nodeId: string, nodes: ReadonlyMap<string, Node>, isJob: boolean, input: ReconcileInput): void {
  const ordered = [...slotTasks].sort(byCreated);
  const wanted = ordered.filter(isWanted);
  const current = wanted[wanted.length - 1];
  for (const extra of wanted.slice(0, -1)) plan.stop(extra);
  if (!current) {
    const last = ordered[ordered.length - 1];
    // A slot whose last task finished and was not to be restarted stays finished (jobs, none policy).
    if (last && isFinished(last) && !restartDecision(last, ordered.slice(0, -1), input.service.spec?.task?.restart, isJob).restart) return;
    plan.newTask(slot, nodeId);
    return;
  }
  if (!isFinished(current)) {
    if (current.nodeId !== '' && !nodeUsable(nodes.get(current.nodeId)) && nodeId === '') {
      plan.stop(current);
      plan.newTask(slot, nodeId);
    }
    return;
  }
  const decision = restartDecision(current, ordered.slice(0, -1), input.service.spec?.task?.restart, isJob);
  if (!decision.restart) return;
  if (decision.atMs > input.nowMs) {
    plan.wake(decision.atMs);
    return;
  }
  plan.stop(current);
  plan.newTask(slot, nodeId);
}

/** Ready nodes matching the service's constraints: active ones, or (`orPaused`) paused ones too. */
function eligibleNodes(input: ReconcileInput, orPaused = false): Node[] {
  const constraints = (input.service.spec?.task?.placement?.constraints ?? []).map(parseConstraint);
  return input.nodes.filter((n) => {
    const availability = n.spec?.availability ?? NodeAvailability.ACTIVE;
    if (n.status?.state !== NodeState.READY) return false;
    if (availability !== NodeAvailability.ACTIVE && !(orPaused && availability === NodeAvailability.PAUSE)) return false;
    const info = nodeInfoOf(n, []);
    return constraints.every((c) => matches(c, info));
  });
}

/** Reconciles a service; see the file comment. */
export function reconcile(input: ReconcileInput): ReconcileOutput {
  const plan = new Plan(input);
  const mode = modeOf(input.service);
  const nodes = new Map(input.nodes.map((n) => [n.id, n]));
  const bySlot = new Map<string, Task[]>();
  const keyOf = (t: Task): string => (mode === 'global' || mode === 'globalJob' ? `node:${t.nodeId}` : `slot:${t.slot}`);
  for (const t of input.tasks) {
    const list = bySlot.get(keyOf(t));
    if (list) list.push(t);
    else bySlot.set(keyOf(t), [t]);
  }
  if (input.service.pendingDelete) {
    for (const t of input.tasks) plan.stop(t);
    return plan;
  }

  if (mode === 'replicated') {
    const replicas = input.service.spec?.replicated?.replicas ?? 1;
    for (let slot = 1; slot <= replicas; slot++) reconcileSlot(plan, bySlot.get(`slot:${slot}`) ?? [], slot, '', nodes, false, input);
    for (const [key, tasks] of bySlot) {
      const slot = Number(key.slice('slot:'.length));
      if (slot > replicas) tasks.forEach((t) => plan.stop(t));
    }
  } else if (mode === 'global' || mode === 'globalJob') {
    const eligible = eligibleNodes(input);
    const eligibleIds = new Set(eligible.map((n) => n.id));
    for (const n of eligible) reconcileSlot(plan, bySlot.get(`node:${n.id}`) ?? [], 0, n.id, nodes, mode === 'globalJob', input);
    const matching = new Set(eligibleNodes(input, true).map((n) => n.id));
    for (const [key, tasks] of bySlot) {
      const nodeId = key.slice('node:'.length);
      const node = nodes.get(nodeId);
      // Tasks stay on nodes that are merely down (they come back) or paused (they take no new
      // task but keep theirs); drained, removed or no longer matching nodes lose them.
      const paused = node !== undefined && node.spec?.availability === NodeAvailability.PAUSE && matching.has(nodeId);
      const keep = eligibleIds.has(nodeId) || paused || (node !== undefined && node.status?.state === NodeState.DOWN && nodeUsableIgnoringDown(node));
      if (!keep) tasks.forEach((t) => plan.stop(t));
    }
  } else {
    reconcileJob(plan, bySlot, nodes, input);
  }
  const added = new Map<string, number>();
  for (const c of plan.create) added.set(keyOf(c), (added.get(keyOf(c)) ?? 0) + 1);
  for (const [key, tasks] of bySlot) plan.reap(tasks, added.get(key) ?? 0);
  return plan;
}

function nodeUsableIgnoringDown(node: Node): boolean {
  return (node.spec?.availability ?? NodeAvailability.ACTIVE) !== NodeAvailability.DRAIN;
}

/**
 * Replicated job: run until `totalCompletions` tasks completed, at most `maxConcurrent` at once.
 * A slot whose task failed for good (restart policy exhausted) counts against the total, so a
 * failing job ends instead of starting new slots forever.
 */
function reconcileJob(plan: Plan, bySlot: ReadonlyMap<string, Task[]>, nodes: ReadonlyMap<string, Node>, input: ReconcileInput): void {
  const job = input.service.spec?.replicatedJob;
  const total = job?.totalCompletions || 1;
  const concurrent = job?.maxConcurrent || total;
  let settled = 0;
  let active = 0;
  let highest = 0;
  for (const [key, tasks] of bySlot) {
    const slot = Number(key.slice('slot:'.length));
    highest = Math.max(highest, slot);
    const ordered = [...tasks].sort(byCreated);
    if (ordered.some((t) => t.status?.state === TaskState.COMPLETE)) {
      settled++;
      continue;
    }
    const running = ordered.filter((t) => isWanted(t) && !isFinished(t));
    if (running.length > 0) {
      active++;
      reconcileSlot(plan, ordered, slot, '', nodes, true, input);
      continue;
    }
    const last = ordered[ordered.length - 1];
    if (!last) continue;
    const decision = restartDecision(last, ordered.slice(0, -1), input.service.spec?.task?.restart, true);
    if (!decision.restart) {
      settled++;
      continue;
    }
    active++;
    if (decision.atMs > input.nowMs) plan.wake(decision.atMs);
    else {
      plan.stop(last);
      plan.newTask(slot, '');
    }
  }
  const toStart = Math.max(0, Math.min(concurrent - active, total - settled - active));
  for (let i = 1; i <= toStart; i++) plan.newTask(highest + i, '');
}
