/**
 * The NetworkView stream over real gRPC on 127.0.0.1: the whole view when it opens, a new whole
 * view when the store changes it (once per window, nothing when it did not change), and its end
 * with the session. The store is a MemoryStore behind a LocalProposer; the window runs on a FakeClock.
 */
import t from 'tap';
import { FakeClock, RealClock } from '../../../lib/clock.js';
import { seededRng } from '../../../lib/rng.js';
import { silentLogger } from '../../../lib/log.js';
import { Server, ServerCredentials, credentials, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { ErrorCode } from '../../../lib/errors.js';
import { AssignmentsMessageType, DispatcherService, Secret, TaskState, type DispatcherServer, type NetworkViewMessage, type SessionMessage } from '../../../proto/index.js';
import { Agent, NullTaskWorker, type AgentEvent } from '../../../worker/agent/index.js';
import { description, eventually, nodeIdKey, settle, startDispatcher, StreamReader, clientFor } from './helpers.js';
import { fixtureStore, task } from '../netview/fixture.js';

const windowMs = 100;

function endpointIds(view: NetworkViewMessage): string[] {
  return view.endpoints.map((e) => `${e.id}${e.serviceId === '' ? '' : '*'}`);
}

t.test('a whole view on open, then one new view per window of changes, none when nothing changed', async (t) => {
  const clock = new FakeClock();
  const { store } = await fixtureStore();
  const { address } = await startDispatcher(t, store, clock, { networkViewBatchWindowMs: windowMs });
  const client = clientFor(t, address, 'n1');
  const session = new StreamReader<SessionMessage>(t, client.session(description), address);
  const { sessionId } = await session.next();
  const views = new StreamReader<NetworkViewMessage>(t, client.networkView(sessionId), address);

  const first = await views.next();
  t.equal(first.sequence, 1);
  t.equal(first.nodeId, 'n1');
  t.equal(first.hostAddr, '127.0.0.1', 'the address the session came from');
  t.same(first.networks.map((n) => n.id), ['appnet', 'ingress']);
  t.same(endpointIds(first), ['w1.appnet*', 'w2.appnet*', 'w3.appnet', 'w4.appnet', 'w1.ingress*', 'w2.ingress*', 'w3.ingress']);

  // A burst of changes: one view, after the window.
  await store.update((tx) => {
    const w3 = tx.get('task', 'w3');
    if (w3 !== undefined) tx.update('task', { ...w3, status: { state: TaskState.RUNNING, message: '', err: '' } });
  });
  await store.update((tx) => tx.create('task', task('w9', { node: 'n3', state: TaskState.ASSIGNED, service: 'web', nets: [['appnet', '10.0.1.20/24']] })));
  await store.update((tx) => tx.remove('task', 'w4'));
  await settle();
  t.equal(views.pending, 0, 'nothing before the window ends');
  clock.advance(windowMs);
  const second = await views.next();
  t.equal(second.sequence, 2);
  t.same(endpointIds(second), ['w1.appnet*', 'w2.appnet*', 'w3.appnet*', 'w9.appnet', 'w1.ingress*', 'w2.ingress*', 'w3.ingress*'], 'all three changes in one view');

  // Changes that do not touch n1's view: another network's task, a secret, an unrelated node field.
  await store.update((tx) => tx.create('task', task('o2', { node: 'n2', state: TaskState.RUNNING, service: 'db', nets: [['other', '10.0.2.9/24']] })));
  await store.update((tx) => tx.create('secret', Secret.create({ id: 's1', spec: { annotations: { name: 's1' }, data: new Uint8Array([1]) } })));
  await store.update((tx) => {
    const n3 = tx.get('node', 'n3');
    if (n3 !== undefined) tx.update('node', { ...n3, description: { ...description, hostname: 'renamed' } });
  });
  await settle();
  clock.advance(windowMs);
  await settle(80);
  t.equal(views.pending, 0, 'an unchanged view is not sent again');

  // A node moving changes the VTEP of its endpoints.
  await store.update((tx) => {
    const n2 = tx.get('node', 'n2');
    if (n2?.status !== undefined) tx.update('node', { ...n2, status: { ...n2.status, addr: '198.18.0.99' } });
  });
  await settle();
  clock.advance(windowMs);
  const third = await views.next();
  t.equal(third.sequence, 3);
  t.same([...new Set(third.endpoints.filter((e) => e.nodeId === 'n2').map((e) => e.hostAddr))], ['198.18.0.99']);
  t.same(third.ingress?.hosts.find((h) => h.nodeId === 'n2')?.hostAddr, '198.18.0.99', 'and its place in the mesh');
});

t.test('the stream needs the current session and ends with it', async (t) => {
  const clock = new FakeClock();
  const { store } = await fixtureStore();
  const { address, dispatcher } = await startDispatcher(t, store, clock, { networkViewBatchWindowMs: windowMs });
  const client = clientFor(t, address, 'n1');

  const stale = new StreamReader<NetworkViewMessage>(t, client.networkView('no-such-session'), address);
  t.match(await stale.end(), { code: ErrorCode.NOT_FOUND, message: /open a new session/ }, 'an unknown session is refused');

  const session = new StreamReader<SessionMessage>(t, client.session(description), address);
  const { sessionId } = await session.next();
  const first = new StreamReader<NetworkViewMessage>(t, client.networkView(sessionId), address);
  await first.next();
  const second = new StreamReader<NetworkViewMessage>(t, client.networkView(sessionId), address);
  t.equal((await second.next()).sequence, 1, 'a second stream starts over with a whole view');
  t.match(await first.end(), { code: ErrorCode.CONFLICT, message: /newer network view stream/ }, 'and replaces the first');

  const replaced = new StreamReader<SessionMessage>(t, client.session(description), address);
  await replaced.next();
  t.match(await second.end(), { code: ErrorCode.CONFLICT, message: /replaced by a newer session/ }, 'a new session ends the old session\'s view stream');

  const { sessionId: current } = replaced.all[0] as SessionMessage;
  const third = new StreamReader<NetworkViewMessage>(t, client.networkView(current), address);
  await third.next();
  dispatcher.stop();
  t.match(await third.end(), { code: ErrorCode.CLOSED, message: /no longer the leader/ }, 'losing leadership ends it');
});

t.test('an agent asked for network views emits each one', async (t) => {
  const { store } = await fixtureStore();
  const { address } = await startDispatcher(t, store, new RealClock(), { heartbeatPeriodMs: 100, networkViewBatchWindowMs: 20 });
  const agent = new Agent({
    managers: [address],
    credentials: () => credentials.createInsecure(),
    description,
    worker: new NullTaskWorker(),
    clock: new RealClock(),
    rng: seededRng(1),
    log: silentLogger(),
    callMetadata: { [nodeIdKey]: 'n2' },
    networkView: true,
  });
  const views: NetworkViewMessage[] = [];
  agent.on((e: AgentEvent) => {
    if (e.type === 'networkView') views.push(e.message);
  });
  t.teardown(() => agent.stop());
  agent.start();
  await eventually(() => views.length === 1, 5_000, 'a first view');
  t.equal(views[0]?.nodeId, 'n2');
  await store.update((tx) => tx.remove('task', 'o1'));
  await eventually(() => views.length === 2, 5_000, 'a second view');
  t.same(views[1]?.endpoints.filter((e) => e.networkId === 'other'), [], 'the removed task is gone from it');
});

t.test('an agent asked for network views keeps its session with a manager that has no NetworkView call', async (t) => {
  let assignments = 0;
  const older: Omit<DispatcherServer, 'networkView' | 'logSubscriptions' | 'publishLogs' | 'attachNetwork' | 'detachNetwork'> = {
    session: (call) => call.write({ sessionId: 's1', managers: [], rootCa: new Uint8Array() }),
    heartbeat: (_call, callback) => callback(null, { period: { seconds: 0, nanos: 50_000_000 } }),
    updateTaskStatus: (_call, callback) => callback(null, {}),
    assignments: (call) => {
      assignments++;
      call.write({ type: AssignmentsMessageType.COMPLETE, appliesTo: '', resultsIn: '1', changes: [] });
    },
  };
  const server = new Server();
  server.addService(DispatcherService, older as unknown as UntypedServiceImplementation);
  t.teardown(() => server.forceShutdown());
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const events: AgentEvent[] = [];
  const agent = new Agent({
    managers: [`127.0.0.1:${port}`],
    credentials: () => credentials.createInsecure(),
    description,
    worker: new NullTaskWorker(),
    clock: new RealClock(),
    rng: seededRng(1),
    log: silentLogger(),
    networkView: true,
  });
  agent.on((e) => events.push(e));
  t.teardown(() => agent.stop());
  agent.start();
  await eventually(() => assignments === 1 && agent.status().state === 'connected', 5_000, 'connected');
  await settle(300);
  t.equal(agent.status().state, 'connected', 'still connected after heartbeats');
  t.same(events.filter((e) => e.type === 'disconnected').map((e) => (e.type === 'disconnected' ? e.error.message : '')), [], 'the missing call did not end the session');
});
