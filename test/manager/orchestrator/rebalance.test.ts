import t from 'tap';
import { excessOf, shares, type Member } from '../../../manager/orchestrator/rebalance.js';
import { idlePacing, orchestrate, type OrchestrateOutput, type UpdatePacing } from '../../../manager/orchestrator/update.js';
import {
  NodeAvailability,
  NodeRole,
  NodeState,
  RebalanceMode,
  Service,
  TaskState,
  UpdateOrder,
  type DeepPartial,
  type Node,
  type ServiceSpec,
  type Task,
} from '../../../proto/index.js';
import { cluster } from '../leader-loops-fixture.js';

function member(id: string, count: number, ...path: string[]): Member {
  return { id, path, count };
}

t.test('shares: even per node; the nodes holding more keep the larger parts', async (t) => {
  const members = [member('a', 4), member('b', 2), member('c', 0)];
  const s = shares(members, 6);
  t.same(Object.fromEntries(s), { a: 2, b: 2, c: 2 });
  t.equal(excessOf(members, s), 2);
  const odd = [member('a', 5), member('b', 2), member('c', 0)];
  t.same(Object.fromEntries(shares(odd, 7)), { a: 3, b: 2, c: 2 }, 'the extra task stays where most are');
  t.equal(excessOf(odd, shares(odd, 7)), 2);
  t.equal(excessOf([member('a', 3), member('b', 2)], shares([member('a', 3), member('b', 2)], 5)), 0, 'as even as it gets: nothing to move');
});

t.test('shares follow the spread levels first (zone, then rack), then the nodes', async (t) => {
  // Zone x has one node, zone y three (two racks): 8 tasks → 4 per zone; zone y: 2 per rack.
  const members = [member('x1', 1, 'x', 'r1'), member('y1', 5, 'y', 'r2'), member('y2', 1, 'y', 'r2'), member('y3', 1, 'y', 'r3')];
  const s = shares(members, 8);
  t.same(Object.fromEntries(s), { x1: 4, y1: 1, y2: 1, y3: 2 });
  t.equal(excessOf(members, s), 4, 'y1 gives 4: three to zone x, one to rack r3');
});

const nodeOf = (id: string, extra: { state?: NodeState; availability?: NodeAvailability } = {}): Node =>
  ({
    id,
    spec: { annotations: { name: id, labels: {} }, role: NodeRole.WORKER, availability: extra.availability ?? NodeAvailability.ACTIVE },
    status: { state: extra.state ?? NodeState.READY, message: '', addr: '' },
    role: NodeRole.WORKER,
    description: { hostname: `host-${id}` },
  }) as Node;

/** The pure core with a toy scheduler: new tasks go to the ready, active node with fewest tasks of the service. */
class World {
  tasks: Task[] = [];
  now = 1_000_000;
  pacing: UpdatePacing = idlePacing;
  private seq = 0;
  private version = 0;
  svc: Service;

  constructor(
    spec: DeepPartial<ServiceSpec>,
    public nodes: Node[],
    public clusterRebalance = false,
  ) {
    this.svc = Service.create({ id: 'svc', spec: { annotations: { name: 'web' }, replicated: { replicas: 6 }, task: { container: { image: 'v1' } }, ...spec } });
  }

  step(): OrchestrateOutput {
    const out = orchestrate({
      service: this.svc,
      tasks: this.tasks,
      nodes: this.nodes,
      nowMs: this.now,
      historyLimit: 5,
      newId: () => `t${++this.seq}`,
      pacing: this.pacing,
      clusterRebalance: this.clusterRebalance,
    });
    this.pacing = out.pacing;
    const byId = new Map(this.tasks.map((x) => [x.id, x]));
    for (const s of out.shutdown) byId.set(s.id, { ...(byId.get(s.id) as Task), desiredState: TaskState.SHUTDOWN });
    for (const id of out.remove) byId.delete(id);
    for (const c of out.create) byId.set(c.id, { ...c, meta: { version: { index: ++this.version } } });
    this.tasks = [...byId.values()];
    if (out.updateStatus) this.svc = { ...this.svc, updateStatus: out.updateStatus };
    return out;
  }

