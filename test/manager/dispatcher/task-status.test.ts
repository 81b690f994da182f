/** UpdateTaskStatus over real gRPC: coalesced store writes, forward-only states, ownership. */
import t from 'tap';
import { FakeClock, RealClock } from '../../../lib/clock.js';
import { ErrorCode } from '../../../lib/errors.js';
import { TaskState, type SessionMessage } from '../../../proto/index.js';
import { addNode, addTask, clientFor, makeTask, description, eventually, newStore, startDispatcher, StreamReader, taskStatus } from './helpers.js';

t.test('1000 task reports from 10 nodes become a few store writes', async (t) => {
  const { store, memory, proposer } = newStore();
  const nodes = Array.from({ length: 10 }, (_, i) => `node${i}`);
  for (const n of nodes) await addNode(store, n);
  await store.update((tx) => {
    for (const n of nodes) for (let i = 0; i < 100; i++) tx.create('task', makeTask(`${n}-t${i}`, { nodeId: n }));
  });
  const { address, dispatcher } = await startDispatcher(t, store, new RealClock(), { statusBatchWindowMs: 100 });
  const sessions = await Promise.all(
    nodes.map(async (n) => {
      const client = clientFor(t, address, n);
      const session = new StreamReader<SessionMessage>(t, client.session(description), address);
      return { client, n, sessionId: (await session.next()).sessionId };
    }),
  );
  const before = proposer.writes;
  // Every node reports each of its tasks in 10 requests of 10, all at once.
  await Promise.all(
    sessions.flatMap(({ client, n, sessionId }) =>
      Array.from({ length: 10 }, (_, r) =>
        client.updateTaskStatus(
          sessionId,
          Array.from({ length: 10 }, (_, k) => ({ taskId: `${n}-t${r * 10 + k}`, status: taskStatus(TaskState.RUNNING, 'started') })),
        ),
      ),
    ),
  );
  const writes = proposer.writes - before;
  t.ok(writes >= 1 && writes <= 3, `100 requests with 1000 reports made ${writes} store write(s)`);
  const running = memory.list('task').filter((task) => task.status?.state === TaskState.RUNNING);
  t.equal(running.length, 1000, 'every report was written');
  t.equal(dispatcher.stats().status.written, 1000);
});

t.test('a report of an older state is ignored; another node may not report', async (t) => {
  const clock = new FakeClock();
  const { store, memory, proposer } = newStore();
  await addNode(store, 'node1');
  await addNode(store, 'node2');
  await addTask(store, 'mine', { nodeId: 'node1', state: TaskState.RUNNING });
  await addTask(store, 'theirs', { nodeId: 'node2', state: TaskState.RUNNING });
  const { address, dispatcher } = await startDispatcher(t, store, clock);
  const client = clientFor(t, address, 'node1');
  const session = new StreamReader<SessionMessage>(t, client.session(description), address);
  const { sessionId } = await session.next();

  const writesBefore = proposer.writes;
  await t.rejects(client.updateTaskStatus(sessionId, [{ taskId: 'mine', status: taskStatus(TaskState.FAILED) }, { taskId: 'theirs', status: taskStatus(TaskState.FAILED) }]), {
    code: ErrorCode.PERMISSION,
    message: /node node1 reported the status of 1 task\(s\) not assigned to it \(theirs\)/,
  });
  t.equal(memory.get('task', 'theirs')?.status?.state, TaskState.RUNNING, "the other node's task is untouched");
  t.equal(memory.get('task', 'mine')?.status?.state, TaskState.RUNNING, 'and nothing of the refused request was written');
  t.equal(proposer.writes, writesBefore);

  const backward = client.updateTaskStatus(sessionId, [{ taskId: 'mine', status: taskStatus(TaskState.STARTING, 'late report') }]);
  await eventually(() => dispatcher.stats().status.pending === 1, 5_000, 'report queued');
  clock.advance(50);
  await backward;
  t.equal(memory.get('task', 'mine')?.status?.state, TaskState.RUNNING, 'a report of an older state does not move the task back');
  t.equal(dispatcher.stats().status.ignoredBackward, 1);

  const forward = client.updateTaskStatus(sessionId, [
    { taskId: 'mine', status: taskStatus(TaskState.COMPLETE, 'exited 0') },
    { taskId: 'gone', status: taskStatus(TaskState.COMPLETE) },
  ]);
  await eventually(() => dispatcher.stats().status.pending === 1, 5_000, 'report queued');
  clock.advance(50);
  await forward;
  t.equal(memory.get('task', 'mine')?.status?.message, 'exited 0', 'a forward report is written; a removed task is skipped');

  await t.rejects(client.updateTaskStatus('stale', [{ taskId: 'mine', status: taskStatus(TaskState.COMPLETE) }]), { code: ErrorCode.NOT_FOUND, message: /open a new session/ });
});

t.test('reports waiting when the leader steps down fail, so the worker resends them', async (t) => {
  const clock = new FakeClock();
  const { store, memory } = newStore();
  await addNode(store, 'node1');
  await addTask(store, 'mine', { nodeId: 'node1', state: TaskState.ASSIGNED });
  const { address, dispatcher } = await startDispatcher(t, store, clock);
  const client = clientFor(t, address, 'node1');
  const session = new StreamReader<SessionMessage>(t, client.session(description), address);
  const { sessionId } = await session.next();
  const report = client.updateTaskStatus(sessionId, [{ taskId: 'mine', status: taskStatus(TaskState.RUNNING) }]);
  await eventually(() => dispatcher.stats().status.pending === 1, 5_000, 'report queued');
  dispatcher.stop();
  await t.rejects(report, { code: ErrorCode.CLOSED, message: 'this manager is no longer the leader' });
  t.equal(memory.get('task', 'mine')?.status?.state, TaskState.ASSIGNED);
});
