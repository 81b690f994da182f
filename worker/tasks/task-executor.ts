/**
 * The node's task executor (SwarmKit's agent/exec worker with Docker's container adapter): it holds
 * the tasks assigned to this node and runs one TaskController per task. Controllers run their
 * operations serially per task and concurrently across tasks (prepare and start bounded by
 * maxConcurrentControllerOps). On start it adopts the containers it finds with the task-id label,
 * so a restarted tsswarmd carries on with running tasks instead of starting them again.
 */
import { ErrorCode, TsswarmError, errorMessage, isTsswarmError } from '../../lib/errors.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { AssignmentAction, AssignmentsMessageType, TaskState, type AssignmentsMessage, type Config, type Network, type Secret, type TaskStatus } from '../../proto/index.js';
import type { TaskWorker } from '../agent/task-worker.js';
import { taskIdLabel } from './container-request.js';
import { AttachmentTasks, isAttachmentTask } from './attachment-tasks.js';
import { Limiter } from './limiter.js';
import { TaskSecretFiles } from './secret-mounts.js';
import { TaskController, type AdoptedContainer, type ControllerContext, type ControllerLimits } from './task-controller.js';
import type { TaskEngine, TaskImages, TaskNetworks } from './ports.js';
import { isTerminal, taskStatus } from './task-status.js';

/** Prepare and start operations (pull, rootfs mount, runc create/start) running at once across tasks. */
export const maxConcurrentControllerOps = 8;
/** Most tasks the executor holds; further new tasks are REJECTED. */
export const maxAssignedTasks = 10_000;
/** Attempts at pulling a missing image before the task is REJECTED. */
export const maxImagePullAttempts = 3;
/** Wait before pull attempt n+1 is n times this. */
export const imagePullRetryDelayMs = 2_000;
/** Attempts at a stop or remove before giving up until the task changes again. */
export const maxOperationAttempts = 5;
export const operationRetryDelayMs = 1_000;
/** How often a wait for a container's exit is renewed (bounds how long close() takes). */
export const exitWaitSliceMs = 1_000;

/** Rounds of waiting for controllers in removeAll() (a watch ending may start one more operation). */
export const maxRemoveAllRounds = 10;

/** The default limits, as one object. */
export const defaultControllerLimits: ControllerLimits = {
  maxImagePullAttempts,
  imagePullRetryDelayMs,
  maxOperationAttempts,
  operationRetryDelayMs,
  exitWaitSliceMs,
};

/** What a TaskExecutor is built from. */
export interface TaskExecutorOptions {
  /** This host's container engine (worker/engine's Engine). */
  readonly engine: TaskEngine;
  /** The image store (worker/images' ImageService): resolve, pull, runtime config, layers. */
  readonly images: TaskImages;
  /** Where task status goes: Agent.reportStatus. */
  readonly report: (taskId: string, status: TaskStatus) => void;
  /** netd's network hook; without it containers get the engine's default (loopback only). */
  readonly networks?: TaskNetworks;
  /**
   * The folder under which each task's secrets and configs get a tmpfs (e.g. RUN_DIR/secrets, not
   * under the data folder); without it, tasks that reference secrets or configs are rejected.
   */
  readonly secretsDir?: string;
  readonly log?: Logger;
  /** Milliseconds since the epoch, for status timestamps. */
  readonly now?: () => number;
  /** Shorter delays for tests. */
  readonly limits?: Partial<ControllerLimits>;
  readonly maxConcurrentOps?: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Pull failures that another attempt cannot fix. */
function permanentPullError(err: unknown): boolean {
  return isTsswarmError(err, ErrorCode.NOT_FOUND) || isTsswarmError(err, ErrorCode.INVALID_ARGUMENT) || isTsswarmError(err, ErrorCode.PERMISSION);
}

/** The executor of one node's tasks (see the file comment). */
export class TaskExecutor implements TaskWorker {
  private readonly controllers = new Map<string, TaskController>();
  private readonly networkObjects = new Map<string, Network>();
  private readonly secretObjects = new Map<string, Secret>();
  private readonly configObjects = new Map<string, Config>();
  private readonly secretFiles: TaskSecretFiles | undefined;
  private readonly pulls = new Map<string, Promise<void>>();
  private readonly ctx: ControllerContext;
  private readonly log: Logger;
  private started: Promise<void> | undefined;
  private closed = false;
  /** Standalone containers' network attachments assigned to this node (they run no container). */
  readonly attachments: AttachmentTasks;

