/**
 * The on-disk record of each container (what was asked for), so a restarted daemon finds every
 * container again; runc and conmon's files say what became of it.
 */
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import type { ContainerConfig } from './container-config.js';
import { containerPaths, containersDir, type RuntimeDirs } from './paths.js';

/** What a container was created from. */
export interface ContainerRecord {
  readonly version: 1;
  readonly config: ContainerConfig;
  /** The image reference as the user gave it. */
  readonly image: string;
  /** The image's ID (config digest), when known. */
  readonly imageId: string;
  /** Image layer folders, topmost first. */
  readonly lowerDirs: readonly string[];
  /** The cgroup path (relative to each hierarchy). */
  readonly cgroupsPath: string;
  readonly createdAt: string;
  readonly startedAt?: string;
  /** Remove the container when it exits (`run --rm`). */
  readonly autoRemove: boolean;
}

/** Writes a record atomically. */
export async function saveContainerRecord(dirs: RuntimeDirs, record: ContainerRecord): Promise<void> {
  const p = containerPaths(dirs, record.config.id);
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  await writeFile(`${p.record}.tmp`, JSON.stringify(record, null, 2), { mode: 0o600 });
  await rename(`${p.record}.tmp`, p.record);
}

/** Reads a record; NOT_FOUND when there is none. */
export async function loadContainerRecord(dirs: RuntimeDirs, id: string): Promise<ContainerRecord> {
  try {
    return JSON.parse(await readFile(containerPaths(dirs, id).record, 'utf8')) as ContainerRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new TsswarmError(ErrorCode.NOT_FOUND, `no such container: ${id}`);
    throw new TsswarmError(ErrorCode.CORRUPT, `container record of ${id} is unreadable: ${(err as Error).message}`);
  }
}

/** Every container record, oldest first; unreadable ones are skipped. */
export async function listContainerRecords(dirs: RuntimeDirs): Promise<ContainerRecord[]> {
  const ids = await readdir(containersDir(dirs)).catch(() => [] as string[]);
  const records = await Promise.all(ids.map((id) => loadContainerRecord(dirs, id).catch(() => undefined)));
  return records.filter((r): r is ContainerRecord => r !== undefined).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}
