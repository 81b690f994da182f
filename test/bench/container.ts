/**
 * Benchmark: `tsswarm container run --rm busybox true` (CLI → tsswarmd → conmon → runc, overlay
 * rootfs, cgroups, log, removal) against bare `runc run` of an equivalent bundle (same busybox
 * rootfs, same namespaces), sequentially, in the same run; then 50 `run -d` in parallel, time until
 * all are running. Figures go to docs/benchmarks.md. Run with `npm run bench:container` (as root).
 */
import { execFile, execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { testDaemon } from '../helpers/daemon.js';
import { makeBusyboxRootfs } from '../helpers/busybox-rootfs.js';
import { median, recordComparisons } from './report.js';

const execFileAsync = promisify(execFile);
/** Sequential runs per side. */
const sequentialRuns = 100;
/** Containers started at once. */
const parallelContainers = 50;
/** Give up waiting for the parallel containers after this long. */
const parallelTimeoutMs = 120_000;

async function main(): Promise<void> {
  const teardowns: (() => unknown)[] = [];
  const t = { teardown: (fn: () => unknown) => teardowns.push(fn) };
  const work = await mkdtemp(join(tmpdir(), 'tsswarm-bench-'));
  try {
    const d = await testDaemon(t);
    await d.cli('run', '--rm', 'busybox', 'true');

    const ours: number[] = [];
    for (let i = 0; i < sequentialRuns; i++) {
      const start = performance.now();
      const r = await d.cli('run', '--rm', 'busybox', 'true');
      if (r.code !== 0) throw new Error(`run failed: ${r.stderr}`);
      ours.push(performance.now() - start);
    }

    const bundle = join(work, 'bundle');
    await mkdir(join(bundle, 'rootfs'), { recursive: true });
    await makeBusyboxRootfs(join(bundle, 'rootfs'));
    execFileSync('runc', ['spec'], { cwd: bundle });
    const spec = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as { process: { terminal: boolean; args: string[] } };
    spec.process.terminal = false;
    spec.process.args = ['true'];
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
    const runcRoot = join(work, 'runc');
    const bare: number[] = [];
    for (let i = 0; i < sequentialRuns; i++) {
      const start = performance.now();
      await execFileAsync('runc', ['--root', runcRoot, 'run', '--bundle', bundle, `bench-${i}`]);
      bare.push(performance.now() - start);
    }

    const parallelStart = performance.now();
    await Promise.all(Array.from({ length: parallelContainers }, (_, i) => d.cli('run', '-d', '--name', `par-${i}`, 'busybox', 'sleep', '300')));
    let running = 0;
    while (running < parallelContainers && performance.now() - parallelStart < parallelTimeoutMs) {
      running = (await d.cli('ps', '-q')).stdout.split('\n').filter((l) => l !== '').length;
      if (running < parallelContainers) await new Promise((r) => setTimeout(r, 100));
    }
    const parallelMs = performance.now() - parallelStart;

    const oursMs = median(ours);
    const bareMs = median(bare);
    process.stdout.write(`sequential run --rm true: tsswarm ${oursMs.toFixed(0)} ms, bare runc run ${bareMs.toFixed(0)} ms (medians of ${sequentialRuns})\n`);
    process.stdout.write(`${parallelContainers} parallel run -d: ${running} running after ${parallelMs.toFixed(0)} ms\n`);
    await recordComparisons('Containers', [
      {
        name: 'container run --rm busybox true vs bare runc run, sequential, containers/s',
        ratio: bareMs / oursMs,
        detail: `median of ${sequentialRuns}: tsswarm CLI+daemon ${oursMs.toFixed(0)} ms, runc run ${bareMs.toFixed(0)} ms; target ≥ 0.67x (≤ 1.5× runc)`,
      },
      {
        name: `${parallelContainers} containers started in parallel vs the same ${parallelContainers} run sequentially by bare runc, containers/s`,
        ratio: (bareMs * parallelContainers) / parallelMs,
        detail: `${running}/${parallelContainers} running after ${parallelMs.toFixed(0)} ms; bare runc sequential estimate ${(bareMs * parallelContainers).toFixed(0)} ms`,
      },
    ]);
  } finally {
    for (const fn of teardowns.reverse()) await fn();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
