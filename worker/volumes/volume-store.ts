/**
 * The named volumes of one node, on disk under the daemon's data dir:
 *
 *   DATA/volumes/NAME/meta.json   what the volume is (VolumeMeta), written once, atomically
 *   DATA/volumes/NAME/_data       its data (a folder, or the mount point of its tmpfs or bind mount)
 *
 * A volume is made whole in a hidden folder and renamed into place, and removed by renaming it
 * away first, so a crash never leaves half a volume under a valid name. A volume is in use while a
 * container record names it (`usage`, read from disk) or a container is being made with it (a
 * hold); tmpfs and bind volumes are mounted while in use and unmounted when the last user is gone.
 * Every change runs under one lock.
 */
import { mkdir, readFile, readdir, rename, rm, stat, writeFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, TsswarmError, invalidArgument } from '../../lib/errors.js';
import { isMountPoint, mountsBelow, unmountBelow } from '../../lib/mounts.js';
import { runCommand } from '../../lib/run-command.js';
import { checkDriver, localDriver, parseLocalOptions, type LocalMount } from './local-options.js';
import { anonymousVolumeLabel, generatedVolumeName, validateVolumeName } from './names.js';

/** What a volume is, as meta.json holds it. */
export interface VolumeMeta {
  readonly version: 1;
  readonly name: string;
  readonly driver: string;
  readonly options: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly createdAt: string;
  readonly anonymous: boolean;
}

/** A volume as `ls` and `inspect` show it. */
export interface VolumeInfo extends VolumeMeta {
  /** The data folder on the host. */
  readonly mountpoint: string;
  /** Containers that use it. */
  readonly usedBy: readonly string[];
}

/** What to make (name empty: a generated one). */
export interface VolumeRequest {
  readonly name?: string;
  readonly driver?: string;
  readonly options?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly anonymous?: boolean;
}

/** Settings of a store. */
export interface VolumeStoreOptions {
  /** DATA/volumes. */
  readonly root: string;
  /** Names of the containers whose records use each volume, by volume name (read once per operation). */
  readonly usage: () => Promise<ReadonlyMap<string, readonly string[]>>;
  readonly now?: () => Date;
}

/** A volume held for a container being made. */
export interface HeldVolume {
  readonly name: string;
  /** The data folder to bind into the container. */
  readonly path: string;
  /** Made by this hold (so undone with it). */
  readonly created: boolean;
}

/** Most entries walked when measuring a volume for `prune`. */
export const maxSizeWalkEntries = 1_000_000;

const metaFile = 'meta.json';
const dataDir = '_data';

/** The volumes of one node. */
export class VolumeStore {
  private lock: Promise<unknown> = Promise.resolve();
  private readonly holds = new Map<string, number>();
  private readonly now: () => Date;

