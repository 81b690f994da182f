/**
 * The manager port on 127.0.0.1: mutual TLS gRPC calls pass through the first-byte check; plain
 * TCP garbage and silent connections are dropped and logged with the peer; the server keeps
 * answering; refusal lines are rate limited; close() stops the port.
 */
import t from 'tap';
import { connect } from 'node:net';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../lib/log.js';
import { authorizationInterceptor } from '../../manager/ca/authz.js';
import { mtlsChannelCredentials, mtlsServerCredentials } from '../../manager/ca/tls.js';
import { listenForPeers, RefusalLog } from '../../manager/peer-listener.js';
import type { Teardown } from '../helpers/temp-dir.js';
import { callEcho, clusterA, echoHandlers, echoService, issueNode, newAuthority, newServer } from './ca/helpers.js';

const workerAllowed = '/tsswarm.Dispatcher/Echo';

function capture(): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => raw.push(...chunk.toString().split('\n').filter((l) => l !== '')));
  return { log: createLogger('test-listener', { level: 'warn', destination }), lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

async function setup(t: Teardown) {
  const ca = await newAuthority();
  const managerNode = await issueNode(ca, 'manager');
  const { log, lines } = capture();
  const server = newServer([authorizationInterceptor({ clusterId: clusterA, log })]);
  server.addService(echoService(workerAllowed), echoHandlers);
  const listener = await listenForPeers(server, '127.0.0.1:0', mtlsServerCredentials(managerNode, { allowAnonymous: true }), log, 300);
  t.teardown(() => {
    listener.close();
    server.forceShutdown();
  });
  return { address: `127.0.0.1:${listener.port}`, port: listener.port, creds: mtlsChannelCredentials(managerNode, { clusterId: clusterA }), lines, listener };
}

/** Sends `bytes` (or nothing) and resolves once the server closes the connection, with the time it took. */
function sendAndWaitClose(port: number, bytes: string | undefined): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the server kept the connection open'));
    }, 5_000);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
    socket.on('connect', () => {
      if (bytes !== undefined) socket.write(bytes);
    });
    socket.resume();
  });
}

t.test('mutual TLS gRPC calls pass through the listener', async (t) => {
  const { address, creds } = await setup(t);
  t.same(await callEcho(t, address, creds, workerAllowed), { reply: 'ping' });
  t.same(await callEcho(t, address, creds, workerAllowed), { reply: 'ping' }, 'and again on the same channel');
});

t.test('plain TCP garbage is refused and logged with the peer; the server keeps answering', async (t) => {
  const { address, port, creds, lines } = await setup(t);
  await sendAndWaitClose(port, 'GET / HTTP/1.0\r\n\r\n\u0000\u0001garbage');
  const refused = lines().filter((l) => l.why === 'not TLS');
  t.equal(refused.length, 1, 'one refusal line');
  t.match(refused[0], { level: 40, peer: /^127\.0\.0\.1:\d+$/, msg: /refused a connection from 127\.0\.0\.1:\d+: it does not speak TLS/ });
  t.same(await callEcho(t, address, creds, workerAllowed), { reply: 'ping' }, 'calls still work');
});

t.test('a silent connection is dropped after the first-byte timeout and logged', async (t) => {
  const { port, lines } = await setup(t);
  const ms = await sendAndWaitClose(port, undefined);
  t.ok(ms >= 250 && ms < 3_000, `dropped after ${ms} ms (timeout 300 ms)`);
  t.equal(lines().filter((l) => l.why === 'silent').length, 1);
});

t.test('close() stops the port', async (t) => {
  const { port, listener } = await setup(t);
  listener.close();
  const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', (e) => resolve(e));
    socket.on('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
  });
  t.equal(err?.code, 'ECONNREFUSED');
});

t.test('listening on a port in use fails with the cause', async (t) => {
  const { port } = await setup(t);
  const other = newServer([]);
  const ca = await newAuthority();
  const node = await issueNode(ca, 'manager');
  const { log } = capture();
  await t.rejects(listenForPeers(other, `127.0.0.1:${port}`, mtlsServerCredentials(node), log), { code: 'EADDRINUSE' });
  other.forceShutdown();
});

t.test('refusal lines: at most the limit per minute, then one summary line', async (t) => {
  const { log, lines } = capture();
  let now = 1_000_000;
  const refusals = new RefusalLog(log, 3, () => now);
  for (let i = 0; i < 10; i++) refusals.refused(`10.0.0.${i}:1`, 'not TLS');
  t.equal(lines().length, 3, 'three lines in the first minute');
  now += 60_000;
  refusals.refused('10.0.0.99:1', 'silent');
  const all = lines();
  t.equal(all.length, 5, 'then the summary and the new refusal');
  t.match(all[3], { skipped: 7, msg: /refused 7 more connections/ });
  t.match(all[4], { peer: '10.0.0.99:1', why: 'silent' });
});
