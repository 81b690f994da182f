/** The cluster state: versioned tables applied in raft order, transactions, watches. */
export { MemoryStore, defaultWatchQueueEvents, type StoreEvent, type EventKind, type Watcher } from './memory-store.js';
export { Store, Tx, LocalProposer, maxActionsPerBatch, type Proposer } from './store.js';
export { objectKinds, type ObjectKind, type ObjectTypes, type StoreObject } from './objects.js';
export { StoreApplication, RaftProposer, type RaftProposal } from './raft-store.js';
