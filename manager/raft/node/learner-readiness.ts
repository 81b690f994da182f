/**
 * When a learner may become a voter (pure): only once its log has nearly caught up with the
 * leader's, as etcd's server refuses a promotion with ErrLearnerNotReady. A voter far behind
 * counts toward the quorum without being able to acknowledge anything new until it has caught up:
 * promoting the second member of a one-manager swarm would stall every write until then.
 */
import { ErrorCode, TsswarmError } from '../../../lib/errors.js';
import type { NodeId } from '../types.js';

/** Share of the leader's committed log a learner's log must match (etcd's readyPercent). */
export const learnerReadyShare = 0.9;

/**
 * Most entries a learner's log may be behind the leader's commit. The share alone would let a
 * learner of a long log lag by 100,000 entries at 1,000,000; this bound keeps the catch-up a new
 * voter still owes to a few append messages (milliseconds), while a learner that keeps up under
 * load, one round trip of writes behind, still qualifies.
 */
export const learnerMaxLagEntries = 1_000;

/**
 * True when a learner whose log matches the leader's up to `match` may be promoted, the leader
 * having committed up to `commit`: match ≥ 90% of commit, and at most learnerMaxLagEntries behind.
 */
export function isLearnerReady(match: number, commit: number): boolean {
  return match >= learnerReadyShare * commit && commit - match <= learnerMaxLagEntries;
}

/** A promotion refused because the learner has not caught up yet; try again later. */
export class LearnerNotReadyError extends TsswarmError {
  constructor(
    readonly raftId: NodeId,
    readonly match: number,
    readonly commit: number,
  ) {
    super(ErrorCode.CONFLICT, `learner ${raftId} is not caught up yet: match ${match} of ${commit} (needs ≥ ${learnerReadyShare * 100}% and at most ${learnerMaxLagEntries} entries behind)`);
  }
}

/** True when `err` is a LearnerNotReadyError. */
export function isLearnerNotReadyError(err: unknown): err is LearnerNotReadyError {
  return err instanceof LearnerNotReadyError;
}
