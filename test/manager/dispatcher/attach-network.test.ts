/** AttachNetwork / DetachNetwork over real gRPC: standalone containers' attachment tasks in the store. */
import t from 'tap';
import { RealClock } from '../../../lib/clock.js';
import { ErrorCode } from '../../../lib/errors.js';
import { AssignmentAction, Network, TaskState, type AssignmentsMessage, type NetworkAttachmentConfig, type SessionMessage } from '../../../proto/index.js';
import type { Store } from '../../../manager/store/index.js';
import type { Teardown } from '../../helpers/temp-dir.js';
import type { DispatcherClient } from '../../../worker/agent/index.js';
import { addNode, addTask, clientFor, description, eventually, newStore, startDispatcher, StreamReader, taskStatus, updateTask } from './helpers.js';

function want(target: string, aliases: string[] = []): NetworkAttachmentConfig {
  return { target, aliases, addresses: [], driverAttachmentOpts: {} };
}

async function addNetwork(store: Store, id: string, name: string, attachable: boolean): Promise<void> {
  await store.update((tx) => tx.create('network', Network.create({ id, spec: { annotations: { name }, driver: { name: 'overlay' }, attachable } })));
}

/** A cluster of node1 and node2 with networks "front" (attachable) and "svc-only" (not), and a session per node. */
async function setup(t: Teardown): Promise<{
  store: Store;
  memory: ReturnType<typeof newStore>['memory'];
  proposer: ReturnType<typeof newStore>['proposer'];
  address: string;
  nodes: Record<'node1' | 'node2', { client: DispatcherClient; sessionId: string }>;
}> {
  const { store, memory, proposer } = newStore();
  await addNode(store, 'node1');
  await addNode(store, 'node2');
  await addNetwork(store, 'frontid1', 'front', true);
  await addNetwork(store, 'svconly1', 'svc-only', false);
  const { address } = await startDispatcher(t, store, new RealClock(), { assignmentsBatchWindowMs: 10, statusBatchWindowMs: 10 });
  const open = async (nodeId: string): Promise<{ client: DispatcherClient; sessionId: string }> => {
    const client = clientFor(t, address, nodeId);
    const session = new StreamReader<SessionMessage>(t, client.session(description), address);
    return { client, sessionId: (await session.next()).sessionId };
  };
  return { store, memory, proposer, address, nodes: { node1: await open('node1'), node2: await open('node2') } };
}

t.test('AttachNetwork creates one attachment task on the caller node; asking again returns it', async (t) => {
  const { memory, nodes } = await setup(t);
  const { client, sessionId } = nodes.node1;
  const id = await client.attachNetwork({ sessionId, containerId: 'c0ffee01', containerName: 'web1', networks: [want('front', ['www'])] });
  t.not(id, '');
  const task = memory.get('task', id);
  t.equal(task?.nodeId, 'node1', 'placed on the node that asked');
  t.equal(task?.serviceId, '');
  t.equal(task?.annotations?.name, 'web1');
  t.same(task?.spec?.attachment, { containerId: 'c0ffee01' });
  t.same(task?.spec?.networks, [want('frontid1', ['www'])], 'the network by its ID');
  t.equal(task?.status?.state, TaskState.NEW);
  t.equal(task?.desiredState, TaskState.RUNNING);

  const again = await client.attachNetwork({ sessionId, containerId: 'c0ffee01', containerName: 'web1', networks: [want('front')] });
  t.equal(again, id, 'a repeated request for the same container gets the same task');
  t.equal(memory.list('task').length, 1, 'and no second task');

  const other = await client.attachNetwork({ sessionId, containerId: 'c0ffee02', containerName: '', networks: [want('frontid1')] });
  t.not(other, id, 'another container gets its own task');
  t.equal(memory.get('task', other)?.annotations?.name, 'c0ffee02');
  const theirs = await nodes.node2.client.attachNetwork({ sessionId: nodes.node2.sessionId, containerId: 'c0ffee01', containerName: 'web1', networks: [want('front')] });
  t.not(theirs, id, 'the same container ID on another node is another container');
  t.equal(memory.get('task', theirs)?.nodeId, 'node2');
});

t.test('concurrent AttachNetwork calls for one container make one task', async (t) => {
  const { memory, nodes } = await setup(t);
  const { client, sessionId } = nodes.node1;
  const ids = await Promise.all(Array.from({ length: 5 }, () => client.attachNetwork({ sessionId, containerId: 'c0ffee01', containerName: 'web1', networks: [want('front')] })));
  t.equal(new Set(ids).size, 1, `one attachment ID: ${ids.join(' ')}`);
  t.equal(memory.list('task').length, 1);
});

