/**
 * Benchmark: the swarm on the netns lab, each figure against an anchor measured in the same run.
 *
 * 1. Write latency: 300 sequential node label updates (UpdateNode with the version the previous
 *    answer returned) on a 3-manager lab, sent to the leader's control socket, then to a follower's
 *    (forwarded to the leader); p50/p99. Anchor: etcd 3.4, 3 members on loopback, 300 sequential
 *    puts of one 1 KB value (the issue's size of a serialized node; ours is printed beside it) to the
 *    leader, then to a follower. Both sides keep one connection open and make a few unmeasured writes
 *    first.
 * 2. Join: 20 workers joining a 1-manager swarm all at once (parallel SwarmService.join calls) until
 *    ListNodes on h1 shows 21 READY nodes. Anchor: the same, one worker at a time (each waited until
 *    READY), in a second, fresh lab of the same size.
 * 3. Failover: 20 rounds of kill -9 the leader's tsswarmd (default timing), time until an UpdateNode
 *    through a surviving manager succeeds, restart it, wait until it is a Reachable manager again;
 *    p50/p99, target p99 ≤ 3 s. Anchor: etcd 3.4 with its defaults (heartbeat 100 ms, election
 *    1000 ms), the same rounds with puts through a survivor.
 *
 * Every loop is bounded in count and time; labs are removed and etcd members killed by pid, also on
 * failure or Ctrl-C (a failed lab's daemon logs are first copied to a tsswarm-bench-cluster-logs-*
 * folder under the temp dir, and the folder named). Run as root: `npm run bench:cluster`; options
 * `--only write|join|failover`, `--workers N`, `--rounds N`, `--no-record` (print only).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, credentials, type ServiceError } from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { callHost, hostSocket, labUp, startHostDaemon, stopHostDaemon, type LabHost, type LabRecord } from '../../deploy/lab/index.js';
import { errorMessage, isTsswarmError, ErrorCode } from '../../lib/errors.js';
import { fromServiceError } from '../../lib/rpc-errors.js';
import { ControlService, Node, NodeAvailability, NodeState, Reachability, SwarmService, type GrpcMethod } from '../../proto/index.js';
import { EtcdCluster, etcdPutOnce, type EtcdMember } from './cluster-etcd.js';
import { BenchScope } from './lab-scope.js';
import { median, recordComparisons, type Comparison } from './report.js';

/** Size of the anchor's values: the issue's size of a serialized node (ours is measured and printed). */
const anchorValueBytes = 1024;
/** Measured writes per side and path. */
const writeCount = 300;
/** Unmeasured writes before each measured series (connections, JIT). */
const warmupWrites = 10;
/** Deadline of one write in the latency series, in milliseconds. */
const writeTimeoutMs = 10_000;
/** Retries of one label update after a CONFLICT (someone else wrote the node) or a NO_QUORUM. */
const maxWriteRetries = 5;
/** Retry messages printed per series (the rest are only counted). */
const maxRetriesShown = 5;
/** Workers joining in the join benchmark (the lab has one more host, the manager). */
const defaultJoinWorkers = 20;
/** Daemons started at once when a lab is brought up without a swarm. */
const daemonStartBatch = 7;
/** Longest wait for all joined workers to show READY, in milliseconds. */
const joinReadyTimeoutMs = 180_000;
/** Longest wait for one worker to show READY in the sequential anchor, in milliseconds. */
const oneJoinReadyTimeoutMs = 60_000;
/** Kill -9 rounds per side in the failover benchmark (`--rounds N` for a quick try). */
const defaultFailoverRounds = 20;
/** Most rounds `--rounds` accepts. */
const maxFailoverRounds = 100;
/** Longest wait for a write to succeed after a kill, in milliseconds. */
const failoverTimeoutMs = 30_000;
/** Deadline of one write attempt during failover, in milliseconds. */
const failoverAttemptTimeoutMs = 2_000;
/**
 * Gap between write attempts during failover, in milliseconds. Attempts overlap (a new one starts
 * every gap while earlier ones wait, up to their deadline), so an attempt stuck on the dead leader
 * does not hide the moment writes work again; this is the resolution of the failover figures.
 */
