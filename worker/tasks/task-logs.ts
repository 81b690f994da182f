/**
 * The node's task logs for the agent's log publisher: task containers are found by their
 * com.docker.swarm.task.id label, and read through the engine like `container logs`.
 */
import type { Engine } from '../engine/engine.js';
import type { TaskContainer, TaskLogSource } from '../agent/log-publisher.js';
import { serviceIdLabel, taskIdLabel } from './container-request.js';

/** The task log source of `engine`. */
export function engineTaskLogs(engine: Pick<Engine, 'list' | 'logs'>): TaskLogSource {
  return {
    containers: async (): Promise<TaskContainer[]> =>
      (await engine.list(true)).flatMap((c) => {
        const labels = c.record.config.labels;
        const taskId = labels[taskIdLabel];
        return taskId === undefined || taskId === '' ? [] : [{ containerId: c.record.config.id, taskId, serviceId: labels[serviceIdLabel] ?? '' }];
      }),
    read: (containerId, options, emit) => engine.logs(containerId, options, emit),
  };
}
