import t from 'tap';
import { NodeState, StoreActionKind, TaskState } from '../../proto/index.js';
import { LeaderLoop, loopRetryDelayMs, type LoopBody, type PassResult } from '../../manager/leader-loops.js';
import { Fixture, cluster, flush } from './leader-loops-fixture.js';

t.test('a replicated service of 3 on 2 nodes: 3 tasks assigned over both, with addresses on their networks', async (t) => {
  const f = await cluster(2);
  const net = await f.addNetwork('backend');
  const svc = await f.createService('web', { replicated: { replicas: 3 }, task: { networks: [{ target: 'backend' }] } });
  await f.settle();
  const tasks = f.tasksOf(svc);
  t.equal(tasks.length, 3);
  t.same(tasks.map((x) => x.status?.state), [TaskState.ASSIGNED, TaskState.ASSIGNED, TaskState.ASSIGNED]);
  t.same(tasks.map((x) => x.status?.message), ['assigned', 'assigned', 'assigned']);
  t.same(new Set(tasks.map((x) => x.nodeId)), new Set(['n1', 'n2']), 'spread over both nodes');
  t.same(tasks.map((x) => x.slot).sort(), [1, 2, 3]);
  const addresses = tasks.map((x) => x.networks.find((a) => a.networkId === net)?.addresses[0]);
  t.ok(addresses.every((a) => a !== undefined && /^10\.0\.1\.\d+\/24$/.test(a)), `addresses on backend (10.0.1.0/24): ${addresses.join(' ')}`);
  t.equal(new Set(addresses).size, 3, 'all different');
  const service = f.memory.get('service', svc);
  t.equal(service?.endpoint?.virtualIps.length, 1, 'one VIP, on backend');
  t.notOk(addresses.includes(service?.endpoint?.virtualIps[0]?.addr), 'the VIP is no task address');
  t.ok(tasks.every((x) => x.endpoint?.virtualIps[0]?.addr === service?.endpoint?.virtualIps[0]?.addr), 'tasks carry the endpoint');
  f.loops.stop();
});

t.test('stop() leaves no timers and no watchers; a stopped leader writes nothing', async (t) => {
  const f = await cluster(1);
  const svc = await f.createService('web', { replicated: { replicas: 2 } });
  await f.settle();
  await f.work((x) => x.slot === 1);
  await f.settle(100);
  f.loops.stop();
  await f.loops.idle();
  t.equal(f.clock.pendingTimers(), 0, 'no timers (a restart delay was pending)');
  const before = f.memory.version;
  await f.createService('other');
  await f.settle(10_000, 100);
  t.equal(f.memory.version, before + 1, 'nothing but our own write');
  t.equal(f.tasksOf(svc).length, 2);
});

t.test('restart from scratch (start() after stop(), and a new leader) converges without duplicate tasks', async (t) => {
  const f = await cluster(2);
  const svc = await f.createService('web', { replicated: { replicas: 4 } });
  await f.settle();
  await f.work();
  await f.settle();
  const ids = f.tasksOf(svc).map((x) => x.id);
  const addresses = f.tasksOf(svc).map((x) => x.networks.map((a) => a.addresses.join()).join());
  t.equal(ids.length, 4);
  f.loops.stop();
  f.loops.start();
  await f.settle(2_000);
  t.same(f.tasksOf(svc).map((x) => x.id), ids, 'same tasks after start() again');
  f.loops.stop();
  // Meanwhile the service grows; a new leader's loops pick it up.
  await f.updateService(svc, (s) => ({ ...s, replicated: { replicas: 6 } }));
  f.loops = f.newLoops();
  f.loops.start();
  await f.settle(2_000);
  const tasks = f.tasksOf(svc);
  t.equal(tasks.length, 6);
  t.same(tasks.map((x) => x.slot).sort(), [1, 2, 3, 4, 5, 6], 'one task per slot');
  t.same(tasks.slice(0, 4).map((x) => x.networks.map((a) => a.addresses.join()).join()), addresses, 'old addresses kept');
  const all = tasks.flatMap((x) => x.networks.flatMap((a) => a.addresses));
  t.equal(new Set(all).size, all.length, 'no address handed out twice after the rebuild');
  t.equal(f.memory.list('network').filter((n) => n.spec?.ingress).length, 1, 'one ingress network, not one per leader');
  f.loops.stop();
});

