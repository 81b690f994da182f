/**
 * The lab's operations: up, down, list, exec. A thin shell over names.ts (pure), record.ts (what
 * was made) and netns.ts / cleanup.ts (the system calls).
 */
import { mkdir } from 'node:fs/promises';
import { ErrorCode, TsswarmError, errorMessage } from '../../lib/errors.js';
import { runAttached } from '../../lib/run-command.js';
import { killCgroupProcesses, removeCgroupTree } from '../../lib/cgroups.js';
import { unmountBelow } from '../../lib/mounts.js';
import { stopNetnsProcesses } from './cleanup.js';
import { formSwarm, hostSocket, startHostDaemon } from './daemons.js';
import { labRegistryAddr, startLabRegistry } from './registry.js';
import { labCgroupRoot, labNetnsPrefix, validateLabName } from './names.js';
import { addNetns, buildSwitch, configureHost, deleteNetns, listNetns, netnsPids } from './netns.js';
import {
  type LabHost,
  type LabRecord,
  claimLabName,
  labDir,
  listLabNames,
  loadRecord,
  planLab,
  releaseSubnet,
  removeLabDir,
  reserveSubnet,
  saveRecord,
} from './record.js';

/** How many hosts are cabled at once during `lab up`. */
export const labUpConcurrency = 8;

/** Options of `lab up`. */
export interface LabUpOptions {
  readonly name: string;
  readonly hosts: number;
  readonly daemons: boolean;
  /** Managers among the hosts when daemons run (h1..hM); 1 when left out. */
  readonly managers?: number;
  /** Extra tsswarmd flags (tests: a faster raft profile). */
  readonly daemonArgs?: readonly string[];
  /** Run a registry on h1 (port 5000) that the daemons may pull from over plain HTTP. */
  readonly registry?: boolean;
}

/** Checks that the lab can run here at all: root, and the `ip` tool. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new TsswarmError(ErrorCode.PERMISSION, 'the lab needs root (it makes network namespaces)');
  }
}

/** Builds a lab; on any failure removes whatever it made and rethrows. */
export async function labUp(options: LabUpOptions): Promise<LabRecord> {
  validateLabName(options.name);
  const managers = options.managers ?? 1;
  if (!Number.isInteger(managers) || managers < 1 || managers > options.hosts) {
    throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `--managers must be between 1 and the number of hosts (${options.hosts})`);
  }
  if (!options.daemons && options.managers !== undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, '--managers needs daemons (drop --no-daemons)');
  requireRoot();
  await claimLabName(options.name);
  const strays = (await listNetns()).filter((ns) => belongsToLab(ns, options.name));
  if (strays.length > 0) {
    await removeLabDir(options.name);
    throw new TsswarmError(
      ErrorCode.ALREADY_EXISTS,
      `namespaces of a lab "${options.name}" exist already (${strays.join(', ')}); run tsswarm lab down ${options.name}`,
    );
  }
  let record: LabRecord | undefined;
  try {
    const subnetIndex = await reserveSubnet(options.name);
    record = planLab(options.name, options.hosts, subnetIndex, options.daemons, new Date());
    await saveRecord(record);
    await build(record);
    const extraArgs = [...(options.daemonArgs ?? [])];
    if (options.registry === true) extraArgs.push('--insecure-registry', await startLabRegistry(record.hosts[0] as LabHost));
    if (options.daemons) await formSwarm(record, managers, { extraArgs });
    record = { ...record, state: 'up' };
    await saveRecord(record);
    return record;
  } catch (err) {
    await labDown(options.name).catch(() => undefined);
    throw err;
  }
}

async function build(record: LabRecord): Promise<void> {
  await addNetns([record.switchNetns, ...record.hosts.map((h) => h.netns)]);
  await buildSwitch(record.switchNetns, record.hosts);
  for (let start = 0; start < record.hosts.length; start += labUpConcurrency) {
    await Promise.all(record.hosts.slice(start, start + labUpConcurrency).map(buildHost));
  }
}

async function buildHost(host: LabHost): Promise<void> {
  await configureHost(host);
  await mkdir(host.dataDir, { recursive: true, mode: 0o700 });
  await mkdir(host.runDir, { recursive: true, mode: 0o700 });
}

/** What `lab down` removed. */
export interface LabDownReport {
  readonly name: string;
  readonly namespaces: number;
  readonly processes: number;
  readonly mounts: number;
  readonly cgroups: number;
}

/**
 * True when `netns` is one of lab `name`'s namespaces: tss-NAME-sw, tss-NAME-hN, or a namespace that
 * something running on host hN made for itself, tss-NAME-hN.SUFFIX (lab names have no dots, so no
 * lab can claim another's namespaces).
 */
export function belongsToLab(netns: string, name: string): boolean {
  const rest = netns.startsWith(`${labNetnsPrefix}${name}-`) ? netns.slice(labNetnsPrefix.length + name.length + 1) : '';
  return rest === 'sw' || /^h\d+(\.[a-z0-9][a-z0-9.-]*)?$/.test(rest);
}

