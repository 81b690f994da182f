/**
 * The named network namespaces of tasks (/run/netns/NAME), one per task, made before its container
 * and removed after it. The name is derived from the task id, so a restarted daemon finds the
 * namespaces of the tasks still running. In a lab host (a namespace `tss-LAB-hN` itself) a task's
 * namespace is `tss-LAB-hN.<task id>`, which `lab down` removes with the host; on a real host it is
 * `tsswarm-<task id>` (not `tss-`: `lab down --all` sweeps that prefix).
 *
 * A named namespace is a bind mount of an nsfs file over /run/netns/NAME, made in the caller's
 * mount namespace. A daemon started with `ip netns exec` has a mount namespace of its own whose
 * mounts never reach the machine's: its task namespaces are then invisible to `lab down` and to
 * the next daemon (files without a mount, "Invalid argument"). Lab daemons must therefore enter
 * only the host's network namespace (`nsenter --net=/run/netns/HOST`). Files without a mount are
 * treated as absent here and replaced when a task needs its namespace.
 */
import { readFile, readdir } from 'node:fs/promises';
import { ErrorCode, TsswarmError, errorMessage } from '../lib/errors.js';
import { runCommand } from '../lib/run-command.js';
import type { HostPlace } from './executor.js';

/** Where `ip netns` keeps named namespaces. */
export const netnsRunDir = '/run/netns';
/** Prefix of task namespaces on a real host. */
export const rootTaskNetnsPrefix = 'tsswarm-';
/** Time limit of one `ip netns add|del`. */
export const netnsCommandTimeoutMs = 10_000;

/** Task ids are lower-case alphanumeric (lib/ids); `lab down` claims only such suffixes. */
const taskIdPattern = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** The prefix of the namespaces of this host's tasks. */
export function taskNetnsPrefix(place: HostPlace): string {
  return 'netns' in place ? `${place.netns}.` : rootTaskNetnsPrefix;
}

/** The namespace of task `taskId` on this host; INVALID_ARGUMENT for an id that cannot be part of a name. */
export function taskNetnsName(place: HostPlace, taskId: string): string {
  if (!taskIdPattern.test(taskId)) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `task id ${JSON.stringify(taskId)} cannot name a network namespace`);
  return `${taskNetnsPrefix(place)}${taskId}`;
}

/** The path a container joins for namespace `name`. */
export function netnsPath(name: string): string {
  return `${netnsRunDir}/${name}`;
}

/** Names under /run/netns that are mounted (live namespaces) in this process's mount namespace. */
export async function mountedNamespaces(): Promise<Set<string>> {
  return namespacesInMountinfo(await readFile('/proc/self/mountinfo', 'utf8').catch(() => ''));
}

/** The /run/netns/NAME mount points of a mountinfo text (pure). */
export function namespacesInMountinfo(mountinfo: string): Set<string> {
  const out = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const mountPoint = line.split(' ')[4] ?? '';
    if (mountPoint.startsWith(`${netnsRunDir}/`)) out.add(mountPoint.slice(netnsRunDir.length + 1));
  }
  return out;
}

/** Task ids of the task namespaces that exist (are mounted) on this host now, with their names. */
export async function existingTaskNamespaces(place: HostPlace): Promise<Map<string, string>> {
  const prefix = taskNetnsPrefix(place);
  const names = [...(await mountedNamespaces())];
  const out = new Map<string, string>();
  for (const name of names) {
    const id = name.startsWith(prefix) ? name.slice(prefix.length) : '';
    if (taskIdPattern.test(id)) out.set(id, name);
  }
  return out;
}

/** Makes namespace `name` unless it exists (idempotent); a leftover file without a mount is replaced. */
export async function addNamespace(name: string): Promise<void> {
  if ((await mountedNamespaces()).has(name)) return;
  const files = await readdir(netnsRunDir).catch(() => [] as string[]);
  if (files.includes(name)) await runCommand('ip', ['netns', 'del', name], { timeoutMs: netnsCommandTimeoutMs }).catch(() => undefined);
  try {
    await runCommand('ip', ['netns', 'add', name], { timeoutMs: netnsCommandTimeoutMs });
  } catch (err) {
    // Made meanwhile by an earlier, timed-out attempt: fine.
    if ((await mountedNamespaces()).has(name)) return;
    throw new TsswarmError(ErrorCode.EXTERNAL, `netd: could not make network namespace ${name}: ${errorMessage(err)}`, { cause: err });
  }
}

/** Removes namespace `name` if it exists (idempotent). */
export async function deleteNamespace(name: string): Promise<void> {
  const existing = await readdir(netnsRunDir).catch(() => [] as string[]);
  if (!existing.includes(name)) return;
  try {
    await runCommand('ip', ['netns', 'del', name], { timeoutMs: netnsCommandTimeoutMs });
  } catch (err) {
    if (!(await readdir(netnsRunDir).catch(() => [] as string[])).includes(name)) return;
    throw new TsswarmError(ErrorCode.EXTERNAL, `netd: could not remove network namespace ${name}: ${errorMessage(err)}`, { cause: err });
  }
}