  constructor(private readonly options: TaskExecutorOptions) {
    this.log = options.log ?? silentLogger();
    this.attachments = new AttachmentTasks((taskId, status) => this.report(taskId, status), options.now ?? Date.now);
    const limits = { ...defaultControllerLimits, ...options.limits };
    this.secretFiles = options.secretsDir === undefined ? undefined : new TaskSecretFiles(options.secretsDir, this.log);
    this.ctx = {
      secretObjects: () => this.secretObjects,
      configObjects: () => this.configObjects,
      ...(this.secretFiles !== undefined ? { secretFiles: this.secretFiles } : {}),
      engine: options.engine,
      images: options.images,
      networks: options.networks,
      networkObjects: () => this.networkObjects,
      limiter: new Limiter(options.maxConcurrentOps ?? maxConcurrentControllerOps),
      limits,
      log: this.log,
      now: options.now ?? Date.now,
      report: options.report,
      pull: (reference) => this.pull(reference, limits),
      closed: () => this.closed,
      idle: (controller) => {
        if (controller.finished && this.controllers.get(controller.taskId) === controller) this.controllers.delete(controller.taskId);
      },
    };
  }

  /**
   * Adopts the containers of earlier runs (found by their task-id label): running ones keep
   * running, exited ones keep their exit; both are reported once their task is assigned again,
   * and removed when it is not. Called by the first assign() if not before; runs once.
   */
  start(): Promise<void> {
    this.started ??= this.adopt();
    return this.started;
  }

  private async adopt(): Promise<void> {
    const found = new Map<string, AdoptedContainer>();
    for (const info of await this.options.engine.list(true)) {
      const taskId = info.record.config.labels[taskIdLabel];
      if (taskId === undefined || taskId === '') continue;
      const prior = found.get(taskId);
      if (prior !== undefined) {
        // Never two containers for one task: keep the running one (else the newest); the other stays for an operator to see.
        this.log.warn({ task: taskId, kept: prior.containerId, other: info.record.config.id }, 'more than one container carries this task id');
        if (prior.phase === 'running') continue;
      }
      found.set(taskId, { containerId: info.record.config.id, phase: info.status, pid: info.pid ?? 0, exit: info.exit });
    }
    for (const [taskId, container] of found) this.controllers.set(taskId, new TaskController(taskId, this.ctx, container));
    // Secret tmpfs mounts of tasks whose container is gone (a crash between prepare and create, or a
    // removal the last run did not finish) go now; the others go with their container.
    const released = await this.secretFiles?.releaseAllExcept(new Set(found.keys()));
    if (released) this.log.info({ released }, 'removed the secrets of tasks that have no container any more');
    if (found.size > 0) this.log.info({ containers: found.size }, 'adopted the task containers of an earlier run');
  }

