/**
 * The store replicated by raft: every batch is one raft entry (an encoded InternalRaftRequest),
 * applied by every manager to its MemoryStore in log order with the entry's index as version; a
 * raft snapshot is the encoded StoreSnapshot. The proposer resolves a write with the events it made
 * once this manager applied it, or rejects with why every replica refused it.
 */
import { InternalRaftRequest, StoreSnapshot } from '../../proto/index.js';
import type { Application } from '../raft/node/raft-node.js';
import type { MemoryStore, StoreEvent } from './memory-store.js';
import type { Proposer } from './store.js';

/** The MemoryStore as raft's replicated state machine. */
export class StoreApplication implements Application {
  constructor(readonly memory: MemoryStore) {}

  apply(index: number, payload: Uint8Array): StoreEvent[] {
    const request = InternalRaftRequest.decode(payload);
    return this.memory.apply(index, request.actions);
  }

  snapshot(): Uint8Array {
    return StoreSnapshot.encode(this.memory.snapshot());
  }

  restore(data: Uint8Array, index: number): void {
    this.memory.restore(StoreSnapshot.decode(data), index);
  }
}

/** What the proposer needs of a raft member. */
export interface RaftProposal {
  propose(payload: Uint8Array): Promise<unknown>;
}

/** Proposes store batches through raft. */
export class RaftProposer implements Proposer {
  constructor(private readonly raft: RaftProposal) {}

  async propose(request: InternalRaftRequest): Promise<StoreEvent[]> {
    return (await this.raft.propose(InternalRaftRequest.encode(request))) as StoreEvent[];
  }
}
