/**
 * Network-namespace plumbing for the lab: the only file of the lab that runs `ip`.
 * Everything is made inside the lab's own namespaces; nothing touches the root namespace.
 */
import { runCommand } from '../../lib/run-command.js';
import { labBridgeName, labHostDevice, switchPort } from './names.js';
import type { LabHost } from './record.js';

/** Names of all network namespaces on the machine. */
export async function listNetns(): Promise<string[]> {
  const { stdout } = await runCommand('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.length > 0);
}

/** Creates the switch namespace with its bridge. */
export async function createSwitch(netns: string): Promise<void> {
  await runCommand('ip', ['netns', 'add', netns]);
  await ipBatch(netns, ['link set lo up', `link add ${labBridgeName} type bridge`, `link set ${labBridgeName} up`]);
}

/** Creates a host namespace, cables it to the switch and gives it its underlay address. */
export async function createHost(host: LabHost, index: number, switchNs: string): Promise<void> {
  await runCommand('ip', ['netns', 'add', host.netns]);
  await ipBatch(host.netns, [
    'link set lo up',
    `link add ${labHostDevice} type veth peer name ${switchPort(index)} netns ${switchNs}`,
    `addr add ${host.address}/${host.prefixLength} dev ${labHostDevice}`,
    `link set ${labHostDevice} up`,
  ]);
}

/** Plugs the switch ends of hosts `indexes` into the bridge. */
export async function plugPorts(switchNs: string, indexes: readonly number[]): Promise<void> {
  if (indexes.length === 0) return;
  await ipBatch(
    switchNs,
    indexes.map((i) => `link set ${switchPort(i)} master ${labBridgeName} up`),
  );
}

/** Process IDs running in a namespace (empty when it does not exist). */
export async function netnsPids(netns: string): Promise<number[]> {
  try {
    const { stdout } = await runCommand('ip', ['netns', 'pids', netns]);
    return stdout
      .split('\n')
      .filter((line) => /^\d+$/.test(line))
      .map(Number);
  } catch {
    return [];
  }
}

/** Deletes a namespace; a missing one is not an error. */
export async function deleteNetns(netns: string): Promise<void> {
  const all = await listNetns();
  if (all.includes(netns)) await runCommand('ip', ['netns', 'del', netns]);
}

function ipBatch(netns: string, lines: readonly string[]): Promise<unknown> {
  return runCommand('ip', ['-n', netns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}