const failoverProbeGapMs = 50;
/** Longest wait for a restarted member to be back (Reachable manager / healthy member), in milliseconds. */
const rejoinTimeoutMs = 60_000;
/** Deadline of one status read (ListNodes) while polling, in milliseconds. */
const pollCallTimeoutMs = 2_000;
/** Pause between polls, in milliseconds. */
const pollGapMs = 50;
/** The issue's target for failover with default timing. */
const failoverTargetP99Ms = 3_000;

const labs = { write: 'bcw', joinParallel: 'bcjp', joinSequential: 'bcjs', failover: 'bcf' } as const;

// ---- cleanup that also runs on Ctrl-C

const scope = new BenchScope('cluster');
scope.installSignalHandlers('labs and etcd members');

function withEtcd<T>(base: string, fn: (cluster: EtcdCluster) => Promise<T>): Promise<T> {
  return scope.withResource(() => EtcdCluster.start(base), (cluster) => cluster.stop(), fn);
}

// ---- small helpers

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

interface Stats {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly n: number;
}

function stats(xs: readonly number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  return { p50Ms: median(s), p99Ms: percentile(s, 0.99), maxMs: s[s.length - 1] ?? 0, n: s.length };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every pollGapMs until it returns a value, for at most `timeoutMs`. */
async function waitFor<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const end = performance.now() + timeoutMs;
  let lastErr: unknown;
  while (performance.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    await sleep(pollGapMs);
  }
  throw new Error(`${what}: not reached within ${timeoutMs} ms${lastErr !== undefined ? ` (last error: ${errorMessage(lastErr)})` : ''}`);
}

const hostOf = (record: LabRecord, name: string): LabHost => {
  const h = record.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`lab ${record.name} has no host ${name}`);
  return h;
};

async function listNodes(host: LabHost, timeoutMs = pollCallTimeoutMs): Promise<Node[]> {
  return (await callHost(host, ControlService.listNodes, {}, timeoutMs)).nodes;
}

const hostnameOf = (n: Node): string => n.description?.hostname ?? '';

/** A node spec with label bench=`value` added. */
function labelled(node: Node, value: string): NonNullable<Node['spec']> {
  const spec = node.spec ?? { role: node.role, availability: NodeAvailability.ACTIVE };
  const annotations = spec.annotations ?? { name: '', labels: {} };
  return { ...spec, annotations: { ...annotations, labels: { ...annotations.labels, bench: value } } };
}

/** A gRPC client kept open to one lab host's control socket (the latency series reuse one connection). */
class SocketClient {
  private readonly client: Client;

  constructor(private readonly host: LabHost) {
    this.client = new Client(`unix://${hostSocket(host)}`, credentials.createInsecure());
  }

  call<Req, Res>(method: GrpcMethod<Req, Res>, request: Req, timeoutMs: number): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, { deadline: Date.now() + timeoutMs }, (err: ServiceError | null, res?: Res) => {
        if (err) reject(fromServiceError(err, this.host.name));
        else if (res === undefined) reject(new Error(`${method.path} on ${this.host.name} returned nothing`));
        else resolve(res);
      });
    });
  }

  close(): void {
    this.client.close();
  }
}

// ---- 1. write latency

interface WriteSeries {
  readonly stats: Stats;
  readonly conflicts: number;
  /** Writes that failed with NO_QUORUM although the leader never changed (retried). */
  readonly lost: number;
}

/**
 * `count` sequential label updates of `nodeId` through `client`. Each is timed from its first send to
 * its successful answer: a CONFLICT (another writer changed the node) is retried after a fresh
 * GetNode, a NO_QUORUM (a proposal that never completed) is retried as it is; both are counted.
 */
