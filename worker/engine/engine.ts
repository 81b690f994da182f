/**
 * One host's container engine: `container run/ls/stop/rm/logs/exec/stats/top` on top of the runtime
 * (runc + conmon) and the image store. It also removes `--rm` containers when they exit, whether or
 * not a client is still attached, and after a daemon restart. Its named volumes (worker/volumes)
 * are held for containers being made and released when they are removed.
 */

import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { ErrorCode, TsswarmError, errorMessage } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Logger } from '../../lib/log.js';
import type { ContainerCreateRequest } from '../../proto/index.js';
import type { ImageRuntimeConfig } from '../images/image-config.js';
import type { LogLine } from '../executor/k8s-log.js';
import { Runtime, type ContainerInfo, type RuntimeOptions } from '../executor/runtime.js';
import type { ExitStatus } from '../executor/exit-status.js';
import { containerConfigFor, generatedName, validateContainerName } from './container-spec.js';
import type { ContainerNetworks, JoinedNetworks } from './container-networks.js';
import type { HealthState } from './health.js';
import { HealthMonitor, type HealthListener } from './health-monitor.js';
import { readLog } from './log-follow.js';
import { sampleStats, type ContainerStats } from './stats.js';
import { volumeMounter } from './volume-mounts.js';
import { containersUsingVolumes } from './volume-users.js';
import { VolumeStore } from '../volumes/volume-store.js';

/** An image ready to run: its ID, runtime config and layer folders (topmost first). */
export interface ResolvedImage {
  readonly id: string;
  readonly runtime: ImageRuntimeConfig;
  readonly layerDirs: readonly string[];
}

/** Finds images in the local store. */
export interface ImageResolver {
  /** The image, or NOT_FOUND with a clear message. */
  resolve(reference: string): Promise<ResolvedImage>;
}

/** How long an exited `--rm` container waits for attached clients to finish reading. */
export const autoRemoveDrainMs = 10_000;

/** A process of a container, for `top`. */
export interface ProcessRow {
  readonly pid: number;
  readonly user: string;
  readonly command: string;
}

/** Options of `logs`. */
export interface LogsOptions {
  readonly follow: boolean;
  readonly sinceMs?: number;
  readonly tail?: number;
  readonly cancelled: () => boolean;
}

/** A container as the engine shows it: the runtime's view and its health, when it has a check. */
export type EngineContainerInfo = ContainerInfo & { readonly health?: HealthState };

/** The engine of one host. */
export class Engine {
  readonly runtime: Runtime;
  /** The named volumes of this host (DATA/volumes). */
  readonly volumes: VolumeStore;
  private readonly health: HealthMonitor;
  private readonly watching = new Set<string>();
  /** Clients attached to a container (log followers, waiters); auto-removal waits for them. */
  private readonly attached = new Map<string, number>();
  /** The daemon's hook for `run --network`, while the host is in a swarm. */
  private networks: ContainerNetworks | undefined;

  constructor(
    options: RuntimeOptions,
    private readonly images: ImageResolver,
    private readonly log: Logger,
  ) {
    this.volumes = new VolumeStore({ root: join(options.dataDir, 'volumes'), usage: containersUsingVolumes(options.dataDir) });
    this.runtime = new Runtime({ ...options, volumes: volumeMounter(this.volumes) });
    this.health = new HealthMonitor(this.runtime, options, log.child({ component: 'health' }));
  }

  /**
   * Picks up after a restart: removes exited `--rm` containers and watches the running ones, and
   * carries on the health checks of running containers.
   */
  async recover(): Promise<void> {
    await this.volumes.recover();
    for (const c of await this.runtime.list()) {
      if (c.record.autoRemove) this.watchAutoRemove(c.record.config.id);
      if (c.status === 'running') await this.monitorHealth(c.record, false);
    }
  }

  private async monitorHealth(record: ContainerInfo['record'], fresh: boolean): Promise<void> {
    const check = record.config.healthcheck;
    if (check === undefined) return;
    const started = record.startedAt !== undefined ? Date.parse(record.startedAt) : Number.NaN;
    await this.health.start(record.config.id, check, Number.isFinite(started) ? started : Date.now(), fresh);
  }

  /**
   * Calls `listener` whenever the health status of container `id` (a full ID) changes; returns the
   * unsubscribe. Containers without a health check never call it.
   */
  watchHealth(id: string, listener: HealthListener): () => void {
    return this.health.subscribe(id, listener);
  }

