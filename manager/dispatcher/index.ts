/** The dispatcher: worker sessions, heartbeats, assignment streams and task status, on the raft leader. */
export {
  Dispatcher,
  peerHost,
  defaultHeartbeatPeriodMs,
  minHeartbeatPeriodMs,
  heartbeatGraceMultiplier,
  maxSessions,
  maxUpdatesPerStatusRequest,
  managersPollIntervalMs,
  heartbeatFailureMessage,
  type DispatcherOptions,
  type DispatcherStats,
  type DispatcherCall,
} from './dispatcher.js';
export {
  AssignmentsStream,
  assignmentsBatchWindowMs,
  maxChangesPerAssignmentsMessage,
  assignmentsWatchQueueEvents,
  maxBufferedStreamMessages,
  type AssignmentsStreamOptions,
  type AssignmentsCall,
} from './assignments-stream.js';
export {
  NetworkViewStream,
  concernsNetworkViews,
  networkViewBatchWindowMs,
  networkViewWatchQueueEvents,
  maxNetworkViewWatchRestarts,
  type NetworkViewStreamOptions,
  type NetworkViewCall,
} from './network-view-stream.js';
export { AssignmentSet, isAssignedTask, dependencyKeys, tasksEqualStable, type DependencyKind, type DependencyReader, type DependencyTypes } from './assignment-set.js';
export { StatusBatcher, statusBatchWindowMs, maxStatusUpdatesPerWrite, maxPendingStatusUpdates, type StatusBatcherStats } from './status-batcher.js';
export { notLeader, sessionInvalid, noLongerLeaderMessage } from './errors.js';
export { updateWithRetry, maxStoreWriteAttempts } from './store-retry.js';