async function labelSeries(client: SocketClient, nodeId: string, count: number, tag: string): Promise<WriteSeries & { node: Node }> {
  const getNode = async (): Promise<Node> => {
    const n = (await client.call(ControlService.getNode, { nodeId }, writeTimeoutMs)).node;
    if (!n) throw new Error(`GetNode ${nodeId} returned no node`);
    return n;
  };
  let node = await getNode();
  const latencies: number[] = [];
  let conflicts = 0;
  let lost = 0;
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await client.call(ControlService.updateNode, { nodeId, nodeVersion: node.meta?.version ?? { index: 0 }, spec: labelled(node, `${tag}-${i}`) }, writeTimeoutMs);
        if (!res.node) throw new Error('UpdateNode returned no node');
        node = res.node;
        break;
      } catch (err) {
        const conflict = isTsswarmError(err, ErrorCode.CONFLICT);
        if ((!conflict && !isTsswarmError(err, ErrorCode.NO_QUORUM)) || attempt >= maxWriteRetries) throw err;
        if (conflict) conflicts++;
        else lost++;
        if (conflicts + lost <= maxRetriesShown) process.stdout.write(`  retry of write ${i + 1} (${tag}) after ${(performance.now() - t0).toFixed(0)} ms: ${errorMessage(err)}\n`);
        node = await getNode();
      }
    }
    latencies.push(performance.now() - t0);
  }
  return { stats: stats(latencies), conflicts, lost, node };
}

async function etcdSeries(endpoint: string, count: number, value: string): Promise<Stats> {
  const client = new Etcd3({ hosts: endpoint });
  try {
    const latencies: number[] = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      await client.put('nodes/bench').value(value).options({ deadline: Date.now() + writeTimeoutMs });
      latencies.push(performance.now() - t0);
    }
    return stats(latencies);
  } finally {
    client.close();
  }
}

interface Roles {
  readonly leader: LabHost;
  readonly followers: LabHost[];
}

/**
 * The leader and followers of a lab whose `managers` managers are all up: one leader and the rest
 * Reachable in ListNodes on `via`, and as many voters in the leader's SwarmInfo (ListNodes also shows
 * a manager that is still a raft learner as Reachable, though it does not count towards quorum).
 */
async function managerRoles(record: LabRecord, via: LabHost, managers: number): Promise<Roles | undefined> {
  const nodes = await listNodes(via);
  const ms = nodes.filter((n) => n.managerStatus !== undefined && n.managerStatus.raftId !== 0);
  const leaders = ms.filter((n) => n.managerStatus?.leader === true);
  const allReachable = ms.length === managers && ms.every((n) => n.managerStatus?.leader === true || n.managerStatus?.reachability === Reachability.REACHABLE);
  const leaderNode = leaders[0];
  if (leaders.length !== 1 || !leaderNode || !allReachable) return undefined;
  const leader = hostOf(record, hostnameOf(leaderNode));
  const info = await callHost(leader, SwarmService.info, {}, pollCallTimeoutMs);
  if (info.managers !== managers) return undefined;
  return { leader, followers: ms.filter((n) => n !== leaderNode).map((n) => hostOf(record, hostnameOf(n))) };
}

