/** Small builders for scheduler tests and benchmarks. */
import type { NodeInfo, TaskGroup } from '../../../manager/scheduler/node-info.js';

const gib = 1024 ** 3;

/** A ready, active worker with 4 CPUs and 8 GiB free, unless told otherwise. */
export function node(id: string, extra: Partial<NodeInfo> = {}): NodeInfo {
  return {
    id,
    hostname: id,
    role: 'worker',
    ready: true,
    availability: 'active',
    labels: {},
    engineLabels: {},
    platform: { os: 'linux', architecture: 'x86_64' },
    available: { nanoCpus: 4e9, memoryBytes: 8 * gib },
    taskCount: 0,
    tasksByService: {},
    hostPorts: new Set(),
    ...extra,
  };
}

/** A group of `n` identical tasks of service `serviceId`. */
export function group(serviceId: string, n: number, extra: Partial<TaskGroup> = {}): TaskGroup {
  return {
    serviceId,
    taskIds: Array.from({ length: n }, (_, i) => `${serviceId}.${i + 1}`),
    reservations: { nanoCpus: 0, memoryBytes: 0 },
    constraints: [],
    spreadOver: [],
    maxReplicasPerNode: 0,
    hostPorts: [],
    platforms: [],
    ...extra,
  };
}
