/**
 * Membership of running members over gRPC on 127.0.0.1: a member joins as a learner with only the
 * leader's address, learns the rest from the log, is promoted, and is removed; a learner that lags
 * is not promoted until it caught up; a lone survivor of a lost quorum comes back alone with its
 * state (force new cluster); a removed member is told.
 */
import t from 'tap';
import { Server, ServerCredentials, credentials } from '@grpc/grpc-js';
import { join } from 'node:path';
import { isTsswarmError, ErrorCode } from '../../../../lib/errors.js';
import { seededRng } from '../../../../lib/rng.js';
import { RaftService } from '../../../../proto/index.js';
import { isLearnerNotReadyError, RaftNode, type RaftNodeOptions } from '../../../../manager/raft/node/raft-node.js';
import { freeLoopbackPort } from '../../../worker/images/registry-helper.js';
import { tempDir } from '../../../helpers/temp-dir.js';
import { KvApp } from './kv-app.js';

interface Member {
  node: RaftNode;
  app: KvApp;
  server: Server;
  removed: boolean;
}

async function startMember(id: number, addr: string, members: Map<number, string>, dir: string, extra: Partial<RaftNodeOptions> = {}): Promise<Member> {
  const app = new KvApp();
  const member = { app, removed: false } as Member;
  member.node = await RaftNode.start({
    id,
    members,
    nodeIds: new Map([...members.keys()].map((k) => [k, `node${k}`])),
    dir,
    application: app,
    credentials: credentials.createInsecure(),
    rng: seededRng(id),
    tickMs: 20,
    requestTimeoutMs: 3_000,
    onRemoved: () => {
      member.removed = true;
    },
    ...extra,
  });
  member.server = new Server();
  member.server.addService(RaftService as never, { streamMessages: member.node.transport.streamHandler(), resolveAddress: () => undefined, join: () => undefined, leave: () => undefined } as never);
  await new Promise<void>((resolve, reject) => member.server.bindAsync(addr, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  return member;
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

const put = (m: Member, kv: string): Promise<unknown> => m.node.propose(new TextEncoder().encode(kv));

t.test('join as a learner, promote, remove; the removed member is told', async (t) => {
  const base = await tempDir(t, 'raft-membership');
  const addrs = new Map<number, string>();
  for (const id of [1, 2, 3]) addrs.set(id, `127.0.0.1:${await freeLoopbackPort()}`);
  const running: Member[] = [];
  t.teardown(async () => {
    for (const m of running) await stopMember(m);
  });
  const first = await startMember(1, addrs.get(1) as string, new Map([[1, addrs.get(1) as string]]), join(base, 'm1'));
  running.push(first);
  t.ok(await until(() => first.node.isLeader), 'a lone founder leads');
  for (let i = 0; i < 30; i++) await put(first, `k${i}=${i}`);

  // Member 2 knows only the leader; everything else comes from the leader's snapshot and log.
  await first.node.changeMembership({ type: 'addLearner', raftId: 2, addr: addrs.get(2) as string, nodeId: 'node2' });
  const second = await startMember(2, addrs.get(2) as string, new Map([[1, addrs.get(1) as string], [2, addrs.get(2) as string]]), join(base, 'm2'), { join: true });
  running.push(second);
  t.ok(await until(() => second.app.data.size === 30), 'the learner caught up with the data');
  t.same(first.node.membership.learners, [2], 'it is a learner');
  t.ok(await until(() => first.node.learnerProgress().some((p) => p.raftId === 2 && p.match >= p.lastIndex - 1)), 'the leader sees its progress');

  await first.node.changeMembership({ type: 'addVoter', raftId: 2 });
  t.same(first.node.membership.voters, [1, 2], 'promoted to voter');
  await first.node.changeMembership({ type: 'addLearner', raftId: 3, addr: addrs.get(3) as string, nodeId: 'node3' });
  const third = await startMember(3, addrs.get(3) as string, new Map([[1, addrs.get(1) as string], [3, addrs.get(3) as string]]), join(base, 'm3'), { join: true });
  running.push(third);
  t.ok(await until(() => first.node.learnerProgress().some((p) => p.raftId === 3 && p.ready)), 'the third member caught up');
  await first.node.changeMembership({ type: 'addVoter', raftId: 3 });
  await put(first, 'after=3');
  t.ok(await until(() => third.app.data.get('after') === '3' && second.app.data.get('after') === '3'), 'all three apply');
  t.ok(await until(() => third.node.member(2)?.addr === addrs.get(2)), 'the third member learned the second one\'s address from the log');
  const status = first.node.memberStatus();
  t.same(status.map((m) => [m.raftId, m.nodeId, m.voter, m.leader]), [[1, 'node1', true, true], [2, 'node2', true, false], [3, 'node3', true, false]], 'member status names node IDs, roles and the leader');
  t.ok(await until(() => first.node.memberStatus().every((m) => m.reachable)), 'the leader hears from everyone');

  await first.node.changeMembership({ type: 'removeNode', raftId: 3 });
  t.ok(await until(() => third.removed), 'the removed member applied its own removal and was told');
  t.same(first.node.membership.voters, [1, 2], 'two voters left');
  t.same(first.node.removed, [3], 'its ID is remembered as removed');
  await put(first, 'two=ok');
  t.ok(await until(() => second.app.data.get('two') === 'ok'), 'the two remaining members still commit');
});

t.test('a learner that lags is not promoted; once it caught up, it is', async (t) => {
  const base = await tempDir(t, 'raft-learner-lag');
  const addrs = new Map<number, string>();
  for (const id of [1, 2]) addrs.set(id, `127.0.0.1:${await freeLoopbackPort()}`);
  const running = new Set<Member>();
  t.teardown(async () => {
    for (const m of running) await stopMember(m);
  });
  const first = await startMember(1, addrs.get(1) as string, new Map([[1, addrs.get(1) as string]]), join(base, 'm1'));
  running.add(first);
  t.ok(await until(() => first.node.isLeader), 'a lone founder leads');
  await first.node.changeMembership({ type: 'addLearner', raftId: 2, addr: addrs.get(2) as string, nodeId: 'node2' });
  const learnerMembers = new Map([[1, addrs.get(1) as string], [2, addrs.get(2) as string]]);
  let second = await startMember(2, addrs.get(2) as string, learnerMembers, join(base, 'm2'), { join: true });
  running.add(second);
  await put(first, 'a=1');
  t.ok(await until(() => second.app.data.get('a') === '1'), 'the learner is in step');

  // Stopped, the learner cannot follow the writes the lone voter commits.
  await stopMember(second);
  running.delete(second);
  for (let i = 0; i < 40; i++) await put(first, `k${i}=${i}`);
  const lag = first.node.learnerProgress().find((p) => p.raftId === 2);
  t.ok(lag !== undefined && !lag.ready && lag.match + 40 <= lag.commit, `the leader sees it lag: ${JSON.stringify(lag)}`);
  const refused = await first.node.changeMembership({ type: 'addVoter', raftId: 2 }).then(() => undefined, (err: unknown) => err);
  t.ok(isLearnerNotReadyError(refused) && isTsswarmError(refused, ErrorCode.CONFLICT), `refused: ${String(refused)}`);
  t.match(String(refused), new RegExp(`learner 2 is not caught up yet: match ${lag?.match} of ${lag?.commit}`));
  t.same(first.node.membership, { voters: [1], learners: [2] }, 'the membership did not change');

  second = await startMember(2, addrs.get(2) as string, learnerMembers, join(base, 'm2'), { join: true });
  running.add(second);
  t.ok(await until(() => first.node.learnerProgress().some((p) => p.raftId === 2 && p.ready)), 'it caught up');
  t.ok(await until(() => second.app.data.get('k39') === '39'), 'with every write');
  const elsewhere = await second.node.changeMembership({ type: 'addVoter', raftId: 2 }).then(() => undefined, (err: unknown) => err);
  t.ok(isTsswarmError(elsewhere, ErrorCode.CONFLICT) && /on the leader/.test(String(elsewhere)), `a member that does not lead cannot tell, and refuses: ${String(elsewhere)}`);
  await first.node.changeMembership({ type: 'addVoter', raftId: 2 });
  t.same(first.node.membership, { voters: [1, 2], learners: [] }, 'and is promoted');
  await put(first, 'two=voters');
  t.ok(await until(() => second.app.data.get('two') === 'voters'), 'the two voters commit together');
});

t.test('a lone survivor recovers the cluster with its state (force new cluster)', async (t) => {
  const base = await tempDir(t, 'raft-force-new');
  const addrs = new Map<number, string>();
  for (const id of [1, 2, 3]) addrs.set(id, `127.0.0.1:${await freeLoopbackPort()}`);
  const running = new Set<Member>();
  t.teardown(async () => {
    for (const m of running) await stopMember(m);
  });
  const members = [1, 2, 3].map(async (id) => startMember(id, addrs.get(id) as string, addrs, join(base, `m${id}`)));
  const all = await Promise.all(members);
  for (const m of all) running.add(m);
  t.ok(await until(() => all.some((m) => m.node.isLeader)), 'a leader');
  const leader = all.find((m) => m.node.isLeader) as Member;
  for (let i = 0; i < 20; i++) await put(leader, `k${i}=${i}`);
  const survivor = all.find((m) => m !== leader) as Member;
  t.ok(await until(() => survivor.app.data.size === 20), 'the survivor has everything');

  for (const m of all.filter((m) => m !== survivor)) {
    await stopMember(m);
    running.delete(m);
  }
  const refused = await put(survivor, 'lost=quorum').then(() => undefined, (err: unknown) => err);
  t.ok(isTsswarmError(refused, ErrorCode.NO_QUORUM), `a write without quorum fails with NO_QUORUM: ${String(refused)}`);
  await stopMember(survivor);
  running.delete(survivor);

  const id = survivor.node.id;
  const revived = await startMember(id, addrs.get(id) as string, addrs, join(base, `m${id}`), { forceNewCluster: true });
  running.add(revived);
  t.ok(await until(() => revived.node.isLeader), 'the survivor leads alone');
  t.same(revived.node.membership.voters, [id], 'it is the only voter');
  t.equal(revived.app.data.size, 20, 'with all its state');
  await put(revived, 'back=1');
  t.equal(revived.app.data.get('back'), '1', 'and takes writes again');
});

t.test('force new cluster refuses an empty data dir', async (t) => {
  const base = await tempDir(t, 'raft-force-empty');
  const addr = `127.0.0.1:${await freeLoopbackPort()}`;
  const err = await RaftNode.start({ id: 1, members: new Map([[1, addr]]), dir: join(base, 'm1'), application: new KvApp(), credentials: credentials.createInsecure(), rng: seededRng(1), forceNewCluster: true, join: true }).then(
    (n) => n.stop(),
    (e: unknown) => e,
  );
  t.ok(isTsswarmError(err, ErrorCode.NOT_FOUND), 'clear error');
});

t.test('a member with a large raft ID keeps concurrent proposals apart', async (t) => {
  const base = await tempDir(t, 'raft-big-id');
  const id = 1_461_875_376;
  const addr = `127.0.0.1:${await freeLoopbackPort()}`;
  const m = await startMember(id, addr, new Map([[id, addr]]), join(base, 'm'));
  t.teardown(() => stopMember(m));
  t.ok(await until(() => m.node.isLeader), 'leads');
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => put(m, `k${i}=${i}`)));
  t.equal(new Set(results).size, 50, 'each of 50 concurrent proposals got its own entry index back');
});