async function writeLatency(base: string): Promise<Comparison[]> {
  const ours = await scope.withLab(labs.write, () => labUp({ name: labs.write, hosts: 3, daemons: true, managers: 3 }), async (record) => {
    const h1 = hostOf(record, 'h1');
    const roles = await waitFor('3 reachable managers with one leader', 30_000, () => managerRoles(record, h1, 3));
    const follower = roles.followers[0];
    if (!follower) throw new Error('no follower');
    // Label the last follower's node: no path below writes to it besides these updates.
    const target = (await listNodes(h1)).find((n) => hostnameOf(n) === (roles.followers[1] ?? follower).name);
    if (!target) throw new Error('target node not found');
    const out: { path: string; via: string; series: WriteSeries }[] = [];
    let nodeBytes = 0;
    for (const [path, host] of [['leader', roles.leader], ['follower', follower]] as const) {
      const client = new SocketClient(host);
      try {
        await labelSeries(client, target.id, warmupWrites, `warm-${path}`);
        const series = await labelSeries(client, target.id, writeCount, path);
        nodeBytes = Node.encode(series.node).length;
        out.push({ path, via: host.name, series });
        process.stdout.write(`ours via ${path} (${host.name}): p50 ${series.stats.p50Ms.toFixed(2)} ms, p99 ${series.stats.p99Ms.toFixed(2)} ms, max ${series.stats.maxMs.toFixed(0)} ms; retried: ${series.conflicts} conflicts, ${series.lost} NO_QUORUM\n`);
      } finally {
        client.close();
      }
    }
    return { out, nodeBytes };
  });

  const value = 'v'.repeat(anchorValueBytes);
  const anchor = await withEtcd(base, async (etcd) => {
    const leader = await waitFor('an etcd leader', 30_000, () => etcd.leader());
    const follower = etcd.members.find((m) => m !== leader) as EtcdMember;
    const out = new Map<string, Stats>();
    for (const [path, member] of [['leader', leader], ['follower', follower]] as const) {
      await etcdSeries(member.endpoint, warmupWrites, value);
      const s = await etcdSeries(member.endpoint, writeCount, value);
      out.set(path, s);
      process.stdout.write(`etcd via ${path} (${member.name}): p50 ${s.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms\n`);
    }
    return out;
  });

  const comparisons: Comparison[] = [];
  for (const { path, series } of ours.out) {
    const e = anchor.get(path) as Stats;
    const o = series.stats;
    const detail = `${writeCount} sequential writes each: ours p50 ${o.p50Ms.toFixed(2)} ms, p99 ${o.p99Ms.toFixed(2)} ms, max ${o.maxMs.toFixed(0)} ms (${series.conflicts} CONFLICT and ${series.lost} NO_QUORUM retries inside); etcd p50 ${e.p50Ms.toFixed(2)} ms, p99 ${e.p99Ms.toFixed(2)} ms (${anchorValueBytes}-byte values; our UpdateNode answer is ${ours.nodeBytes} bytes)`;
    const side = path === 'leader' ? "the leader's socket" : "a follower's socket (forwarded)";
    comparisons.push(
      { name: `cluster write latency p50, node label updates via ${side} vs etcd 3.4 puts via the same role, 3 managers`, ratio: e.p50Ms / o.p50Ms, detail },
      { name: `cluster write latency p99, node label updates via ${side} vs etcd 3.4 puts via the same role, 3 managers`, ratio: e.p99Ms / o.p99Ms, detail },
    );
  }
  return comparisons;
}

// ---- 2. join

interface JoinLab {
  readonly manager: LabHost;
  readonly workers: LabHost[];
  readonly token: string;
}

/** A lab of workers + 1 hosts with every daemon running and a swarm initialized on h1, nobody joined. */
async function joinLabUp(name: string, workers: number): Promise<LabRecord> {
  const record = await labUp({ name, hosts: workers + 1, daemons: false });
  for (let i = 0; i < record.hosts.length; i += daemonStartBatch) {
    await Promise.all(record.hosts.slice(i, i + daemonStartBatch).map((h) => startHostDaemon(h)));
  }
  return record;
}

async function joinPrepare(record: LabRecord): Promise<JoinLab> {
  const [manager, ...workers] = record.hosts as [LabHost, ...LabHost[]];
  await callHost(manager, SwarmService.init, { listenAddr: '', advertiseAddr: '', defaultAddrPool: [], subnetSize: 0, forceNewCluster: false });
  const token = (await callHost(manager, ControlService.getCluster, { clusterId: '' })).cluster?.rootCa?.joinTokens?.worker;
  if (!token) throw new Error('the new swarm has no worker join token');
  await waitFor('the manager READY', 30_000, async () => ((await listNodes(manager)).filter((n) => n.status?.state === NodeState.READY).length === 1 ? true : undefined));
  return { manager, workers, token };
}

