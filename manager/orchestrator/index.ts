/** The orchestrator: services → tasks (reconcile), rolling updates, restart policy, task history, and the leader's loop. */
export { reconcile, makeTask, specVersionOf, type ReconcileInput, type ReconcileOutput } from './reconcile.js';
export { restartDecision, isFinished, isWanted, defaultRestartDelayMs } from './restart-policy.js';
export {
  orchestrate,
  isOutdated,
  idlePacing,
  defaultUpdateParallelism,
  updateCompletedMessage,
  updateInProgressMessage,
  rollbackCompletedMessage,
  defaultUpdateMonitorMs,
  monitorMsOf,
  type OrchestrateInput,
  type OrchestrateOutput,
  type UpdatePacing,
} from './update.js';
export { rebalance, rebalanceEnabled, shares, excessOf, idleRebalance, rebalancedFromMessage, type RebalanceInput, type RebalanceOutput, type RebalanceMemory, type Member } from './rebalance.js';
export { Orchestrator, maxServicesPerPass, defaultTaskHistoryLimit, shutdownBeforeAssignedMessage, type OrchestratorOptions } from './orchestrator.js';
