import t from 'tap';
import { NodeAvailability, NodeState, Task, TaskState, UpdateOrder, UpdateState, type Node, type ServiceSpec } from '../../../proto/index.js';
import { cluster, type Fixture } from '../leader-loops-fixture.js';

function image(spec: ServiceSpec, name: string): ServiceSpec {
  return { ...spec, task: { ...spec.task, container: { ...spec.task?.container, image: name } } } as ServiceSpec;
}

/** Runs loops and workers until nothing changes, checking `invariant` after every step. */
async function converge(f: Fixture, invariant: () => void = () => undefined, fail?: Parameters<Fixture['work']>[0]): Promise<void> {
  for (let i = 0; i < 100; i++) {
    await f.settle(100, 10, invariant);
    const changed = await f.work(fail);
    invariant();
    if (changed === 0) {
      await f.settle(100, 10, invariant);
      if ((await f.work(fail)) === 0) return;
    }
  }
}

t.test('scale up to 5 and down to 1', async (t) => {
  const f = await cluster(2);
  const svc = await f.createService('web', { replicated: { replicas: 3 } });
  await converge(f);
  t.equal(f.up(svc).length, 3);
  await f.updateService(svc, (s) => ({ ...s, replicated: { replicas: 5 } }));
  await converge(f);
  t.same(f.up(svc).map((x) => x.slot).sort(), [1, 2, 3, 4, 5]);
  t.same(new Set(f.up(svc).map((x) => x.nodeId)), new Set(['n1', 'n2']));
  await f.updateService(svc, (s) => ({ ...s, replicated: { replicas: 1 } }));
  await converge(f);
  t.same(f.up(svc).map((x) => x.slot), [1], 'slot 1 stays');
  const stopped = f.tasksOf(svc).filter((x) => x.desiredState === TaskState.SHUTDOWN);
  t.equal(stopped.length, 4);
  t.ok(stopped.every((x) => x.status?.state === TaskState.SHUTDOWN), 'the others were shut down');
  t.equal(f.memory.get('service', svc)?.updateStatus, undefined, 'scaling is no rolling update');
  f.loops.stop();
});

t.test('rolling update: one slot at a time, never more than parallelism down, then completed', async (t) => {
  const f = await cluster(2);
  const svc = await f.createService('web', { replicated: { replicas: 4 } });
  await converge(f);
  const old = new Set(f.up(svc).map((x) => x.id));
  let most = 0;
  const invariant = (): void => {
    const down = 4 - f.up(svc).length;
    most = Math.max(most, down);
    if (down > 1) t.fail(`${down} tasks down at once`);
  };
  await f.updateService(svc, (s) => image(s, 'busybox:2'));
  await f.settle(100, 10, invariant);
  const updating = f.memory.get('service', svc)?.updateStatus;
  t.equal(updating?.state, UpdateState.UPDATING);
  t.ok(updating?.startedAt, 'startedAt set');
  await converge(f, invariant);
  t.equal(most, 1, 'one task down at a time (parallelism 1 by default)');
  const up = f.up(svc);
  t.equal(up.length, 4);
  t.ok(up.every((x) => x.spec?.container?.image === 'busybox:2' && !old.has(x.id)), 'every task replaced');
  t.same(up.map((x) => x.slot).sort(), [1, 2, 3, 4], 'in the same slots');
  t.equal(f.memory.get('service', svc)?.updateStatus?.state, UpdateState.UPDATING, 'the last new task is watched for the monitor period (5 s)');
  await f.settle(5_100, 100);
  const done = f.memory.get('service', svc)?.updateStatus;
  t.equal(done?.state, UpdateState.COMPLETED);
  t.equal(done?.message, 'update completed');
  t.ok(done?.completedAt, 'completedAt set');
  f.loops.stop();
});

