/** Sessions and heartbeats of the dispatcher, over real gRPC on 127.0.0.1. */
import t from 'tap';
import { FakeClock, RealClock } from '../../../lib/clock.js';
import { ErrorCode } from '../../../lib/errors.js';
import { heartbeatFailureMessage, peerHost } from '../../../manager/dispatcher/index.js';
import { Cluster, NodeState, type SessionMessage } from '../../../proto/index.js';
import { addNode, clientFor, description, eventually, newStore, startDispatcher, StreamReader } from './helpers.js';

t.test('peerHost strips the port of grpc-js peer strings', async (t) => {
  t.equal(peerHost('127.0.0.1:41234'), '127.0.0.1');
  t.equal(peerHost('::1:41234'), '::1');
  t.equal(peerHost('[::1]:41234'), '::1');
  t.equal(peerHost('unknown'), 'unknown');
});

t.test('a session registers the node READY with its description and address', async (t) => {
  const { store, memory } = newStore();
  await addNode(store, 'node1');
  const managers = [{ nodeId: 'm1', addr: '10.0.0.1:2377', weight: 1 }];
  const { dispatcher, address } = await startDispatcher(t, store, new RealClock(), { managers: () => managers });
  const client = clientFor(t, address, 'node1');
  const session = new StreamReader<SessionMessage>(t, client.session(description), address);
  const first = await session.next();
  t.not(first.sessionId, '', 'the first message carries a session id');
  t.equal(first.sessionId, dispatcher.sessionOf('node1'));
  t.same(first.managers, managers, 'and the managers');
  t.equal(first.node?.id, 'node1', 'and the node');
  t.equal(first.node?.status?.state, NodeState.READY, 'as written: READY');
  const node = memory.get('node', 'node1');
  t.equal(node?.status?.state, NodeState.READY);
  t.equal(node?.status?.addr, '127.0.0.1', 'the address the node connected from');
  t.equal(node?.description?.hostname, 'worker-1', 'the description the node sent');
  t.equal(node?.description?.resources?.memoryBytes, 1 << 30);
});

t.test('a node the store does not know is refused', async (t) => {
  const { store, memory } = newStore();
  const { address } = await startDispatcher(t, store, new RealClock());
  const client = clientFor(t, address, 'stranger');
  const session = new StreamReader<SessionMessage>(t, client.session(description), address);
  const end = await session.end();
  t.not(end, 'end');
  t.match(end, { code: ErrorCode.NOT_FOUND, message: /node stranger is not part of this cluster/ });
  t.equal(memory.get('node', 'stranger'), undefined, 'nothing was written');
  await t.rejects(client.heartbeat('whatever'), { code: ErrorCode.NOT_FOUND, message: /open a new session/ });
});

t.test('heartbeats keep a node READY; three missed periods make it DOWN', async (t) => {
  const clock = new FakeClock();
  const { store, memory } = newStore();
  await addNode(store, 'node1');
  const { dispatcher, address } = await startDispatcher(t, store, clock, { heartbeatPeriodMs: 1_000 });
  const client = clientFor(t, address, 'node1');
  const session = new StreamReader<SessionMessage>(t, client.session(description), address);
  const { sessionId } = await session.next();

  for (let i = 0; i < 5; i++) {
    const response = await client.heartbeat(sessionId);
    t.same(response.period, { seconds: 1, nanos: 0 }, 'the period comes back');
    clock.advance(2_500); // less than the 3 s grace since the last heartbeat
  }
  t.equal(memory.get('node', 'node1')?.status?.state, NodeState.READY, 'still READY after 12.5 s of heartbeats');

  clock.advance(500); // 3 s since the last heartbeat
  await eventually(() => memory.get('node', 'node1')?.status?.state === NodeState.DOWN, 5_000, 'node DOWN');
  t.equal(memory.get('node', 'node1')?.status?.message, heartbeatFailureMessage);
  t.equal(memory.get('node', 'node1')?.status?.addr, '127.0.0.1', 'the last address is kept');
  t.match(await session.end(), { code: ErrorCode.NOT_FOUND, message: /no heartbeat for 3000 ms/ }, 'the session stream ends');
  t.equal(dispatcher.sessionOf('node1'), undefined);
  await t.rejects(client.heartbeat(sessionId), { code: ErrorCode.NOT_FOUND, message: /open a new session/ }, 'the expired session is refused');
  t.equal(dispatcher.stats().heartbeatDeadlines, 0, 'no timer left for the node');
});

t.test('the heartbeat period comes from the cluster object when it sets one', async (t) => {
  const clock = new FakeClock();
  const { store, memory } = newStore();
  await addNode(store, 'node1');
  await store.update((tx) => tx.create('cluster', Cluster.create({ id: 'c1', spec: { annotations: { name: 'default' }, dispatcher: { heartbeatPeriod: { seconds: 2, nanos: 0 } } } })));
  const { address } = await startDispatcher(t, store, clock, { heartbeatPeriodMs: 1_000 });
  const client = clientFor(t, address, 'node1');
  const session = new StreamReader<SessionMessage>(t, client.session(description), address);
  const { sessionId } = await session.next();
  const response = await client.heartbeat(sessionId);
  t.same(response.period, { seconds: 2, nanos: 0 });
  clock.advance(5_900);
  await new Promise((r) => setTimeout(r, 30));
  t.equal(memory.get('node', 'node1')?.status?.state, NodeState.READY, 'grace is 3 × 2 s');
  clock.advance(100);
  await eventually(() => memory.get('node', 'node1')?.status?.state === NodeState.DOWN, 5_000, 'node DOWN');
});

