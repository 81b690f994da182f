import t from 'tap';
import { Server, ServerCredentials, credentials } from '@grpc/grpc-js';
import { seededRng } from '../../../../lib/rng.js';
import { RaftService } from '../../../../proto/index.js';
import { MessageDecoder, encodeMessage, snapshotChunkBytes } from '../../../../manager/raft/transport/message-codec.js';
import { Transport, type SnapshotOutcome } from '../../../../manager/raft/transport/transport.js';
import { MessageType, makeMessage, type Message, type NodeId } from '../../../../manager/raft/types.js';
import { freeLoopbackPort } from '../../../worker/images/registry-helper.js';
import { CuttingProxy } from './cutting-proxy.js';

interface Member {
  transport: Transport;
  received: Message[];
  unreachable: NodeId[];
  snapshots: [NodeId, SnapshotOutcome][];
  server: Server;
  port: number;
}

async function listen(transport: Transport, port = 0): Promise<{ server: Server; port: number }> {
  const server = new Server();
  server.addService(RaftService as never, { streamMessages: transport.streamHandler(), resolveAddress: () => undefined, join: () => undefined, leave: () => undefined } as never);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port: bound };
}

async function member(t: { teardown(fn: () => unknown): void }, seed: number): Promise<Member> {
  const received: Message[] = [];
  const unreachable: NodeId[] = [];
  const snapshots: [NodeId, SnapshotOutcome][] = [];
  const transport = new Transport(
    credentials.createInsecure(),
    { receive: (m) => received.push(m), unreachable: (p) => unreachable.push(p), snapshotSent: (p, outcome) => snapshots.push([p, outcome]) },
    seededRng(seed),
  );
  const { server, port } = await listen(transport);
  const m = { transport, received, unreachable, snapshots, server, port };
  t.teardown(() => {
    m.transport.close();
    m.server.forceShutdown();
  });
  return m;
}

async function until(cond: () => boolean, ms = 5_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return cond();
}

