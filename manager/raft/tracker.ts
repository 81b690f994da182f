/**
 * The membership as this node currently applies it, the leader's Progress per member, and the
 * quorum arithmetic (committed index, vote tallies, liveness) over the voters.
 */
import { assert } from '../../lib/assert.js';
import { Progress } from './progress.js';
import type { ConfState, NodeId } from './types.js';

/** The outcome of a vote count so far. */
export type VoteResult = 'won' | 'lost' | 'pending';

/** Members, their progress, and votes received in the current election. */
export class ProgressTracker {
  readonly voters = new Set<NodeId>();
  readonly learners = new Set<NodeId>();
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();
  /**
   * Members this node has seen removed (since it started, or since its snapshot). Best effort:
   * removals compacted into a snapshot before a restart are forgotten.
   */
  readonly removed = new Set<NodeId>();
  private readonly maxInflightMessages: number;

  constructor(maxInflightMessages: number) {
    this.maxInflightMessages = maxInflightMessages;
  }

  /** The membership as a ConfState (sorted ids). */
  confState(): ConfState {
    return { voters: sortedIds(this.voters), learners: sortedIds(this.learners) };
  }

  /** True when `id` is a voter or a learner. */
  isMember(id: NodeId): boolean {
    return this.progress.has(id);
  }

  /** Every member id, sorted, so iteration (and thus message order) is deterministic. */
  memberIds(): NodeId[] {
    return sortedIds(this.progress.keys());
  }

  /** Voter ids, sorted. */
  voterIds(): NodeId[] {
    return sortedIds(this.voters);
  }

  /** Adds a member (or changes a learner into a voter); `next` is where a new member's log is probed. */
  setMember(id: NodeId, role: 'voter' | 'learner', next: number): void {
    const existing = this.progress.get(id);
    this.removed.delete(id);
    if (role === 'voter') {
      this.learners.delete(id);
      this.voters.add(id);
    } else {
      assert(!this.voters.has(id), `demoting voter ${id} to learner is not supported`);
      this.learners.add(id);
    }
    if (existing !== undefined) {
      existing.isLearner = role === 'learner';
      return;
    }
    this.progress.set(
      id,
      new Progress({
        next,
        match: 0,
        maxInflightMessages: this.maxInflightMessages,
        isLearner: role === 'learner',
        recentActive: true,
      }),
    );
  }

  /** Removes a member entirely and remembers that it was removed. */
  removeMember(id: NodeId): void {
    if (this.progress.has(id)) this.removed.add(id);
    this.voters.delete(id);
    this.learners.delete(id);
    this.progress.delete(id);
    this.votes.delete(id);
  }

  /** Replaces the membership (a snapshot or a restart); every member starts probing at `next`. */
  reset(confState: ConfState, next: number): void {
    this.voters.clear();
    this.learners.clear();
    this.progress.clear();
    this.votes.clear();
    for (const id of confState.voters) this.setMember(id, 'voter', next);
    for (const id of confState.learners) this.setMember(id, 'learner', next);
  }

  /**
   * Forgets what a previous leader knew: every member is probed from `lastIndex + 1`, except
   * `self`, whose log is the one being replicated.
   */
  resetProgress(self: NodeId, lastIndex: number): void {
    for (const [id, pr] of this.progress) {
      const fresh = new Progress({
        next: lastIndex + 1,
        match: id === self ? lastIndex : 0,
        maxInflightMessages: this.maxInflightMessages,
        isLearner: pr.isLearner,
        recentActive: false,
      });
      this.progress.set(id, fresh);
    }
  }

  /** The number of voters that make a majority. */
  quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  /** The highest index replicated on a majority of voters (0 with no voters). */
  committedIndex(): number {
    const matches = this.voterIds().map((id) => this.progress.get(id)?.match ?? 0);
    if (matches.length === 0) return 0;
    matches.sort((a, b) => b - a);
    return matches[this.quorum() - 1] ?? 0;
  }

  /** Records `id`'s vote (the first one counts) and returns the tally. */
  recordVote(id: NodeId, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return this.tally();
  }

  /** Won when a majority of voters granted, lost when a majority can no longer grant. */
  tally(): VoteResult {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    const q = this.quorum();
    if (granted >= q) return 'won';
    if (this.voters.size - rejected < q) return 'lost';
    return 'pending';
  }

  /** True when a majority of the voters in `ids` is reached. */
  hasQuorum(ids: ReadonlySet<NodeId>): boolean {
    let n = 0;
    for (const id of this.voters) if (ids.has(id)) n++;
    return n >= this.quorum();
  }

  /** True when a majority of voters were recently active (`self` always counts). */
  quorumActive(self: NodeId): boolean {
    const active = new Set<NodeId>();
    for (const [id, pr] of this.progress) if (id === self || pr.recentActive) active.add(id);
    return this.hasQuorum(active);
  }
}

function sortedIds(ids: Iterable<NodeId>): NodeId[] {
  return [...ids].sort((a, b) => a - b);
}
