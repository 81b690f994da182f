/**
 * Benchmark: 1,000,000 writes to a 3-member cluster with compaction on, and what it costs in
 * memory and disk: each member's peak RSS (target under 250 MB) and, at the end, its data folder
 * against the live data (target under 2×). 256-byte values over a fixed key space, 256 clients.
 * Members run with `memberNodeFlags`, as a manager should (see there).
 *
 *   npm run bench:raft-compaction
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { repoRoot } from '../../helpers/cli.js';
import { httpCall, keepAliveAgent } from '../../helpers/http.js';
import { freeLoopbackPort } from '../../worker/images/registry-helper.js';
import { recordComparisons } from '../report.js';

const totalWrites = 1_000_000;
const keySpace = 50_000;
const clients = 256;
const value = 'v'.repeat(256);
const rssTargetBytes = 250 * 1024 * 1024;
/**
 * V8 flags of a member process; tsswarmd's launch is to carry the same. After a full GC, V8 lets the
 * old generation grow to its live size times a factor it picks up to 4× when the heap limit is large
 * (Node sizes it from the machine's memory); a raft member promotes a steady stream of short-lived
 * objects (requests and messages in flight, log entries until compacted, replaced values), so the
 * leader's old space went up to ~120 MB between full GCs for ~35 MB live, and its RSS past the
 * budget. 1.5× bounds that headroom without a hard heap limit that a larger store could hit.
 * Measured over 150,000 writes: leader peak RSS 268 MB without, 171 MB with.
 */
const memberNodeFlags = ['--heap-growing-percent=50'];
/** Give up after this long. */
const runLimitMs = 30 * 60_000;

const agent = keepAliveAgent();

function put(port: number, key: string): Promise<number> {
  return httpCall(agent, 'PUT', port, `/kv/${key}`, value, 10_000).then(
    (r) => r.status,
    () => 0,
  );
}

async function status(port: number): Promise<{ leader: boolean } | undefined> {
  const r = await httpCall(agent, 'GET', port, '/status', undefined, 1_000).catch(() => undefined);
  return r?.status === 200 ? (JSON.parse(r.text) as { leader: boolean }) : undefined;
}

async function rssBytes(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+) kB/.exec(text)?.[1] ?? 0) * 1024;
}

async function duBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? await duBytes(p) : (await stat(p)).size;
  }
  return total;
}

async function main(): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'tsswarm-bench-compaction-'));
  const members: { id: number; peer: string; port: number; dir: string; proc?: ChildProcess }[] = [];
  for (const id of [1, 2, 3]) members.push({ id, peer: `127.0.0.1:${await freeLoopbackPort()}`, port: await freeLoopbackPort(), dir: join(base, `m${id}`) });
  const spec = members.map((m) => `${m.id}=${m.peer}`).join(',');
  for (const m of members) m.proc = spawn(process.execPath, [...memberNodeFlags, join(repoRoot, 'dist/test/manager/raft/node/kv-server.js'), String(m.id), spec, String(m.port), m.dir], { stdio: 'ignore' });
  const peakRss = new Map<number, number>();
  const sampler = setInterval(() => {
    for (const m of members) void rssBytes(m.proc?.pid ?? 0).then((r) => peakRss.set(m.id, Math.max(peakRss.get(m.id) ?? 0, r)));
  }, 500);
  try {
    let leaderPort = 0;
    for (let i = 0; i < 200 && leaderPort === 0; i++) {
      for (const m of members) if ((await status(m.port))?.leader) leaderPort = m.port;
      await new Promise((r) => setTimeout(r, 100));
    }
    const started = performance.now();
    let next = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < totalWrites && performance.now() - started < runLimitMs) {
          const i = next++;
          if ((await put(leaderPort, `key-${i % keySpace}`)) !== 204) failed++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const liveBytes = keySpace * (value.length + `key-${keySpace}`.length);
    const disks = await Promise.all(members.map((m) => duBytes(m.dir)));
    const rss = members.map((m) => peakRss.get(m.id) ?? 0);
    const worstRss = Math.max(...rss);
    const worstDisk = Math.max(...disks);
    const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
    process.stdout.write(`${next} writes in ${seconds.toFixed(0)} s (${(next / seconds).toFixed(0)}/s, ${failed} failed); peak RSS ${rss.map(mib).join(', ')}; disk ${disks.map(mib).join(', ')}; live data ${mib(liveBytes)}\n`);
    await recordComparisons('Raft', [
      { name: 'raft 1M writes with compaction, peak member RSS vs the 250 MB budget', ratio: rssTargetBytes / worstRss, detail: `peak RSS ${rss.map(mib).join(', ')}; ${next} writes in ${seconds.toFixed(0)} s; members run with ${memberNodeFlags.join(' ')}` },
      { name: 'raft 1M writes with compaction, data folder vs 2× the live data', ratio: (2 * liveBytes) / worstDisk, detail: `disk ${disks.map(mib).join(', ')}; live data ${mib(liveBytes)} (${keySpace} keys × 256-byte values)` },
    ]);
  } finally {
    clearInterval(sampler);
    for (const m of members) m.proc?.kill('SIGKILL');
    agent.destroy();
    await new Promise((r) => setTimeout(r, 300));
    await rm(base, { recursive: true, force: true });
  }
}

await main();
