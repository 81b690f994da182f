/**
 * Standalone containers on attachable networks (`container run --network`), as SwarmKit's
 * AttachNetwork: the node asks the leader, which makes one attachment task for the container,
 * already placed on that node, with the networks it joins. The allocator gives the task its
 * addresses, the scheduler confirms the placement, and the task reaches the node as an assignment;
 * the node's engine then joins the container to the task's endpoints. Removing the task (on
 * DetachNetwork) releases the addresses. Pure: the dispatcher does the store writes.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { Task, TaskState, type AttachNetworkRequest, type Network, type NetworkAttachmentConfig } from '../../proto/index.js';
import { timestampFromMs } from '../../proto/time.js';
import { resolveNetwork } from '../controlapi/resolve-named.js';

/** Most networks one container joins. */
export const maxNetworksPerAttachment = 16;
/** A container's DNS alias on a network: a name of letters, digits, '.', '-', '_', at most 63 characters. */
export const networkAliasPattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
/** Most DNS aliases of a container on one network. */
export const maxAliasesPerNetwork = 32;
/** Most live attachment tasks on one node. */
export const maxAttachmentsPerNode = 512;

/** True when `task` stands for a standalone container's network attachment (no service). */
export function isAttachmentTask(task: Task): boolean {
  return task.spec?.attachment !== undefined;
}

/**
 * The networks of an AttachNetwork request resolved (ID, name or unique ID prefix) and checked:
 * each must exist, be attachable, not be the ingress network and not be deleted; no network twice.
 * INVALID_ARGUMENT / NOT_FOUND / FAILED_PRECONDITION otherwise.
 */
export function attachableNetworks(networks: readonly Network[], wanted: readonly NetworkAttachmentConfig[]): NetworkAttachmentConfig[] {
  if (wanted.length === 0) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'no network to attach to');
  if (wanted.length > maxNetworksPerAttachment) {
    throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `a container joins at most ${maxNetworksPerAttachment} networks (${wanted.length} asked)`);
  }
  const live = networks.filter((n) => !n.pendingDelete);
  const seen = new Set<string>();
  return wanted.map((w) => {
    const network = resolveNetwork(live, w.target);
    const name = network.spec?.annotations?.name ?? network.id;
    if (network.spec?.ingress === true) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `network ${name} is the routing mesh's ingress network: containers cannot join it`);
    if (network.spec?.attachable !== true) {
      throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `network ${name} is not manually attachable: create it with --attachable to run standalone containers on it`);
    }
    if (seen.has(network.id)) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `network ${name} is named twice`);
    seen.add(network.id);
    if (w.aliases.length > maxAliasesPerNetwork) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `at most ${maxAliasesPerNetwork} aliases per network (${w.aliases.length} asked on ${name})`);
    for (const alias of w.aliases) checkAlias(alias);
    if (w.addresses.length > 0) throw new TsswarmError(ErrorCode.UNSUPPORTED, `a static address on network ${name} is not supported for standalone containers yet`);
    return { target: network.id, aliases: [...new Set(w.aliases)], addresses: [], driverAttachmentOpts: {} };
  });
}

function checkAlias(alias: string): void {
  if (!networkAliasPattern.test(alias)) {
    throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `network alias ${JSON.stringify(alias)} is not a valid DNS name (letters, digits, '.', '-', '_'; at most 63 characters)`);
  }
}

/** The attachment task of a request from node `nodeId`: NEW, desired RUNNING, placed on the node. */
export function attachmentTask(request: AttachNetworkRequest, networks: readonly NetworkAttachmentConfig[], nodeId: string, id: string, nowMs: number): Task {
  if (!/^[0-9a-zA-Z]{1,64}$/.test(request.containerId)) {
    throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `container ID ${JSON.stringify(request.containerId)} is not valid`);
  }
  const name = request.containerName === '' ? request.containerId : request.containerName;
  return Task.create({
    id,
    nodeId,
    spec: { networks: [...networks], attachment: { containerId: request.containerId } },
    desiredState: TaskState.RUNNING,
    status: { state: TaskState.NEW, timestamp: timestampFromMs(nowMs), message: 'created' },
    annotations: { name, labels: {} },
  });
}

/** The live attachment task of container `containerId` among a node's tasks (a repeated request finds it). */
export function existingAttachment(nodeTasks: readonly Task[], containerId: string): Task | undefined {
  return nodeTasks.find((t) => t.spec?.attachment?.containerId === containerId && t.desiredState <= TaskState.RUNNING);
}

/** Throws QUEUE_FULL when node `nodeId` already holds maxAttachmentsPerNode attachments. */
export function checkAttachmentRoom(nodeTasks: readonly Task[], nodeId: string): void {
  const count = nodeTasks.filter(isAttachmentTask).length;
  if (count >= maxAttachmentsPerNode) {
    throw new TsswarmError(ErrorCode.QUEUE_FULL, `node ${nodeId} already has ${count} standalone containers on swarm networks (at most ${maxAttachmentsPerNode})`);
  }
}
