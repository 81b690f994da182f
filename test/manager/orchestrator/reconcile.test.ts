import t from 'tap';
import { reconcile, type ReconcileOutput } from '../../../manager/orchestrator/reconcile.js';
import { NodeAvailability, NodeRole, NodeState, RestartCondition, Service, TaskState, type Node, type RestartPolicy, type Task } from '../../../proto/index.js';

function node(id: string, extra: { state?: number; availability?: number; role?: number } = {}): Node {
  return {
    id,
    spec: { annotations: { name: id, labels: {} }, role: extra.role ?? NodeRole.WORKER, availability: extra.availability ?? NodeAvailability.ACTIVE },
    status: { state: extra.state ?? NodeState.READY, message: '', addr: '' },
    role: extra.role ?? NodeRole.WORKER,
    description: { hostname: id, resources: { nanoCpus: 4e9, memoryBytes: 8e9, pids: 0 } },
  } as Node;
}

type Mode = { replicated: { replicas: number } } | { global: Record<string, never> } | { replicatedJob: { totalCompletions: number; maxConcurrent: number } };

function service(mode: Mode = { replicated: { replicas: 3 } }, restart?: RestartPolicy, constraints: string[] = []): Service {
  return Service.create({
    id: 'svc',
    spec: { annotations: { name: 'web' }, task: { ...(restart ? { restart } : {}), placement: { constraints } }, ...mode },
  });
}

/** A tiny world: applies reconcile output and plays the workers' part. */
class World {
  tasks: Task[] = [];
  private seq = 0;
  private version = 0;
  now = 1_000_000;
  constructor(public svc: Service, public nodes: Node[], public historyLimit = 5) {}

  step(): ReconcileOutput {
    const out = reconcile({ service: this.svc, tasks: this.tasks, nodes: this.nodes, nowMs: this.now, historyLimit: this.historyLimit, newId: () => `t${++this.seq}` });
    const byId = new Map(this.tasks.map((x) => [x.id, x]));
    for (const s of out.shutdown) byId.set(s.id, { ...s, meta: { version: { index: ++this.version } } });
    for (const id of out.remove) byId.delete(id);
    for (const c of out.create) byId.set(c.id, { ...c, meta: { version: { index: ++this.version } } });
    this.tasks = [...byId.values()];
    return out;
  }

  /** Workers start every new task (on its node, or the first ready node). */
  run(): void {
    const ready = this.nodes.filter((n) => n.status?.state === NodeState.READY);
    this.tasks = this.tasks.map((x, i): Task =>
      (x.status?.state ?? 0) < TaskState.RUNNING && x.desiredState === TaskState.RUNNING
        ? { ...x, nodeId: x.nodeId || (ready[i % ready.length]?.id ?? ''), status: { state: TaskState.RUNNING, timestamp: { seconds: this.now / 1000, nanos: 0 }, message: '', err: '' } }
        : x,
    );
  }

  end(id: string, state: TaskState): void {
    this.tasks = this.tasks.map((x): Task => (x.id === id ? { ...x, status: { state, timestamp: { seconds: this.now / 1000, nanos: 0 }, message: '', err: '' } } : x));
  }

  running(): Task[] {
    return this.tasks.filter((x) => x.desiredState === TaskState.RUNNING && x.status?.state === TaskState.RUNNING);
  }
}

t.test('replicated: N slots, idempotent, scale down stops the highest slots', async (t) => {
  const w = new World(service(), [node('a'), node('b')]);
  t.same(w.step().create.map((x) => x.slot), [1, 2, 3]);
  w.run();
  const again = w.step();
  t.same([again.create.length, again.shutdown.length], [0, 0], 'nothing to do once converged');
  w.svc = service({ replicated: { replicas: 1 } });
  t.same(w.step().shutdown.map((x) => x.slot).sort(), [2, 3]);
  t.match(w.tasks.find((x) => x.slot === 1)?.annotations?.name, /^web\.1\.t1$/);
});

t.test('a failed task is replaced after the restart delay', async (t) => {
  const w = new World(service({ replicated: { replicas: 1 } }), [node('a')]);
  w.step();
  w.run();
  w.end('t1', TaskState.FAILED);
  const early = w.step();
  t.same(early.create, [], 'not before the delay');
  t.equal(early.wakeAtMs, w.now + 5_000, "docker's default delay of 5 s");
  w.now += 5_000;
  const late = w.step();
  t.same(late.create.map((x) => x.slot), [1]);
  t.same(late.shutdown.map((x) => x.id), ['t1'], 'the failed task is marked shut down');
});

