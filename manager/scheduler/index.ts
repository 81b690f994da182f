/** The scheduler: pending tasks → nodes, with reasons for what cannot be placed, and the leader's loop. */
export { Scheduler, explain, type ScheduleResult } from './scheduler.js';
export { parseConstraint, matches, validateSpreadKey, spreadValue, type Constraint } from './constraints.js';
export { nodeInfoOf, holdsResources, hostPortKey } from './node-view.js';
export { Reason } from './filters.js';
export type { NodeInfo, TaskGroup, Placement, Unplaced } from './node-info.js';
export { SchedulerLoop, taskGroupOf, maxTasksPerSchedulerPass, unplacedRetryIntervalMs, assignedMessage, pendingMessage, type SchedulerLoopOptions } from './scheduler-loop.js';
