/**
 * A task's secrets and configs as files in its container, as Docker's swarm executor does it:
 * each task gets its own tmpfs on the host (`<secretsDir>/<taskId>`, mode 0700, never backed by
 * disk), the referenced secrets and configs are written there with the reference's uid, gid and
 * mode, and each file is bind-mounted read-only into the container: secrets at /run/secrets/NAME
 * (or an absolute target), configs at /NAME (or an absolute target). The tmpfs goes when the task's
 * container is removed; at start, tmpfs mounts of tasks that have no container any more are
 * removed too (a restart in between loses nothing and leaves nothing). Data is never logged.
 *
 * `secretFilePlan` is the pure part (what goes where, or why the task cannot run);
 * `TaskSecretFiles` does the mounting and writing.
 */
import { chmod, chown, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';
import { ErrorCode, TsswarmError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { isMountPoint, unmountBelow } from '../../lib/mounts.js';
import { runCommand } from '../../lib/run-command.js';
import { ContainerMount, type Config, type Secret, type Task } from '../../proto/index.js';

/** Where relative secret targets go in the container. */
export const secretsMountDir = '/run/secrets';
/** Where relative config targets go in the container. */
export const configsMountDir = '/';
/** Docker's default file mode of secrets and configs. */
export const defaultFileMode = 0o444;
/** The smallest per-task tmpfs; larger when the task's files need it. */
export const minTaskTmpfsBytes = 1024 * 1024;
/** Room per file on the tmpfs beyond its data (inodes, page rounding). */
export const tmpfsSlackPerFileBytes = 8 * 1024;

/** One file a task needs. */
export interface SecretFile {
  readonly kind: 'secret' | 'config';
  /** The secret's or config's ID and name (for messages). */
  readonly id: string;
  readonly name: string;
  /** The file's name in the task's tmpfs (never derived from user input). */
  readonly hostName: string;
  /** Absolute path in the container. */
  readonly target: string;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  readonly data: Uint8Array;
}

function numericId(text: string, what: string): number {
  if (text === '') return 0;
  if (!/^\d+$/.test(text)) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `${what} ${JSON.stringify(text)} is not a numeric ID`);
  return Number(text);
}

function containerPath(base: string, name: string, what: string): string {
  const path = isAbsolute(name) ? posix.normalize(name) : posix.join(base, name);
  if (name === '' || name.split('/').includes('..') || path === '/' || path === secretsMountDir) {
    throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `${what}: invalid target ${JSON.stringify(name)}`);
  }
  return path;
}

/**
 * The files task `task` needs, from the secrets and configs the node was given. NOT_FOUND when a
 * referenced one is missing (the dispatcher sends them before the task; one that never came is an
 * error of the task), INVALID_ARGUMENT for a bad target, uid or gid.
 */
export function secretFilePlan(task: Task, secrets: ReadonlyMap<string, Secret>, configs: ReadonlyMap<string, Config>): SecretFile[] {
  const c = task.spec?.container;
  if (c === undefined) return [];
  const out: SecretFile[] = [];
  c.secrets.forEach((ref, i) => {
    const secret = secrets.get(ref.secretId);
    const name = ref.secretName || ref.secretId;
    if (secret === undefined || secret.spec === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, `secret ${name} (${ref.secretId}) was not sent to this node`);
    const what = `secret ${name}`;
    out.push({
      kind: 'secret',
      id: ref.secretId,
      name,
      hostName: `secret-${i}`,
      target: containerPath(secretsMountDir, ref.file?.name || name, what),
      uid: numericId(ref.file?.uid ?? '', `${what}: uid`),
      gid: numericId(ref.file?.gid ?? '', `${what}: gid`),
      mode: (ref.file?.mode ?? 0) & 0o7777 || defaultFileMode,
      data: secret.spec.data,
    });
  });
  c.configs.forEach((ref, i) => {
    const config = configs.get(ref.configId);
    const name = ref.configName || ref.configId;
    if (config === undefined || config.spec === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, `config ${name} (${ref.configId}) was not sent to this node`);
    const what = `config ${name}`;
    out.push({
      kind: 'config',
      id: ref.configId,
      name,
      hostName: `config-${i}`,
      target: containerPath(configsMountDir, ref.file?.name || name, what),
      uid: numericId(ref.file?.uid ?? '', `${what}: uid`),
      gid: numericId(ref.file?.gid ?? '', `${what}: gid`),
      mode: (ref.file?.mode ?? 0) & 0o7777 || defaultFileMode,
      data: config.spec.data,
    });
  });
  const seen = new Set<string>();
  for (const f of out) {
    if (seen.has(f.target)) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `two secrets or configs of task ${task.id} have the target ${f.target}`);
    seen.add(f.target);
  }
  return out;
}

