/** The scheduler: pending tasks → nodes, with reasons for what cannot be placed. */
export { Scheduler, explain, type ScheduleResult } from './scheduler.js';
export { parseConstraint, validateSpreadKey, type Constraint } from './constraints.js';
export { Reason } from './filters.js';
export type { NodeInfo, TaskGroup, Placement, Unplaced } from './node-info.js';
