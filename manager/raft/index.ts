/**
 * The raft consensus core: a pure state machine (RawNode) plus the Storage it reads. See README.md
 * for how data enters (tick, step, propose, readIndex) and leaves (Ready) it.
 */
export * from './types.js';
export { RaftError, RaftErrorReason, isRaftError } from './errors.js';
export { type Storage, type InitialState, MemoryStorage, emptySnapshot } from './storage.js';
export { RaftLog, type IndexTerm } from './log.js';
export { UnstableLog } from './log-unstable.js';
export { Inflights } from './inflights.js';
export { Progress, type ProgressState } from './progress.js';
export { ProgressTracker, type VoteResult } from './tracker.js';
export { ReadOnly, type PendingRead } from './read-only.js';
export { Raft, type RaftConfig, type CampaignKind, transferContext, validateRaftConfig } from './raft.js';
export { RawNode, type Ready, type RawNodeConfig, type RaftStatus, defaultRaftLimits } from './raw-node.js';
