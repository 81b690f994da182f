/**
 * Which tasks take service traffic (pure): only RUNNING ones that are still wanted. A task whose
 * health check has not passed is held at STARTING by its worker, and an unhealthy one is FAILED,
 * so neither is a backend of the VIP, the DNS name or the routing mesh.
 */
import t from 'tap';
import { Task, TaskState } from '../../../proto/index.js';
import { isBackendTask, isEndpointTask, taskEndpoints } from '../../../manager/netview/task-endpoints.js';

function task(state: TaskState, desired: TaskState = TaskState.RUNNING): Task {
  return Task.create({
    id: 't1',
    serviceId: 'web',
    nodeId: 'n1',
    annotations: { name: 'web.1.t1' },
    status: { state },
    desiredState: desired,
    networks: [{ networkId: 'net', addresses: ['10.0.1.3/24'], aliases: [] }],
  });
}

t.test('only RUNNING, wanted tasks are backends', async (t) => {
  t.equal(isBackendTask(task(TaskState.STARTING)), false, 'STARTING (health check not passed yet): no traffic');
  t.equal(isBackendTask(task(TaskState.RUNNING)), true);
  t.equal(isBackendTask(task(TaskState.FAILED)), false, 'FAILED (unhealthy): no traffic');
  t.equal(isBackendTask(task(TaskState.RUNNING, TaskState.SHUTDOWN)), false, 'being stopped: no new traffic');
  t.equal(isEndpointTask(task(TaskState.STARTING)), true, 'a starting task is reachable on the overlay all the same');
  const starting = taskEndpoints(task(TaskState.STARTING), '198.18.0.1', () => true);
  t.same(starting.map((e) => [e.address, e.serviceId]), [['10.0.1.3', '']], 'an endpoint with no service');
  const running = taskEndpoints(task(TaskState.RUNNING), '198.18.0.1', () => true);
  t.same(running.map((e) => [e.address, e.serviceId]), [['10.0.1.3', 'web']]);
});
