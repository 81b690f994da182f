/**
 * Benchmark: `tsswarm lab up` + `lab down` of 3 and 20 hosts, against an anchor in the same run:
 * the same topology built and removed by a plain shell script of one `ip` call per step (what one
 * would write by hand). Reports the median wall time of each and the ratio; target: 20 hosts up in
 * under 5 s. Run with `npm run bench:lab` (as root).
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { tsswarmBin } from '../helpers/cli.js';
import { median, recordComparisons, type Comparison } from './report.js';

/** Runs per size and side; the median is reported. */
const runsPerSide = 5;
const sizes = [3, 20] as const;
/** The target of the issue: 20 hosts up in under this long. */
const upTargetMs = 5_000;

function timeMs(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

function ours(hosts: number, name: string): { upMs: number; totalMs: number } {
  const upMs = timeMs(() => execFileSync(process.execPath, [tsswarmBin, 'lab', 'up', name, '--hosts', String(hosts), '--no-daemons', '-q']));
  const downMs = timeMs(() => execFileSync(process.execPath, [tsswarmBin, 'lab', 'down', name]));
  return { upMs, totalMs: upMs + downMs };
}

/** The anchor: one `ip` process per step, as a hand-written script would do it. */
function anchorScript(hosts: number, name: string): string {
  const sw = `tss-${name}-sw`;
  const lines = ['set -e', `ip netns add ${sw}`, `ip -n ${sw} link set lo up`, `ip -n ${sw} link add br0 type bridge`, `ip -n ${sw} link set br0 up`];
  for (let i = 1; i <= hosts; i++) {
    const ns = `tss-${name}-h${i}`;
    lines.push(
      `ip netns add ${ns}`,
      `ip -n ${ns} link set lo up`,
      `ip -n ${ns} link add eth0 type veth peer name p${i} netns ${sw}`,
      `ip -n ${ns} addr add 198.19.255.${i}/24 dev eth0`,
      `ip -n ${ns} link set eth0 up`,
      `ip -n ${sw} link set p${i} master br0 up`,
    );
  }
  for (let i = 1; i <= hosts; i++) lines.push(`ip netns del tss-${name}-h${i}`);
  lines.push(`ip netns del ${sw}`);
  return lines.join('\n');
}

function anchor(hosts: number, name: string): number {
  const script = anchorScript(hosts, name);
  return timeMs(() => execFileSync('bash', ['-c', script]));
}

async function main(): Promise<void> {
  const comparisons: Comparison[] = [];
  for (const hosts of sizes) {
    const oursRuns: { upMs: number; totalMs: number }[] = [];
    const anchorRuns: number[] = [];
    for (let r = 0; r < runsPerSide; r++) {
      oursRuns.push(ours(hosts, `bench${hosts}o${r}`));
      anchorRuns.push(anchor(hosts, `bench${hosts}a${r}`));
    }
    const oursTotal = median(oursRuns.map((x) => x.totalMs));
    const oursUp = median(oursRuns.map((x) => x.upMs));
    const anchorTotal = median(anchorRuns);
    const line = `${hosts} hosts: tsswarm lab up+down ${oursTotal.toFixed(0)} ms (up ${oursUp.toFixed(0)} ms), ip script ${anchorTotal.toFixed(0)} ms`;
    process.stdout.write(`${line}\n`);
    if (hosts === 20 && oursUp > upTargetMs) process.stdout.write(`  MISSED TARGET: 20 hosts up took ${oursUp.toFixed(0)} ms > ${upTargetMs} ms\n`);
    comparisons.push({
      name: `lab up+down vs one-ip-call-per-step script, ${hosts} hosts, labs/s`,
      ratio: anchorTotal / oursTotal,
      detail: `median of ${runsPerSide}: ours ${oursTotal.toFixed(0)} ms (up ${oursUp.toFixed(0)} ms), script ${anchorTotal.toFixed(0)} ms`,
    });
  }
  await recordComparisons('Lab', comparisons);
}

await main();
