import t from 'tap';
import { unplacedRetryIntervalMs } from '../../../manager/scheduler/scheduler-loop.js';
import { NodeAvailability, NodeState, Task, TaskState } from '../../../proto/index.js';
import { cluster } from '../leader-loops-fixture.js';

t.test('an impossible constraint: tasks stay PENDING with the reason, and are placed once a node fits', async (t) => {
  const f = await cluster(2);
  const svc = await f.createService('web', { replicated: { replicas: 2 }, task: { placement: { constraints: ['node.labels.zone==b'] } } });
  await f.settle();
  const tasks = f.tasksOf(svc);
  t.same(tasks.map((x) => x.status?.state), [TaskState.PENDING, TaskState.PENDING]);
  t.same(tasks.map((x) => x.status?.err), ['no suitable node (2 nodes: constraint node.labels.zone==b)', 'no suitable node (2 nodes: constraint node.labels.zone==b)']);
  t.same(tasks.map((x) => x.nodeId), ['', '']);
  const version = f.memory.version;
  await f.settle(unplacedRetryIntervalMs * 3, 100);
  t.equal(f.memory.version, version, 'retries that change nothing write nothing');
  await f.addNode('z', { labels: { zone: 'b' } });
  await f.settle();
  t.same(f.tasksOf(svc).map((x) => [x.nodeId, x.status?.state, x.status?.err]), [
    ['z', TaskState.ASSIGNED, ''],
    ['z', TaskState.ASSIGNED, ''],
  ]);
  f.loops.stop();
});

t.test('only READY and ACTIVE nodes get tasks', async (t) => {
  const f = await cluster(0);
  await f.addNode('down', { state: NodeState.DOWN });
  await f.addNode('drained', { availability: NodeAvailability.DRAIN });
  await f.addNode('paused', { availability: NodeAvailability.PAUSE });
  await f.addNode('ok');
  const svc = await f.createService('web', { replicated: { replicas: 3 } });
  await f.settle();
  t.same(f.tasksOf(svc).map((x) => x.nodeId), ['ok', 'ok', 'ok']);
  f.loops.stop();
});

t.test('tasks that did not fit are placed once resources free up', async (t) => {
  const f = await cluster(1);
  const gib = 1024 ** 3;
  const hog = await f.createService('hog', { replicated: { replicas: 1 }, task: { resources: { reservations: { memoryBytes: 6 * gib } } } });
  await f.settle();
  await f.work();
  const svc = await f.createService('big', { replicated: { replicas: 3 }, task: { resources: { reservations: { memoryBytes: 2 * gib } } } });
  await f.settle();
  const byState = (s: TaskState): number => f.tasksOf(svc).filter((x) => x.status?.state === s).length;
  t.equal(byState(TaskState.ASSIGNED), 1, 'one fits next to the hog');
  t.match(f.tasksOf(svc).find((x) => x.status?.state === TaskState.PENDING)?.status?.err, /^no suitable node \(1 node: insufficient memory\)$/);
  await f.removeService(hog);
  await f.settle();
  await f.work();
  await f.settle();
  t.same(f.tasksOf(svc).map((x) => [x.nodeId, x.status?.err]), [['n1', ''], ['n1', ''], ['n1', '']], 'the hog is gone: all placed');
  f.loops.stop();
});

t.test('global service: one task per node, checked against that node', async (t) => {
  const f = await cluster(2);
  const svc = await f.createService('agent', { global: {} });
  await f.settle();
  t.same(f.tasksOf(svc).map((x) => [x.nodeId, x.status?.state]).sort(), [
    ['n1', TaskState.ASSIGNED],
    ['n2', TaskState.ASSIGNED],
  ]);
  await f.addNode('n3');
  await f.settle();
  t.equal(f.tasksOf(svc).filter((x) => x.nodeId === 'n3' && x.status?.state === TaskState.ASSIGNED).length, 1, 'a new node gets one');
  f.loops.stop();
});

t.test("a standalone container's attachment task is ASSIGNED to its own node, even a drained or paused one", async (t) => {
  const f = await cluster(0);
  await f.addNode('drained', { availability: NodeAvailability.DRAIN });
  await f.addNode('paused', { availability: NodeAvailability.PAUSE });
  const attachment = (id: string, nodeId: string): Task =>
    Task.create({ id, nodeId, desiredState: TaskState.RUNNING, status: { state: TaskState.NEW }, spec: { attachment: { containerId: `c${id}` } } });
  await f.store.update((tx) => {
    tx.create('task', attachment('a1', 'drained'));
    tx.create('task', attachment('a2', 'paused'));
  });
  const svc = await f.createService('web', { replicated: { replicas: 1 } });
  await f.settle();
  t.same(
    ['a1', 'a2'].map((id) => {
      const x = f.memory.get('task', id);
      return [x?.nodeId, x?.status?.state, x?.status?.err, x?.placementReason];
    }),
    [
      ['drained', TaskState.ASSIGNED, '', 'the node of the standalone container'],
      ['paused', TaskState.ASSIGNED, '', 'the node of the standalone container'],
    ],
    'the container already runs there',
  );
  t.same(f.tasksOf(svc).map((x) => [x.nodeId, x.status?.state]), [['', TaskState.PENDING]], 'a service task does not go to those nodes');
  f.loops.stop();
});
