/**
 * Resource use of a running container, from its cgroup files (cgroup v1 and v2).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { controllerPath, isCgroupV2Only } from '../../lib/cgroups.js';

/** How long CPU use is sampled for `stats`. */
export const cpuSampleMs = 500;

/** One sample of a container's resource use. */
export interface ContainerStats {
  readonly memoryUsageBytes: number;
  readonly memoryLimitBytes: number;
  readonly cpuPercent: number;
  readonly pidsCurrent: number;
}

async function readNumber(path: string): Promise<number> {
  const text = (await readFile(path, 'utf8').catch(() => '0')).trim();
  return text === 'max' ? 0 : Number(text.split('\n')[0]) || 0;
}

async function cpuUsageNs(rel: string, v2: boolean): Promise<number> {
  if (v2) {
    const stat = await readFile(join(await controllerPath('cpu', rel), 'cpu.stat'), 'utf8').catch(() => '');
    return Number(/usage_usec (\d+)/.exec(stat)?.[1] ?? 0) * 1000;
  }
  return readNumber(join(await controllerPath('cpuacct', rel), 'cpuacct.usage'));
}

/** Samples the container whose cgroup is `rel` (relative to each hierarchy). */
export async function sampleStats(rel: string): Promise<ContainerStats> {
  const v2 = await isCgroupV2Only();
  const memDir = await controllerPath('memory', rel);
  const c0 = await cpuUsageNs(rel, v2);
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, cpuSampleMs));
  const c1 = await cpuUsageNs(rel, v2);
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  const limit = await readNumber(join(memDir, v2 ? 'memory.max' : 'memory.limit_in_bytes'));
  return {
    memoryUsageBytes: await readNumber(join(memDir, v2 ? 'memory.current' : 'memory.usage_in_bytes')),
    // cgroup v1 reports "no limit" as a huge page-aligned number.
    memoryLimitBytes: limit >= 2 ** 62 ? 0 : limit,
    cpuPercent: elapsedNs > 0 ? ((c1 - c0) / elapsedNs) * 100 : 0,
    pidsCurrent: await readNumber(join(await controllerPath('pids', rel), 'pids.current')),
  };
}
