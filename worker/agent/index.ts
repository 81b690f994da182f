/** The worker's agent: its dispatcher session, heartbeats, assignments and task status reports. */
export {
  Agent,
  statusFlushWindowMs,
  maxStatusReportsPerRequest,
  sessionOpenTimeoutMs,
  maxPendingAssignmentMessages,
  fallbackHeartbeatPeriodMs,
  minAgentHeartbeatPeriodMs,
  type AgentOptions,
  type AgentStatus,
  type AgentState,
  type AgentEvent,
} from './agent.js';
export { backoffDelayMs, defaultBackoff, defaultBackoffInitialMs, defaultBackoffMaxMs, type BackoffPolicy } from './backoff.js';
export { DispatcherClient, dispatcherCallError, dispatcherCallTimeoutMs, maxDispatcherMessageBytes } from './dispatcher-client.js';
export { LogPublisher, maxActiveSubscriptions, maxLinesPerBatch, followRescanMs, type TaskContainer, type TaskLogLine, type TaskLogSource } from './log-publisher.js';
export { StatusQueue, maxQueuedStatusReports } from './status-queue.js';
export { NullTaskWorker, type TaskWorker } from './task-worker.js';