function join1(lab: JoinLab, host: LabHost): Promise<string> {
  return callHost(host, SwarmService.join, { remoteAddr: `${lab.manager.address}:2377`, joinToken: lab.token, listenAddr: '', advertiseAddr: '', availability: NodeAvailability.ACTIVE }).then((r) => r.nodeId);
}

async function readyCount(manager: LabHost): Promise<number> {
  return (await listNodes(manager)).filter((n) => n.status?.state === NodeState.READY).length;
}

async function joins(workers: number): Promise<Comparison[]> {
  const parallel = await scope.withLab(labs.joinParallel, () => joinLabUp(labs.joinParallel, workers), async (record) => {
    const lab = await joinPrepare(record);
    const t0 = performance.now();
    await Promise.all(lab.workers.map((h) => join1(lab, h)));
    const callsMs = performance.now() - t0;
    await waitFor(`${workers + 1} READY nodes`, joinReadyTimeoutMs, async () => ((await readyCount(lab.manager)) === workers + 1 ? true : undefined));
    return { totalMs: performance.now() - t0, callsMs };
  });
  process.stdout.write(`parallel join of ${workers} workers: ${(parallel.totalMs / 1000).toFixed(2)} s until ${workers + 1} READY (join calls returned after ${(parallel.callsMs / 1000).toFixed(2)} s)\n`);

  const sequential = await scope.withLab(labs.joinSequential, () => joinLabUp(labs.joinSequential, workers), async (record) => {
    const lab = await joinPrepare(record);
    const perJoin: number[] = [];
    const t0 = performance.now();
    for (const h of lab.workers) {
      const t1 = performance.now();
      const nodeId = await join1(lab, h);
      await waitFor(`${h.name} READY`, oneJoinReadyTimeoutMs, async () => ((await listNodes(lab.manager)).some((n) => n.id === nodeId && n.status?.state === NodeState.READY) ? true : undefined));
      perJoin.push(performance.now() - t1);
    }
    const totalMs = performance.now() - t0;
    if ((await readyCount(lab.manager)) !== workers + 1) throw new Error(`sequential joins: expected ${workers + 1} READY nodes`);
    return { totalMs, perJoin: stats(perJoin) };
  });
  process.stdout.write(
    `sequential join of ${workers} workers: ${(sequential.totalMs / 1000).toFixed(2)} s (per join until READY: p50 ${sequential.perJoin.p50Ms.toFixed(0)} ms, max ${sequential.perJoin.p99Ms.toFixed(0)} ms)\n`,
  );
  return [
    {
      name: `cluster join of ${workers} workers in parallel vs one at a time, 1 manager, joins/s`,
      ratio: sequential.totalMs / parallel.totalMs,
      detail: `until ${workers + 1} READY in ListNodes: parallel ${(parallel.totalMs / 1000).toFixed(2)} s (join calls ${(parallel.callsMs / 1000).toFixed(2)} s), sequential ${(sequential.totalMs / 1000).toFixed(2)} s (p50 ${(sequential.perJoin.p50Ms / 1000).toFixed(2)} s per join), each in a fresh lab`,
    },
  ];
}

// ---- 3. failover

/**
 * Starts `attempt(n)` every failoverProbeGapMs, without waiting for earlier ones, until one resolves
 * true or failoverTimeoutMs have passed; resolves with the milliseconds from the call to that first
 * success (undefined on timeout) once every attempt started has settled.
 */
