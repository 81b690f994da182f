/** The orchestrator: services → tasks (reconcile), restart policy, task history. */
export { reconcile, type ReconcileInput, type ReconcileOutput } from './reconcile.js';
export { restartDecision, isFinished, isWanted, defaultRestartDelayMs } from './restart-policy.js';
