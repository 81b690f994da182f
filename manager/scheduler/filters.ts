/**
 * The feasibility filters, in the order they are tried, each with the reason it gives when it
 * rejects a node; and how many tasks of a group a node that passes can still take (pure).
 */
import { matches, type Constraint } from './constraints.js';
import type { TaskGroup } from './node-info.js';

/** A node's state while a batch is being placed (counts change as tasks land). */
export interface Candidate {
  readonly index: number;
  readonly id: string;
  readonly info: import('./node-info.js').NodeInfo;
  nanoCpus: number;
  memoryBytes: number;
  taskCount: number;
  serviceCount: number;
  readonly hostPorts: Set<string>;
}

/** Why a node was not eligible (named constants; the scheduler adds them up). */
export const Reason = {
  notReady: 'node is not ready',
  notActive: 'node availability is not active',
  platform: 'unsupported platform',
  hostPort: 'host-mode port in use',
  maxReplicas: 'max replicas per node reached',
  memory: 'insufficient memory',
  cpu: 'insufficient CPU',
} as const;

/** The first reason the node cannot take any task of the group, or undefined when it can. */
export function rejectReason(c: Candidate, group: TaskGroup, constraints: readonly Constraint[]): string | undefined {
  const n = c.info;
  if (!n.ready) return Reason.notReady;
  if (n.availability !== 'active') return Reason.notActive;
  if (group.platforms.length > 0 && !group.platforms.some((p) => (p.os === '' || p.os === n.platform.os) && (p.architecture === '' || p.architecture === n.platform.architecture))) {
    return Reason.platform;
  }
  for (const constraint of constraints) if (!matches(constraint, n)) return `constraint ${constraint.text}`;
  return capacity(c, group).limit;
}

/** How many more tasks of the group fit on the node, and what stops the next one when none does. */
export function capacity(c: Candidate, group: TaskGroup): { count: number; limit: string | undefined } {
  let count = Number.POSITIVE_INFINITY;
  let limit: string | undefined;
  const bound = (n: number, why: string): void => {
    if (n < count) {
      count = n;
      limit = why;
    }
  };
  if (group.hostPorts.some((p) => c.hostPorts.has(p))) bound(0, Reason.hostPort);
  else if (group.hostPorts.length > 0) bound(1, Reason.hostPort);
  if (group.maxReplicasPerNode > 0) bound(Math.max(0, group.maxReplicasPerNode - c.serviceCount), Reason.maxReplicas);
  if (group.reservations.memoryBytes > 0) bound(Math.floor(c.memoryBytes / group.reservations.memoryBytes), Reason.memory);
  if (group.reservations.nanoCpus > 0) bound(Math.floor(c.nanoCpus / group.reservations.nanoCpus), Reason.cpu);
  return { count, limit: count > 0 ? undefined : limit };
}
