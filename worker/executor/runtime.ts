/**
 * The container runtime of one host: create, start, wait, stop, remove, inspect, list, exec, logs.
 * runc runs the containers and conmon holds them, so they (and their logs) outlive this process; all
 * state is on disk (records) or with runc and conmon, and is read back on demand.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeCgroupTree } from '../../lib/cgroups.js';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { conmonCreate } from './conmon.js';
import { validateContainerConfig, type ContainerConfig } from './container-config.js';
import { listContainerRecords, loadContainerRecord, saveContainerRecord, type ContainerRecord } from './container-store.js';
import { readExitStatus, waitForExit, type ExitStatus } from './exit-status.js';
import { buildOciSpec } from './oci-spec.js';
import { containerPaths, type ContainerPaths, type RuntimeDirs } from './paths.js';
import { mountRootfs, unmountRootfs } from './rootfs.js';
import { Runc } from './runc.js';
import { resolveUser } from './user.js';
import type { PreparedVolumes, VolumeMounter } from './volume-mounter.js';

/** What a container is doing now. */
export type ContainerStatus = 'created' | 'running' | 'exited';

/** A container as `inspect` and `ls` show it. */
export interface ContainerInfo {
  readonly record: ContainerRecord;
  readonly status: ContainerStatus;
  readonly pid: number | undefined;
  readonly exit: ExitStatus | undefined;
}

/** Settings of a runtime. */
export interface RuntimeOptions extends RuntimeDirs {
  /** cgroup under which containers go (relative to each hierarchy's root), e.g. "tsswarm". */
  readonly cgroupParent: string;
  /** The node's volumes; without it, volume mounts are refused. */
  readonly volumes?: VolumeMounter;
}

/** What create() needs besides the config. */
export interface CreateRequest {
  readonly config: ContainerConfig;
  readonly image: string;
  readonly imageId: string;
  readonly lowerDirs: readonly string[];
  readonly autoRemove: boolean;
}

/** Poll period while waiting for a stopped container's exit file after SIGKILL. */
const killSettleMs = 5_000;

/** One host's containers. */
export class Runtime {
  private readonly runc: Runc;

  constructor(private readonly options: RuntimeOptions) {
    this.runc = new Runc(join(options.runDir, 'runc'));
  }

  private paths(id: string): ContainerPaths {
    return containerPaths(this.options, id);
  }