/**
 * Removes a lab and everything it made: processes in its namespaces, mounts under its folder, its
 * cgroups, its namespaces, its folder. Works from the record, or from the naming scheme when the
 * record was never written (a crash right after the name was claimed).
 */
export async function labDown(name: string): Promise<LabDownReport> {
  validateLabName(name);
  requireRoot();
  const record = await loadRecord(name).catch(async (err: unknown) => {
    if (!(err instanceof TsswarmError)) throw err;
    const known = (await listLabNames()).includes(name);
    const strays = (await listNetns()).filter((ns) => belongsToLab(ns, name));
    if (err.code === ErrorCode.NOT_FOUND && !known && strays.length === 0) throw err;
    return undefined;
  });
  if (record) await saveRecord({ ...record, state: 'removing' });
  const existing = await listNetns();
  const namespaces = existing.filter((ns) => belongsToLab(ns, name));
  // Containers run in namespaces of their own, so they are found by the lab's cgroup tree instead.
  const processes = (await stopNetnsProcesses(namespaces)) + (await killCgroupProcesses(labCgroupRoot(name)));
  const mounts = await unmountBelow(labDir(name));
  const cgroups = await removeCgroupTree(labCgroupRoot(name));
  await deleteNetns(namespaces);
  if (record) await releaseSubnet(name, record.subnetIndex);
  await removeLabDir(name);
  return { name, namespaces: namespaces.length, processes, mounts, cgroups };
}

/** Removes every lab, and any stray tss-* namespace no lab record claims. */
export async function labDownAll(): Promise<LabDownReport[]> {
  requireRoot();
  const reports: LabDownReport[] = [];
  const failures: string[] = [];
  for (const name of await listLabNames()) {
    try {
      reports.push(await labDown(name));
    } catch (err) {
      failures.push(`${name}: ${errorMessage(err)}`);
    }
  }
  const strays = (await listNetns()).filter((ns) => ns.startsWith(labNetnsPrefix));
  if (strays.length > 0) {
    const processes = await stopNetnsProcesses(strays);
    await deleteNetns(strays);
    reports.push({ name: '(stray namespaces)', namespaces: strays.length, processes, mounts: 0, cgroups: 0 });
  }
  if (failures.length > 0) throw new TsswarmError(ErrorCode.EXTERNAL, `lab down --all failed for ${failures.join('; ')}`);
  return reports;
}

/** A lab as `lab ls` shows it: its record, and whether its namespaces are all still there. */
export interface LabStatus {
  readonly record: LabRecord;
  readonly healthy: boolean;
}

/** All labs with a record. */
export async function labList(): Promise<LabStatus[]> {
  const existing = new Set(await listNetns());
  const out: LabStatus[] = [];
  for (const name of await listLabNames()) {
    const record = await loadRecord(name).catch(() => undefined);
    if (!record) continue;
    const healthy = existing.has(record.switchNetns) && record.hosts.every((h) => existing.has(h.netns));
    out.push({ record, healthy });
  }
  return out;
}

/** Finds a host of a lab by name (h1) or underlay address. */
export function findHost(record: LabRecord, host: string): LabHost {
  const found = record.hosts.find((h) => h.name === host || h.address === host);
  if (!found) {
    const names = record.hosts.map((h) => h.name);
    throw new TsswarmError(
      ErrorCode.NOT_FOUND,
      `lab "${record.name}" has no host "${host}" (hosts: ${names[0]}..${names[names.length - 1]})`,
    );
  }
  return found;
}

/**
 * Power loss on a lab host: SIGKILL to everything it runs (its daemon, conmon, its containers);
 * its disks (data dir) stay, so `lab start` brings it back like a rebooted machine.
 */
export async function labKillHost(name: string, host: string): Promise<number> {
  validateLabName(name);
  requireRoot();
  const target = findHost(await loadRecord(name), host);
  const inNetns = await netnsPids([target.netns]);
  for (const pid of inNetns) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  return inNetns.length + (await killCgroupProcesses(target.cgroupParent));
}

/** Starts a lab host's daemon again (after `lab kill`), with the lab's daemon flags. */
export async function labStartHost(name: string, host: string): Promise<void> {
  validateLabName(name);
  requireRoot();
  const record = await loadRecord(name);
  const target = findHost(record, host);
  const registry = record.hosts[0];
  const registryRunning = registry !== undefined && (await netnsPids([registry.netns])).length > 0;
  await startHostDaemon(target, registryRunning && registry !== undefined ? { extraArgs: ['--insecure-registry', labRegistryAddr(registry)] } : {});
}

/** Runs a command inside a lab host's namespace with the caller's stdio; resolves with its exit code. */
export async function labExec(name: string, host: string, command: readonly string[]): Promise<number> {
  validateLabName(name);
  if (command.length === 0) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'lab exec needs a command after --');
  requireRoot();
  const record = await loadRecord(name);
  const target = findHost(record, host);
  // Inside a host, `tsswarm` talks to that host's daemon.
  return runAttached('ip', ['netns', 'exec', target.netns, ...command], { TSSWARM_HOST: `unix://${hostSocket(target)}` });
}