t.test('AttachNetwork refusals write nothing', async (t) => {
  const { memory, proposer, nodes } = await setup(t);
  const { client, sessionId } = nodes.node1;
  const before = proposer.writes;
  await t.rejects(client.attachNetwork({ sessionId: 'stale', containerId: 'c1', containerName: 'x', networks: [want('front')] }), {
    code: ErrorCode.NOT_FOUND,
    message: /open a new session/,
  });
  await t.rejects(client.attachNetwork({ sessionId: nodes.node2.sessionId, containerId: 'c1', containerName: 'x', networks: [want('front')] }), {
    code: ErrorCode.NOT_FOUND,
    message: /open a new session/,
  }, "another node's session is not the caller's");
  await t.rejects(client.attachNetwork({ sessionId, containerId: 'c1', containerName: 'x', networks: [want('svc-only')] }), {
    code: ErrorCode.INVALID_ARGUMENT,
    message: /network svc-only is not manually attachable/,
  });
  await t.rejects(client.attachNetwork({ sessionId, containerId: 'c1', containerName: 'x', networks: [want('nosuch')] }), {
    code: ErrorCode.NOT_FOUND,
    message: /network nosuch not found/,
  });
  await t.rejects(client.attachNetwork({ sessionId, containerId: 'bad/id', containerName: 'x', networks: [want('front')] }), {
    code: ErrorCode.INVALID_ARGUMENT,
    message: /container ID "bad\/id" is not valid/,
  });
  t.same(memory.list('task'), [], 'no task');
  t.equal(proposer.writes, before, 'no store write');
});

t.test('DetachNetwork removes only the caller node’s own attachment tasks; one already gone is fine', async (t) => {
  const { store, memory, nodes } = await setup(t);
  const mine = await nodes.node1.client.attachNetwork({ sessionId: nodes.node1.sessionId, containerId: 'c1', containerName: 'a', networks: [want('front')] });
  const theirs = await nodes.node2.client.attachNetwork({ sessionId: nodes.node2.sessionId, containerId: 'c2', containerName: 'b', networks: [want('front')] });
  await addTask(store, 'service-task', { nodeId: 'node1' });
  const { client, sessionId } = nodes.node1;

  await t.rejects(client.detachNetwork(sessionId, theirs), { code: ErrorCode.PERMISSION, message: `task ${theirs} is not a network attachment of node node1` });
  t.ok(memory.get('task', theirs), "the other node's attachment stays");
  await t.rejects(client.detachNetwork(sessionId, 'service-task'), { code: ErrorCode.PERMISSION, message: 'task service-task is not a network attachment of node node1' });
  t.ok(memory.get('task', 'service-task'), 'a service task is not removed through DetachNetwork');
  await t.rejects(client.detachNetwork('stale', mine), { code: ErrorCode.NOT_FOUND, message: /open a new session/ });
  t.ok(memory.get('task', mine), 'nothing removed with a stale session');

  await client.detachNetwork(sessionId, mine);
  t.equal(memory.get('task', mine), undefined, 'removed');
  await client.detachNetwork(sessionId, mine);
  t.pass('detaching again is fine');
  t.same(memory.list('task').map((x) => x.id).sort(), [theirs, 'service-task'].sort());

  const fresh = await client.attachNetwork({ sessionId, containerId: 'c1', containerName: 'a', networks: [want('front')] });
  t.not(fresh, mine, 'after a detach the same container gets a new task');
});

function summary(message: AssignmentsMessage): string[] {
  return message.changes.map((c) => {
    const a = c.assignment;
    const what = a?.task ? `task/${a.task.id}` : a?.network ? `network/${a.network.id}` : '?';
    return `${c.action === AssignmentAction.REMOVE ? 'remove' : 'update'} ${what}`;
  });
}

t.test('once allocated and assigned, the attachment reaches its node with its network; its reports are taken; detach removes it', async (t) => {
  const { store, memory, address, nodes } = await setup(t);
  const { client, sessionId } = nodes.node1;
  const stream = new StreamReader<AssignmentsMessage>(t, client.assignments(sessionId), address);
  t.same(summary(await stream.next()), [], 'nothing assigned yet');
  const id = await client.attachNetwork({ sessionId, containerId: 'c0ffee01', containerName: 'web1', networks: [want('front')] });
  // What the allocator and the scheduler do.
  await updateTask(store, id, (task) => ({
    ...task,
    networks: [{ networkId: 'frontid1', addresses: ['10.0.1.5/24'], aliases: [], driverAttachmentOpts: {} }],
    status: { ...task.status, state: TaskState.ASSIGNED, message: 'assigned', err: '' },
  }));
  const assigned = await stream.next();
  t.same(summary(assigned).sort(), [`update network/frontid1`, `update task/${id}`], 'the task and the network object netd needs');
  t.same(assigned.changes.find((c) => c.assignment?.task)?.assignment?.task?.spec?.attachment, { containerId: 'c0ffee01' });

  await client.updateTaskStatus(sessionId, [{ taskId: id, status: taskStatus(TaskState.RUNNING, 'attached') }]);
  await eventually(() => memory.get('task', id)?.status?.state === TaskState.RUNNING, 5_000, 'RUNNING recorded');
  t.equal(memory.get('task', id)?.status?.message, 'attached');

  await client.detachNetwork(sessionId, id);
  let removed: string[] = [];
  for (let i = 0; i < 5 && !removed.includes(`remove task/${id}`); i++) removed = summary(await stream.next());
  t.ok(removed.includes(`remove task/${id}`), `the node is told it is gone: ${removed.join(', ')}`);
});
