/**
 * Three raft members in one process over gRPC on 127.0.0.1, with real WALs: election, replication,
 * linearizable reads, a restart that keeps everything, compaction.
 */
import t from 'tap';
import { Server, ServerCredentials, credentials } from '@grpc/grpc-js';
import { join } from 'node:path';
import { seededRng } from '../../../../lib/rng.js';
import { RaftService } from '../../../../proto/index.js';
import { RaftNode } from '../../../../manager/raft/node/raft-node.js';
import { freeLoopbackPort } from '../../../worker/images/registry-helper.js';
import { tempDir } from '../../../helpers/temp-dir.js';
import { KvApp } from './kv-app.js';

interface Member {
  node: RaftNode;
  app: KvApp;
  server: Server;
}

async function startMember(id: number, members: Map<number, string>, dir: string, snapshotEveryEntries = 10_000): Promise<Member> {
  const app = new KvApp();
  const node = await RaftNode.start({ id, members, dir, application: app, credentials: credentials.createInsecure(), rng: seededRng(id), tickMs: 20, snapshotEveryEntries, catchUpEntries: 10 });
  const server = new Server();
  server.addService(RaftService as never, { streamMessages: node.transport.streamHandler(), resolveAddress: () => undefined, join: () => undefined, leave: () => undefined } as never);
  await new Promise<void>((resolve, reject) => server.bindAsync(members.get(id) ?? '', ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  return { node, app, server };
}

async function stopMember(m: Member): Promise<void> {
  m.server.forceShutdown();
  await m.node.stop();
}

async function until(cond: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return cond();
}

t.test('three members elect a leader, replicate, read, survive a restart, compact', async (t) => {
  const base = await tempDir(t, 'raft');
  const members = new Map<number, string>();
  for (const id of [1, 2, 3]) members.set(id, `127.0.0.1:${await freeLoopbackPort()}`);
  const nodes = new Map<number, Member>();
  for (const id of members.keys()) nodes.set(id, await startMember(id, members, join(base, `m${id}`), 50));
  t.teardown(async () => {
    for (const m of nodes.values()) await stopMember(m);
  });

  t.ok(await until(() => [...nodes.values()].some((m) => m.node.isLeader)), 'a leader is elected');
  const leader = [...nodes.values()].find((m) => m.node.isLeader) as Member;
  const follower = [...nodes.values()].find((m) => !m.node.isLeader) as Member;

  for (let i = 0; i < 120; i++) await leader.node.propose(new TextEncoder().encode(`k${i}=v${i}`));
  const forwarded = await follower.node.propose(new TextEncoder().encode('from=follower'));
  t.ok(typeof forwarded === 'number', 'a follower forwards proposals and hears back once applied');
  t.ok(await until(() => [...nodes.values()].every((m) => m.app.data.size === 121)), 'every member applied every write');

  await follower.node.read();
  t.equal(follower.app.data.get('from'), 'follower', 'a linearizable read on a follower sees the write');

  const restartId = [...nodes.entries()].find(([, m]) => m === follower)?.[0] as number;
  await stopMember(follower);
  await leader.node.propose(new TextEncoder().encode('while=down'));
  const back = await startMember(restartId, members, join(base, `m${restartId}`), 50);
  nodes.set(restartId, back);
  t.ok(await until(() => back.app.data.get('while') === 'down'), 'the restarted member caught up');
  t.equal(back.app.data.get('k7'), 'v7', 'and kept what it had (from its snapshot and WAL)');
  t.ok(back.node.appliedIndex >= 122);
});
