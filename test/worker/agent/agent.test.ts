/** The agent against real dispatchers on 127.0.0.1: session, assignments, status, failover, backoff. */
import t from 'tap';
import { createServer } from 'node:net';
import { Server, ServerCredentials, credentials } from '@grpc/grpc-js';
import { FakeClock, RealClock } from '../../../lib/clock.js';
import { ErrorCode } from '../../../lib/errors.js';
import { seededRng } from '../../../lib/rng.js';
import { silentLogger } from '../../../lib/log.js';
import { AssignmentsMessageType, DispatcherService, NodeState, TaskState, type DispatcherServer } from '../../../proto/index.js';
import { Agent, NullTaskWorker, type AgentEvent, type AgentOptions } from '../../../worker/agent/index.js';
import { addNode, addTask, description, eventually, newStore, nodeIdKey, startDispatcher, taskStatus } from '../../manager/dispatcher/helpers.js';
import type { Teardown } from '../../helpers/temp-dir.js';

const fast = { heartbeatPeriodMs: 100, statusBatchWindowMs: 20, assignmentsBatchWindowMs: 20 };

/** An agent for node `nodeId`, stopped on teardown, with its events recorded. */
function newAgent(t: Teardown, nodeId: string, options: Partial<AgentOptions> & Pick<AgentOptions, 'managers'>): { agent: Agent; worker: NullTaskWorker; events: AgentEvent[] } {
  const worker = new NullTaskWorker();
  const agent = new Agent({
    credentials: () => credentials.createInsecure(),
    description,
    worker,
    clock: new RealClock(),
    rng: seededRng(1),
    log: silentLogger(),
    callMetadata: { [nodeIdKey]: nodeId },
    ...options,
  });
  const events: AgentEvent[] = [];
  agent.on((e) => events.push(e));
  t.teardown(() => agent.stop());
  agent.start();
  return { agent, worker, events };
}