async function firstSuccess(attempt: (n: number) => Promise<boolean>): Promise<number | undefined> {
  const t0 = performance.now();
  const started: Promise<boolean>[] = [];
  let doneMs: number | undefined;
  for (let n = 0; doneMs === undefined && performance.now() - t0 < failoverTimeoutMs; n++) {
    started.push(
      attempt(n).then(
        (ok) => {
          if (ok && doneMs === undefined) doneMs = performance.now() - t0;
          return ok;
        },
        () => false,
      ),
    );
    await sleep(failoverProbeGapMs);
  }
  await Promise.all(started);
  return doneMs;
}

interface Round {
  readonly failoverMs: number;
  readonly backMs: number;
}

/** One write through `survivor`: ListNodes, then UpdateNode of the survivor's own node; false when either fails. */
async function writeThrough(survivor: LabHost, round: number, attempt: number): Promise<boolean> {
  try {
    const nodes = await listNodes(survivor, failoverAttemptTimeoutMs);
    const self = nodes.find((n) => hostnameOf(n) === survivor.name);
    if (!self) return false;
    await callHost(survivor, ControlService.updateNode, { nodeId: self.id, nodeVersion: self.meta?.version ?? { index: 0 }, spec: labelled(self, `r${round}-${attempt}`) }, failoverAttemptTimeoutMs);
    return true;
  } catch {
    return false;
  }
}

async function oursFailover(failoverRounds: number): Promise<Round[]> {
  return scope.withLab(labs.failover, () => labUp({ name: labs.failover, hosts: 3, daemons: true, managers: 3 }), async (record) => {
    const rounds: Round[] = [];
    let via = hostOf(record, 'h1');
    for (let round = 0; round < failoverRounds; round++) {
      const roles = await waitFor('3 reachable managers with one leader', rejoinTimeoutMs, () => managerRoles(record, via, 3));
      const victim = roles.leader;
      const survivors = roles.followers;
      await stopHostDaemon(victim, true);
      const failoverMs = await firstSuccess((n) => writeThrough(survivors[n % survivors.length] as LabHost, round, n));
      if (failoverMs === undefined) throw new Error(`round ${round + 1}: no write through ${survivors.map((s) => s.name).join('/')} within ${failoverTimeoutMs} ms of killing ${victim.name}`);
      const t1 = performance.now();
      await startHostDaemon(victim);
      via = survivors[0] as LabHost;
      await waitFor(`${victim.name} a Reachable manager again`, rejoinTimeoutMs, async () => {
        const r = await managerRoles(record, via, 3);
        if (!r) return undefined;
        await listNodes(victim); // and it serves the cluster state itself
        return true;
      });
      rounds.push({ failoverMs, backMs: performance.now() - t1 });
      process.stdout.write(`  ours round ${round + 1}: killed ${victim.name}, write after ${failoverMs.toFixed(0)} ms, back after ${(performance.now() - t1).toFixed(0)} ms\n`);
    }
    return rounds;
  });
}

async function etcdFailover(base: string, failoverRounds: number): Promise<Round[]> {
  return withEtcd(base, async (etcd) => {
    const rounds: Round[] = [];
    for (let round = 0; round < failoverRounds; round++) {
      const victim = await waitFor('an etcd leader', rejoinTimeoutMs, () => etcd.leader());
      const survivors = etcd.members.filter((m) => m !== victim);
      await etcd.killMember(victim);
      const failoverMs = await firstSuccess((n) => etcdPutOnce((survivors[n % survivors.length] as EtcdMember).endpoint, `failover/${round}`, `a${n}`, failoverAttemptTimeoutMs));
      if (failoverMs === undefined) throw new Error(`etcd round ${round + 1}: no put through a survivor within ${failoverTimeoutMs} ms`);
      const t1 = performance.now();
      etcd.startMember(victim);
      await waitFor(`etcd ${victim.name} back`, rejoinTimeoutMs, async () => ((await etcd.allAgreeOnLeader()) ? true : undefined));
      rounds.push({ failoverMs, backMs: performance.now() - t1 });
      process.stdout.write(`  etcd round ${round + 1}: killed ${victim.name}, put after ${failoverMs.toFixed(0)} ms, back after ${(performance.now() - t1).toFixed(0)} ms\n`);
    }
    return rounds;
  });
}

