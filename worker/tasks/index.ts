/** The worker's task executor: assignments in, containers and task status reports out. */
export {
  TaskExecutor,
  defaultControllerLimits,
  exitWaitSliceMs,
  imagePullRetryDelayMs,
  maxAssignedTasks,
  maxConcurrentControllerOps,
  maxImagePullAttempts,
  maxOperationAttempts,
  maxRemoveAllRounds,
  operationRetryDelayMs,
  type TaskExecutorOptions,
} from './task-executor.js';
export { TaskController, type ControllerLimits } from './task-controller.js';
export { nextOperation, type ControllerView, type ContainerPhase, type Operation } from './next-operation.js';
export {
  containerRequestFor,
  taskContainerName,
  taskIdLabel,
  taskNameLabel,
  taskLabel,
  serviceIdLabel,
  serviceNameLabel,
  nodeIdLabel,
  type TaskContainerRequest,
} from './container-request.js';
export { exitError, exitStatus, isTerminal, stateMessages, taskStatus, type ContainerExit } from './task-status.js';
export { createTaskContainer, type TaskEngine, type TaskImages, type TaskNetworks } from './ports.js';
export { Limiter } from './limiter.js';
