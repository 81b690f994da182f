/**
 * The lab's record of what it made, written before it makes anything, so that `lab down` can remove
 * a lab even when whatever created it crashed half-way.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import {
  hostAddress,
  hostCgroupParent,
  hostName,
  hostNetns,
  labPrefixLength,
  labSubnet,
  labSubnetCount,
  switchNetns,
} from './names.js';

/** One host of a lab. */
export interface LabHost {
  readonly name: string;
  readonly netns: string;
  readonly address: string;
  readonly prefixLength: number;
  readonly dataDir: string;
  readonly runDir: string;
  readonly cgroupParent: string;
}

/** Where a lab is in its life. */
export type LabState = 'creating' | 'up' | 'removing';

/** Everything a lab made or is about to make. */
export interface LabRecord {
  readonly version: 1;
  readonly name: string;
  readonly subnetIndex: number;
  readonly subnet: string;
  readonly switchNetns: string;
  readonly createdAt: string;
  readonly daemons: boolean;
  readonly state: LabState;
  readonly hosts: readonly LabHost[];
}

/** Root folder of all lab records and host folders (TSSWARM_LAB_ROOT overrides it). */
export function labRoot(): string {
  return process.env['TSSWARM_LAB_ROOT'] ?? '/var/lib/tsswarm/labs';
}

/** The folder of one lab. */
export function labDir(name: string): string {
  return join(labRoot(), name);
}

function recordPath(name: string): string {
  return join(labDir(name), 'lab.json');
}

function subnetsDir(): string {
  return join(labRoot(), '.subnets');
}

/** The record a lab will have once created (pure apart from the root path). */
export function planLab(name: string, hostCount: number, subnetIndex: number, daemons: boolean, now: Date): LabRecord {
  const dir = labDir(name);
  const hosts: LabHost[] = [];
  for (let i = 1; i <= hostCount; i++) {
    const host = hostName(i);
    hosts.push({
      name: host,
      netns: hostNetns(name, host),
      address: hostAddress(subnetIndex, i),
      prefixLength: labPrefixLength,
      dataDir: join(dir, host, 'data'),
      runDir: join(dir, host, 'run'),
      cgroupParent: hostCgroupParent(name, host),
    });
  }
  return {
    version: 1,
    name,
    subnetIndex,
    subnet: labSubnet(subnetIndex),
    switchNetns: switchNetns(name),
    createdAt: now.toISOString(),
    daemons,
    state: 'creating',
    hosts,
  };
}

/** Creates the lab's folder; ALREADY_EXISTS when a lab of that name exists. */
export async function claimLabName(name: string): Promise<void> {
  await mkdir(labRoot(), { recursive: true, mode: 0o700 });
  try {
    await mkdir(labDir(name), { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `lab "${name}" already exists (tsswarm lab down ${name} removes it)`);
    }
    throw err;
  }
}

/** Reserves the lowest free subnet index (atomically, by making a marker folder). */
export async function reserveSubnet(name: string): Promise<number> {
  await mkdir(subnetsDir(), { recursive: true, mode: 0o700 });
  for (let k = 0; k < labSubnetCount; k++) {
    try {
      await mkdir(join(subnetsDir(), String(k)));
      await writeFile(join(subnetsDir(), String(k), 'owner'), name);
      return k;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new TsswarmError(ErrorCode.CONFLICT, `all ${labSubnetCount} lab subnets are in use; remove a lab first`);
}

/** Frees a subnet index, but only when `name` holds it. */
export async function releaseSubnet(name: string, k: number): Promise<void> {
  const dir = join(subnetsDir(), String(k));
  const owner = await readFile(join(dir, 'owner'), 'utf8').catch(() => undefined);
  if (owner === name || owner === undefined) await rm(dir, { recursive: true, force: true });
}

/** Writes the record atomically (write to a temporary file, then rename). */
export async function saveRecord(record: LabRecord): Promise<void> {
  const path = recordPath(record.name);
  await writeFile(`${path}.tmp`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

/** Reads a lab's record; NOT_FOUND when there is no such lab. */
export async function loadRecord(name: string): Promise<LabRecord> {
  let text: string;
  try {
    text = await readFile(recordPath(name), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TsswarmError(ErrorCode.NOT_FOUND, `no lab named "${name}" (tsswarm lab ls lists them)`);
    }
    throw err;
  }
  return parseRecord(name, text);
}

function parseRecord(name: string, text: string): LabRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new TsswarmError(ErrorCode.CORRUPT, `lab record ${recordPath(name)} is not valid JSON`);
  }
  const r = value as Partial<LabRecord>;
  if (r.version !== 1 || r.name !== name || !Array.isArray(r.hosts) || typeof r.subnetIndex !== 'number') {
    throw new TsswarmError(ErrorCode.CORRUPT, `lab record ${recordPath(name)} is not a version-1 lab record`);
  }
  return value as LabRecord;
}

/** Names of all labs that have a folder, sorted. A folder without a record is a lab that crashed early. */
export async function listLabNames(): Promise<string[]> {
  const entries = await readdir(labRoot(), { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

/** Removes a lab's folder and everything in it. */
export async function removeLabDir(name: string): Promise<void> {
  await rm(labDir(name), { recursive: true, force: true });
}