  /** Scheduler and workers: place, start; stop what is to stop; tasks on down nodes stay as they are. */
  run(): void {
    const usable = this.nodes.filter((n) => n.status?.state === NodeState.READY && n.spec?.availability === NodeAvailability.ACTIVE);
    for (const x of [...this.tasks].sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }))) {
      const i = this.tasks.indexOf(x);
      const state = x.status?.state ?? TaskState.NEW;
      const down = x.nodeId !== '' && this.nodes.find((n) => n.id === x.nodeId)?.status?.state !== NodeState.READY;
      if (down) continue;
      if (x.desiredState > TaskState.RUNNING && state < TaskState.COMPLETE) this.tasks[i] = { ...x, status: { ...x.status, state: TaskState.SHUTDOWN, message: '', err: '' } };
      else if (x.desiredState === TaskState.RUNNING && state < TaskState.RUNNING) {
        const load = (id: string): number => this.tasks.filter((o) => o.nodeId === id && o.desiredState === TaskState.RUNNING && (o.status?.state ?? 0) < TaskState.COMPLETE).length;
        const target = [...usable].sort((a, b) => load(a.id) - load(b.id) || a.id.localeCompare(b.id))[0] as Node;
        this.tasks[i] = { ...x, nodeId: target.id, status: { ...x.status, state: TaskState.RUNNING, message: '', err: '', timestamp: { seconds: this.now / 1000, nanos: 0 } } };
      }
    }
  }

  /** Steps and runs until nothing changes (at most `rounds` times), advancing the clock a second each. */
  settle(rounds = 50): void {
    for (let i = 0; i < rounds; i++) {
      const out = this.step();
      this.run();
      this.now += 1_000;
      if (out.create.length === 0 && out.shutdown.length === 0 && out.wakeAtMs === undefined) {
        const again = this.step();
        if (again.create.length === 0 && again.shutdown.length === 0 && again.wakeAtMs === undefined) return;
      }
    }
  }

  perNode(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const x of this.tasks) if (x.desiredState === TaskState.RUNNING && x.status?.state === TaskState.RUNNING) out[x.nodeId] = (out[x.nodeId] ?? 0) + 1;
    return out;
  }

  setNode(id: string, extra: { state?: NodeState; availability?: NodeAvailability }): void {
    this.nodes = this.nodes.map((n) => (n.id === id ? nodeOf(id, extra) : n));
  }
}

/** Six tasks on a and b while c is down; then c comes back. */
function afterRecovery(spec: DeepPartial<ServiceSpec>, clusterRebalance = false): World {
  const w = new World(spec, [nodeOf('a'), nodeOf('b'), nodeOf('c', { state: NodeState.DOWN })], clusterRebalance);
  w.settle();
  t.same(w.perNode(), { a: 3, b: 3 });
  w.setNode('c', { state: NodeState.READY });
  return w;
}

t.test('rebalancing off (the default): a node that comes back gets nothing', async (t) => {
  const w = afterRecovery({});
  const before = w.tasks.map((x) => x.id).sort();
  w.settle();
  t.same(w.perNode(), { a: 3, b: 3 });
  t.same(w.tasks.map((x) => x.id).sort(), before, 'no task made, none stopped');
  const off = afterRecovery({ rebalance: RebalanceMode.OFF }, true);
  off.settle();
  t.same(off.perNode(), { a: 3, b: 3 }, 'the service setting OFF wins over the cluster default');
});

t.test('rebalancing on: the node that came back gets its share, a batch at a time', async (t) => {
  const w = afterRecovery({ rebalance: RebalanceMode.ON, update: { parallelism: 1, delay: { seconds: 10, nanos: 0 } } });
  const first = w.step();
  t.equal(first.create.length, 1, 'parallelism 1: one move per batch');
  t.equal(first.shutdown.length, 1, 'stop-first: the old task stops as its replacement is made');
  t.equal(first.create[0]?.slot, first.shutdown[0]?.slot, 'the move keeps its slot');
  t.match(first.create[0]?.placementReason, /^rebalanced from node host-[ab]$/);
  t.match(first.create[0]?.status?.message, /^rebalanced from node host-[ab]$/);
  w.run();
  w.now += 1_000;
  const waiting = w.step();
  t.same(waiting.create, [], 'the next batch waits for the update delay');
  t.equal(waiting.wakeAtMs, w.now + 10_000, 'and is woken when it is over');
  w.now += 10_000;
  t.equal(w.step().create.length, 1);
  w.run();
  w.settle();
  t.same(w.perNode(), { a: 2, b: 2, c: 2 });
  const moved = w.tasks.filter((x) => x.placementReason?.startsWith('rebalanced from') && x.desiredState === TaskState.RUNNING);
  t.equal(moved.length, 2, 'two tasks moved, no more');
  t.ok(moved.every((x) => x.nodeId === 'c'));
});