t.test('restart conditions and attempt limits', async (t) => {
  const none = new World(service({ replicated: { replicas: 1 } }, { condition: RestartCondition.NONE, maxAttempts: 0 }), [node('a')]);
  none.step();
  none.run();
  none.end('t1', TaskState.FAILED);
  none.now += 60_000;
  t.same(none.step().create, [], 'condition none');

  const onFailure = new World(service({ replicated: { replicas: 1 } }, { condition: RestartCondition.ON_FAILURE, maxAttempts: 0 }), [node('a')]);
  onFailure.step();
  onFailure.run();
  onFailure.end('t1', TaskState.COMPLETE);
  onFailure.now += 60_000;
  t.same(onFailure.step().create, [], 'on-failure does not restart a clean exit');

  const limited = new World(service({ replicated: { replicas: 1 } }, { condition: RestartCondition.ANY, maxAttempts: 2, delay: { seconds: 0, nanos: 0 } }), [node('a')]);
  let runs = 0;
  for (let i = 0; i < 6; i++) {
    const out = limited.step();
    runs += out.create.length;
    limited.run();
    for (const x of limited.running()) limited.end(x.id, TaskState.FAILED);
    limited.now += 1_000;
  }
  t.equal(runs, 3, 'the first run and 2 restarts');
});

t.test('tasks on a node that went down or was drained move elsewhere', async (t) => {
  const w = new World(service({ replicated: { replicas: 2 } }), [node('a'), node('b')]);
  w.step();
  w.run();
  const onA = w.tasks.filter((x) => x.nodeId === 'a');
  w.nodes = [node('a', { state: NodeState.DOWN }), node('b')];
  const out = w.step();
  t.same(out.shutdown.map((x) => x.id), onA.map((x) => x.id));
  t.same(out.create.map((x) => [x.slot, x.nodeId]), onA.map((x) => [x.slot, '']), 'replacements in the same slots, left to the scheduler');
});

t.test('global: one task per eligible node, following drains and constraints', async (t) => {
  const nodes = [node('a'), node('b'), node('m', { role: NodeRole.MANAGER }), node('d', { availability: NodeAvailability.DRAIN })];
  const w = new World(service({ global: {} }, undefined, ['node.role==worker']), nodes);
  t.same(w.step().create.map((x) => x.nodeId).sort(), ['a', 'b']);
  w.run();
  w.nodes = [node('a'), node('b', { availability: NodeAvailability.DRAIN }), node('c')];
  const out = w.step();
  t.same(out.shutdown.map((x) => x.nodeId), ['b'], 'drained node loses its task');
  t.same(out.create.map((x) => x.nodeId), ['c'], 'a new node gets one');
  w.run();
  w.nodes = [node('a', { state: NodeState.DOWN }), node('c')];
  t.same(w.step().shutdown, [], 'a node that is merely down keeps its task for when it returns');
});

t.test('replicated job: exactly N completions, never more than M at once', async (t) => {
  const w = new World(service({ replicatedJob: { totalCompletions: 10, maxConcurrent: 3 } }), [node('a'), node('b')], 100);
  let most = 0;
  for (let round = 0; round < 20; round++) {
    w.step();
    w.run();
    most = Math.max(most, w.running().length);
    for (const x of w.running()) w.end(x.id, TaskState.COMPLETE);
  }
  t.equal(w.tasks.filter((x) => x.status?.state === TaskState.COMPLETE).length, 10);
  t.equal(most, 3);
  const idle = w.step();
  t.same([idle.create.length, idle.shutdown.length], [0, 0], 'a finished job stays finished');
});

t.test('a failing job ends once its restarts are used up', async (t) => {
  const w = new World(service({ replicatedJob: { totalCompletions: 2, maxConcurrent: 2 } }, { condition: RestartCondition.ON_FAILURE, maxAttempts: 1, delay: { seconds: 0, nanos: 0 } }), [node('a')], 100);
  let created = 0;
  for (let round = 0; round < 10; round++) {
    created += w.step().create.length;
    w.run();
    for (const x of w.running()) w.end(x.id, TaskState.FAILED);
    w.now += 1_000;
  }
  t.equal(created, 4, '2 slots, each run once and restarted once');
});