  /** Applies an assignments message (idempotent; see TaskWorker). */
  async assign(message: AssignmentsMessage): Promise<void> {
    await this.start();
    if (this.closed) throw new TsswarmError(ErrorCode.CLOSED, 'the task executor is closed');
    if (message.type === AssignmentsMessageType.COMPLETE) {
      const keep = new Set<string>();
      this.networkObjects.clear();
      this.secretObjects.clear();
      this.configObjects.clear();
      for (const change of message.changes) {
        if (change.action === AssignmentAction.UPDATE && change.assignment?.task) keep.add(change.assignment.task.id);
      }
      for (const [taskId, controller] of this.controllers) if (!keep.has(taskId)) controller.remove();
      this.attachments.retainOnly(keep);
    }
    // Secrets and configs first: a task in the same message may need them.
    for (const change of message.changes) {
      const a = change.assignment;
      const remove = change.action === AssignmentAction.REMOVE;
      if (a?.secret !== undefined) {
        if (remove) this.secretObjects.delete(a.secret.id);
        else this.secretObjects.set(a.secret.id, a.secret);
      } else if (a?.config !== undefined) {
        if (remove) this.configObjects.delete(a.config.id);
        else this.configObjects.set(a.config.id, a.config);
      }
    }
    for (const change of message.changes) {
      const a = change.assignment;
      const remove = change.action === AssignmentAction.REMOVE;
      if (a?.network !== undefined) {
        if (remove) this.networkObjects.delete(a.network.id);
        else this.networkObjects.set(a.network.id, a.network);
      }
      const task = a?.task;
      if (task === undefined) continue;
      if (isAttachmentTask(task)) {
        if (remove) this.attachments.remove(task.id);
        else this.attachments.update(task);
        continue;
      }
      let controller = this.controllers.get(task.id);
      if (remove) {
        controller?.remove();
        continue;
      }
      if (controller === undefined) {
        if (this.controllers.size >= maxAssignedTasks) {
          if (!isTerminal(task.status?.state ?? TaskState.NEW)) {
            this.report(task.id, taskStatus(TaskState.REJECTED, this.ctx.now(), { err: `this node already holds ${maxAssignedTasks} tasks` }));
          }
          continue;
        }
        controller = new TaskController(task.id, this.ctx);
        this.controllers.set(task.id, controller);
      }
      controller.update(task);
    }
  }

  private report(taskId: string, status: TaskStatus): void {
    try {
      this.options.report(taskId, status);
    } catch (err) {
      this.log.error({ task: taskId, err: errorMessage(err) }, 'could not queue a task status report');
    }
  }

  private pull(reference: string, limits: ControllerLimits): Promise<void> {
    let pending = this.pulls.get(reference);
    if (pending === undefined) {
      pending = this.pullWithRetries(reference, limits).finally(() => this.pulls.delete(reference));
      this.pulls.set(reference, pending);
    }
    return pending;
  }

  private async pullWithRetries(reference: string, limits: ControllerLimits): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.log.info({ image: reference, attempt }, 'pulling the image of a task');
        await this.options.images.pull(reference);
        return;
      } catch (err) {
        if (permanentPullError(err) || attempt >= limits.maxImagePullAttempts || this.closed) {
          throw new TsswarmError(isTsswarmError(err) ? err.code : ErrorCode.EXTERNAL, `pulling image ${reference} failed: ${errorMessage(err)}`, { cause: err });
        }
        await sleep(limits.imagePullRetryDelayMs * attempt);
      }
    }
  }

  /** The network objects of the node's assignments now. */
  assignedNetworks(): ReadonlyMap<string, Network> {
    return this.networkObjects;
  }

  /** Task IDs held now, with their container (tests, `node ps`-style diagnostics). */
  tasks(): Array<{ readonly taskId: string; readonly containerId: string | undefined }> {
    return [...this.controllers.values()].map((c) => ({ taskId: c.taskId, containerId: c.currentContainer?.id }));
  }

  /**
   * Reports again the last status of every task it holds: for a new agent, after a time when
   * reports had nowhere to go (or were dropped by a stopped agent). Equal states are accepted by
   * the dispatcher, so this is safe to repeat.
   */
  reportAll(): void {
    for (const c of this.controllers.values()) {
      const status = c.reportedStatus;
      if (status !== undefined) this.report(c.taskId, status);
    }
  }

  /**
   * Removes every task container (for `swarm leave`, as docker does): applies an empty COMPLETE set
   * and waits until the controllers are done, at most maxRemoveAllRounds rounds of waiting.
   */
  async removeAll(): Promise<void> {
    await this.assign({ type: AssignmentsMessageType.COMPLETE, appliesTo: '', resultsIn: '', changes: [] });
    for (let round = 0; round < maxRemoveAllRounds && this.controllers.size > 0; round++) {
      await Promise.all([...this.controllers.values()].map((c) => c.quiet()));
    }
    if (this.controllers.size > 0) this.log.warn({ left: this.controllers.size }, 'some task containers could not be removed');
  }

  /** Stops taking assignments and waits for operations in flight; containers keep running. */
  async close(): Promise<void> {
    this.closed = true;
    await this.started?.catch(() => undefined);
    await Promise.all([...this.controllers.values()].map((c) => c.quiet()));
    await Promise.allSettled([...this.pulls.values()]);
  }
}