t.test('rolling update with parallelism 2 and a delay between batches', async (t) => {
  const f = await cluster(2);
  const svc = await f.createService('web', { replicated: { replicas: 4 }, update: { parallelism: 2, delay: { seconds: 10, nanos: 0 } } });
  await converge(f);
  await f.updateService(svc, (s) => image(s, 'busybox:2'));
  let most = 0;
  await f.settle(200, 10, () => {
    most = Math.max(most, 4 - f.up(svc).length);
  });
  t.equal(most, 2, 'first batch of 2');
  await f.work();
  await f.settle(5_000, 100);
  await f.work();
  t.equal(f.up(svc).filter((x) => x.spec?.container?.image === 'busybox:2').length, 2, 'second batch waits for the delay');
  await f.settle(6_000, 100);
  t.equal(f.up(svc).length, 2, 'second batch started after 10 s');
  await converge(f);
  t.equal(f.up(svc).filter((x) => x.spec?.container?.image === 'busybox:2').length, 4);
  await f.settle(5_100, 100);
  t.equal(f.memory.get('service', svc)?.updateStatus?.state, UpdateState.COMPLETED);
  f.loops.stop();
});

t.test('a new task failing during the update pauses it', async (t) => {
  const f = await cluster(2);
  const svc = await f.createService('web', { replicated: { replicas: 3 } });
  await converge(f);
  await f.updateService(svc, (s) => image(s, 'broken'));
  await converge(f, undefined, (x) => x.spec?.container?.image === 'broken');
  const status = f.memory.get('service', svc)?.updateStatus;
  t.equal(status?.state, UpdateState.PAUSED);
  t.match(status?.message, /^update paused due to failure or early termination of task id\d+: exit code 1$/);
  t.equal(f.up(svc).filter((x) => x.spec?.container?.image === 'busybox').length, 2, 'the other two old tasks keep running');
  f.loops.stop();
});

t.test('start-first: the old task runs until its replacement does', async (t) => {
  const f = await cluster(2);
  const svc = await f.createService('web', { replicated: { replicas: 2 }, update: { order: UpdateOrder.START_FIRST } });
  await converge(f);
  await f.updateService(svc, (s) => image(s, 'busybox:2'));
  await converge(f, () => {
    if (f.up(svc).length < 2) t.fail('a slot went down during a start-first update');
  });
  t.same(f.up(svc).map((x) => x.spec?.container?.image), ['busybox:2', 'busybox:2']);
  await f.settle(5_100, 100);
  t.equal(f.memory.get('service', svc)?.updateStatus?.state, UpdateState.COMPLETED);
  f.loops.stop();
});

t.test('service removal: tasks shut down, then their objects removed', async (t) => {
  const f = await cluster(2);
  const svc = await f.createService('web', { replicated: { replicas: 3 } });
  const keep = await f.createService('db', { replicated: { replicas: 1 } });
  await converge(f);
  await f.removeService(svc);
  await f.settle();
  t.ok(f.tasksOf(svc).every((x) => x.desiredState === TaskState.SHUTDOWN), 'desired shut down');
  t.equal(f.tasksOf(svc).length, 3, 'kept until the workers stopped them');
  await converge(f);
  t.equal(f.tasksOf(svc).length, 0, 'removed once finished');
  t.equal(f.up(keep).length, 1, 'other services untouched');
  f.loops.stop();
});

t.test('a pendingDelete service: tasks shut down and removed, then the service', async (t) => {
  const f = await cluster(1);
  const svc = await f.createService('web', { replicated: { replicas: 2 } });
  await converge(f);
  await f.store.update((tx) => {
    const s = tx.get('service', svc);
    if (s) tx.update('service', { ...s, pendingDelete: true });
  });
  await converge(f);
  t.equal(f.tasksOf(svc).length, 0);
  t.equal(f.memory.get('service', svc), undefined, 'the service went with its last task');
  f.loops.stop();
});

t.test('a task that fails is restarted after the restart delay', async (t) => {
  const f = await cluster(1);
  const svc = await f.createService('web', { replicated: { replicas: 1 } });
  await converge(f);
  const first = f.up(svc)[0]?.id;
  await f.store.update((tx) => {
    const x = tx.get('task', first ?? '');
    if (x) tx.update('task', { ...x, status: { ...x.status, state: TaskState.FAILED, message: 'failed', err: 'exit 1' } });
  });
  await f.settle(4_000, 100);
  t.equal(f.tasksOf(svc).length, 1, 'not before 5 s');
  await f.settle(1_500, 100);
  await converge(f);
  t.equal(f.up(svc).length, 1);
  t.not(f.up(svc)[0]?.id, first, 'a new task');
  f.loops.stop();
});

