/**
 * Benchmark: our raft (3 member processes on loopback, real WAL with fsync) against etcd 3.4 (3
 * members on loopback, Debian's etcd-server, the etcd3 client), the same workload in the same run:
 * puts of 256-byte values from 1, 64 and 1024 concurrent clients to the leader, writes/s and
 * p50/p99 latency. Then failover: kill -9 the leader 20 times, time until a new leader commits,
 * with the default timing (100 ms ticks, election 1–2 s) and a fast profile (50 ms, 300–600 ms).
 * Every loop is bounded in count and time; everything started is stopped by pid.
 *
 *   npm run bench:raft              (add -- --failover-only to skip the throughput part)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { repoRoot } from '../../helpers/cli.js';
import { httpCall, keepAliveAgent } from '../../helpers/http.js';
import { freeLoopbackPort } from '../../worker/images/registry-helper.js';
import { median, recordComparisons, type Comparison } from '../report.js';

const concurrencies = [1, 64, 1024] as const;
const runMs = 5_000;
const valueBytes = 256;
const value = 'v'.repeat(valueBytes);
const failoverRounds = 20;
/** Longest wait for a cluster to elect a leader or recover, in milliseconds. */
const recoverTimeoutMs = 20_000;

interface Result {
  readonly writesPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

/** Runs `clients` loops of `put` for runMs; each loop is bounded by the deadline. */
async function load(clients: number, put: (key: string) => Promise<void>): Promise<Result> {
  const latencies: number[] = [];
  const deadline = performance.now() + runMs;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const t0 = performance.now();
        await put(`c${c}-${i % 1000}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { writesPerSec: latencies.length / seconds, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99) };
}

// ---- ours

interface OurMember {
  id: number;
  peer: string;
  clientPort: number;
  dir: string;
  proc: ChildProcess | undefined;
}

function startOurs(m: OurMember, members: string, tickMs: number, electionTicks: number): void {
  m.proc = spawn(process.execPath, [join(repoRoot, 'dist/test/manager/raft/node/kv-server.js'), String(m.id), members, String(m.clientPort), m.dir, String(tickMs), String(electionTicks)], {
    stdio: 'ignore',
  });
}

const agent = keepAliveAgent();

function http(method: string, port: number, path: string, body?: string, timeoutMs = 5_000): Promise<{ status: number; text: string }> {
  return httpCall(agent, method, port, path, body, timeoutMs);
}

async function ourLeader(members: readonly OurMember[], timeoutMs = 5_000): Promise<OurMember | undefined> {
  for (const m of members) {
    if (!m.proc) continue;
    const s = await http('GET', m.clientPort, '/status', undefined, timeoutMs).catch(() => undefined);
    if (s?.status === 200 && (JSON.parse(s.text) as { leader: boolean }).leader) return m;
  }
  return undefined;
}

async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs = recoverTimeoutMs): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('timed out');
}

/** A fresh 3-member cluster in BASE/LABEL-*: each part of the run starts from empty data. */
async function ourCluster(base: string, label: string, tickMs: number, electionTicks: number): Promise<{ members: OurMember[]; spec: string }> {
  const members: OurMember[] = [];
  for (const id of [1, 2, 3]) members.push({ id, peer: `127.0.0.1:${await freeLoopbackPort()}`, clientPort: await freeLoopbackPort(), dir: join(base, `${label}-${tickMs}-m${id}`), proc: undefined });
  const spec = members.map((m) => `${m.id}=${m.peer}`).join(',');
  for (const m of members) startOurs(m, spec, tickMs, electionTicks);
  return { members, spec };
}

async function stopAll(procs: readonly (ChildProcess | undefined)[]): Promise<void> {
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        }),
    ),
  );
}

/** Kill -9 the leader, time until a put commits through a survivor; restart the victim; repeat. */
async function failover(base: string, tickMs: number, electionTicks: number): Promise<number[]> {
  const { members, spec } = await ourCluster(base, 'failover', tickMs, electionTicks);
  const times: number[] = [];
  try {
    await waitFor(() => ourLeader(members));
    for (let round = 0; round < failoverRounds; round++) {
      const leader = await waitFor(() => ourLeader(members));
      await stopAll([leader.proc]);
      leader.proc = undefined;
      const t0 = performance.now();
      const survivors = members.filter((m) => m !== leader);
      // Ask the survivors who leads (short timeouts), then commit one write through the new leader.
      await waitFor(async () => {
        const next = await ourLeader(survivors, 200);
        if (!next) return undefined;
        const r = await http('PUT', next.clientPort, `/kv/failover-${round}`, 'x', 2_000).catch(() => undefined);
        return r?.status === 204 ? true : undefined;
      });
      times.push(performance.now() - t0);
      startOurs(leader, spec, tickMs, electionTicks);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await stopAll(members.map((m) => m.proc));
  }
  return times;
}

// ---- etcd

async function etcdCluster(base: string): Promise<{ procs: ChildProcess[]; clients: string[] }> {
  const names = ['e1', 'e2', 'e3'];
  const peers = await Promise.all(names.map(() => freeLoopbackPort()));
  const clients = await Promise.all(names.map(() => freeLoopbackPort()));
  const initial = names.map((n, i) => `${n}=http://127.0.0.1:${peers[i]}`).join(',');
  const procs = names.map((n, i) =>
    spawn(
      'etcd',
      [
        '--name', n,
        '--data-dir', join(base, `etcd-${n}`),
        '--listen-peer-urls', `http://127.0.0.1:${peers[i]}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${peers[i]}`,
        '--listen-client-urls', `http://127.0.0.1:${clients[i]}`,
        '--advertise-client-urls', `http://127.0.0.1:${clients[i]}`,
        '--initial-cluster', initial,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', 'tsswarm-bench',
        '--log-level', 'error',
      ],
      { stdio: 'ignore' },
    ),
  );
  return { procs, clients: clients.map((p) => `http://127.0.0.1:${p}`) };
}

async function etcdLeader(endpoints: readonly string[]): Promise<string> {
  return waitFor(async () => {
    for (const e of endpoints) {
      const c = new Etcd3({ hosts: e });
      try {
        const s = await c.maintenance.status();
        if (s.leader === s.header.member_id) return e;
      } catch {
        // not up yet
      } finally {
        c.close();
      }
    }
    return undefined;
  });
}

/** Writes/s and latency of ours and etcd at each concurrency, in the same run. */
async function throughput(base: string): Promise<Comparison[]> {
  const oursResults = new Map<number, Result>();
  const etcdResults = new Map<number, Result>();
  const { members } = await ourCluster(base, 'throughput', 100, 10);
  try {
    const leader = await waitFor(() => ourLeader(members));
    for (const n of concurrencies) {
      oursResults.set(
        n,
        await load(n, async (key) => {
          const r = await http('PUT', leader.clientPort, `/kv/${key}`, value);
          if (r.status !== 204) throw new Error(`put failed: ${r.status} ${r.text}`);
        }),
      );
    }
  } finally {
    await stopAll(members.map((m) => m.proc));
  }
  const etcd = await etcdCluster(base);
  try {
    const client = new Etcd3({ hosts: await etcdLeader(etcd.clients) });
    try {
      for (const n of concurrencies) etcdResults.set(n, await load(n, async (key) => void (await client.put(key).value(value))));
    } finally {
      client.close();
    }
  } finally {
    await stopAll(etcd.procs);
  }
  return concurrencies.map((n) => {
    const o = oursResults.get(n) as Result;
    const e = etcdResults.get(n) as Result;
    const line = `ours ${o.writesPerSec.toFixed(0)} writes/s (p50 ${o.p50Ms.toFixed(1)} ms, p99 ${o.p99Ms.toFixed(1)} ms), etcd ${e.writesPerSec.toFixed(0)} writes/s (p50 ${e.p50Ms.toFixed(1)} ms, p99 ${e.p99Ms.toFixed(1)} ms)`;
    process.stdout.write(`${n} clients: ${line}\n`);
    return { name: `raft vs etcd 3.4, 3 members on loopback, ${n} clients, 256-byte puts, writes/s`, ratio: o.writesPerSec / e.writesPerSec, detail: line };
  });
}

/** Failover times with the default and the fast timing profile. */
async function failovers(base: string): Promise<Comparison[]> {
  const out: Comparison[] = [];
  for (const [profile, tick, election, target] of [
    ['default 100 ms / 1–2 s', 100, 10, 2_500],
    ['fast 50 ms / 200–400 ms', 50, 4, 600],
  ] as const) {
    const times = (await failover(base, tick, election)).sort((a, b) => a - b);
    const p50 = median(times);
    const p99 = percentile(times, 0.99);
    process.stdout.write(`failover (${profile}): p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms over ${times.length} kills; target p99 ≤ ${target} ms\n`);
    out.push({
      name: `raft failover, kill -9 the leader x${failoverRounds}, ${profile}, recoveries/s vs the target p99`,
      ratio: target / p99,
      detail: `p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms; target p99 ≤ ${target} ms`,
    });
  }
  return out;
}

async function main(): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'tsswarm-bench-raft-'));
  try {
    const comparisons = [...(process.argv.includes('--failover-only') ? [] : await throughput(base)), ...(await failovers(base))];
    await recordComparisons('Raft', comparisons);
  } finally {
    agent.destroy();
    await rm(base, { recursive: true, force: true });
  }
}

await main();