function snap(to: NodeId, bytes: number): Message {
  const data = new Uint8Array(bytes).fill(7);
  return makeMessage({ type: MessageType.snap, from: 1, to, term: 4, snapshot: { metadata: { index: 9, term: 4, confState: { voters: [1, to], learners: [] } }, data } });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function app(i: number): Message {
  return makeMessage({ type: MessageType.app, from: 1, to: 2, term: 3, index: i, logTerm: 3, commit: i, entries: [{ term: 3, index: i + 1, type: 'normal', data: new TextEncoder().encode(`put k${i}`) }] });
}

t.test('every message type survives the wire', async (t) => {
  for (const type of Object.values(MessageType)) {
    const m = makeMessage({ type, from: 1, to: 2, term: 9, logTerm: 8, index: 2 ** 40, commit: 5, reject: true, rejectHint: 4, context: 'read-7', entries: [{ term: 9, index: 2 ** 40 + 1, type: 'confChange', data: new Uint8Array([1]) }] });
    const wire = encodeMessage(m);
    t.same(new MessageDecoder().decode(wire[0]!), m, type);
  }
});

t.test('a large snapshot travels in chunks and comes back whole', async (t) => {
  const data = new Uint8Array(3 * snapshotChunkBytes + 123).map((_, i) => i % 251);
  const m = makeMessage({ type: MessageType.snap, from: 1, to: 2, term: 4, snapshot: { metadata: { index: 100, term: 4, confState: { voters: [1, 2, 3], learners: [4] } }, data } });
  const wire = encodeMessage(m);
  t.equal(wire.length, 4);
  const d = new MessageDecoder();
  t.same(wire.slice(0, 3).map((w) => d.decode(w)), [undefined, undefined, undefined]);
  const back = d.decode(wire[3]!);
  t.same(back?.snapshot?.metadata, m.snapshot?.metadata);
  t.ok(back?.snapshot && Buffer.compare(back.snapshot.data, data) === 0, 'same bytes');
  t.same({ ...back, snapshot: undefined }, { ...m, snapshot: undefined });
  t.throws(() => new MessageDecoder().decode(wire[1]!), { code: 'ECORRUPT', message: /out of order/ });
});

t.test('messages between two members arrive, in order', async (t) => {
  const a = await member(t, 1);
  const b = await member(t, 2);
  a.transport.setPeer(2, `127.0.0.1:${b.port}`);
  for (let i = 0; i < 500; i++) a.transport.send([app(i)]);
  t.ok(await until(() => b.received.length === 500), `${b.received.length} of 500 arrived`);
  t.same(b.received.map((m) => m.index), Array.from({ length: 500 }, (_, i) => i));
  const data = new Uint8Array(2 * snapshotChunkBytes + 7).fill(9);
  a.transport.send([makeMessage({ type: MessageType.snap, from: 1, to: 2, term: 4, snapshot: { metadata: { index: 9, term: 4, confState: { voters: [1, 2], learners: [] } }, data } })]);
  t.ok(await until(() => b.received.length === 501));
  t.equal(b.received[500]?.snapshot?.data.length, data.length, 'the snapshot arrived whole');
  a.transport.send([makeMessage({ type: MessageType.heartbeat, from: 1, to: 7, term: 4 })]);
  t.same(a.unreachable, [7], 'an unknown peer is reported unreachable');
});

t.test('a peer that goes away is reported unreachable; when it returns, messages flow again', async (t) => {
  const a = await member(t, 3);
  const b = await member(t, 4);
  a.transport.setPeer(2, `127.0.0.1:${b.port}`);
  a.transport.send([app(1)]);
  t.ok(await until(() => b.received.length === 1));
  b.server.forceShutdown();
  a.transport.send([app(2)]);
  t.ok(await until(() => a.unreachable.includes(2)), 'reported unreachable');
  const again = await listen(b.transport, b.port);
  b.server = again.server;
  let sent = 3;
  const delivered = await until(() => {
    a.transport.send([app(sent++)]);
    return b.received.some((m) => m.index >= 3);
  }, 10_000);
  t.ok(delivered, 'delivery resumed after the peer came back');
});

t.test('every snapshot send is reported once: finished to a live peer, failed to a dead one', async (t) => {
  const a = await member(t, 5);
  const b = await member(t, 6);
  a.transport.setPeer(2, `127.0.0.1:${b.port}`);
  a.transport.send([snap(2, 2 * snapshotChunkBytes + 5)]);
  t.ok(await until(() => a.snapshots.length > 0 && b.received.length > 0), 'sent and received');
  t.same(a.snapshots, [[2, 'finished']], 'a live peer: finished');

  a.transport.setPeer(3, `127.0.0.1:${await freeLoopbackPort()}`);
  a.transport.send([snap(3, 100)]);
  t.ok(await until(() => a.snapshots.length > 1), 'the send to a dead peer ended');
  t.same(a.snapshots[1], [3, 'failed'], 'a dead peer: failed');
  t.ok(a.unreachable.includes(3), 'and it is reported unreachable');

  a.transport.send([snap(9, 100)]);
  t.same(a.snapshots[2], [9, 'failed'], 'an unknown peer: failed at once');

  a.transport.setPeer(4, `127.0.0.1:${await freeLoopbackPort()}`);
  a.transport.send([snap(4, 100)]);
  a.transport.removePeer(4);
  t.same(a.snapshots[3], [4, 'failed'], 'a removed peer: failed at once');

  a.transport.send([snap(2, 100)]);
  a.transport.close();
  await sleep(200);
  t.same(a.snapshots.slice(4), [[2, 'failed']], 'a closing transport: failed, and nothing reported twice');
});

t.test('a snapshot whose stream breaks between chunks is reported failed; the next one finishes', async (t) => {
  const a = await member(t, 7);
  const b = await member(t, 8);
  const proxy = await CuttingProxy.start(b.port);
  t.teardown(() => proxy.close());
  a.transport.setPeer(2, `127.0.0.1:${proxy.port}`);
  a.transport.send([app(1)]);
  t.ok(await until(() => b.received.length === 1), 'connected through the proxy');
  proxy.cutAfter(snapshotChunkBytes + snapshotChunkBytes / 2);
  a.transport.send([snap(2, 4 * snapshotChunkBytes)]);
  t.ok(await until(() => a.snapshots.length > 0), 'the broken send ended');
  t.equal(proxy.cuts, 1, 'the stream was cut');
  t.same(a.snapshots, [[2, 'failed']], 'reported failed');
  t.equal(b.received.length, 1, 'the peer never got it');
  a.transport.send([snap(2, 4 * snapshotChunkBytes)]);
  t.ok(await until(() => a.snapshots.length > 1 && b.received.length === 2, 10_000), 'a later send gets through');
  t.same(a.snapshots[1], [2, 'finished']);
});
