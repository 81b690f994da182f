/**
 * One member of a benchmark key-value cluster: a RaftNode with the KV app, the raft transport on its
 * peer address, and an HTTP API on 127.0.0.1 (PUT /kv/KEY with the value as body answers 204 once
 * the write is applied here; GET /status says whether this member leads; GET /memory gives its
 * process.memoryUsage() and V8 heap spaces).
 *
 *   node dist/test/manager/raft/node/kv-server.js ID MEMBERS CLIENT_PORT DIR [TICK_MS] [ELECTION_TICKS]
 *   MEMBERS = 1=127.0.0.1:7001,2=127.0.0.1:7002,...
 */
import { Server, ServerCredentials, credentials } from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { getHeapSpaceStatistics } from 'node:v8';
import { randomRng } from '../../../../lib/rng.js';
import { RaftService } from '../../../../proto/index.js';
import { RaftNode } from '../../../../manager/raft/node/raft-node.js';
import { KvApp } from './kv-app.js';

const [idText = '', membersText = '', portText = '', dir = '', tickText = '100', electionText = '10'] = process.argv.slice(2);
if (membersText === '' || dir === '') {
  // `npx tap test/manager/raft/node` collects every .ts file in the folder, this one too.
  if (process.env.TAP === '1') {
    process.stdout.write('1..0 # SKIP kv-server is a member process for benchmarks and tests, not a test\n');
    process.exit(0);
  }
  process.stderr.write('usage: kv-server.js ID MEMBERS CLIENT_PORT DIR [TICK_MS] [ELECTION_TICKS]\n');
  process.exit(2);
}
const id = Number(idText);
const members = new Map(
  membersText.split(',').map((pair) => {
    const [k = '', addr = ''] = pair.split('=');
    return [Number(k), addr] as const;
  }),
);
const app = new KvApp();
const node = await RaftNode.start({
  id,
  members,
  dir,
  application: app,
  credentials: credentials.createInsecure(),
  rng: randomRng(),
  tickMs: Number(tickText),
  electionTicks: Number(electionText),
});
const grpc = new Server();
grpc.addService(RaftService as never, { streamMessages: node.transport.streamHandler(), resolveAddress: () => undefined, join: () => undefined, leave: () => undefined } as never);
await new Promise<void>((resolve, reject) => grpc.bindAsync(members.get(id) ?? '', ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));

const http = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/status') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id, leader: node.isLeader, leaderId: node.leaderId, applied: node.appliedIndex, keys: app.data.size }));
    return;
  }
  if (req.method === 'GET' && req.url === '/memory') {
    // Where this member's memory is: process figures and V8's heap spaces, for the benchmarks.
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...process.memoryUsage(), spaces }));
    return;
  }
  if (req.method === 'GET' && req.url === '/digest') {
    // What this member applied, for comparing members: a hash of the sorted map.
    const sorted = JSON.stringify([...app.data].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: app.data.size, sha256: createHash('sha256').update(sorted).digest('hex') }));
    return;
  }
  if (req.method === 'GET' && req.url?.startsWith('/kv/')) {
    const key = decodeURIComponent(req.url.slice(4));
    node.read().then(
      () => {
        const value = app.data.get(key);
        res.writeHead(value === undefined ? 404 : 200);
        res.end(value ?? '');
      },
      (err: Error) => {
        res.writeHead(503);
        res.end(err.message);
      },
    );
    return;
  }
  if (req.method === 'PUT' && req.url?.startsWith('/kv/')) {
    const key = decodeURIComponent(req.url.slice(4));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      node.propose(new TextEncoder().encode(`${key}=${Buffer.concat(chunks).toString()}`)).then(
        () => {
          res.writeHead(204);
          res.end();
        },
        (err: Error) => {
          res.writeHead(503);
          res.end(err.message);
        },
      );
    });
    return;
  }
  res.writeHead(404);
  res.end();
});
http.listen(Number(portText), '127.0.0.1');
process.on('SIGTERM', () => {
  http.close();
  grpc.forceShutdown();
  void node.stop().then(() => process.exit(0));
});
