/**
 * Which tasks are endpoints on the overlays and which of them take service traffic (pure). A task
 * is an endpoint from the moment the scheduler places it until it finishes (its namespace exists
 * somewhere in between, and remote hosts must know where it lives); it is a backend of its
 * service's VIP, DNS name and published ports only while it runs and is still wanted.
 */
import { TaskState, type NetworkViewEndpoint, type Task } from '../../proto/index.js';
import { bareIpv4 } from './addresses.js';

/** True while `task` is placed on a node and has not finished. */
export function isEndpointTask(task: Task): boolean {
  const state = task.status?.state ?? TaskState.NEW;
  return task.nodeId !== '' && state >= TaskState.ASSIGNED && state < TaskState.COMPLETE;
}

/** True while `task` should get its service's traffic: observed RUNNING, desired at most RUNNING. */
export function isBackendTask(task: Task): boolean {
  return task.serviceId !== '' && task.status?.state === TaskState.RUNNING && task.desiredState <= TaskState.RUNNING;
}

/** The id of a task's endpoint on a network. */
export function endpointId(taskId: string, networkId: string): string {
  return `${taskId}.${networkId}`;
}

/**
 * The endpoints of `task` on the networks `wanted` has, with its node's underlay address: one per
 * attachment with an IPv4 address (attachments the allocator has not filled yet are left out).
 */
export function taskEndpoints(task: Task, hostAddr: string, wanted: (networkId: string) => boolean): NetworkViewEndpoint[] {
  const out: NetworkViewEndpoint[] = [];
  const backend = isBackendTask(task);
  const name = task.annotations?.name ?? '';
  for (const attachment of task.networks) {
    if (!wanted(attachment.networkId)) continue;
    const address = attachment.addresses.map(bareIpv4).find((a) => a !== undefined);
    if (address === undefined) continue;
    const dnsNames = [...new Set([...(name === '' ? [] : [name]), ...attachment.aliases.filter((a) => a !== '')])];
    out.push({
      id: endpointId(task.id, attachment.networkId),
      networkId: attachment.networkId,
      taskId: task.id,
      nodeId: task.nodeId,
      hostAddr,
      address,
      serviceId: backend ? task.serviceId : '',
      dnsNames,
    });
  }
  return out;
}