  /** Stops the health checks (the daemon goes down; containers keep running). */
  close(): void {
    this.health.close();
  }

  /** Creates a container from an image; returns its ID. */
  async create(request: ContainerCreateRequest): Promise<string> {
    if (request.name !== '') validateContainerName(request.name);
    if (request.image === '') throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'an image is required');
    const image = await this.images.resolve(request.image).catch((err: unknown) => {
      if (err instanceof TsswarmError && err.code === ErrorCode.NOT_FOUND) {
        throw new TsswarmError(ErrorCode.NOT_FOUND, `unable to find image "${request.image}" locally (tsswarm image pull or image load it first)`);
      }
      throw err;
    });
    const id = newId();
    const base = containerConfigFor(request, image.runtime, id, request.name || generatedName(id));
    if (request.ports.length > 0 && request.networks.length === 0) {
      throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, '-p publishes to a bridge network: add --network NAME (tsswarm network create -d bridge NAME)');
    }
    if (request.networks.length > 0) await this.requireFreeName(base.name);
    const joined = request.networks.length > 0 ? await this.joinNetworks(id, base.name, request) : undefined;
    const config =
      joined === undefined ? base : { ...base, netnsPath: joined.netnsPath, dnsServers: joined.dnsServers, networkAttachment: joined.attachmentId, networkEndpoints: joined.endpoints };
    try {
      await this.runtime.create({ config, image: request.image, imageId: image.id, lowerDirs: image.layerDirs, autoRemove: request.autoRemove });
    } catch (err) {
      if (joined !== undefined) await this.leaveNetworks(id, joined.attachmentId);
      throw err;
    } finally {
      if (joined !== undefined) this.networks?.settled?.(id);
    }
    this.log.info({ id, name: config.name, image: request.image, ...(joined ? { attachment: joined.attachmentId } : {}) }, 'container created');
    return id;
  }

  /** ALREADY_EXISTS when a container has this name (checked before networks are joined, so a refused run joins nothing). */
  private async requireFreeName(name: string): Promise<void> {
    const taken = (await this.runtime.list()).some((c) => c.record.config.name === name);
    if (taken) throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `the container name "${name}" is already in use; remove that container or choose another name`);
  }

  /** Installs (or, with undefined, removes) the daemon's hook for `run --network`. */
  setNetworks(networks: ContainerNetworks | undefined): void {
    this.networks = networks;
  }

  private async joinNetworks(id: string, name: string, request: ContainerCreateRequest): Promise<JoinedNetworks> {
    if (this.networks === undefined) {
      throw new TsswarmError(ErrorCode.NOT_IN_SWARM, `--network needs this host to be in a swarm (tsswarm swarm init or swarm join); networks asked: ${request.networks.map((n) => n.target).join(', ')}`);
    }
    return this.networks.join(id, name, request.networks, request.ports);
  }

  /** Gives back a removed container's network attachment; a failure is logged (the node retries at its next start). */
  private async leaveNetworks(id: string, attachmentId: string | undefined): Promise<void> {
    if (attachmentId === undefined) return;
    if (this.networks === undefined) {
      this.log.warn({ id, attachment: attachmentId }, 'container removed while this host is not in a swarm: its network attachment stays until the host rejoins');
      return;
    }
    await this.networks.leave(attachmentId).catch((err: unknown) => this.log.warn({ id, attachment: attachmentId }, `could not give back the network attachment: ${errorMessage(err)}`));
  }

  /** Starts a container (by ID, prefix or name). */
  async start(ref: string): Promise<void> {
    const id = await this.runtime.resolve(ref);
    const record = await this.runtime.start(id);
    if (record.autoRemove) this.watchAutoRemove(id);
    await this.monitorHealth(record, true);
  }

  private watchAutoRemove(id: string): void {
    if (this.watching.has(id)) return;
    this.watching.add(id);
    void this.runtime
      .wait(id)
      .then(() => this.untilDetached(id))
      .then(() => this.removeRecord(id, true, false))
      .then(() => this.log.info({ id }, 'auto-removed exited container'))
      .catch((err: unknown) => this.log.warn({ id, err }, 'auto-remove failed'))
      .finally(() => this.watching.delete(id));
  }

  private async untilDetached(id: string): Promise<void> {
    const deadline = Date.now() + autoRemoveDrainMs;
    while ((this.attached.get(id) ?? 0) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  private async withAttached<T>(id: string, work: () => Promise<T>): Promise<T> {
    this.attached.set(id, (this.attached.get(id) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = (this.attached.get(id) ?? 1) - 1;
      if (left > 0) this.attached.set(id, left);
      else this.attached.delete(id);
    }
  }

  /** Stops a container; resolves with how it ended. */
  async stop(ref: string, graceMs?: number): Promise<ExitStatus | undefined> {
    const id = await this.runtime.resolve(ref);
    this.health.stop(id);
    return this.runtime.stop(id, graceMs);
  }

  /** Removes a container (running ones only with force; its anonymous volumes with removeVolumes). */
  async remove(ref: string, force: boolean, removeVolumes = false): Promise<void> {
    const id = await this.runtime.resolve(ref);
    if (force) this.health.stop(id);
    await this.removeRecord(id, force, removeVolumes);
    this.log.info({ id }, 'container removed');
  }

  private async removeRecord(id: string, force: boolean, removeVolumes: boolean): Promise<void> {
    const attachment = (await this.runtime.inspect(id)).record.config.networkAttachment;
    await this.runtime.remove(id, force, removeVolumes);
    this.health.forget(id);
    await this.leaveNetworks(id, attachment);
  }

  /** A container's state (with its health when it has a check). */
  async inspect(ref: string): Promise<EngineContainerInfo> {
    return this.withHealth(await this.runtime.inspect(await this.runtime.resolve(ref)));
  }

  /** Containers, running ones only unless `all`. */
  async list(all: boolean): Promise<EngineContainerInfo[]> {
    const infos = await this.runtime.list();
    return Promise.all((all ? infos : infos.filter((c) => c.status === 'running')).map((c) => this.withHealth(c)));
  }

  private async withHealth(info: ContainerInfo): Promise<EngineContainerInfo> {
    if (info.record.config.healthcheck === undefined) return info;
    const health = await this.health.state(info.record.config.id);
    return health === undefined ? info : { ...info, health };
  }

  /** Waits for a container to end. An `--rm` container may be gone by the time a caller asks. */
  async wait(ref: string): Promise<ExitStatus> {
    const id = await this.runtime.resolve(ref);
    return this.withAttached(id, () => this.runtime.wait(id));
  }

  /** Streams log lines of a container. */
  async logs(ref: string, options: LogsOptions, emit: (line: LogLine) => void): Promise<void> {
    const id = await this.runtime.resolve(ref);
    await this.withAttached(id, () => readLog(
      this.runtime.logPath(id),
      {
        follow: options.follow,
        ...(options.sinceMs !== undefined ? { sinceMs: options.sinceMs } : {}),
        ...(options.tail !== undefined ? { tail: options.tail } : {}),
        cancelled: options.cancelled,
        ended: async () => (await this.runtime.exitStatus(id)) !== undefined || !(await this.exists(id)),
        changes: dirname(this.runtime.logPath(id)),
      },
      emit,
    ));
  }

  private async exists(id: string): Promise<boolean> {
    return (await this.runtime.resolve(id).catch(() => undefined)) !== undefined;
  }

  /** CPU, memory and pids of a running container. */
  async stats(ref: string): Promise<ContainerStats> {
    const info = await this.inspect(ref);
    if (info.status !== 'running') throw new TsswarmError(ErrorCode.CONFLICT, `container ${info.record.config.name} is not running`);
    return sampleStats(info.record.cgroupsPath.slice(1));
  }

  /** The processes of a running container. */
  async top(ref: string): Promise<ProcessRow[]> {
    const info = await this.inspect(ref);
    if (info.status !== 'running') throw new TsswarmError(ErrorCode.CONFLICT, `container ${info.record.config.name} is not running`);
    const pids = await this.runtime.pids(info.record.config.id);
    const rows = await Promise.all(pids.map(processRow));
    return rows.filter((r): r is ProcessRow => r !== undefined);
  }
}

async function processRow(pid: number): Promise<ProcessRow | undefined> {
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((s) => s !== '').join(' ');
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1] ?? '?';
    return { pid, user: uid === '0' ? 'root' : uid, command: cmdline };
  } catch {
    return undefined;
  }
}
