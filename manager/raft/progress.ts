/**
 * What a leader knows about one follower's log, and how it is currently sending to it:
 * - probe: one append at a time until we find where our logs agree;
 * - replicate: stream appends optimistically, up to `maxInflightMessages` unacknowledged;
 * - snapshot: the entries it needs are compacted; a snapshot is on its way, send nothing else.
 */
import { assert } from '../../lib/assert.js';
import { Inflights } from './inflights.js';

/** How the leader is sending to a follower. */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** A leader's view of one follower (or of itself). */
export class Progress {
  /** Highest index known to be replicated on the follower. */
  match: number;
  /** Index of the next entry to send. */
  next: number;
  state: ProgressState = 'probe';
  /** In snapshot state, the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive: boolean;
  /** In probe state, a probe is outstanding: wait for its answer (or a heartbeat response). */
  probeSent = false;
  /** Appends sent in replicate state and not yet acknowledged. */
  readonly inflights: Inflights;
  /** A learner receives the log but has no vote. */
  isLearner: boolean;

  constructor(opts: { next: number; match: number; maxInflightMessages: number; isLearner: boolean; recentActive: boolean }) {
    this.next = opts.next;
    this.match = opts.match;
    this.inflights = new Inflights(opts.maxInflightMessages);
    this.isLearner = opts.isLearner;
    this.recentActive = opts.recentActive;
  }

  /** Start probing: send one append at next = match + 1 (or past a snapshot that was just sent). */
  becomeProbe(): void {
    const pendingSnapshot = this.state === 'snapshot' ? this.pendingSnapshot : 0;
    this.resetState('probe');
    this.next = Math.max(this.match + 1, pendingSnapshot + 1);
  }

  /** Start streaming appends right after `match`. */
  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  /** Wait for the snapshot at `snapshotIndex` to be installed. */
  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /**
   * The follower acknowledged entries up to `index`. Returns true when this was news (match moved);
   * a stale or duplicate acknowledgement returns false.
   */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** In replicate state, assume the append up to `lastIndex` will succeed and move on. */
  optimisticUpdate(lastIndex: number): void {
    this.next = lastIndex + 1;
  }

  /**
   * The follower rejected an append whose previous index was `rejected`; `matchHint` is the highest
   * index that may match. Returns false when the rejection is stale (for an older probe).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    assert(this.next >= 1, 'next below 1');
    this.probeSent = false;
    return true;
  }

  /** True when the leader must not send appends to this follower now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  /** One line for status output and test expectations. */
  describe(): string {
    const extra = this.state === 'snapshot' ? ` pendingSnapshot=${this.pendingSnapshot}` : '';
    const inflight = this.state === 'replicate' ? ` inflight=${this.inflights.count()}` : '';
    const learner = this.isLearner ? ' learner' : '';
    return `${this.state} match=${this.match} next=${this.next}${extra}${inflight}${learner}`;
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }
}
