/**
 * Benchmark: a rolling update of 60 replicas (parallelism 10) on a 3-host lab, against a redeploy
 * (service rm + service create of the new version) in the same run, with a client loop sending
 * requests through the routing mesh during both.
 *
 * Setup: the busybox test image loaded on every host and tagged 127.0.0.1:5000/busybox:v1 and :v2
 * (a loopback registry name, so resolving the digest never leaves the lab); a service of 60
 * replicas running httpd, published on 8080, `--update-parallelism 10` (stop-first, delay 0,
 * monitor 5 s: docker's defaults).
 * Ours: `service update --detach --image ...:v2 --env-add VERSION=v2`, timed from the CLI call to
 * UpdateStatus "completed" (which includes the 5 s monitor of the last batch).
 * Anchor: `service rm` then `service create` of the v2 spec, timed from the rm to 60 replicas
 * RUNNING and serving (what a user without rolling updates does).
 * Client: a Node loop inside h2's namespace, one request at a time to h2's 8080 with a 2 s timeout,
 * bounded in requests and time; the error rate is failed ÷ sent while each phase runs.
 * Ratio: anchor time ÷ ours time (higher is better). Labs are removed in finally blocks and on
 * Ctrl-C. Run as root after `npm run build`: `npm run bench:update`; `--replicas N`,
 * `--parallelism N`, `--no-record` (print only).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBusyboxImage } from '../../deploy/images/build-busybox.js';
import { hostSocket, labDown, labUp, type LabHost, type LabRecord } from '../../deploy/lab/index.js';
import { ImageService } from '../../worker/images/image-service.js';
import { tsswarmWith, type CliResult } from '../helpers/cli.js';
import { recordComparisons } from './report.js';

/** Replicas of the service by default, and the most `--replicas` accepts. */
const defaultReplicas = 60;
const maxReplicas = 300;
/** Tasks updated at once by default. */
const defaultParallelism = 10;
/** Longest wait for a phase (create, update, redeploy), in milliseconds. */
const phaseTimeoutMs = 300_000;
/** Pause between polls, in milliseconds. */
const pollGapMs = 250;
/** The client's request timeout, and its bounds: most requests and longest run. */
const requestTimeoutMs = 2_000;
const maxClientRequests = 200_000;
const maxClientSeconds = 900;
const labName = 'updb';
const image = (v: string): string => `127.0.0.1:5000/busybox:${v}`;
const httpd = 'mkdir -p /www && echo "$VERSION $(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www';