  constructor(private readonly options: VolumeStoreOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** The folder of volume `name`. */
  private dir(name: string): string {
    return join(this.options.root, name);
  }

  /** The data folder of volume `name`. */
  dataPath(name: string): string {
    return join(this.dir(name), dataDir);
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Removes what a crash left: folders being made or removed. */
  async recover(): Promise<void> {
    await this.exclusive(async () => {
      for (const entry of await readdir(this.options.root).catch(() => [] as string[])) {
        if (entry.startsWith('.')) await this.erase(join(this.options.root, entry));
      }
    });
  }

  /**
   * Creates a volume; an existing one of that name is returned as it is, as docker does
   * (`created` false). Nothing is made when the request is refused.
   */
  async create(request: VolumeRequest): Promise<{ info: VolumeInfo; created: boolean }> {
    return this.exclusive(async () => {
      const r = await this.createLocked(request);
      return { info: this.infoOf(r.meta, await this.options.usage()), created: r.created };
    });
  }

  private async createLocked(request: VolumeRequest): Promise<{ meta: VolumeMeta; created: boolean }> {
    const name = request.name !== undefined && request.name !== '' ? request.name : generatedVolumeName();
    validateVolumeName(name);
    checkDriver(request.driver ?? '');
    const existing = await this.read(name);
    if (existing !== undefined) return { meta: existing, created: false };
    const options = { ...(request.options ?? {}) };
    const mount = parseLocalOptions(options);
    if (mount.kind === 'bind') await this.checkBindDevice(mount.device);
    const labels = { ...(request.labels ?? {}), ...(request.anonymous === true ? { [anonymousVolumeLabel]: '' } : {}) };
    for (const key of Object.keys(labels)) if (key === '') throw invalidArgument('a volume label needs a key');
    const meta: VolumeMeta = { version: 1, name, driver: localDriver, options, labels, createdAt: this.now().toISOString(), anonymous: request.anonymous === true };
    await mkdir(this.options.root, { recursive: true, mode: 0o700 });
    const scratch = join(this.options.root, `.new-${generatedVolumeName().slice(0, 16)}`);
    try {
      await mkdir(join(scratch, dataDir), { recursive: true, mode: 0o755 });
      await writeFile(join(scratch, metaFile), JSON.stringify(meta, null, 2), { mode: 0o600 });
      await rename(scratch, this.dir(name));
    } catch (err) {
      await rm(scratch, { recursive: true, force: true });
      throw err;
    }
    return { meta, created: true };
  }

  private async checkBindDevice(device: string): Promise<void> {
    const root = this.options.root.endsWith('/') ? this.options.root : `${this.options.root}/`;
    if (device === this.options.root || device.startsWith(root)) throw invalidArgument(`bind device ${device} is inside the volume store`);
    const s = await stat(device).catch(() => undefined);
    if (s === undefined) throw invalidArgument(`bind device ${device} does not exist`);
    if (!s.isDirectory()) throw invalidArgument(`bind device ${device} is not a directory`);
  }

  private async read(name: string): Promise<VolumeMeta | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.dir(name), metaFile), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return JSON.parse(text) as VolumeMeta;
    } catch (err) {
      throw new TsswarmError(ErrorCode.CORRUPT, `volume ${name}: ${metaFile} is unreadable: ${(err as Error).message}`);
    }
  }

  private infoOf(meta: VolumeMeta, usage: ReadonlyMap<string, readonly string[]>): VolumeInfo {
    return { ...meta, mountpoint: this.dataPath(meta.name), usedBy: usage.get(meta.name) ?? [] };
  }

  /** Who uses volume `name`: containers (from `usage`) and holds. */
  private users(name: string, usage: ReadonlyMap<string, readonly string[]>): readonly string[] {
    const held = this.holds.get(name) ?? 0;
    const users = usage.get(name) ?? [];
    return held > 0 ? [...users, `${held} container(s) being created`] : users;
  }

  /** One volume; NOT_FOUND when there is none. */
  async inspect(name: string): Promise<VolumeInfo> {
    if (!this.isValidName(name)) throw new TsswarmError(ErrorCode.NOT_FOUND, `no such volume: ${name}`);
    const meta = await this.read(name);
    if (meta === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, `no such volume: ${name}`);
    return this.infoOf(meta, await this.options.usage());
  }

  private isValidName(name: string): boolean {
    try {
      validateVolumeName(name);
      return true;
    } catch {
      return false;
    }
  }

  /** Every volume, by name. */
  async list(): Promise<VolumeInfo[]> {
    return this.listWith(await this.options.usage());
  }

  private async listWith(usage: ReadonlyMap<string, readonly string[]>): Promise<VolumeInfo[]> {
    const names = (await readdir(this.options.root).catch(() => [] as string[])).filter((n) => this.isValidName(n)).sort();
    const metas = await Promise.all(names.map((n) => this.read(n).catch(() => undefined)));
    return metas.filter((m): m is VolumeMeta => m !== undefined).map((m) => this.infoOf(m, usage));
  }

  /**
   * Removes a volume that no container uses (CONFLICT naming them otherwise). A missing volume is
   * NOT_FOUND, or false with `force`.
   */
  async remove(name: string, force: boolean): Promise<boolean> {
    return this.exclusive(async () => {
      const meta = this.isValidName(name) ? await this.read(name) : undefined;
      if (meta === undefined) {
        if (force) return false;
        throw new TsswarmError(ErrorCode.NOT_FOUND, `no such volume: ${name}`);
      }
      const users = this.users(name, await this.options.usage());
      if (users.length > 0) throw new TsswarmError(ErrorCode.CONFLICT, `cannot remove volume ${name}: it is in use by ${users.join(', ')}`);
      await this.removeLocked(name);
      return true;
    });
  }

  /** Removes unused volumes: anonymous ones, or all with `all`; only those with every label asked for. */
  async prune(options: { all: boolean; labels?: readonly string[] }): Promise<{ deleted: string[]; reclaimedBytes: number }> {
    return this.exclusive(async () => {
      const deleted: string[] = [];
      let reclaimedBytes = 0;
      const usage = await this.options.usage();
      for (const v of await this.listWith(usage)) {
        if (!options.all && !v.anonymous) continue;
        if (!(options.labels ?? []).every((l) => hasLabel(v.labels, l))) continue;
        if (this.users(v.name, usage).length > 0) continue;
        if (parseLocalOptions(v.options).kind === 'directory') reclaimedBytes += await directoryBytes(this.dataPath(v.name));
        await this.removeLocked(v.name);
        deleted.push(v.name);
      }
      return { deleted, reclaimedBytes };
    });
  }

  private async removeLocked(name: string): Promise<void> {
    const dir = this.dir(name);
    await unmountBelow(dir);
    const left = mountsBelow(await readFile('/proc/self/mountinfo', 'utf8'), dir);
    if (left.length > 0) throw new TsswarmError(ErrorCode.EXTERNAL, `cannot remove volume ${name}: ${left.join(', ')} is still mounted`);
    const trash = join(this.options.root, `.rm-${generatedVolumeName().slice(0, 16)}`);
    await rename(dir, trash);
    await this.erase(trash);
  }

  /** Deletes a folder of the store, never through a mount (bind volumes point at the user's data). */
  private async erase(path: string): Promise<void> {
    await unmountBelow(path);
    if (mountsBelow(await readFile('/proc/self/mountinfo', 'utf8'), path).length > 0) {
      throw new TsswarmError(ErrorCode.EXTERNAL, `cannot remove ${path}: something below it is still mounted`);
    }
    await rm(path, { recursive: true, force: true });
  }

  /**
   * Holds volumes for a container being made: each is found or created (with its request) and its
   * tmpfs or bind mount made. Either all are held or, on failure, none (volumes made here are removed).
   * Release with `unhold` once the container's record names them (or it failed).
   */
  async hold(requests: readonly VolumeRequest[]): Promise<HeldVolume[]> {
    for (const r of requests) {
      if (r.name !== undefined && r.name !== '') validateVolumeName(r.name);
      checkDriver(r.driver ?? '');
    }
    return this.exclusive(async () => {
      const held: HeldVolume[] = [];
      try {
        for (const r of requests) {
          const { meta, created } = await this.createLocked(r);
          this.holds.set(meta.name, (this.holds.get(meta.name) ?? 0) + 1);
          held.push({ name: meta.name, path: this.dataPath(meta.name), created });
          await this.mountLocked(meta);
        }
        return held;
      } catch (err) {
        await this.unholdLocked(held, true).catch(() => undefined);
        throw err;
      }
    });
  }

  /** Drops holds; with `undo`, volumes they created are removed again. Unused mounts are unmounted. */
  async unhold(held: readonly HeldVolume[], undo: boolean): Promise<void> {
    await this.exclusive(() => this.unholdLocked(held, undo));
  }

  private async unholdLocked(held: readonly HeldVolume[], undo: boolean): Promise<void> {
    for (const h of held) {
      const left = (this.holds.get(h.name) ?? 1) - 1;
      if (left > 0) this.holds.set(h.name, left);
      else this.holds.delete(h.name);
    }
    const usage = await this.options.usage();
    for (const h of held) {
      if (this.users(h.name, usage).length > 0) continue;
      if (undo && h.created) await this.removeLocked(h.name);
      else await unmountBelow(this.dataPath(h.name));
    }
  }

  /**
   * After containers were removed: volumes of `names` that no one uses any more are unmounted, and
   * the anonymous ones among them removed when `removeAnonymous` (`run --rm`).
   */
  async released(names: readonly string[], removeAnonymous: boolean): Promise<void> {
    await this.exclusive(async () => {
      const usage = await this.options.usage();
      for (const name of new Set(names)) {
        const meta = await this.read(name).catch(() => undefined);
        if (meta === undefined || this.users(name, usage).length > 0) continue;
        if (removeAnonymous && meta.anonymous) await this.removeLocked(name);
        else await unmountBelow(this.dataPath(name));
      }
    });
  }

  private async mountLocked(meta: VolumeMeta): Promise<void> {
    const mount: LocalMount = parseLocalOptions(meta.options);
    const path = this.dataPath(meta.name);
    if (mount.kind === 'directory' || (await isMountPoint(path))) return;
    try {
      if (mount.kind === 'tmpfs') {
        await runCommand('mount', ['-t', 'tmpfs', ...(mount.options.length > 0 ? ['-o', mount.options.join(',')] : []), mount.device, path]);
        return;
      }
      await this.checkBindDevice(mount.device);
      await runCommand('mount', [mount.recursive ? '--rbind' : '--bind', mount.device, path]);
      if (mount.readOnly) await runCommand('mount', ['-o', 'remount,bind,ro', path]);
    } catch (err) {
      await unmountBelow(path).catch(() => undefined);
      if (err instanceof TsswarmError && err.code === ErrorCode.INVALID_ARGUMENT) throw err;
      throw new TsswarmError(ErrorCode.EXTERNAL, `cannot mount volume ${meta.name}: ${(err as Error).message}`, { cause: err });
    }
  }
}

function hasLabel(labels: Readonly<Record<string, string>>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return labels[filter] !== undefined;
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

/** Bytes of the files below `dir` (not following links, not crossing into mounts' data twice). */
export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  let seen = 0;
  const stack = [dir];
  while (stack.length > 0 && seen < maxSizeWalkEntries) {
    const current = stack.pop() as string;
    for (const entry of await readdir(current).catch(() => [] as string[])) {
      seen++;
      const path = join(current, entry);
      const s = await lstat(path).catch(() => undefined);
      if (s === undefined) continue;
      if (s.isDirectory()) stack.push(path);
      else total += s.size;
    }
  }
  return total;
}
