/**
 * Removing what a lab's processes may have left: processes inside the lab's namespaces, mounts
 * under the lab's folder, and the lab's cgroups. Only what belongs to the lab is touched.
 */
import { readFile, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../../lib/run-command.js';
import { netnsPids } from './netns.js';

/** How long processes get to exit after SIGTERM before SIGKILL. */
export const processStopGraceMs = 3_000;
/** How often to look whether stopped processes are gone. */
const processPollMs = 50;

/** Stops every process running in the given namespaces: SIGTERM, a grace period, then SIGKILL. */
export async function stopNetnsProcesses(namespaces: readonly string[]): Promise<number> {
  const pids = (await netnsPids(namespaces)).filter((pid) => pid !== process.pid);
  if (pids.length === 0) return 0;
  signalAll(pids, 'SIGTERM');
  const deadline = Date.now() + processStopGraceMs;
  while (Date.now() < deadline && pids.some(isAlive)) await sleep(processPollMs);
  signalAll(pids.filter(isAlive), 'SIGKILL');
  const killDeadline = Date.now() + processStopGraceMs;
  while (Date.now() < killDeadline && pids.some(isAlive)) await sleep(processPollMs);
  return pids.length;
}

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Mount points at or below `dir`, deepest first (pure: takes /proc/self/mountinfo's text). */
export function mountsBelow(mountinfo: string, dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return mountinfo
    .split('\n')
    .map((line) => unescapeMountPath(line.split(' ')[4] ?? ''))
    .filter((point) => point === dir || point.startsWith(prefix))
    .sort((a, b) => depth(b) - depth(a) || b.length - a.length);
}

function depth(path: string): number {
  return path.split('/').length;
}

function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Unmounts everything at or below `dir`, deepest first. */
export async function unmountBelow(dir: string): Promise<number> {
  const points = mountsBelow(await readFile('/proc/self/mountinfo', 'utf8'), dir);
  for (const point of points) {
    await runCommand('umount', [point]).catch(() => runCommand('umount', ['-l', point]));
  }
  return points.length;
}

/** Where cgroup hierarchies are mounted. */
export const cgroupRoot = '/sys/fs/cgroup';

/** Removes the cgroup `relPath` (and its children) from every hierarchy that has it. */
export async function removeCgroupTree(relPath: string): Promise<number> {
  const hierarchies = await readdir(cgroupRoot).catch(() => [] as string[]);
  let removed = 0;
  for (const h of hierarchies) removed += await rmdirTree(join(cgroupRoot, h, relPath));
  return removed;
}

async function rmdirTree(dir: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let removed = 0;
  for (const e of entries) if (e.isDirectory()) removed += await rmdirTree(join(dir, e.name));
  await rmdir(dir);
  return removed + 1;
}