t.test('a second session replaces the first', async (t) => {
  const clock = new FakeClock();
  const { store } = newStore();
  await addNode(store, 'node1');
  const { dispatcher, address } = await startDispatcher(t, store, clock);
  const client = clientFor(t, address, 'node1');
  const first = new StreamReader<SessionMessage>(t, client.session(description), address);
  const one = await first.next();
  const second = new StreamReader<SessionMessage>(t, client.session(description), address);
  const two = await second.next();
  t.not(two.sessionId, one.sessionId);
  t.match(await first.end(), { code: ErrorCode.CONFLICT, message: /replaced by a newer session/ }, 'the old stream ends');
  t.equal(dispatcher.sessionOf('node1'), two.sessionId);
  t.equal(dispatcher.stats().sessions, 1);
  await t.rejects(client.heartbeat(one.sessionId), { code: ErrorCode.NOT_FOUND, message: /a newer session replaced it/ });
  await t.resolves(client.heartbeat(two.sessionId));
  t.equal(second.ended, undefined, 'the new stream stays open');
});

t.test('a new leader gives READY nodes a grace period, then marks the silent ones DOWN', async (t) => {
  const clock = new FakeClock();
  const { store, memory } = newStore();
  await addNode(store, 'alive', NodeState.READY);
  await addNode(store, 'silent', NodeState.READY);
  await addNode(store, 'down', NodeState.DOWN);
  const { address, dispatcher } = await startDispatcher(t, store, clock, { heartbeatPeriodMs: 1_000 });
  t.equal(dispatcher.stats().heartbeatDeadlines, 2, 'a deadline for each READY node');
  clock.advance(2_000);
  await new Promise((r) => setTimeout(r, 30));
  t.equal(memory.get('node', 'silent')?.status?.state, NodeState.READY, 'not marked down before it could reach the new leader');
  const client = clientFor(t, address, 'alive');
  const session = new StreamReader<SessionMessage>(t, client.session(description), address);
  const { sessionId } = await session.next();
  clock.advance(1_000);
  await eventually(() => memory.get('node', 'silent')?.status?.state === NodeState.DOWN, 5_000, 'silent node DOWN');
  t.equal(memory.get('node', 'alive')?.status?.state, NodeState.READY, 'the node that came back stays READY');
  await t.resolves(client.heartbeat(sessionId));
  t.equal(memory.get('node', 'down')?.status?.state, NodeState.DOWN);
});

t.test('the session stream carries node and manager changes', async (t) => {
  const clock = new FakeClock();
  const { store } = newStore();
  await addNode(store, 'node1');
  let managers = [{ nodeId: 'm1', addr: '10.0.0.1:2377', weight: 1 }];
  const { address, dispatcher } = await startDispatcher(t, store, clock, { managers: () => managers });
  const client = clientFor(t, address, 'node1');
  const session = new StreamReader<SessionMessage>(t, client.session(description), address);
  await session.next();
  await store.update((tx) => {
    const node = tx.get('node', 'node1');
    if (node) tx.update('node', { ...node, spec: { annotations: { name: '', labels: { zone: 'a' } }, role: 0, availability: 0 } });
  });
  const changed = await session.next();
  t.same(changed.node?.spec?.annotations?.labels, { zone: 'a' }, 'the node change is sent');
  managers = [...managers, { nodeId: 'm2', addr: '10.0.0.2:2377', weight: 1 }];
  dispatcher.managersChanged();
  const withManagers = await session.next();
  t.equal(withManagers.managers.length, 2, 'the new manager list is sent');
  dispatcher.managersChanged();
  await new Promise((r) => setTimeout(r, 30));
  t.equal(session.pending, 0, 'nothing is sent when nothing changed');
});

t.test('stop() ends every stream: this manager is no longer the leader', async (t) => {
  const clock = new FakeClock();
  const { store, memory } = newStore();
  await addNode(store, 'node1');
  const { dispatcher, address } = await startDispatcher(t, store, clock);
  const client = clientFor(t, address, 'node1');
  const session = new StreamReader<SessionMessage>(t, client.session(description), address);
  const { sessionId } = await session.next();
  const assignments = new StreamReader(t, client.assignments(sessionId), address);
  await assignments.next();
  dispatcher.stop();
  t.match(await session.end(), { code: ErrorCode.CLOSED, message: 'this manager is no longer the leader' });
  t.match(await assignments.end(), { code: ErrorCode.CLOSED, message: 'this manager is no longer the leader' });
  t.equal(clock.pendingTimers(), 0, 'no timer left');
  await t.rejects(client.heartbeat(sessionId), { code: ErrorCode.CLOSED, message: /not the leader/ });
  clock.advance(60_000);
  await new Promise((r) => setTimeout(r, 30));
  t.equal(memory.get('node', 'node1')?.status?.state, NodeState.READY, 'a stopped dispatcher marks nothing down');

  dispatcher.start();
  const again = new StreamReader<SessionMessage>(t, client.session(description), address);
  t.not((await again.next()).sessionId, sessionId, 'started again, it serves new sessions');
});
