/**
 * The scheduler's NodeInfo from a stored Node and the tasks assigned to it (pure).
 */
import { NodeAvailability, NodeRole, NodeState, PortProtocol, PublishMode, TaskState, type Node, type PortConfig, type Task } from '../../proto/index.js';
import type { NodeInfo } from './node-info.js';

/** True while a task holds resources on its node (assigned and not finished). */
export function holdsResources(task: Task): boolean {
  const state = task.status?.state ?? TaskState.NEW;
  return task.nodeId !== '' && task.desiredState <= TaskState.RUNNING && state < TaskState.COMPLETE;
}

/** A host-mode port as the scheduler keys it: "tcp/8080". */
export function hostPortKey(p: PortConfig): string {
  const protocol = p.protocol === PortProtocol.UDP ? 'udp' : p.protocol === PortProtocol.SCTP ? 'sctp' : 'tcp';
  return `${protocol}/${p.publishedPort}`;
}

/** The view of `node` with `tasks` (those assigned to it) accounted for. */
export function nodeInfoOf(node: Node, tasks: readonly Task[]): NodeInfo {
  const total = node.description?.resources ?? { nanoCpus: 0, memoryBytes: 0, pids: 0 };
  let nanoCpus = total.nanoCpus;
  let memoryBytes = total.memoryBytes;
  let taskCount = 0;
  const tasksByService: Record<string, number> = {};
  const hostPorts = new Set<string>();
  for (const t of tasks) {
    if (!holdsResources(t)) continue;
    taskCount++;
    tasksByService[t.serviceId] = (tasksByService[t.serviceId] ?? 0) + 1;
    const r = t.spec?.resources?.reservations;
    nanoCpus -= r?.nanoCpus ?? 0;
    memoryBytes -= r?.memoryBytes ?? 0;
    // Host ports the task holds: what the worker reported, and what its endpoint asks for (a task
    // assigned but not running yet holds its port too).
    for (const p of [...(t.status?.portStatus?.ports ?? []), ...(t.endpoint?.ports ?? [])]) if (p.publishMode === PublishMode.HOST && p.publishedPort > 0) hostPorts.add(hostPortKey(p));
  }
  const availability = node.spec?.availability ?? NodeAvailability.ACTIVE;
  return {
    id: node.id,
    hostname: node.description?.hostname ?? '',
    role: (node.spec?.role ?? node.role) === NodeRole.MANAGER ? 'manager' : 'worker',
    ready: node.status?.state === NodeState.READY,
    availability: availability === NodeAvailability.DRAIN ? 'drain' : availability === NodeAvailability.PAUSE ? 'pause' : 'active',
    labels: node.spec?.annotations?.labels ?? {},
    engineLabels: node.description?.engine?.labels ?? {},
    platform: { os: node.description?.platform?.os ?? '', architecture: node.description?.platform?.architecture ?? '' },
    available: { nanoCpus: Math.max(0, nanoCpus), memoryBytes: Math.max(0, memoryBytes) },
    taskCount,
    tasksByService,
    hostPorts,
  };
}
