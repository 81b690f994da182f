/**
 * Writes benchmark figures into docs/benchmarks.md: one line per comparison, keyed by its name, so
 * a new run replaces that comparison's line (with the new date) and leaves the others alone.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';

/** One comparison: ours against its anchor, measured in the same run. */
export interface Comparison {
  /** Stable name, e.g. "lab up+down vs ip script, 20 hosts". */
  readonly name: string;
  /** Throughput ratio ours ÷ anchor (higher is better). */
  readonly ratio: number;
  /** The raw figures behind the ratio. */
  readonly detail: string;
}

const benchmarksFile = join(repoRoot, 'docs', 'benchmarks.md');
const header = '# Benchmarks\n\nOne line per comparison: ours against its anchor in the same run, as a throughput ratio\n(ours ÷ anchor, higher is better), with the raw figures. Rewritten by `npm run bench:*`.\n\n';

/** Formats a ratio as the docs want it: `0.93x`. */
export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(2)}x`;
}

/** The median of a non-empty list of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** Puts the comparisons into docs/benchmarks.md under `section`, dated today. */
export async function recordComparisons(section: string, comparisons: readonly Comparison[], date = new Date()): Promise<void> {
  const day = date.toISOString().slice(0, 10);
  let text = await readFile(benchmarksFile, 'utf8').catch(() => header);
  const sectionTitle = `## ${section}`;
  if (!text.includes(`${sectionTitle}\n`)) text = `${text.trimEnd()}\n\n${sectionTitle}\n\n`;
  for (const c of comparisons) {
    const line = `- ${day} ${c.name}: ${formatRatio(c.ratio)} (${c.detail})`;
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.startsWith('- ') && l.slice(13).startsWith(`${c.name}:`));
    if (at >= 0) lines[at] = line;
    else {
      const start = lines.indexOf(sectionTitle);
      let end = start + 1;
      while (end < lines.length && !(lines[end] ?? '').startsWith('## ')) end++;
      while (end > start + 1 && (lines[end - 1] ?? '') === '') end--;
      lines.splice(end, 0, line);
    }
    text = lines.join('\n');
  }
  await writeFile(benchmarksFile, `${text.trimEnd()}\n`);
}