t.test('a node going down: its tasks are replaced on the other node', async (t) => {
  const f = await cluster(2);
  const svc = await f.createService('web', { replicated: { replicas: 4 } });
  await f.settle();
  await f.work();
  await f.settle();
  t.equal(f.up(svc).filter((x) => x.nodeId === 'n1').length, 2);
  await f.setNodeState('n1', NodeState.DOWN);
  await f.settle();
  await f.work();
  await f.settle();
  const up = f.up(svc);
  t.equal(up.length, 4);
  t.ok(up.every((x) => x.nodeId === 'n2'), 'all on n2');
  t.same(up.map((x) => x.slot).sort(), [1, 2, 3, 4]);
  f.loops.stop();
  await flush();
});

t.test('a write that lost a race is redone on the new state: a task that moved on is left alone', async (t) => {
  const f = await cluster(0);
  const svc = await f.createService('web', { replicated: { replicas: 1 } });
  await f.settle();
  const task = f.tasksOf(svc)[0];
  t.equal(task?.status?.state, TaskState.PENDING, 'no node yet');
  // Just before the scheduler's write lands, another writer shuts the task down (as a removal would).
  const memory = f.memory;
  const original = memory.apply.bind(memory);
  let raced = false;
  memory.apply = (index, actions) => {
    if (!raced && actions.some((a) => a.task?.status?.state === TaskState.ASSIGNED)) {
      raced = true;
      const current = memory.get('task', task?.id ?? '');
      if (current) original(index, [{ kind: StoreActionKind.UPDATE, task: { ...current, desiredState: TaskState.SHUTDOWN, status: { ...current.status, state: TaskState.SHUTDOWN, message: 'raced', err: '', timestamp: { seconds: 1, nanos: 0 } } } }] );
      return original(index + 1, actions);
    }
    return original(index, actions);
  };
  await f.addNode('n1');
  await f.settle();
  t.ok(raced, 'the race happened');
  const after = f.memory.get('task', task?.id ?? '');
  t.equal(after?.status?.state, TaskState.SHUTDOWN, 'the newer state stays');
  t.equal(after?.nodeId, '', 'and the task was not assigned');
  f.loops.stop();
});

/** A loop body that counts what the runner asks of it; passes wait for `gate` when one is set. */
class CountingBody implements LoopBody {
  readonly name = 'counting';
  resets = 0;
  passes = 0;
  notes = 0;
  gate: Promise<void> | undefined;
  fail = false;
  follows(): boolean {
    return true;
  }
  note(): void {
    this.notes++;
  }
  reset(): void {
    this.resets++;
  }
  async pass(): Promise<PassResult> {
    this.passes++;
    if (this.gate) await this.gate;
    if (this.fail) throw new Error('boom');
    return { more: false, wakeAtMs: undefined };
  }
}

t.test('LeaderLoop: restarted while a pass runs, the new leader still gets its first pass', async (t) => {
  const f = new Fixture();
  const body = new CountingBody();
  let open!: () => void;
  body.gate = new Promise<void>((resolve) => (open = resolve));
  const loop = new LeaderLoop(body, { store: f.store, clock: f.clock, wallClockMs: () => f.clock.now() });
  loop.start();
  f.clock.advance(0);
  await flush();
  t.equal(body.passes, 1, 'a pass is under way');
  loop.stop();
  loop.start();
  body.gate = undefined;
  open();
  await flush();
  f.clock.advance(0);
  await flush();
  t.equal(body.passes, 2, 'the new generation ran its own pass');
  t.equal(body.resets, 2, 'and re-read everything');
  loop.stop();
  t.equal(f.clock.pendingTimers(), 0);
});

t.test('LeaderLoop: a closed watch (snapshot restore) and a failed pass make it re-read everything', async (t) => {
  const f = new Fixture();
  const body = new CountingBody();
  const loop = new LeaderLoop(body, { store: f.store, clock: f.clock, wallClockMs: () => f.clock.now() });
  loop.start();
  await f.settle(100);
  t.same([body.resets, body.passes], [1, 1]);
  f.memory.restore(f.memory.snapshot(), f.memory.version + 1);
  await f.settle(100);
  t.same([body.resets, body.passes], [2, 2], 'watch closed: reset and a new pass');
  await f.init();
  await f.settle(100);
  t.equal(body.notes, 1, 'the new watch sees changes');
  t.equal(body.passes, 3);
  body.fail = true;
  await f.addNode('x');
  await f.settle(100);
  t.same([body.resets, body.passes], [3, 4], 'failed pass: reset');
  body.fail = false;
  await f.settle(loopRetryDelayMs, 100);
  t.equal(body.passes, 5, 'tried again after the retry delay');
  loop.stop();
  t.equal(f.clock.pendingTimers(), 0);
});
