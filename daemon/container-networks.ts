/**
 * Standalone containers on attachable swarm networks (`container run --network NET`), the node's
 * side: ask the managers for an attachment task (AttachNetwork), wait for it to arrive with its
 * addresses in the node's assignments, have netd make the namespace with its endpoints, report the
 * attachment RUNNING. Leaving reverses it: netd removes the namespace, the managers remove the task
 * (DetachNetwork), which frees the addresses. Anything that fails half-way is undone before the
 * error goes back to the user, so a refused `run` leaves no attachment behind.
 */
import { ErrorCode, TsswarmError, errorMessage, isTsswarmError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { Task, TaskState, type Network, type NetworkAttachmentConfig, type PortConfig } from '../proto/index.js';
import type { ContainerNetworks, JoinedNetworks } from '../worker/engine/container-networks.js';
import { joinedEndpoints } from './joined-endpoints.js';
import type { AttachmentTasks } from '../worker/tasks/attachment-tasks.js';
import type { TaskNetworks } from '../worker/tasks/ports.js';
import { dnsServersOf } from '../worker/tasks/task-controller.js';
import { localAttachmentPrefix, type LocalNetworks } from './local-networks.js';

/** Attachments younger than this are never swept (their container may be being created). */
export const sweepMinAgeMs = 30_000;

/** What a sweep did: attachments given back, and when to look again at ones too young to judge. */
export interface SweepResult {
  readonly given: number;
  readonly retryInMs?: number;
}

/** What the hook needs of the swarm node, each undefined while the node is not in a swarm. */
export interface SwarmParts {
  /** The managers' AttachNetwork / DetachNetwork, through the node's session. */
  readonly managers: () => { attachNetwork(containerId: string, name: string, networks: readonly NetworkAttachmentConfig[]): Promise<string>; detachNetwork(id: string): Promise<void> } | undefined;
  /** The node's attachment tasks and network objects (from its assignments). */
  readonly assignments: () => { readonly attachments: AttachmentTasks; assignedNetworks(): ReadonlyMap<string, Network> } | undefined;
  /** netd's task hook. */
  readonly netd: () => TaskNetworks | undefined;
}

/** The engine's ContainerNetworks backed by the swarm node. */
export class SwarmContainerNetworks implements ContainerNetworks {
  /** Containers whose join or creation is under way: their attachment is never swept. */
  private readonly joining = new Set<string>();

  constructor(
    private readonly parts: SwarmParts,
    private readonly log: Logger,
  ) {}

  async join(containerId: string, name: string, networks: readonly NetworkAttachmentConfig[]): Promise<JoinedNetworks> {
    const managers = this.parts.managers();
    const assignments = this.parts.assignments();
    const netd = this.parts.netd();
    if (managers === undefined || assignments === undefined || netd === undefined) {
      throw new TsswarmError(ErrorCode.NOT_IN_SWARM, `--network needs this host to be in a swarm with networking (tsswarm swarm init or swarm join); networks asked: ${networks.map((n) => n.target).join(', ')}`);
    }
    this.joining.add(containerId);
    try {
      return await this.joinVia(managers, assignments, netd, containerId, name, networks);
    } catch (err) {
      this.joining.delete(containerId);
      throw err;
    }
  }

  /** The engine made the container (or gave up): from now on the sweep judges its attachment. */
  settled(containerId: string): void {
    this.joining.delete(containerId);
  }

  private async joinVia(
    managers: NonNullable<ReturnType<SwarmParts['managers']>>,
    assignments: NonNullable<ReturnType<SwarmParts['assignments']>>,
    netd: TaskNetworks,
    containerId: string,
    name: string,
    networks: readonly NetworkAttachmentConfig[],
  ): Promise<JoinedNetworks> {
    const attachmentId = await managers.attachNetwork(containerId, name, networks);
    try {
      const task = await assignments.attachments.waitFor(attachmentId);
      const objects = assignments.assignedNetworks();
      const netnsPath = await netd.attach(task, objects);
      if (netnsPath === undefined) throw new TsswarmError(ErrorCode.EXTERNAL, `netd made no network namespace for attachment ${attachmentId}`);
      assignments.attachments.reportState(attachmentId, TaskState.RUNNING);
      this.log.info({ container: containerId, attachment: attachmentId, networks: task.networks.map((n) => n.networkId) }, 'container joined its swarm networks');
      return { netnsPath, dnsServers: dnsServersOf(task, objects), attachmentId, endpoints: joinedEndpoints(task, objects) };
    } catch (err) {
      await this.leave(attachmentId).catch((e: unknown) => this.log.warn({ attachment: attachmentId }, `could not undo the network attachment: ${errorMessage(e)}`));
      throw err;
    }
  }

  /**
   * Gives back the attachments of this node whose container no longer exists (removed while the
   * managers were out of reach, or while the daemon was down). Attachments whose join is under way,
   * or that reached this node less than sweepMinAgeMs ago, are left alone: their container may
   * still be being created.
   */
  async sweep(containerIds: ReadonlySet<string>, nowMs: number): Promise<SweepResult> {
    const attachments = this.parts.assignments()?.attachments;
    if (attachments === undefined) return { given: 0 };
    let given = 0;
    let retryInMs: number | undefined;
    for (const id of attachments.ids()) {
      const task = attachments.get(id);
      const containerId = task?.spec?.attachment?.containerId ?? '';
      if (task === undefined || containerIds.has(containerId) || this.joining.has(containerId)) continue;
      const age = nowMs - (attachments.arrivedAt(id) ?? nowMs);
      if (age < sweepMinAgeMs) {
        retryInMs = Math.min(retryInMs ?? Infinity, sweepMinAgeMs - age + 1_000);
        continue;
      }
      try {
        await this.leave(id);
        given++;
        this.log.info({ attachment: id, container: containerId }, 'gave back the network attachment of a container that is gone');
      } catch (err) {
        this.log.warn({ attachment: id }, `could not give back the network attachment of a container that is gone: ${errorMessage(err)}`);
      }
    }
    return retryInMs === undefined ? { given } : { given, retryInMs };
  }

  async leave(attachmentId: string): Promise<void> {
    const assignments = this.parts.assignments();
    const task = assignments?.attachments.get(attachmentId) ?? Task.create({ id: attachmentId });
    await this.parts.netd()?.detach(task);
    const managers = this.parts.managers();
    if (managers === undefined) throw new TsswarmError(ErrorCode.NOT_IN_SWARM, `this host left the swarm; attachment ${attachmentId} is gone with it`);
    await managers.detachNetwork(attachmentId);
  }
}

/**
 * The engine's hook on a host: a container joins this host's bridge networks (local-networks.ts)
 * or swarm networks, not both at once; the attachment ID says which one to give it back to.
 */
export class HostContainerNetworks implements ContainerNetworks {
  constructor(
    private readonly swarm: SwarmContainerNetworks,
    private readonly local: LocalNetworks,
    private readonly netd: () => TaskNetworks | undefined,
  ) {}

  async join(containerId: string, name: string, networks: readonly NetworkAttachmentConfig[], ports: readonly PortConfig[] = []): Promise<JoinedNetworks> {
    const local = networks.filter((n) => this.local.isLocal(n.target));
    if (local.length === 0 && ports.length > 0) {
      throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, "-p publishes a container on this host's bridge networks; on swarm networks publish a service's ports (service create --publish)");
    }
    if (local.length === 0) {
      try {
        return await this.swarm.join(containerId, name, networks);
      } catch (err) {
        // Outside a swarm there are no swarm networks: the name is simply unknown (as docker says).
        if (!isTsswarmError(err, ErrorCode.NOT_IN_SWARM)) throw err;
        throw new TsswarmError(ErrorCode.NOT_FOUND, `network ${networks.map((n) => n.target).join(', ')} not found (this host's bridge networks: tsswarm network ls; swarm networks need the host in a swarm)`);
      }
    }
    if (local.length !== networks.length) {
      throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `a container joins either this host's bridge networks (${local.map((n) => n.target).join(', ')}) or swarm networks, not both`);
    }
    const netd = this.netd();
    if (netd === undefined) {
      throw new TsswarmError(ErrorCode.UNSUPPORTED, 'this tsswarmd runs no netd, so its containers cannot join bridge networks');
    }
    return this.local.join(netd, containerId, name, networks, ports);
  }

  settled(containerId: string): void {
    this.swarm.settled(containerId);
  }

  leave(attachmentId: string): Promise<void> {
    return attachmentId.startsWith(localAttachmentPrefix) ? this.local.leave(this.netd(), attachmentId) : this.swarm.leave(attachmentId);
  }
}