/** A 127.0.0.1 port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

t.test('the agent registers, heartbeats, follows its assignments and reports status', async (t) => {
  const { store, memory } = newStore();
  await addNode(store, 'node1');
  await addTask(store, 't1', { nodeId: 'node1' });
  const { address, dispatcher } = await startDispatcher(t, store, new RealClock(), fast);
  const { agent, worker } = newAgent(t, 'node1', { managers: [address] });

  await eventually(() => agent.status().state === 'connected', 5_000, 'connected');
  t.equal(agent.status().manager, address);
  t.equal(agent.status().nodeId, 'node1', 'the node ID comes from the SessionMessage');
  t.equal(agent.status().sessionId, dispatcher.sessionOf('node1'));
  t.equal(memory.get('node', 'node1')?.status?.state, NodeState.READY);
  await eventually(() => worker.tasks.has('t1'), 5_000, 'the COMPLETE message reached the worker');
  t.equal(worker.messages[0]?.type, AssignmentsMessageType.COMPLETE);

  await addTask(store, 't2', { nodeId: 'node1' });
  await eventually(() => worker.tasks.has('t2'), 5_000, 'an INCREMENTAL message reached the worker');

  agent.reportStatus('t1', taskStatus(TaskState.STARTING));
  agent.reportStatus('t1', taskStatus(TaskState.RUNNING, 'started'));
  agent.reportStatus('t2', taskStatus(TaskState.FAILED, 'no such image'));
  await eventually(() => memory.get('task', 't1')?.status?.state === TaskState.RUNNING && memory.get('task', 't2')?.status?.state === TaskState.FAILED, 5_000, 'reports written');
  t.equal(agent.status().queuedReports, 0);

  const sessionId = agent.status().sessionId;
  await new Promise((r) => setTimeout(r, 500)); // 5 heartbeat periods, grace is 3
  t.equal(memory.get('node', 'node1')?.status?.state, NodeState.READY, 'heartbeats keep the node READY');
  t.equal(agent.status().sessionId, sessionId, 'on the same session');

  await agent.stop();
  t.equal(agent.status().state, 'stopped');
  t.throws(() => agent.reportStatus('t1', taskStatus(TaskState.COMPLETE)), { code: ErrorCode.CLOSED });
});

t.test('when the leader steps down the agent fails over to a manager from the SessionMessage', async (t) => {
  const { store, memory } = newStore();
  await addNode(store, 'node1');
  await addTask(store, 't1', { nodeId: 'node1' });
  let managers: { nodeId: string; addr: string; weight: number }[] = [];
  const first = await startDispatcher(t, store, new RealClock(), { ...fast, managers: () => managers });
  const second = await startDispatcher(t, store, new RealClock(), { ...fast, managers: () => managers, started: false });
  managers = [
    { nodeId: 'm1', addr: first.address, weight: 1 },
    { nodeId: 'm2', addr: second.address, weight: 1 },
  ];
  first.dispatcher.managersChanged();
  // The agent only knows the first manager; it learns the second from its session.
  const { agent, worker, events } = newAgent(t, 'node1', { managers: [first.address] });
  await eventually(() => agent.status().state === 'connected' && worker.tasks.has('t1'), 5_000, 'connected to the first manager');

  first.dispatcher.stop();
  second.dispatcher.start();
  await eventually(() => agent.status().state === 'connected' && agent.status().manager === second.address, 5_000, 'connected to the second manager');
  const disconnected = events.find((e) => e.type === 'disconnected');
  t.match(disconnected, { type: 'disconnected', manager: first.address, error: { code: ErrorCode.CLOSED, message: 'this manager is no longer the leader' } });
  await eventually(() => worker.messages.filter((m) => m.type === AssignmentsMessageType.COMPLETE).length === 2, 5_000, 'a fresh COMPLETE from the new leader');
  t.ok(worker.tasks.has('t1'));
  t.equal(second.dispatcher.sessionOf('node1'), agent.status().sessionId);

  agent.reportStatus('t1', taskStatus(TaskState.RUNNING));
  await eventually(() => memory.get('task', 't1')?.status?.state === TaskState.RUNNING, 5_000, 'reports go to the new leader');
});

t.test('with every manager down the agent retries with bounded backoff and never spins', async (t) => {
  const ports = [await deadPort(), await deadPort()];
  const addresses = ports.map((p) => `127.0.0.1:${p}`);
  const { agent, events } = newAgent(t, 'node1', { managers: addresses, backoff: { initialMs: 20, maxMs: 80 } });
  await new Promise((r) => setTimeout(r, 800));
  await agent.stop();
  const failures = events.filter((e): e is Extract<AgentEvent, { type: 'disconnected' }> => e.type === 'disconnected');
  t.ok(failures.length >= 5, `it keeps trying (${failures.length} attempts in 800 ms)`);
  t.ok(failures.length <= 80, `but never spins (${failures.length} attempts in 800 ms, each wait >= 10 ms)`);
  t.ok(failures.every((e) => e.retryInMs >= 10 && e.retryInMs <= 80), `every wait within [10, 80] ms: ${failures.map((e) => e.retryInMs).join(' ')}`);
  // Two managers: every second failure ends a round over both; only those waits grow.
  t.ok(failures.filter((_, i) => i % 2 === 1).slice(2).every((e) => e.retryInMs >= 40), 'waits between rounds grow to the cap');
  t.ok(failures.filter((_, i) => i % 2 === 0).every((e) => e.retryInMs <= 20), 'inside a round the other manager is tried after the shortest wait');
  t.ok(failures.slice(1).every((e, i) => e.manager !== failures[i]?.manager), 'each retry goes to the other manager');
  t.ok(failures.every((e) => e.error.code === ErrorCode.CLOSED), 'unreachable managers are reported as such');
  t.equal(agent.status().state, 'stopped');
});

t.test('stop() leaves no timer behind', async (t) => {
  const clock = new FakeClock();
  const { agent, events } = newAgent(t, 'node1', { managers: [`127.0.0.1:${await deadPort()}`], clock });
  await eventually(() => events.some((e) => e.type === 'disconnected'), 5_000, 'first attempt failed');
  t.equal(agent.status().state, 'backoff');
  t.equal(clock.pendingTimers(), 1, 'waiting for the backoff timer');
  await agent.stop();
  t.equal(clock.pendingTimers(), 0);
  t.equal(agent.status().state, 'stopped');
});

t.test('a missed assignments message makes the agent open a new session on the same manager', async (t) => {
  let sessions = 0;
  const fake: DispatcherServer = {
    networkView: (call) => call.end(),
    logSubscriptions: (call) => call.end(),
    publishLogs: (_call, callback) => callback(null, {}),
    attachNetwork: (_call, callback) => callback(null, { attachmentId: '' }),
    detachNetwork: (_call, callback) => callback(null, {}),
    session: (call) => {
      sessions++;
      call.write({ sessionId: `s${sessions}`, managers: [], rootCa: new Uint8Array() });
    },
    heartbeat: (_call, callback) => callback(null, { period: { seconds: 10, nanos: 0 } }),
    updateTaskStatus: (_call, callback) => callback(null, {}),
    assignments: (call) => {
      call.write({ type: AssignmentsMessageType.COMPLETE, appliesTo: '', resultsIn: '1', changes: [] });
      call.write({ type: AssignmentsMessageType.INCREMENTAL, appliesTo: '7', resultsIn: '8', changes: [] });
    },
  };
  const server = new Server();
  server.addService(DispatcherService, fake);
  t.teardown(() => server.forceShutdown());
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const address = `127.0.0.1:${port}`;
  const other = `127.0.0.1:${await deadPort()}`;
  const { agent, events, worker } = newAgent(t, 'node1', { managers: [address, other], rng: seededRng(3) });
  await eventually(() => events.filter((e) => e.type === 'connected').length >= 2, 5_000, 'a second session');
  t.ok(sessions >= 2);
  await agent.stop();
  const gap = events.find((e) => e.type === 'disconnected' && e.manager === address);
  t.match(gap, { type: 'disconnected', error: { code: ErrorCode.CORRUPT, message: /missed an assignments message/ } });
  const connected = events.filter((e) => e.type === 'connected').map((e) => (e.type === 'connected' ? e.manager : ''));
  t.same(connected.slice(0, 2), [address, address], 'the new session is on the same manager');
  t.ok(worker.messages.every((m) => m.type === AssignmentsMessageType.COMPLETE), 'the message after the gap never reached the worker');
});