t.test('history beyond the limit is forgotten; removing a service stops everything', async (t) => {
  const w = new World(service({ replicated: { replicas: 1 } }, { condition: RestartCondition.ANY, maxAttempts: 0, delay: { seconds: 0, nanos: 0 } }), [node('a')], 3);
  for (let i = 0; i < 6; i++) {
    w.step();
    w.run();
    for (const x of w.running()) w.end(x.id, TaskState.FAILED);
    w.now += 1_000;
  }
  w.step();
  t.ok(w.tasks.length <= 3, `${w.tasks.length} tasks kept in the slot`);
  w.svc = { ...w.svc, pendingDelete: true };
  w.run();
  const out = w.step();
  t.ok(out.shutdown.length >= 1 && w.tasks.every((x) => x.desiredState !== TaskState.RUNNING), 'all tasks told to shut down');
});

t.test('replicated job, 10 completions, max-concurrent 3, tasks ending in any order and some failing: exactly 10 complete', async (t) => {
  let seed = 7;
  const rand = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const w = new World(service({ replicatedJob: { totalCompletions: 10, maxConcurrent: 3 } }, { condition: RestartCondition.ON_FAILURE, delay: { seconds: 0, nanos: 0 }, maxAttempts: 0 }), [node('a'), node('b')], 5);
  let most = 0;
  for (let round = 0; round < 200; round++) {
    w.step();
    w.run();
    most = Math.max(most, w.tasks.filter((x) => x.desiredState === TaskState.RUNNING && (x.status?.state ?? 0) < TaskState.COMPLETE).length);
    // One running task ends per round: a third of them fail (and are restarted), the rest complete.
    const running = w.running();
    const pick = running[Math.floor(rand() * running.length)];
    if (pick) w.end(pick.id, rand() < 0.33 ? TaskState.FAILED : TaskState.COMPLETE);
    w.now += 1_000;
  }
  const complete = w.tasks.filter((x) => x.status?.state === TaskState.COMPLETE);
  t.equal(complete.length, 10, 'exactly 10 completed tasks');
  t.same([...new Set(complete.map((x) => x.slot))].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'one per slot');
  t.ok(w.tasks.some((x) => x.status?.state === TaskState.FAILED), 'the failed runs are kept as history');
  t.equal(most, 3, 'never more than 3 at once');
  const idle = w.step();
  t.same([idle.create.length, idle.shutdown.length, idle.remove.length], [0, 0, 0], 'a finished job stays finished, its history kept');
});

t.test('global job: one run per eligible node; a node that joins later runs it too; finished nodes are not rerun', async (t) => {
  const w = new World(Service.create({ id: 'svc', spec: { annotations: { name: 'once' }, task: {}, globalJob: {} } }), [node('a'), node('b'), node('d', { availability: NodeAvailability.DRAIN })]);
  t.same(w.step().create.map((x) => x.nodeId).sort(), ['a', 'b']);
  w.run();
  for (const x of w.running()) w.end(x.id, TaskState.COMPLETE);
  t.same(w.step().create, [], 'completed: nothing reruns');
  w.nodes = [...w.nodes, node('c')];
  t.same(w.step().create.map((x) => x.nodeId), ['c'], 'a new node runs the job once');
});

t.test('global services follow nodes: joining, pausing (keeps its task, gets no new one), draining and leaving', async (t) => {
  const w = new World(service({ global: {} }), [node('a'), node('b')]);
  t.same(w.step().create.map((x) => x.nodeId).sort(), ['a', 'b']);
  w.run();
  w.nodes = [node('a'), node('b', { availability: NodeAvailability.PAUSE }), node('c')];
  const out = w.step();
  t.same(out.shutdown, [], 'a paused node keeps its task');
  t.same(out.create.map((x) => x.nodeId), ['c'], 'a joining node gets one');
  w.run();
  const onB = w.tasks.find((x) => x.nodeId === 'b') as Task;
  w.end(onB.id, TaskState.FAILED);
  w.now += 60_000;
  t.same(w.step().create, [], 'a paused node gets no new task, not even a restart');
  w.nodes = [node('a'), node('c', { availability: NodeAvailability.DRAIN })];
  const gone = w.step();
  t.same(gone.shutdown.map((x) => x.nodeId).sort(), ['b', 'c'], 'b left the cluster and c was drained: both lose their tasks');
  t.same(gone.create, []);
});