t.test('rebalancing by the cluster default, start-first keeps every slot up', async (t) => {
  const w = afterRecovery({ update: { parallelism: 2, order: UpdateOrder.START_FIRST } }, true);
  const out = w.step();
  t.equal(out.create.length, 2);
  t.same(out.shutdown, [], 'start-first: the old tasks run until the new ones do');
  t.same(w.step().shutdown, [], 'still running while the new ones are not');
  w.run();
  const after = w.step();
  t.equal(after.shutdown.length, 2, 'the old ones stop once the new ones run');
  w.run();
  w.settle();
  t.same(w.perNode(), { a: 2, b: 2, c: 2 });
});

t.test('a move that does not help stops rebalancing until the nodes change', async (t) => {
  // A node the toy scheduler never uses (paused) does not take part; a node that takes part but
  // gets nothing back (here: the scheduler keeps choosing a) must not cause endless moves.
  const w = new World({ rebalance: RebalanceMode.ON, replicated: { replicas: 4 }, update: { parallelism: 1 } }, [nodeOf('a'), nodeOf('b', { state: NodeState.DOWN })]);
  w.settle();
  w.setNode('b', { state: NodeState.READY });
  // The toy scheduler is told b is paused for placement, but the orchestrator sees it active.
  const realRun = w.run.bind(w);
  w.run = (): void => {
    const saved = w.nodes;
    w.nodes = w.nodes.map((n) => (n.id === 'b' ? nodeOf('b', { availability: NodeAvailability.PAUSE }) : n));
    realRun();
    w.nodes = saved;
  };
  let made = 0;
  for (let i = 0; i < 40; i++) {
    made += w.step().create.length;
    w.run();
    w.now += 1_000;
  }
  t.equal(made, 1, 'one move was tried; it did not help; nothing more');
  t.same(w.perNode(), { a: 4 });
  w.nodes = [...w.nodes, nodeOf('c')];
  w.run = realRun;
  w.settle();
  t.same(w.perNode(), { a: 2, b: 1, c: 1 }, 'a new node arms rebalancing again');
});

t.test('nothing moves during an update, or for tasks on paused or non-matching nodes', async (t) => {
  const w = afterRecovery({ rebalance: RebalanceMode.ON });
  w.svc = { ...w.svc, updateStatus: { state: 2 /* PAUSED */, message: 'update paused' } };
  t.same(w.step().create, [], 'a paused update: no rebalancing');
  const p = afterRecovery({ rebalance: RebalanceMode.ON });
  p.setNode('c', { availability: NodeAvailability.PAUSE });
  p.settle();
  t.same(p.perNode(), { a: 3, b: 3 }, 'a paused node takes no part');
});

t.test('leader loops: a node that comes back after a failure gets its share with rebalancing on, nothing moves when off', async (t) => {
  for (const on of [true, false]) {
    const f = await cluster(3);
    const svc = await f.createService('web', { replicated: { replicas: 6 }, rebalance: on ? RebalanceMode.ON : RebalanceMode.OFF, update: { parallelism: 2 } });
    for (let i = 0; i < 3; i++) {
      await f.settle(100, 10);
      await f.work();
    }
    const per = (): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const x of f.up(svc)) out[x.nodeId] = (out[x.nodeId] ?? 0) + 1;
      return out;
    };
    t.same(per(), { n1: 2, n2: 2, n3: 2 });
    await f.setNodeState('n3', NodeState.DOWN);
    for (let i = 0; i < 5; i++) {
      await f.settle(100, 10);
      await f.work();
    }
    t.same(per(), { n1: 3, n2: 3 }, 'n3 failed: its tasks run elsewhere');
    await f.setNodeState('n3', NodeState.READY);
    for (let i = 0; i < 10; i++) {
      await f.settle(200, 10);
      await f.work();
    }
    if (on) {
      t.same(per(), { n1: 2, n2: 2, n3: 2 }, 'rebalancing on: n3 has its share back');
      const moved = f.up(svc).filter((x) => x.nodeId === 'n3');
      t.ok(moved.every((x) => /^rebalanced from node n[12]; fewest tasks of the service on the node/.test(x.placementReason ?? '')), 'the tasks say why they sit there');
    } else {
      t.same(per(), { n1: 3, n2: 3 }, 'rebalancing off: nothing moved');
    }
    f.loops.stop();
  }
});