/** The size of the tmpfs for `files`. */
export function tmpfsSizeFor(files: readonly SecretFile[]): number {
  const need = files.reduce((sum, f) => sum + f.data.length + tmpfsSlackPerFileBytes, 0);
  return Math.max(minTaskTmpfsBytes, Math.ceil(need / 4096) * 4096);
}

/** The read-only bind mounts of `files` from the task's folder `dir`. */
export function bindMountsFor(dir: string, files: readonly SecretFile[]): ContainerMount[] {
  return files.map((f) => ContainerMount.create({ type: 'bind', source: join(dir, f.hostName), target: f.target, readOnly: true }));
}

const taskIdPattern = /^[a-zA-Z0-9_-]{1,64}$/;

/** The secret and config files of this node's tasks, under one folder (see the file comment). */
export class TaskSecretFiles {
  constructor(
    /** The folder holding one tmpfs per task; must not be on a path that is backed up or searched for data. */
    readonly rootDir: string,
    private readonly log: Logger,
  ) {}

  /** The folder of task `taskId`. */
  dirOf(taskId: string): string {
    if (!taskIdPattern.test(taskId)) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `invalid task ID ${JSON.stringify(taskId)}`);
    return join(this.rootDir, taskId);
  }

  /**
   * Mounts the task's tmpfs (again, if it was mounted before), writes its files and returns the
   * container mounts. Nothing when the task references no secret or config.
   */
  async prepare(task: Task, secrets: ReadonlyMap<string, Secret>, configs: ReadonlyMap<string, Config>): Promise<ContainerMount[]> {
    const files = secretFilePlan(task, secrets, configs);
    if (files.length === 0) return [];
    const dir = this.dirOf(task.id);
    await mkdir(this.rootDir, { recursive: true, mode: 0o700 });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (await isMountPoint(dir)) await unmountBelow(dir);
    try {
      await runCommand('mount', ['-t', 'tmpfs', '-o', `size=${tmpfsSizeFor(files)},mode=0700,nosuid,nodev,noexec`, 'tmpfs', dir]);
    } catch (err) {
      throw new TsswarmError(ErrorCode.EXTERNAL, `cannot mount the tmpfs for the secrets of task ${task.id}: ${errorMessage(err)}`, { cause: err });
    }
    try {
      for (const f of files) {
        const path = join(dir, f.hostName);
        await writeFile(path, f.data, { mode: 0o600 });
        await chown(path, f.uid, f.gid);
        await chmod(path, f.mode);
      }
    } catch (err) {
      await this.release(task.id).catch(() => undefined);
      throw new TsswarmError(ErrorCode.EXTERNAL, `cannot write the secrets and configs of task ${task.id}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
    }
    this.log.info({ task: task.id, secrets: files.filter((f) => f.kind === 'secret').map((f) => f.name), configs: files.filter((f) => f.kind === 'config').map((f) => f.name) }, 'secrets and configs of the task are in place');
    return bindMountsFor(dir, files);
  }

  /** Unmounts and removes the task's folder (idempotent). */
  async release(taskId: string): Promise<void> {
    const dir = this.dirOf(taskId);
    await unmountBelow(dir);
    await rm(dir, { recursive: true, force: true });
  }

  /** Removes the folders of every task not in `keep` (after a restart: tasks whose container is gone). */
  async releaseAllExcept(keep: ReadonlySet<string>): Promise<number> {
    const names = await readdir(this.rootDir).catch(() => [] as string[]);
    let released = 0;
    for (const name of names) {
      if (keep.has(name) || !taskIdPattern.test(name)) continue;
      await this.release(name).catch((err: unknown) => this.log.warn({ task: name, err: errorMessage(err) }, 'could not remove the secrets folder of a gone task'));
      released++;
    }
    return released;
  }
}
