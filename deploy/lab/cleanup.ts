/**
 * Stopping the processes inside a lab's namespaces (mounts and cgroups: lib/mounts.ts, lib/cgroups.ts).
 * Only what runs inside the lab is touched.
 */
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
