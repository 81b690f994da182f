/**
 * Benchmark: 100 replicas of a service on a 3-host lab (h1 manager, h2 and h3 workers), from
 * `service create` to all RUNNING, against 100 `container run -d` on one host in the same run.
 *
 * Ours: the busybox test image loaded on every host, `tsswarm service create --detach --name bench
 * --replicas 100 busybox sleep 600` through the CLI against h1, then ListTasks on h1 every pollGapMs
 * (bounded by runningTimeoutMs) until 100 tasks are RUNNING. Per task: the worker's RUNNING status
 * timestamp − the service's created_at (both from the same machine clock); total: from just before the
 * CLI call to the poll that sees all 100 RUNNING. Then `service rm` and a wait until no host has a
 * bench.* container.
 * Anchor: a second lab with one host and its daemon, no swarm, the same image; 100 `tsswarm container
 * run -d busybox sleep 600` with maxConcurrentControllerOps (8, what one swarm worker runs at once) at
 * a time. Per container, like ours: from the first call (the moment all 100 were asked for) to its
 * `run -d` returning (it returns once the container started); the latency of each call alone is
 * printed beside it. Total: first call to `ps -q` showing 100. Then all removed.
 *
 * Ratio: anchor total ÷ ours total (throughput), and the same for p50 per task. Target: ours total
 * ≤ 15 s. Labs and the temp dir are removed in finally blocks and on Ctrl-C. Run as root:
 * `npm run bench:services`; options `--replicas N`, `--anchor-concurrency N`, `--no-record` (print only).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildBusyboxImage } from '../../deploy/images/build-busybox.js';
import { callHost, hostSocket, labUp, startHostDaemon, type LabHost, type LabRecord } from '../../deploy/lab/index.js';
import { errorMessage } from '../../lib/errors.js';
import { ControlService, TaskState, millisOf, type Task } from '../../proto/index.js';
import { maxConcurrentControllerOps } from '../../worker/tasks/task-executor.js';
import { ImageService } from '../../worker/images/image-service.js';
import { tsswarmWith, type CliResult } from '../helpers/cli.js';
import { BenchScope } from './lab-scope.js';
import { median, recordComparisons, type Comparison } from './report.js';

/** Replicas of the service, and containers of the anchor. */
const defaultReplicas = 100;
/** Most replicas `--replicas` accepts. */
const maxReplicas = 1_000;
/** The issue's target for ours: create → all RUNNING. */
const targetTotalMs = 15_000;
/** Pause between polls, in milliseconds. */
const pollGapMs = 100;
/** Deadline of one ListTasks / CLI poll, in milliseconds. */
const pollCallTimeoutMs = 5_000;
/** Longest wait for all replicas RUNNING (or all anchor containers running), in milliseconds. */
const runningTimeoutMs = 120_000;
/** Longest wait for every container to be gone after removal, in milliseconds. */
const removeTimeoutMs = 120_000;
/** Anchor containers started at once by default: what one swarm worker runs at once (prepare + start). */
const defaultAnchorConcurrency = maxConcurrentControllerOps;
/** Most anchor containers `--anchor-concurrency` lets start at once. */
const maxAnchorConcurrency = 64;
/** Anchor containers removed at once. */
const removeConcurrency = 8;
/** Name of the service. */
const serviceName = 'bench';

const labs = { swarm: 'bsv', single: 'bsv1' } as const;

// ---- cleanup that also runs on Ctrl-C

const scope = new BenchScope('services');
scope.installSignalHandlers('labs');

// ---- small helpers