  /** Creates a container (rootfs mounted, process not started). Nothing is left behind on failure. */
  async create(request: CreateRequest): Promise<ContainerInfo> {
    validateContainerConfig(request.config);
    const existing = await listContainerRecords(this.options);
    if (existing.some((r) => r.config.name === request.config.name)) {
      throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `the container name "${request.config.name}" is already in use`);
    }
    const volumes = await this.prepareVolumes(request.config);
    const config = volumes ? { ...request.config, mounts: volumes.mounts } : request.config;
    const p = this.paths(config.id);
    const record: ContainerRecord = {
      version: 1,
      config,
      image: request.image,
      imageId: request.imageId,
      lowerDirs: request.lowerDirs,
      cgroupsPath: `/${this.options.cgroupParent}/${config.id}`,
      createdAt: new Date().toISOString(),
      autoRemove: request.autoRemove,
    };
    try {
      await saveContainerRecord(this.options, record);
      await Promise.all([p.exitDir, p.persistDir, p.etcDir, p.runcRoot, p.socketDir].map((d) => mkdir(d, { recursive: true, mode: 0o700 })));
      await mountRootfs({ lowerDirs: request.lowerDirs, upperDir: p.upperDir, workDir: p.workDir, mountPoint: p.rootfs });
      await volumes?.populate(p.rootfs);
      const etcFiles = await this.writeEtcFiles(config, p);
      const user = resolveUser(config.user, await readImageFile(p.rootfs, 'etc/passwd'), await readImageFile(p.rootfs, 'etc/group'));
      const spec = buildOciSpec({ ...config, etcFiles }, user, { rootfs: p.rootfs, cgroupsPath: record.cgroupsPath, ...(volumes ? { volumePaths: volumes.paths } : {}) });
      await writeFile(p.specFile, JSON.stringify(spec));
      await conmonCreate(config.id, config.name, p);
      const info = await this.inspect(config.id);
      await volumes?.settle(false);
      return info;
    } catch (err) {
      await this.destroy(record).catch(() => undefined);
      await volumes?.settle(true).catch(() => undefined);
      throw err;
    }
  }

  /** The config's volumes, found or created and ready; undefined when it mounts none. */
  private async prepareVolumes(config: ContainerConfig): Promise<PreparedVolumes | undefined> {
    if (!config.mounts.some((m) => m.type === 'volume')) return undefined;
    if (!this.options.volumes) throw new TsswarmError(ErrorCode.UNSUPPORTED, 'this runtime has no volume store; volume mounts are not available');
    return this.options.volumes.prepare(config.mounts);
  }

  private async writeEtcFiles(config: ContainerConfig, p: ContainerPaths): Promise<{ hosts: string; resolvConf: string; hostname: string }> {
    const files = { hosts: join(p.etcDir, 'hosts'), resolvConf: join(p.etcDir, 'resolv.conf'), hostname: join(p.etcDir, 'hostname') };
    const hosts = `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${config.hostname}\n`;
    // On overlay networks the names are answered by netd's DNS on the gateways (service names,
    // tasks.NAME, and other names forwarded to the host's resolvers).
    const resolv =
      config.dnsServers !== undefined && config.dnsServers.length > 0
        ? `${config.dnsServers.map((s) => `nameserver ${s}`).join('\n')}\noptions ndots:0\n`
        : await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
    await writeFile(files.hosts, hosts);
    await writeFile(files.resolvConf, resolv);
    await writeFile(files.hostname, `${config.hostname}\n`);
    return files;
  }

  /** Starts a created container; returns its record. */
  async start(id: string): Promise<ContainerRecord> {
    const info = await this.inspect(id);
    if (info.status === 'running') return info.record;
    if (info.status === 'exited') {
      throw new TsswarmError(ErrorCode.CONFLICT, `container ${info.record.config.name} has exited; its process cannot be started again`);
    }
    await this.runc.start(id);
    const record = { ...info.record, startedAt: new Date().toISOString() };
    await saveContainerRecord(this.options, record);
    return record;
  }

  /** Waits for the container to end. */
  async wait(id: string, timeoutMs?: number): Promise<ExitStatus> {
    await loadContainerRecord(this.options, id);
    const p = this.paths(id);
    return waitForExit(p.exitFile, p.oomFile, timeoutMs);
  }

  /** Stops a container: its stop signal, the grace period, then SIGKILL to every process. */
  async stop(id: string, graceMs?: number): Promise<ExitStatus | undefined> {
    const info = await this.inspect(id);
    if (info.status === 'exited') return info.exit;
    if (info.status === 'created') {
      await this.runc.kill(id, 'KILL', true);
      return this.wait(id, killSettleMs).catch(() => undefined);
    }
    const grace = graceMs ?? info.record.config.stopGracePeriodMs;
    await this.runc.kill(id, info.record.config.stopSignal);
    const ended = await this.wait(id, grace).catch(() => undefined);
    if (ended) return ended;
    await this.runc.kill(id, 'KILL', true);
    return this.wait(id, killSettleMs);
  }

  /** Removes a container; a running one only with `force` (which kills it first); `removeVolumes`: its anonymous volumes too. */
  async remove(id: string, force: boolean, removeVolumes = false): Promise<void> {
    const info = await this.inspect(id);
    if (info.status === 'running' && !force) {
      throw new TsswarmError(
        ErrorCode.CONFLICT,
        `cannot remove container ${info.record.config.name}: it is running (stop it first, or use --force)`,
      );
    }
    if (info.status !== 'exited') {
      await this.runc.kill(id, 'KILL', true);
      await this.wait(id, killSettleMs).catch(() => undefined);
    }
    await this.destroy(info.record, removeVolumes);
  }

  /**
   * Deletes everything of a container: runc state, mounts, cgroup, folder; then lets go of its
   * volumes (its anonymous ones are removed with `removeVolumes` or when it ran with `--rm`).
   */
  private async destroy(record: ContainerRecord, removeVolumes = false): Promise<void> {
    const p = this.paths(record.config.id);
    await this.runc.delete(record.config.id, true);
    await unmountRootfs(p.rootfs);
    await removeCgroupTree(record.cgroupsPath.slice(1));
    await rm(p.dir, { recursive: true, force: true });
    if (record.config.mounts.some((m) => m.type === 'volume')) await this.options.volumes?.released(record.config.mounts, record.autoRemove || removeVolumes);

  }


  /** How the container ended, or undefined while it has not (reads conmon's files only: cheap). */
  async exitStatus(id: string): Promise<ExitStatus | undefined> {
    const p = this.paths(id);
    return readExitStatus(p.exitFile, p.oomFile);
  }

  /** A container's current state; NOT_FOUND for an unknown ID. */
  async inspect(id: string): Promise<ContainerInfo> {
    const record = await loadContainerRecord(this.options, id);
    const p = this.paths(id);
    const exit = await readExitStatus(p.exitFile, p.oomFile);
    if (exit) return { record, status: 'exited', pid: undefined, exit };
    const state = await this.runc.state(id);
    if (state && (state.status === 'running' || state.status === 'paused')) return { record, status: 'running', pid: state.pid, exit: undefined };
    if (state && (state.status === 'created' || state.status === 'creating')) return { record, status: 'created', pid: state.pid, exit: undefined };
    // runc says stopped (or forgot it) but conmon has not written the exit file yet: give it a moment.
    const late = await waitForExit(p.exitFile, p.oomFile, 1_000).catch(() => undefined);
    return { record, status: 'exited', pid: undefined, exit: late };
  }

  /** Every container, oldest first. */
  async list(): Promise<ContainerInfo[]> {
    const records = await listContainerRecords(this.options);
    const infos = await Promise.all(records.map((r) => this.inspect(r.config.id).catch(() => undefined)));
    return infos.filter((i): i is ContainerInfo => i !== undefined);
  }

  /** Finds a container by full ID, unique ID prefix, or name. */
  async resolve(idOrName: string): Promise<string> {
    const records = await listContainerRecords(this.options);
    const byName = records.find((r) => r.config.name === idOrName);
    if (byName) return byName.config.id;
    const matches = records.filter((r) => r.config.id.startsWith(idOrName));
    if (matches.length === 1 && matches[0]) return matches[0].config.id;
    if (matches.length > 1) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `"${idOrName}" matches ${matches.length} containers; give more of the ID`);
    throw new TsswarmError(ErrorCode.NOT_FOUND, `no such container: ${idOrName}`);
  }

  /** Runs a process in a running container with the caller's stdio. */
  async exec(id: string, args: readonly string[], tty: boolean): Promise<number> {
    const info = await this.inspect(id);
    if (info.status !== 'running') throw new TsswarmError(ErrorCode.CONFLICT, `container ${info.record.config.name} is not running`);
    return this.runc.execAttached(id, args, { tty });
  }

  /** Starts a process in a running container with piped stdio. */
  async spawnExec(id: string, args: readonly string[], options: { env?: readonly string[]; cwd?: string; pidFile?: string }): Promise<ChildProcessWithoutNullStreams> {
    const info = await this.inspect(id);
    if (info.status !== 'running') throw new TsswarmError(ErrorCode.CONFLICT, `container ${info.record.config.name} is not running`);
    return this.runc.spawnExec(id, args, options);
  }

  /** Host PIDs of a running container's processes. */
  async pids(id: string): Promise<number[]> {
    return this.runc.pids(id);
  }

  /** Path of the container's k8s-file log. */
  logPath(id: string): string {
    return this.paths(id).logPath;
  }
}

async function readImageFile(rootfs: string, rel: string): Promise<string> {
  return readFile(join(rootfs, rel), 'utf8').catch(() => '');
}
