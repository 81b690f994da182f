/**
 * Host-mode published ports of one node's tasks (pure): each live task on the node that publishes
 * `mode=host` ports with a published port, in a stable order. netd forwards the node's port to
 * that task; nothing else on other nodes changes.
 */
import { PublishMode, TaskState, type NetworkViewHostPort, type Task } from '../../proto/index.js';
import { compareStrings } from './addresses.js';
import { isEndpointTask } from './task-endpoints.js';

/** The host-mode ports of the tasks on node `nodeId`. */
export function hostPortsForNode(nodeId: string, tasks: readonly Task[]): NetworkViewHostPort[] {
  const out: NetworkViewHostPort[] = [];
  for (const task of tasks) {
    if (task.nodeId !== nodeId || !isEndpointTask(task) || task.desiredState > TaskState.RUNNING) continue;
    for (const p of task.endpoint?.ports ?? []) {
      if (p.publishMode !== PublishMode.HOST || p.publishedPort === 0 || p.targetPort === 0) continue;
      out.push({ taskId: task.id, protocol: p.protocol, publishedPort: p.publishedPort, targetPort: p.targetPort });
    }
  }
  return out.sort((a, b) => compareStrings(a.taskId, b.taskId) || a.publishedPort - b.publishedPort || a.protocol - b.protocol);
}