interface Stats {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly n: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

function stats(xs: readonly number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  return { p50Ms: median(s), p99Ms: percentile(s, 0.99), maxMs: s[s.length - 1] ?? 0, n: s.length };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

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

/** Runs `fn` over `items`, at most `limit` at once; results in the order of `items`. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !scope.interrupted) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  });
  await Promise.all(lanes);
  return out;
}

/** The CLI against one lab host's daemon. */
function on(host: LabHost, ...args: string[]): Promise<CliResult> {
  return tsswarmWith({ env: { TSSWARM_HOST: `unix://${hostSocket(host)}` } }, ...args);
}

async function cliOk(host: LabHost, ...args: string[]): Promise<string> {
  const r = await on(host, ...args);
  if (r.code !== 0) throw new Error(`tsswarm ${args.join(' ')} on ${host.name} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Ids of containers on `host` (running ones, or all with `all`). */
async function containerIds(host: LabHost, all = false): Promise<string[]> {
  const out = await cliOk(host, 'ps', ...(all ? ['-a'] : []), '-q', '--no-trunc');
  return out.split('\n').filter((l) => l !== '');
}

/** Names of all containers on `host`. */
async function containerNames(host: LabHost): Promise<string[]> {
  return (JSON.parse(await cliOk(host, 'container', 'ls', '-a', '--format', 'json')) as { name: string }[]).map((c) => c.name);
}

/** Loads the busybox test image into every host's image store. */
async function loadImage(record: LabRecord, tar: string): Promise<void> {
  for (const h of record.hosts) await new ImageService({ dataDir: h.dataDir }).load(tar);
}

// ---- ours: a replicated service on 3 hosts

interface Side {
  readonly perTask: Stats;
  readonly totalMs: number;
}

interface OursResult extends Side {
  /** CLI `service create --detach` call, in milliseconds. */
  readonly createCallMs: number;
  /** Last RUNNING timestamp − created_at, in milliseconds (the total without poll resolution or CLI start). */
  readonly lastRunningMs: number;
  /** RUNNING tasks per node hostname. */
  readonly perNode: ReadonlyMap<string, number>;
  /** Tasks seen FAILED or REJECTED on the way. */
  readonly failed: number;
  /** From `service rm` until no host has a bench container, in milliseconds. */
  readonly removeMs: number;
}

async function ours(replicas: number, tar: string): Promise<OursResult> {
  return scope.withLab(labs.swarm, () => labUp({ name: labs.swarm, hosts: 3, daemons: true, managers: 1 }), async (record) => {
    const [h1] = record.hosts as [LabHost, ...LabHost[]];
    await loadImage(record, tar);
    const nodes = (await callHost(h1, ControlService.listNodes, {})).nodes;
    const hostnameOfNode = new Map(nodes.map((n) => [n.id, n.description?.hostname ?? n.id]));
    process.stdout.write(`ours: lab ${record.name} up (${nodes.length} nodes), image loaded on ${record.hosts.length} hosts\n`);

    const t0 = performance.now();
    await cliOk(h1, 'service', 'create', '--detach', '--name', serviceName, '--replicas', String(replicas), 'busybox', 'sleep', '600');
    const createCallMs = performance.now() - t0;
    let serviceId = '';
    let createdAtMs = 0;
    const failedIds = new Set<string>();
    const running = await waitFor(`${replicas} tasks RUNNING`, runningTimeoutMs, async () => {
      if (serviceId === '') {
        const service = (await callHost(h1, ControlService.listServices, { filters: { object: { names: [serviceName], idPrefixes: [], labels: {}, namePrefixes: [] } } }, pollCallTimeoutMs)).services.find((s) => s.spec?.annotations?.name === serviceName);
        if (!service) return undefined;
        serviceId = service.id;
        createdAtMs = millisOf(service.meta?.createdAt);
      }
      const tasks = (await callHost(h1, ControlService.listTasks, { filters: { serviceIds: [serviceId], nodeIds: [], desiredStates: [], slots: [] } }, pollCallTimeoutMs)).tasks;
      for (const task of tasks) if (task.status?.state === TaskState.FAILED || task.status?.state === TaskState.REJECTED) failedIds.add(task.id);
      const up = tasks.filter((task) => task.status?.state === TaskState.RUNNING && task.desiredState === TaskState.RUNNING);
      return up.length >= replicas ? up : undefined;
    });
    const totalMs = performance.now() - t0;

    const perTaskMs = running.map((task: Task) => millisOf(task.status?.timestamp) - createdAtMs);
    const perNode = new Map<string, number>();
    for (const task of running) perNode.set(hostnameOfNode.get(task.nodeId) ?? task.nodeId, (perNode.get(hostnameOfNode.get(task.nodeId) ?? task.nodeId) ?? 0) + 1);

    const r0 = performance.now();
    await cliOk(h1, 'service', 'rm', serviceName);
    await waitFor('no bench containers on any host', removeTimeoutMs, async () => {
      for (const h of record.hosts) if ((await containerNames(h)).some((n) => n.startsWith(`${serviceName}.`))) return undefined;
      return true;
    });
    const removeMs = performance.now() - r0;
    return { perTask: stats(perTaskMs), totalMs, createCallMs, lastRunningMs: Math.max(...perTaskMs), perNode, failed: failedIds.size, removeMs };
  });
}

// ---- anchor: container run -d on one host

interface AnchorResult extends Side {
  /** Latency of each `run -d` call alone (without the wait for a free slot). */
  readonly perCall: Stats;
  /** From the first `run -d` until the last one returned, in milliseconds. */
  readonly callsMs: number;
  /** From `rm -f` of the first until none is left, in milliseconds. */
  readonly removeMs: number;
}

async function anchor(count: number, concurrency: number, tar: string): Promise<AnchorResult> {
  return scope.withLab(
    labs.single,
    async () => {
      const record = await labUp({ name: labs.single, hosts: 1, daemons: false });
      await startHostDaemon(record.hosts[0] as LabHost);
      return record;
    },
    async (record) => {
      const [h1] = record.hosts as [LabHost];
      await loadImage(record, tar);
      process.stdout.write(`anchor: lab ${record.name} up (1 host, no swarm), image loaded\n`);
      const t0 = performance.now();
      const timings = await mapLimit(
        Array.from({ length: count }, (_, i) => i),
        concurrency,
        async (i) => {
          const t1 = performance.now();
          await cliOk(h1, 'container', 'run', '-d', '--name', `anchor-${i}`, 'busybox', 'sleep', '600');
          const t2 = performance.now();
          return { sinceStartMs: t2 - t0, callMs: t2 - t1 };
        },
      );
      const callsMs = performance.now() - t0;
      await waitFor(`${count} containers running`, runningTimeoutMs, async () => ((await containerIds(h1)).length >= count ? true : undefined));
      const totalMs = performance.now() - t0;

      const r0 = performance.now();
      await mapLimit(await containerIds(h1, true), removeConcurrency, (id) => cliOk(h1, 'container', 'rm', '-f', id));
      await waitFor('no containers left', removeTimeoutMs, async () => ((await containerIds(h1, true)).length === 0 ? true : undefined));
      const removeMs = performance.now() - r0;
      return { perTask: stats(timings.map((x) => x.sinceStartMs)), perCall: stats(timings.map((x) => x.callMs)), totalMs, callsMs, removeMs };
    },
  );
}

// ---- main

function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

async function main(): Promise<void> {
  const replicas = Number(option('--replicas') ?? defaultReplicas);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > maxReplicas) throw new Error(`--replicas must be 1..${maxReplicas}`);
  const anchorConcurrency = Number(option('--anchor-concurrency') ?? defaultAnchorConcurrency);
  if (!Number.isInteger(anchorConcurrency) || anchorConcurrency < 1 || anchorConcurrency > maxAnchorConcurrency) throw new Error(`--anchor-concurrency must be 1..${maxAnchorConcurrency}`);
  const work = await mkdtemp(join(tmpdir(), 'tsswarm-bench-services-'));
  scope.addDir(work);
  try {
    const tar = join(work, 'busybox.tar');
    await buildBusyboxImage(tar);

    const o = await ours(replicas, tar);
    const meets = o.totalMs <= targetTotalMs;
    process.stdout.write(
      `ours: ${replicas} replicas RUNNING after ${seconds(o.totalMs)} (target ≤ ${seconds(targetTotalMs)}: ${meets ? 'met' : 'MISSED'}); create call ${o.createCallMs.toFixed(0)} ms, last RUNNING timestamp ${seconds(o.lastRunningMs)} after created_at; per task p50 ${seconds(o.perTask.p50Ms)}, p99 ${seconds(o.perTask.p99Ms)}; per node ${[...o.perNode].map(([n, c]) => `${n} ${c}`).join(', ')}; ${o.failed} failed/rejected on the way; removed in ${seconds(o.removeMs)}\n`,
    );
    const a = await anchor(replicas, anchorConcurrency, tar);
    process.stdout.write(
      `anchor: ${replicas} container run -d (${anchorConcurrency} at a time) all running after ${seconds(a.totalMs)} (calls done after ${seconds(a.callsMs)}); per container since the first call p50 ${seconds(a.perTask.p50Ms)}, p99 ${seconds(a.perTask.p99Ms)}; each call alone p50 ${seconds(a.perCall.p50Ms)}, p99 ${seconds(a.perCall.p99Ms)}; removed in ${seconds(a.removeMs)}\n`,
    );

    const detail =
      `ours (1 manager + 2 workers, CLI service create --detach, ListTasks every ${pollGapMs} ms): total ${seconds(o.totalMs)} (target ≤ ${seconds(targetTotalMs)} ${meets ? 'met' : 'MISSED'}), ` +
      `per task RUNNING timestamp − created_at p50 ${seconds(o.perTask.p50Ms)}, p99 ${seconds(o.perTask.p99Ms)}, spread ${[...o.perNode].map(([n, c]) => `${n} ${c}`).join('/')}; ` +
      `anchor (1 host, CLI container run -d, ${anchorConcurrency} at a time): total ${seconds(a.totalMs)}, per container since the first call p50 ${seconds(a.perTask.p50Ms)}, p99 ${seconds(a.perTask.p99Ms)} (each call alone p50 ${seconds(a.perCall.p50Ms)})`;
    const comparisons: Comparison[] = [
      { name: `service create ${replicas} replicas to all RUNNING on 3 hosts vs ${replicas} container run -d on one host, total, tasks/s`, ratio: a.totalMs / o.totalMs, detail },
      { name: `service create ${replicas} replicas to all RUNNING on 3 hosts vs ${replicas} container run -d on one host, p50 per task, tasks/s`, ratio: a.perTask.p50Ms / o.perTask.p50Ms, detail },
    ];
    for (const c of comparisons) process.stdout.write(`${c.name}: ${c.ratio.toFixed(2)}x\n`);
    if (!process.argv.includes('--no-record')) await recordComparisons('Services', comparisons);
  } finally {
    await scope.cleanupAll();
  }
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench:services FAILED: ${errorMessage(err)}\n`);
  process.exitCode = 1;
}