t.test('rolling update of a global service: node by node', async (t) => {
  const f = await cluster(3);
  const svc = await f.createService('agent', { global: {} });
  await converge(f);
  t.equal(f.up(svc).length, 3);
  let most = 0;
  await f.updateService(svc, (s) => image(s, 'busybox:2'));
  await converge(f, () => {
    most = Math.max(most, 3 - f.up(svc).length);
  });
  t.equal(most, 1, 'one node at a time');
  t.same(f.up(svc).map((x) => [x.nodeId, x.spec?.container?.image]).sort(), [
    ['n1', 'busybox:2'],
    ['n2', 'busybox:2'],
    ['n3', 'busybox:2'],
  ]);
  await f.settle(5_100, 100);
  t.equal(f.memory.get('service', svc)?.updateStatus?.state, UpdateState.COMPLETED);
  f.loops.stop();
});

/** A standalone container's attachment task on `nodeId`, as the dispatcher's AttachNetwork makes it. */
async function addAttachment(f: Fixture, id: string, nodeId: string): Promise<void> {
  await f.store.update((tx) =>
    tx.create('task', Task.create({ id, nodeId, desiredState: TaskState.RUNNING, status: { state: TaskState.NEW }, spec: { attachment: { containerId: `c${id}` } } })),
  );
}

t.test("standalone containers' attachment tasks (no service) are not shut down as orphans", async (t) => {
  const f = await cluster(2);
  await addAttachment(f, 'a1', 'n1');
  await addAttachment(f, 'a2', 'n2');
  const svc = await f.createService('web', { replicated: { replicas: 1 } });
  await converge(f);
  for (const id of ['a1', 'a2']) {
    const x = f.memory.get('task', id);
    t.equal(x?.desiredState, TaskState.RUNNING, `${id} still wanted`);
    t.equal(x?.status?.state, TaskState.RUNNING, `${id} running on its node`);
  }
  // A drained node keeps its standalone containers (drain moves service tasks only).
  await f.store.update((tx) => {
    const n = tx.get('node', 'n1') as Node;
    tx.update('node', { ...n, spec: { ...(n.spec as NonNullable<Node['spec']>), availability: NodeAvailability.DRAIN } });
  });
  await converge(f);
  t.equal(f.memory.get('task', 'a1')?.desiredState, TaskState.RUNNING, 'kept on a drained node');
  t.same(f.up(svc).map((x) => x.nodeId), ['n2'], 'while the service task runs elsewhere');
  // A node going down is not a node removed: its containers may come back with it.
  await f.setNodeState('n2', NodeState.DOWN);
  await f.settle(1_000, 100);
  t.equal(f.memory.get('task', 'a2')?.desiredState, TaskState.RUNNING, 'kept while its node is down');
  f.loops.stop();
});

t.test('attachment tasks of nodes removed from the cluster, and finished ones, are removed', async (t) => {
  const f = await cluster(3);
  await addAttachment(f, 'a1', 'n1');
  await addAttachment(f, 'a2', 'n2');
  await addAttachment(f, 'a3', 'n3');
  await converge(f);
  t.equal(f.memory.list('task').length, 3);
  await f.store.update((tx) => tx.remove('node', 'n2'));
  await f.settle();
  t.equal(f.memory.get('task', 'a2'), undefined, 'the attachment of the removed node is gone');
  t.ok(f.memory.get('task', 'a1'), 'the others stay');
  t.ok(f.memory.get('task', 'a3'));
  await f.store.update((tx) => {
    const x = tx.get('task', 'a3') as Task;
    tx.update('task', { ...x, status: { ...x.status, state: TaskState.COMPLETE, message: 'detached', err: '' } });
  });
  await f.settle();
  t.equal(f.memory.get('task', 'a3'), undefined, 'a finished attachment is gone');
  t.equal(f.memory.get('task', 'a1')?.status?.state, TaskState.RUNNING, 'the live one stays');
  f.loops.stop();
});
