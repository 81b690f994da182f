/**
 * cgroup helpers that work on v1 (hybrid) and v2 hierarchies alike.
 */
import { readFile, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Where cgroup hierarchies are mounted. */
export const cgroupRoot = '/sys/fs/cgroup';

/** Removes the cgroup `relPath` (and its children, deepest first) from every hierarchy that has it. */
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

/** How long killCgroupProcesses waits for killed processes to leave their cgroups. */
export const cgroupKillWaitMs = 5_000;

/**
 * SIGKILLs every process in cgroup `relPath` and below, in every hierarchy, and waits (bounded) until
 * the cgroups are empty. For tearing down what a lab or test started: everything in its cgroup tree
 * is its own. Returns how many processes were signalled.
 */
export async function killCgroupProcesses(relPath: string): Promise<number> {
  const deadline = Date.now() + cgroupKillWaitMs;
  const signalled = new Set<number>();
  for (;;) {
    const pids = new Set<number>();
    for (const h of await readdir(cgroupRoot).catch(() => [] as string[])) await collectPids(join(cgroupRoot, h, relPath), pids);
    if (pids.size === 0) return signalled.size;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        signalled.add(pid);
      } catch {
        // already gone
      }
    }
    if (Date.now() > deadline) return signalled.size;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function collectPids(dir: string, into: Set<number>): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  const text = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const pid = Number(line.trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) into.add(pid);
  }
  for (const e of entries) if (e.isDirectory()) await collectPids(join(dir, e.name), into);
}

/** True when the unified (v2) hierarchy is the only one. */
export async function isCgroupV2Only(): Promise<boolean> {
  const entries = await readdir(cgroupRoot).catch(() => [] as string[]);
  return entries.includes('cgroup.controllers');
}

/**
 * The folder of cgroup `relPath` in the hierarchy that holds `controller` (cgroup v1: the mount whose
 * name lists it, e.g. cpu,cpuacct; cgroup v2: the unified root).
 */
export async function controllerPath(controller: string, relPath: string): Promise<string> {
  if (await isCgroupV2Only()) return join(cgroupRoot, relPath);
  const hierarchies = await readdir(cgroupRoot).catch(() => [] as string[]);
  const h = hierarchies.find((name) => name.split(',').includes(controller));
  return join(cgroupRoot, h ?? controller, relPath);
}
