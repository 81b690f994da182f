/**
 * Network-namespace plumbing for the lab: the only file of the lab that runs `ip`.
 * Everything is made inside the lab's own namespaces; nothing touches the root namespace.
 * Steps are grouped into `ip -batch` calls so a lab costs a handful of processes, not one per step.
 */
import { readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../../lib/run-command.js';
import { labBridgeName, labHostDevice, switchPort } from './names.js';
import type { LabHost } from './record.js';

/** Where `ip netns` keeps its named namespaces. */
const netnsDir = '/run/netns';

/** Names of all named network namespaces on the machine. */
export async function listNetns(): Promise<string[]> {
  const names = await readdir(netnsDir).catch(() => [] as string[]);
  return names.sort();
}

/** Creates namespaces, all in one `ip` call. */
export async function addNetns(names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  await runCommand('ip', ['-batch', '-'], { input: names.map((n) => `netns add ${n}\n`).join('') });
}

/** Deletes namespaces in one `ip` call; missing ones are skipped. */
export async function deleteNetns(names: readonly string[]): Promise<void> {
  const existing = new Set(await listNetns());
  const present = names.filter((n) => existing.has(n));
  if (present.length === 0) return;
  await runCommand('ip', ['-force', '-batch', '-'], { input: present.map((n) => `netns del ${n}\n`).join('') });
}

/**
 * Builds the switch: its bridge, and one veth pair per host whose far end lands in the host's
 * namespace as eth0, the near end plugged into the bridge.
 */
export async function buildSwitch(switchNs: string, hosts: readonly LabHost[]): Promise<void> {
  const lines = ['link set lo up', `link add ${labBridgeName} type bridge`, `link set ${labBridgeName} up`];
  hosts.forEach((host, i) => {
    const port = switchPort(i + 1);
    lines.push(`link add ${port} type veth peer name ${labHostDevice} netns ${host.netns}`);
    lines.push(`link set ${port} master ${labBridgeName} up`);
  });
  await ipBatch(switchNs, lines);
}

/** Brings a host's loopback and underlay interface up with its address. */
export async function configureHost(host: LabHost): Promise<void> {
  await ipBatch(host.netns, [
    'link set lo up',
    `addr add ${host.address}/${host.prefixLength} dev ${labHostDevice}`,
    `link set ${labHostDevice} up`,
  ]);
}

/** The process IDs inside each of the given namespaces (one pass over /proc). */
export async function netnsPids(names: readonly string[]): Promise<number[]> {
  const inodes = new Set<string>();
  for (const name of names) {
    const s = await stat(join(netnsDir, name)).catch(() => undefined);
    if (s) inodes.add(`net:[${s.ino}]`);
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const link = await readlink(`/proc/${entry}/ns/net`).catch(() => '');
    if (inodes.has(link)) pids.push(Number(entry));
  }
  return pids;
}

function ipBatch(netns: string, lines: readonly string[]): Promise<unknown> {
  return runCommand('ip', ['-n', netns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}