function args(): { replicas: number; parallelism: number; record: boolean } {
  const argv = process.argv.slice(2);
  const num = (flag: string, dflt: number, max: number): number => {
    const i = argv.indexOf(flag);
    if (i < 0) return dflt;
    const n = Number(argv[i + 1]);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${flag} must be a whole number from 1 to ${max}`);
    return n;
  };
  return { replicas: num('--replicas', defaultReplicas, maxReplicas), parallelism: num('--parallelism', defaultParallelism, maxReplicas), record: !argv.includes('--no-record') };
}

let record: LabRecord | undefined;
let client: ChildProcess | undefined;
let work: string | undefined;

async function cleanup(): Promise<void> {
  client?.kill('SIGKILL');
  if (record) await labDown(labName).catch((err: unknown) => process.stderr.write(`lab down: ${String(err)}\n`));
  record = undefined;
  if (work) await rm(work, { recursive: true, force: true });
}

const host = (name: string): LabHost => (record as LabRecord).hosts.find((h) => h.name === name) as LabHost;
const on = (...a: string[]): Promise<CliResult> => tsswarmWith({ env: { TSSWARM_HOST: `unix://${hostSocket(host('h1'))}` } }, ...a);

async function must(...a: string[]): Promise<string> {
  const r = await on(...a);
  if (r.code !== 0) throw new Error(`tsswarm ${a.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function runningOf(service: string, imageRef: string): Promise<number> {
  const r = await on('service', 'ps', service, '--no-trunc', '--format', '{{.Image}}|{{.DesiredState}}|{{.CurrentState}}');
  if (r.code !== 0) return 0;
  return r.stdout.split('\n').filter((l) => {
    const [img, desired, current] = l.split('|');
    return img === imageRef && desired?.toLowerCase() === 'running' && (current ?? '').toLowerCase().startsWith('running');
  }).length;
}

async function until(what: string, ok: () => Promise<boolean>): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < phaseTimeoutMs) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, pollGapMs));
  }
  throw new Error(`${what} not reached within ${phaseTimeoutMs} ms`);
}

/** Counters the client prints: one line "ok fail" per 100 ms, cumulative. */
interface Counts {
  ok: number;
  fail: number;
}

function startClient(h: LabHost, url: string, stopFile: string): { counts: Counts; ended: Promise<void> } {
  const code = `
const http = require('node:http'); const fs = require('node:fs');
let ok = 0, fail = 0, sent = 0; const end = Date.now() + ${maxClientSeconds * 1000};
setInterval(() => process.stdout.write(ok + ' ' + fail + '\\n'), 100);
(async () => {
  while (sent < ${maxClientRequests} && Date.now() < end && !fs.existsSync(${JSON.stringify(stopFile)})) {
    sent++;
    await new Promise((resolve) => {
      const req = http.get(${JSON.stringify(url)}, { timeout: ${requestTimeoutMs}, agent: false }, (res) => {
        res.resume(); res.on('end', () => { if (res.statusCode === 200) ok++; else fail++; resolve(); });
        res.on('error', () => { fail++; resolve(); });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => { fail++; resolve(); });
    });
  }
  process.stdout.write(ok + ' ' + fail + '\\n'); process.exit(0);
})();`;
  const counts: Counts = { ok: 0, fail: 0 };
  client = spawn('ip', ['netns', 'exec', h.netns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buf = '';
  client.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    const last = lines.at(-1);
    if (last) {
      const [a, b] = last.split(' ').map(Number);
      counts.ok = a ?? counts.ok;
      counts.fail = b ?? counts.fail;
    }
  });
  const ended = new Promise<void>((resolve) => client?.on('exit', () => resolve()));
  return { counts, ended };
}

/** Runs `phase` while the client counts; returns its time and the requests during it. */
async function measured(counts: Counts, phase: () => Promise<void>): Promise<{ ms: number; ok: number; fail: number }> {
  const before = { ...counts };
  const start = performance.now();
  await phase();
  const ms = performance.now() - start;
  await new Promise((r) => setTimeout(r, 200));
  return { ms, ok: counts.ok - before.ok, fail: counts.fail - before.fail };
}

async function main(): Promise<void> {
  const { replicas, parallelism, record: write } = args();
  process.on('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  work = await mkdtemp(join(tmpdir(), 'tss-bench-update-'));
  try {
    await labDown(labName).catch(() => undefined);
    record = await labUp({ name: labName, hosts: 3, daemons: true, managers: 1 });
    const tar = join(work, 'busybox.tar');
    await buildBusyboxImage(tar);
    for (const h of record.hosts) {
      const images = new ImageService({ dataDir: h.dataDir });
      await images.load(tar);
      for (const v of ['v1', 'v2']) await images.tag('busybox', image(v));
    }
    const create = (v: string): Promise<string> =>
      must('service', 'create', '--detach', '--name', 'web', '--replicas', String(replicas), '-p', '8080:80', '--env', `VERSION=${v}`, '--update-parallelism', String(parallelism), image(v), 'sh', '-c', httpd);
    await create('v1');
    await until(`${replicas} v1 replicas running`, async () => (await runningOf('web', image('v1'))) === replicas);

    const h2 = host('h2');
    const stop = join(work, 'stop');
    const { counts, ended } = startClient(h2, `http://${h2.address}:8080/`, stop);
    await until('the mesh answers', async () => counts.ok > 20);

    const ours = await measured(counts, async () => {
      await must('service', 'update', '--detach', '--image', image('v2'), '--env-add', 'VERSION=v2', 'web');
      await until('update completed', async () => /"State": "completed"/.test(await must('service', 'inspect', 'web')));
    });
    process.stdout.write(`rolling update of ${replicas} replicas, parallelism ${parallelism}: ${(ours.ms / 1000).toFixed(1)} s, ${ours.fail}/${ours.ok + ours.fail} requests failed\n`);

    const anchor = await measured(counts, async () => {
      await must('service', 'rm', 'web');
      await until('the old service gone', async () => (await on('service', 'inspect', 'web')).code !== 0);
      await create('v2');
      await until(`${replicas} v2 replicas running`, async () => (await runningOf('web', image('v2'))) === replicas);
      await until('the mesh answers again', async () => {
        const before = counts.ok;
        await new Promise((r) => setTimeout(r, 300));
        return counts.ok > before;
      });
    });
    process.stdout.write(`redeploy (rm + create) of ${replicas} replicas: ${(anchor.ms / 1000).toFixed(1)} s, ${anchor.fail}/${anchor.ok + anchor.fail} requests failed\n`);
    await writeFile(stop, '');
    await ended;

    const rate = (x: { ok: number; fail: number }): string => `${((100 * x.fail) / Math.max(1, x.ok + x.fail)).toFixed(2)}% errors (${x.fail}/${x.ok + x.fail})`;
    const comparison = {
      name: `rolling update vs redeploy (rm + create), ${replicas} replicas, parallelism ${parallelism}, updates/s`,
      ratio: anchor.ms / ours.ms,
      detail: `3 lab hosts, requests through the mesh during each: rolling update ${(ours.ms / 1000).toFixed(1)} s (incl. 5 s monitor), ${rate(ours)}; redeploy ${(anchor.ms / 1000).toFixed(1)} s, ${rate(anchor)}`,
    };
    process.stdout.write(`${comparison.name}: ${comparison.ratio.toFixed(2)}x (${comparison.detail})\n`);
    if (write) await recordComparisons('Services', [comparison]);
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:update failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
