import t from 'tap';
import { nodeInfoOf } from '../../../manager/scheduler/node-view.js';
import { Node, NodeAvailability, NodeRole, NodeState, PortProtocol, PublishMode, Task, TaskState } from '../../../proto/index.js';

const node = Node.create({
  id: 'n1',
  spec: { annotations: { name: 'n1', labels: { zone: 'b' } }, role: NodeRole.MANAGER, availability: NodeAvailability.DRAIN },
  description: { hostname: 'h1', platform: { os: 'linux', architecture: 'x86_64' }, resources: { nanoCpus: 4e9, memoryBytes: 8e9 }, engine: { labels: { ssd: 'yes' } } },
  status: { state: NodeState.READY },
});

function task(id: string, state: TaskState, desired: TaskState, cpus: number, mem: number, port?: number): Task {
  return Task.create({
    id,
    serviceId: 'web',
    nodeId: 'n1',
    desiredState: desired,
    spec: { resources: { reservations: { nanoCpus: cpus, memoryBytes: mem } } },
    status: { state, ...(port ? { portStatus: { ports: [{ protocol: PortProtocol.UDP, publishedPort: port, publishMode: PublishMode.HOST }] } } : {}) },
  });
}

t.test('a stored node becomes the scheduler view, with what its live tasks hold', async (t) => {
  const info = nodeInfoOf(node, [
    task('a', TaskState.RUNNING, TaskState.RUNNING, 1e9, 1e9, 53),
    task('b', TaskState.ASSIGNED, TaskState.RUNNING, 5e8, 2e9),
    task('done', TaskState.COMPLETE, TaskState.RUNNING, 2e9, 2e9),
    task('stopping', TaskState.RUNNING, TaskState.SHUTDOWN, 2e9, 2e9),
  ]);
  t.same(
    [info.role, info.availability, info.ready, info.hostname, info.labels, info.engineLabels],
    ['manager', 'drain', true, 'h1', { zone: 'b' }, { ssd: 'yes' }],
  );
  t.same(info.available, { nanoCpus: 2.5e9, memoryBytes: 5e9 }, 'finished and shutting-down tasks hold nothing');
  t.equal(info.taskCount, 2);
  t.same(info.tasksByService, { web: 2 });
  t.same([...info.hostPorts], ['udp/53']);
});