async function failovers(base: string, failoverRounds: number): Promise<Comparison[]> {
  const ours = await oursFailover(failoverRounds);
  const etcd = await etcdFailover(base, failoverRounds);
  const o = stats(ours.map((r) => r.failoverMs));
  const e = stats(etcd.map((r) => r.failoverMs));
  const ob = stats(ours.map((r) => r.backMs));
  const eb = stats(etcd.map((r) => r.backMs));
  const meets = o.p99Ms <= failoverTargetP99Ms;
  process.stdout.write(
    `failover over ${o.n} kills: ours p50 ${o.p50Ms.toFixed(0)} ms, p99 ${o.p99Ms.toFixed(0)} ms (target p99 ≤ ${failoverTargetP99Ms} ms: ${meets ? 'met' : 'MISSED'}); etcd p50 ${e.p50Ms.toFixed(0)} ms, p99 ${e.p99Ms.toFixed(0)} ms; restarted member back (ours: Reachable voter serving ListNodes; etcd: all agree on the leader) after p50 ${ob.p50Ms.toFixed(0)} ms ours, ${eb.p50Ms.toFixed(0)} ms etcd\n`,
  );
  const detail = `${failoverRounds} kills each, time to the first write through a survivor: ours p50 ${o.p50Ms.toFixed(0)} ms, p99 ${o.p99Ms.toFixed(0)} ms (target p99 ≤ ${failoverTargetP99Ms} ms ${meets ? 'met' : 'MISSED'}); etcd p50 ${e.p50Ms.toFixed(0)} ms, p99 ${e.p99Ms.toFixed(0)} ms`;
  return [
    { name: `cluster failover p50, kill -9 the leader of 3 managers x${failoverRounds} (default timing) vs etcd 3.4 (defaults), recoveries/s`, ratio: e.p50Ms / o.p50Ms, detail },
    { name: `cluster failover p99, kill -9 the leader of 3 managers x${failoverRounds} (default timing) vs etcd 3.4 (defaults), recoveries/s`, ratio: e.p99Ms / o.p99Ms, detail },
  ];
}

// ---- main

function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

async function main(): Promise<void> {
  const only = option('--only');
  const workers = Number(option('--workers') ?? defaultJoinWorkers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 63) throw new Error('--workers must be 1..63');
  const rounds = Number(option('--rounds') ?? defaultFailoverRounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > maxFailoverRounds) throw new Error(`--rounds must be 1..${maxFailoverRounds}`);
  if (only !== undefined && !['write', 'join', 'failover'].includes(only)) throw new Error('--only must be write, join or failover');
  const base = await mkdtemp(join(tmpdir(), 'tsswarm-bench-cluster-'));
  scope.addDir(base);
  const failures: string[] = [];
  try {
    const parts: [string, () => Promise<Comparison[]>][] = [
      ['write', () => writeLatency(base)],
      ['join', () => joins(workers)],
      ['failover', () => failovers(base, rounds)],
    ];
    for (const [part, run] of parts) {
      if (only !== undefined && only !== part) continue;
      const started = performance.now();
      try {
        const comparisons = await run();
        if (!process.argv.includes('--no-record')) await recordComparisons('Cluster', comparisons);
        process.stdout.write(`${part}: done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
      } catch (err) {
        failures.push(`${part}: ${errorMessage(err)}`);
        process.stderr.write(`${part} FAILED after ${((performance.now() - started) / 1000).toFixed(0)} s: ${errorMessage(err)}\n`);
      }
    }
  } finally {
    await scope.cleanupAll();
  }
  if (failures.length > 0) process.exitCode = 1;
}

await main();
