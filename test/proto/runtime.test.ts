import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as p from '../../proto/index.js';
import { ErrorCode } from '../../lib/errors.js';
import { sampleNode, sampleRaftMessage } from './fixtures.js';

t.test('truncated bytes fail to decode with a CORRUPT error that names the type', async (t) => {
  const bytes = p.Node.encode(sampleNode);
  t.throws(() => p.Node.decode(bytes.subarray(0, bytes.byteLength - 3)), {
    name: 'TsswarmError',
    code: ErrorCode.CORRUPT,
    message: /^cannot decode tsswarm\.Node: /,
  });
});

t.test('a 64-bit value beyond 2^53 is refused, not rounded', async (t) => {
  // Field 1 (index), varint 2^64-1: ten bytes.
  const huge = Uint8Array.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  t.throws(() => p.Version.decode(huge), {
    name: 'TsswarmError',
    code: ErrorCode.CORRUPT,
    message: /tsswarm\.Version\.index: .* is beyond 2\^53/,
  });
  const max = Number.MAX_SAFE_INTEGER;
  t.strictSame(p.Version.decode(p.Version.encode({ index: max })), { index: max }, '2^53-1 still fits');
  t.strictSame(p.Duration.decode(p.Duration.encode({ seconds: -max, nanos: -1 })), { seconds: -max, nanos: -1 });
});

t.test('unknown fields from a newer peer are skipped', async (t) => {
  const known = p.Version.encode({ index: 7 });
  // Field 15, wire type 2 (length-delimited), 3 bytes.
  const withUnknown = Uint8Array.from([...known, 0x7a, 0x03, 0x61, 0x62, 0x63]);
  t.strictSame(p.Version.decode(withUnknown), { index: 7 });
});

t.test('decoded bytes fields are plain Uint8Arrays holding the right bytes', async (t) => {
  const secret = p.SecretSpec.decode(p.SecretSpec.encode(p.SecretSpec.create({ data: Uint8Array.from([1, 2, 3]) })));
  t.equal(secret.data.constructor, Uint8Array);
  t.strictSame([...secret.data], [1, 2, 3]);
});

t.test('the gRPC definitions carry messages between a real client and server', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsswarm-proto-'));
  const address = `unix://${join(dir, 'grpc.sock')}`;
  const server = new grpc.Server();
  t.teardown(() => {
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const dispatcher: Pick<p.DispatcherServer, 'heartbeat' | 'session'> = {
    heartbeat(call, callback) {
      callback(null, { period: { seconds: call.request.sessionId.length, nanos: 0 } });
    },
    session(call) {
      call.write({ sessionId: call.request.sessionId, node: sampleNode, managers: [], rootCa: new Uint8Array(0) });
      call.end();
    },
  };
  const raft: Pick<p.RaftServer, 'streamMessages'> = {
    streamMessages(call) {
      // Echo every message back with to and from swapped.
      call.on('data', (message: p.RaftMessage) => call.write({ ...message, to: message.from, from: message.to }));
      call.on('end', () => call.end());
    },
  };
  server.addService(p.DispatcherService, dispatcher);
  server.addService(p.RaftService, raft);
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  });

  const Dispatcher = grpc.makeGenericClientConstructor(p.DispatcherService, 'Dispatcher');
  const Raft = grpc.makeGenericClientConstructor(p.RaftService, 'Raft');
  const dispatcherClient = new Dispatcher(address, grpc.credentials.createInsecure());
  const raftClient = new Raft(address, grpc.credentials.createInsecure());
  t.teardown(() => {
    dispatcherClient.close();
    raftClient.close();
  });

  const heartbeat = await new Promise<p.HeartbeatResponse>((resolve, reject) => {
    const request: p.HeartbeatRequest = { sessionId: 'abcde' };
    dispatcherClient.makeUnaryRequest(
      p.DispatcherService.heartbeat.path,
      p.DispatcherService.heartbeat.requestSerialize,
      p.DispatcherService.heartbeat.responseDeserialize,
      request,
      (err: grpc.ServiceError | null, value?: p.HeartbeatResponse) => (err || !value ? reject(err) : resolve(value)),
    );
  });
  t.strictSame(heartbeat, { period: { seconds: 5, nanos: 0 } }, 'unary call');

  const sessionMessages: p.SessionMessage[] = [];
  await new Promise<void>((resolve, reject) => {
    const stream = dispatcherClient.makeServerStreamRequest(
      p.DispatcherService.session.path,
      p.DispatcherService.session.requestSerialize,
      p.DispatcherService.session.responseDeserialize,
      { sessionId: 'sess-9' } satisfies p.SessionRequest,
    );
    stream.on('data', (message: p.SessionMessage) => sessionMessages.push(message));
    stream.on('error', reject);
    stream.on('end', resolve);
  });
  t.equal(sessionMessages.length, 1, 'server stream: one session message');
  t.strictSame(sessionMessages[0]?.node, sampleNode, 'server stream: the node arrives intact');

  const echoed: p.RaftMessage[] = [];
  await new Promise<void>((resolve, reject) => {
    const stream = raftClient.makeBidiStreamRequest(
      p.RaftService.streamMessages.path,
      p.RaftService.streamMessages.requestSerialize,
      p.RaftService.streamMessages.responseDeserialize,
    );
    stream.on('data', (message: p.RaftMessage) => echoed.push(message));
    stream.on('error', reject);
    stream.on('end', resolve);
    stream.write(sampleRaftMessage);
    stream.write(p.RaftMessage.create({ type: p.RaftMessageType.HEARTBEAT, to: 1, from: 2, term: 9 }));
    stream.end();
  });
  t.equal(echoed.length, 2, 'bidi stream: both messages come back');
  t.strictSame(echoed[0], { ...sampleRaftMessage, to: sampleRaftMessage.from, from: sampleRaftMessage.to });
  t.equal(echoed[1]?.type, p.RaftMessageType.HEARTBEAT);
  t.equal(echoed[1]?.to, 2);
});

t.test('service definitions name the rpcs of the schema', async (t) => {
  t.equal(p.ControlService.getNode.path, '/tsswarm.Control/GetNode');
  t.equal(p.CAService.issueNodeCertificate.path, '/tsswarm.CA/IssueNodeCertificate');
  t.equal(p.DispatcherService.assignments.responseStream, true);
  t.equal(p.DispatcherService.assignments.requestStream, false);
  t.equal(p.RaftService.streamMessages.requestStream && p.RaftService.streamMessages.responseStream, true);
  for (const [service, definition] of [
    ['Control', p.ControlService],
    ['Dispatcher', p.DispatcherService],
    ['Raft', p.RaftService],
    ['CA', p.CAService],
  ] as const) {
    const methods = p.schema.lookupService(`tsswarm.${service}`).methodsArray.map((m) => `/tsswarm.${service}/${m.name}`);
    t.strictSame(Object.values(definition).map((d) => d.path), methods, `${service}: every rpc, in order`);
  }
});
