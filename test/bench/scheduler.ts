/**
 * Benchmark: the scheduler core on synthetic clusters (pure, no I/O), the shapes of the services
 * issue. In-run anchor: a naive scheduler that scans every node for every task (what a scheduler
 * without indexes and batching does), stopped after a time budget and rated on what it finished.
 * SwarmKit's figures for the same shapes (quoted by the issue, not measured here) are printed too.
 * Run with `npm run bench:scheduler`.
 */
import { performance } from 'node:perf_hooks';
import { Scheduler } from '../../manager/scheduler/scheduler.js';
import { parseConstraint, matches } from '../../manager/scheduler/constraints.js';
import type { NodeInfo, TaskGroup } from '../../manager/scheduler/node-info.js';
import { group, node } from '../manager/scheduler/helpers.js';
import { recordComparisons, type Comparison } from './report.js';

/** How long the naive anchor may run per shape. */
const anchorBudgetMs = 10_000;

interface Shape {
  readonly name: string;
  readonly nodes: number;
  readonly tasks: number;
  readonly constraint?: string;
  /** SwarmKit tasks/s on this shape, as quoted by the issue (undefined: did not finish in 25 min). */
  readonly swarmkitPerSec: number | undefined;
}

const shapes: Shape[] = [
  { name: '1k nodes / 10k tasks', nodes: 1_000, tasks: 10_000, swarmkitPerSec: 12_000 },
  { name: '5k nodes with a constraint / 100k tasks', nodes: 5_000, tasks: 100_000, constraint: 'node.labels.zone==z1', swarmkitPerSec: 2_000 },
  { name: '100k nodes / 1k tasks', nodes: 100_000, tasks: 1_000, swarmkitPerSec: 90 },
  { name: '100k nodes / 100k tasks', nodes: 100_000, tasks: 100_000, swarmkitPerSec: undefined },
];

function makeNodes(n: number): NodeInfo[] {
  return Array.from({ length: n }, (_, i) => node(`n${i}`, { labels: { zone: `z${i % 5}` }, taskCount: i % 7 }));
}

function ours(nodes: NodeInfo[], g: TaskGroup): { seconds: number; placed: number; heapMiB: number } {
  const before = process.memoryUsage().heapUsed;
  const start = performance.now();
  const r = new Scheduler(nodes).place(g);
  const seconds = (performance.now() - start) / 1000;
  return { seconds, placed: r.placements.length, heapMiB: Math.max(0, process.memoryUsage().heapUsed - before) / 2 ** 20 };
}

/** The anchor: per task, scan all nodes, keep those that pass, take the least loaded. */
function naive(nodes: NodeInfo[], g: TaskGroup): { perSec: number; placed: number } {
  const constraints = g.constraints.map(parseConstraint);
  const service = new Map<string, number>();
  const total = new Map<string, number>(nodes.map((n) => [n.id, n.taskCount]));
  const start = performance.now();
  let placed = 0;
  for (const _ of g.taskIds) {
    let best: NodeInfo | undefined;
    for (const n of nodes) {
      if (!n.ready || n.availability !== 'active' || !constraints.every((c) => matches(c, n))) continue;
      if (!best) best = n;
      else {
        const a = service.get(n.id) ?? 0;
        const b = service.get(best.id) ?? 0;
        if (a < b || (a === b && (total.get(n.id) ?? 0) < (total.get(best.id) ?? 0))) best = n;
      }
    }
    if (!best) break;
    service.set(best.id, (service.get(best.id) ?? 0) + 1);
    total.set(best.id, (total.get(best.id) ?? 0) + 1);
    placed++;
    if (performance.now() - start > anchorBudgetMs) break;
  }
  return { perSec: placed / ((performance.now() - start) / 1000), placed };
}

async function main(): Promise<void> {
  const comparisons: Comparison[] = [];
  for (const shape of shapes) {
    const nodes = makeNodes(shape.nodes);
    const g = group('svc', shape.tasks, shape.constraint ? { constraints: [shape.constraint] } : {});
    const mine = ours(nodes, g);
    const anchor = naive(nodes, g);
    const perSec = mine.placed / mine.seconds;
    const sk = shape.swarmkitPerSec;
    process.stdout.write(
      `${shape.name}: ${perSec.toFixed(0)} tasks/s (${mine.placed} placed in ${mine.seconds.toFixed(2)} s, heap +${mine.heapMiB.toFixed(0)} MiB); ` +
        `naive ${anchor.perSec.toFixed(0)} tasks/s over ${anchor.placed} tasks; SwarmKit (quoted) ${sk ?? 'did not finish in 25 min'}\n`,
    );
    comparisons.push({
      name: `scheduler vs naive full-scan scheduler, ${shape.name}, tasks/s`,
      ratio: perSec / anchor.perSec,
      detail: `ours ${perSec.toFixed(0)}/s (${mine.seconds.toFixed(2)} s, heap +${mine.heapMiB.toFixed(0)} MiB), naive ${anchor.perSec.toFixed(0)}/s over its first ${anchor.placed} tasks`,
    });
    if (sk !== undefined) {
      comparisons.push({
        name: `scheduler vs SwarmKit (figure quoted by the issue, not run here), ${shape.name}, tasks/s`,
        ratio: perSec / sk,
        detail: `ours ${perSec.toFixed(0)}/s, SwarmKit ${sk}/s; target ≥ 2.00x`,
      });
    } else {
      process.stdout.write(`  target: under 60 s — ${mine.seconds < 60 ? 'met' : 'missed'} (${mine.seconds.toFixed(2)} s)\n`);
    }
  }
  await recordComparisons('Scheduler', comparisons);
}

await main();
