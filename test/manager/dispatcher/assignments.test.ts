/** The Assignments stream over real gRPC: COMPLETE, then coalesced INCREMENTAL messages. */
import t from 'tap';
import { RealClock } from '../../../lib/clock.js';
import { ErrorCode } from '../../../lib/errors.js';
import { maxChangesPerAssignmentsMessage } from '../../../manager/dispatcher/index.js';
import { AssignmentAction, AssignmentsMessageType, Secret, TaskState, type AssignmentsMessage, type SessionMessage } from '../../../proto/index.js';
import { addNode, addTask, clientFor, description, newStore, settle, startDispatcher, StreamReader, updateTask } from './helpers.js';

function summary(message: AssignmentsMessage): string[] {
  return message.changes.map((c) => {
    const a = c.assignment;
    const what = a?.task ? `task/${a.task.id}` : a?.secret ? `secret/${a.secret.id}` : '?';
    return `${c.action === AssignmentAction.REMOVE ? 'remove' : 'update'} ${what}`;
  });
}

t.test('COMPLETE first, then INCREMENTAL as tasks are created, updated and removed', async (t) => {
  const { store } = newStore();
  await addNode(store, 'node1');
  await addNode(store, 'node2');
  await store.update((tx) => tx.create('secret', Secret.create({ id: 's1', spec: { annotations: { name: 's1' }, data: new TextEncoder().encode('pw') } })));
  await addTask(store, 'running', { nodeId: 'node1', state: TaskState.RUNNING, secrets: ['s1'] });
  await addTask(store, 'pending', { nodeId: 'node1', state: TaskState.PENDING });
  await addTask(store, 'old', { nodeId: 'node1', state: TaskState.SHUTDOWN, desired: TaskState.SHUTDOWN });
  await addTask(store, 'elsewhere', { nodeId: 'node2', state: TaskState.RUNNING });
  const { address } = await startDispatcher(t, store, new RealClock(), { assignmentsBatchWindowMs: 30 });
  const client = clientFor(t, address, 'node1');
  const session = new StreamReader<SessionMessage>(t, client.session(description), address);
  const { sessionId } = await session.next();
  const stream = new StreamReader<AssignmentsMessage>(t, client.assignments(sessionId), address);

  const complete = await stream.next();
  t.equal(complete.type, AssignmentsMessageType.COMPLETE);
  t.equal(complete.appliesTo, '');
  t.same(summary(complete), ['update task/running', 'update secret/s1'], "only the node's live, placed tasks, with their secret");
  t.same(complete.changes[1]?.assignment?.secret?.spec?.data, new TextEncoder().encode('pw'), 'the secret data is delivered');

  await addTask(store, 'new', { nodeId: 'node1' });
  const created = await stream.next();
  t.equal(created.type, AssignmentsMessageType.INCREMENTAL);
  t.equal(created.appliesTo, complete.resultsIn, 'the chain of set versions is unbroken');
  t.same(summary(created), ['update task/new']);

  await updateTask(store, 'new', (task) => ({ ...task, status: { state: TaskState.RUNNING, message: 'started', err: '' } }));
  await updateTask(store, 'running', (task) => ({ ...task, desiredState: TaskState.SHUTDOWN }));
  await addTask(store, 'other', { nodeId: 'node2' });
  const updated = await stream.next();
  t.same(summary(updated), ['update task/running'], "the desired-state change is sent; the worker's own report and other nodes' tasks are not");
  t.equal(updated.changes[0]?.assignment?.task?.desiredState, TaskState.SHUTDOWN);
  t.equal(updated.appliesTo, created.resultsIn);

  await updateTask(store, 'running', (task) => ({ ...task, status: { state: TaskState.SHUTDOWN, message: 'stopped', err: '' } }));
  const finished = await stream.next();
  t.same(summary(finished), ['remove task/running', 'remove secret/s1'], 'a task that is done leaves the set with its secret');

  await store.update((tx) => tx.remove('task', 'new'));
  const removed = await stream.next();
  t.same(summary(removed), ['remove task/new']);
  t.equal(removed.appliesTo, finished.resultsIn);
  await settle(80);
  t.equal(stream.pending, 0, 'nothing else was sent');
});

t.test('changes in a burst are coalesced into few messages, each bounded in size', async (t) => {
  const { store } = newStore();
  await addNode(store, 'node1');
  const { address } = await startDispatcher(t, store, new RealClock(), { assignmentsBatchWindowMs: 300 });
  const client = clientFor(t, address, 'node1');
  const session = new StreamReader<SessionMessage>(t, client.session(description), address);
  const { sessionId } = await session.next();
  const stream = new StreamReader<AssignmentsMessage>(t, client.assignments(sessionId), address);
  t.same((await stream.next()).changes, [], 'an empty COMPLETE for a node with nothing to run');

  const total = maxChangesPerAssignmentsMessage + 88;
  for (let i = 0; i < total; i++) await addTask(store, `t${String(i).padStart(4, '0')}`, { nodeId: 'node1' });
  const first = await stream.next();
  const second = await stream.next();
  t.equal(first.changes.length, maxChangesPerAssignmentsMessage, 'a full message');
  t.equal(second.changes.length, 88, 'then the rest');
  t.equal(second.appliesTo, first.resultsIn);
  await settle(400);
  t.equal(stream.pending, 0, `${total} store writes made 2 messages`);
});

t.test('an assignments stream needs the current session', async (t) => {
  const { store } = newStore();
  await addNode(store, 'node1');
  const { address } = await startDispatcher(t, store, new RealClock());
  const client = clientFor(t, address, 'node1');
  const session = new StreamReader<SessionMessage>(t, client.session(description), address);
  const { sessionId } = await session.next();
  const stale = new StreamReader<AssignmentsMessage>(t, client.assignments('not-a-session'), address);
  t.match(await stale.end(), { code: ErrorCode.NOT_FOUND, message: /open a new session/ });
  const first = new StreamReader<AssignmentsMessage>(t, client.assignments(sessionId), address);
  await first.next();
  const second = new StreamReader<AssignmentsMessage>(t, client.assignments(sessionId), address);
  t.equal((await second.next()).type, AssignmentsMessageType.COMPLETE, 'a second stream starts with a COMPLETE');
  t.match(await first.end(), { code: ErrorCode.CONFLICT }, 'and replaces the first');
});
