/**
 * The controller of one task, as SwarmKit's exec controller with Docker's container adapter:
 * prepare (pull the image when missing, create the container) → start → wait → shutdown → remove.
 * Its operations run one at a time (the loop asks nextOperation() what to do, does it, and asks
 * again); what it learns becomes task status reports, forward only and only when the state changes.
 */
import { ErrorCode, TsswarmError, errorMessage, isTsswarmError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { millisOf, TaskState, type Config, type ContainerCreateRequest, type Network, type Secret, type Task, type TaskStatus } from '../../proto/index.js';
import { defaultStopGraceMs } from '../engine/container-spec.js';
import { containerRequestFor, taskIdLabel } from './container-request.js';
import type { Limiter } from './limiter.js';
import type { TaskSecretFiles } from './secret-mounts.js';
import { nextOperation, type ContainerHealth, type ContainerPhase, type Operation } from './next-operation.js';
import { createTaskContainer, type TaskEngine, type TaskImages, type TaskNetworks } from './ports.js';
import { exitStatus, isTerminal, taskStatus, unhealthyError, type ContainerExit } from './task-status.js';

/** Bounds and delays of the controllers (named limits; tests shorten the delays). */
export interface ControllerLimits {
  /** Attempts at pulling a missing image before the task is rejected. */
  readonly maxImagePullAttempts: number;
  /** Wait before pull attempt n+1 is n times this. */
  readonly imagePullRetryDelayMs: number;
  /** Attempts at an operation that failed for a reason the task does not own (stop, remove). */
  readonly maxOperationAttempts: number;
  readonly operationRetryDelayMs: number;
  /** A wait for a container's exit is renewed this often, so that close() ends it. */
  readonly exitWaitSliceMs: number;
}

/** What every controller of one executor shares. */
export interface ControllerContext {
  readonly engine: TaskEngine;
  readonly images: TaskImages;
  readonly networks: TaskNetworks | undefined;
  /** The network objects of the node's assignment set. */
  readonly networkObjects: () => ReadonlyMap<string, Network>;
  /** The secrets (data decrypted) and configs of the node's assignment set. */
  readonly secretObjects?: () => ReadonlyMap<string, Secret>;
  readonly configObjects?: () => ReadonlyMap<string, Config>;
  /** Where tasks' secrets and configs become files; tasks that reference any are rejected without it. */
  readonly secretFiles?: TaskSecretFiles;
  /** Bounds prepare and start (pulls, mounts, runc) across tasks. */
  readonly limiter: Limiter;
  readonly limits: ControllerLimits;
  readonly log: Logger;
  readonly now: () => number;
  readonly report: (taskId: string, status: TaskStatus) => void;
  /** Pulls `reference` unless a pull of it is under way already (then waits for that one). */
  readonly pull: (reference: string) => Promise<void>;
  readonly closed: () => boolean;
  /** Called when the loop goes idle. */
  readonly idle: (controller: TaskController) => void;
}

/** A container found on the engine with this task's ID label. */
export interface AdoptedContainer {
  readonly containerId: string;
  readonly phase: ContainerPhase;
  readonly pid: number;
  readonly exit: ContainerExit | undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One task's controller (see the file comment). */
export class TaskController {
  private task: Task | undefined;
  private observed: TaskState = TaskState.NEW;
  private lastReported = -1;
  private lastStatus: TaskStatus | undefined;
  private containerId: string | undefined;
  private container: ContainerPhase = 'none';
  private pid = 0;
  private exit: ContainerExit | undefined;
  private health: ContainerHealth = 'none';
  private removed = false;
  private watching = false;
  private running = false;
  private again = false;
  private failures = 0;
  private stuck = false;
  private loop: Promise<void> = Promise.resolve();
  private watch: Promise<void> = Promise.resolve();

  constructor(
    readonly taskId: string,
    private readonly ctx: ControllerContext,
    adopted?: AdoptedContainer,
  ) {
    if (adopted !== undefined) {
      this.containerId = adopted.containerId;
      this.container = adopted.phase;
      this.pid = adopted.pid;
      this.exit = adopted.exit;
    }
  }

  /** True once the task left the set and its container is gone: the executor may forget it. */
  get finished(): boolean {
    return this.removed && this.container === 'none' && !this.running && !this.watching;
  }

  /** The last status this controller reported (for reportAll after a reporting gap). */
  get reportedStatus(): TaskStatus | undefined {
    return this.lastStatus;
  }

  /** The container of the task, if there is one. */
  get currentContainer(): { readonly id: string; readonly phase: ContainerPhase } | undefined {
    return this.containerId === undefined ? undefined : { id: this.containerId, phase: this.container };
  }

  /** The task as assigned now (desired state and all); progress resumes from what is known. */
  update(task: Task): void {
    this.task = task;
    this.removed = false;
    this.observed = Math.max(this.observed, task.status?.state ?? TaskState.NEW) as TaskState;
    this.failures = 0;
    this.stuck = false;
    this.kick();
  }

  /** The task left the assignment set: its container goes. */
  remove(): void {
    this.removed = true;
    this.failures = 0;
    this.stuck = false;
    this.kick();
  }

  /** Resolves when no operation or exit watch of this controller is under way. */
  async quiet(): Promise<void> {
    await this.loop;
    await this.watch;
  }

  private kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.loop = this.run();
  }

  private next(): Operation {
    if (this.stuck) return 'idle';
    if (this.task === undefined && !this.removed) return 'idle';
    return nextOperation({
      removed: this.removed,
      observed: this.observed,
      desired: this.task?.desiredState ?? TaskState.NEW,
      container: this.container,
      reportedRunning: this.lastReported >= TaskState.RUNNING,
      watching: this.watching,
      health: this.health,
    });
  }

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        for (let op = this.next(); op !== 'idle' && !this.ctx.closed(); op = this.next()) {
          try {
            await this.perform(op);
            this.failures = 0;
          } catch (err) {
            this.failures++;
            const attempts = this.ctx.limits.maxOperationAttempts;
            this.ctx.log.warn({ task: this.taskId, op, attempt: this.failures, err: errorMessage(err) }, 'task operation failed');
            if (this.failures >= attempts) {
              this.ctx.log.error({ task: this.taskId, op }, `giving up on ${op} after ${attempts} attempts until the task changes`);
              this.stuck = true;
            } else {
              await sleep(this.ctx.limits.operationRetryDelayMs);
            }
          }
        }
      } while (this.again && !this.ctx.closed());
    } finally {
      this.running = false;
    }
    this.ctx.idle(this);
  }

  private async perform(op: Exclude<Operation, 'idle'>): Promise<void> {
    const task = this.task;
    switch (op) {
      case 'remove':
        return this.removeContainer();
      case 'shutdown':
        return this.shutdown();
      case 'report-exit':
        this.advance(exitStatus(this.exit ?? { exitCode: -1, oomKilled: false }, this.containerId ?? '', this.ctx.now()));
        return;
      case 'accept':
        this.advance(taskStatus(TaskState.ACCEPTED, this.ctx.now()));
        return;
      case 'prepare':
        return this.ctx.limiter.run(() => this.prepare(task as Task));
      case 'start':
        return this.ctx.limiter.run(() => this.start());
      case 'confirm-running':
        return this.confirmRunning();
      case 'watch':
        this.startWatch();
        return;
      case 'lost':
        this.advance(taskStatus(TaskState.FAILED, this.ctx.now(), { err: 'task: the container of this task is gone' }));
        return;
      case 'fail-unhealthy':
        return this.failUnhealthy();
    }
  }

  /** Reports `status` unless it would move the task backwards or repeats what was reported. */
  private advance(status: TaskStatus): void {
    if (status.state < this.observed || status.state <= this.lastReported) return;
    this.observed = status.state;
    this.lastReported = status.state;
    this.lastStatus = status;
    try {
      this.ctx.report(this.taskId, status);
    } catch (err) {
      this.ctx.log.error({ task: this.taskId, state: status.state, err: errorMessage(err) }, 'could not queue a task status report');
    }
  }

  /** Ends the task with `err`: REJECTED before STARTING, FAILED from then on (as SwarmKit's fatal errors). */
  private fail(err: unknown): void {
    const state = this.observed < TaskState.STARTING ? TaskState.REJECTED : TaskState.FAILED;
    this.advance(taskStatus(state, this.ctx.now(), { err: errorMessage(err), ...(state === TaskState.REJECTED ? { message: 'preparing' } : {}) }));
  }

  /** The spec's grace period; for a container adopted without its task, the one it was created with. */
  private graceMs(): number | undefined {
    if (this.task === undefined) return undefined;
    const grace = this.task.spec?.container?.stopGracePeriod;
    return grace === undefined ? defaultStopGraceMs : millisOf(grace);
  }

  private async prepare(task: Task): Promise<void> {
    this.advance(taskStatus(TaskState.PREPARING, this.ctx.now()));
    try {
      if (this.containerId === undefined) {
        const { request: base, ignored } = containerRequestFor(task);
        if (ignored.length > 0) this.ctx.log.warn({ task: task.id }, `running the task without ${ignored.join(', ')} (not supported by this worker yet)`);
        await this.ensureImage(base.image);
        const request = await this.withSecretFiles(task, base);
        const networks = this.ctx.networkObjects();
        const netns = await this.ctx.networks?.attach(task, networks);
        let id: string;
        try {
          id = await createTaskContainer(this.ctx.engine, this.ctx.images, request, netns, netns === undefined ? [] : dnsServersOf(task, networks));
        } catch (err) {
          // A container of this task made by an earlier run whose report never got out: use it.
          if (!isTsswarmError(err, ErrorCode.ALREADY_EXISTS)) throw err;
          const info = await this.ctx.engine.inspect(request.name);
          if (info.record.config.labels[taskIdLabel] !== task.id) throw err;
          id = info.record.config.id;
        }
        // Known at once, so that whatever fails next, removing the task removes the container.
        this.containerId = id;
        this.container = 'created';
        const info = await this.ctx.engine.inspect(id);
        this.container = info.status;
        this.pid = info.pid ?? 0;
        this.exit = info.exit;
      }
    } catch (err) {
      await this.ctx.networks?.detach(task).catch(() => undefined);
      if (this.containerId === undefined) await this.releaseSecretFiles();
      this.fail(err);
      return;
    }
    this.advance(taskStatus(TaskState.READY, this.ctx.now()));
  }

  /** `request` with the task's secrets and configs mounted read-only from its tmpfs (secret-mounts.ts). */
  private async withSecretFiles(task: Task, request: ContainerCreateRequest): Promise<ContainerCreateRequest> {
    const c = task.spec?.container;
    if ((c?.secrets.length ?? 0) === 0 && (c?.configs.length ?? 0) === 0) return request;
    const files = this.ctx.secretFiles;
    if (files === undefined) throw new TsswarmError(ErrorCode.UNSUPPORTED, 'this worker cannot run tasks with secrets or configs (it has no secrets folder)');
    const mounts = await files.prepare(task, this.ctx.secretObjects?.() ?? new Map(), this.ctx.configObjects?.() ?? new Map());
    return { ...request, mounts: [...request.mounts, ...mounts] };
  }

  /** Removes the task's secrets tmpfs, if it has one. */
  private async releaseSecretFiles(): Promise<void> {
    await this.ctx.secretFiles?.release(this.taskId).catch((err: unknown) => this.ctx.log.warn({ task: this.taskId, err: errorMessage(err) }, 'could not remove the secrets of a task'));
  }

  private async ensureImage(reference: string): Promise<void> {
    try {
      await this.ctx.images.resolve(reference);
      return;
    } catch (err) {
      if (!isTsswarmError(err, ErrorCode.NOT_FOUND)) throw err;
    }
    await this.ctx.pull(reference);
  }

  private async start(): Promise<void> {
    const id = this.containerId as string;
    this.advance(taskStatus(TaskState.STARTING, this.ctx.now()));
    try {
      if (this.container === 'created') await this.ctx.engine.start(id);
      const info = await this.ctx.engine.inspect(id);
      this.container = info.status;
      this.pid = info.pid ?? 0;
      this.exit = info.exit;
      this.health = healthOf(info);
    } catch (err) {
      this.fail(err);
      return;
    }
    // With a health check, RUNNING waits for the first passing probe (the watch hears of it).
    if (this.container === 'running' && this.health !== 'none' && this.health !== 'healthy') return;
    this.advance(taskStatus(TaskState.RUNNING, this.ctx.now(), { containerStatus: { containerId: id, pid: this.pid, exitCode: 0 } }));
  }

  /** A container adopted after a restart: RUNNING is reported once, with its pid. */
  private async confirmRunning(): Promise<void> {
    const id = this.containerId as string;
    const info = await this.ctx.engine.inspect(id).catch((err: unknown) => {
      if (isTsswarmError(err, ErrorCode.NOT_FOUND)) return undefined;
      throw err;
    });
    if (info === undefined) {
      this.forgetContainer();
      return;
    }
    this.container = info.status;
    this.pid = info.pid ?? 0;
    this.exit = info.exit;
    this.health = healthOf(info);
    if (info.status === 'running') this.advance(taskStatus(TaskState.RUNNING, this.ctx.now(), { containerStatus: { containerId: id, pid: this.pid, exitCode: 0 } }));
  }

  private startWatch(): void {
    const id = this.containerId as string;
    this.watching = true;
    this.watch = (async () => {
      let unwatchHealth: (() => void) | undefined;
      try {
        if (this.health !== 'none' && this.ctx.engine.watchHealth !== undefined) {
          unwatchHealth = this.ctx.engine.watchHealth(id, (state) => this.healthChanged(id, state.status));
          // A change between the last inspect and the subscription is read here.
          const info = await this.ctx.engine.inspect(id).catch(() => undefined);
          if (info !== undefined) this.healthChanged(id, healthOf(info));
        }
        while (!this.ctx.closed() && this.containerId === id) {
          try {
            const exit = await this.ctx.engine.runtime.wait(id, this.ctx.limits.exitWaitSliceMs);
            if (this.containerId === id) {
              this.container = 'exited';
              this.exit = exit;
            }
            return;
          } catch (err) {
            if (isTsswarmError(err, ErrorCode.TIMEOUT)) continue;
            if (isTsswarmError(err, ErrorCode.NOT_FOUND)) {
              if (this.containerId === id) this.forgetContainer();
              return;
            }
            this.ctx.log.warn({ task: this.taskId, container: id, err: errorMessage(err) }, 'waiting for a task container failed');
            await sleep(this.ctx.limits.exitWaitSliceMs);
          }
        }
      } finally {
        unwatchHealth?.();
        this.watching = false;
        this.kick();
      }
    })();
  }

  /** The health of the watched container changed: act on a first pass (RUNNING) or a failure. */
  private healthChanged(id: string, health: ContainerHealth): void {
    if (this.containerId !== id || health === this.health || health === 'none') return;
    this.health = health;
    this.ctx.log.info({ task: this.taskId, container: id, health }, 'task container health changed');
    if (health === 'healthy' || health === 'unhealthy') this.kick();
  }

  /** The container turned unhealthy: it is stopped and the task FAILED (the orchestrator replaces it). */
  private async failUnhealthy(): Promise<void> {
    await this.stopContainer();
    const id = this.containerId;
    this.advance(
      taskStatus(TaskState.FAILED, this.ctx.now(), {
        err: unhealthyError,
        ...(id === undefined ? {} : { containerStatus: { containerId: id, pid: 0, exitCode: this.exit?.exitCode ?? 0 } }),
      }),
    );
  }

  private forgetContainer(): void {
    this.containerId = undefined;
    this.container = 'none';
    this.pid = 0;
    this.exit = undefined;
    this.health = 'none';
  }

  private async stopContainer(): Promise<void> {
    const id = this.containerId;
    if (id === undefined || this.container === 'exited' || this.container === 'none') return;
    try {
      const exit = await this.ctx.engine.stop(id, this.graceMs());
      this.container = 'exited';
      if (exit !== undefined) this.exit = exit;
    } catch (err) {
      if (!isTsswarmError(err, ErrorCode.NOT_FOUND)) throw err;
      this.forgetContainer();
    }
  }

  private async shutdown(): Promise<void> {
    await this.stopContainer();
    if (this.task !== undefined) await this.ctx.networks?.detach(this.task);
    const id = this.containerId;
    this.advance(
      taskStatus(TaskState.SHUTDOWN, this.ctx.now(), id === undefined ? {} : { containerStatus: { containerId: id, pid: 0, exitCode: this.exit?.exitCode ?? 0 } }),
    );
    // The loop must end here even if the report was skipped.
    if (!isTerminal(this.observed)) this.observed = TaskState.SHUTDOWN;
  }

  private async removeContainer(): Promise<void> {
    const id = this.containerId;
    if (id === undefined) return;
    await this.stopContainer();
    if (this.containerId !== undefined) {
      // As swarmkit's container adapter: the task's anonymous volumes go with its container.
      await this.ctx.engine.remove(id, true, true).catch((err: unknown) => {

        if (!isTsswarmError(err, ErrorCode.NOT_FOUND)) throw err;
      });
    }
    if (this.task !== undefined) await this.ctx.networks?.detach(this.task);
    await this.releaseSecretFiles();
    this.forgetContainer();
    this.ctx.log.info({ task: this.taskId, container: id }, 'removed the container of a task that left the node');
  }
}

/** The health of a container as the engine reports it: 'starting' until a check has a result. */
function healthOf(info: { readonly record: { readonly config: { readonly healthcheck?: unknown } }; readonly health?: { readonly status: ContainerHealth } }): ContainerHealth {
  if (info.record.config.healthcheck === undefined) return 'none';
  return info.health?.status ?? 'starting';
}

/** The gateways of the task's networks (not ingress): where netd answers its DNS queries. */
export function dnsServersOf(task: Task, networks: ReadonlyMap<string, Network>): string[] {
  const out: string[] = [];
  for (const attachment of task.networks) {
    const network = networks.get(attachment.networkId);
    if (network === undefined || network.spec?.ingress === true) continue;
    const gateway = network.ipam?.configs[0]?.gateway ?? '';
    const address = gateway.split('/')[0] ?? '';
    if (address !== '' && !out.includes(address)) out.push(address);
  }
  return out;
}
