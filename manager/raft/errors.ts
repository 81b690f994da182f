/**
 * Typed errors of the raft core: what callers (the application, the storage) can get wrong or
 * run into. Invariant violations are assertions, not these.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';

/** Why a raft operation failed; stable strings that tests and callers may match on. */
export const RaftErrorReason = {
  /** The proposal or read could not be accepted here (no leader, transfer in progress, removed). */
  proposalDropped: 'proposalDropped',
  /** An entry's data exceeds `maxEntryBytes`. */
  entryTooLarge: 'entryTooLarge',
  /** Another membership change is still pending (not yet applied). */
  confChangePending: 'confChangePending',
  /** The membership change is not valid for the current configuration. */
  invalidConfChange: 'invalidConfChange',
  /** The requested index was compacted away. */
  compacted: 'compacted',
  /** The snapshot is older than the one the storage already holds. */
  snapshotOutOfDate: 'snapshotOutOfDate',
  /** The configuration passed to the core is invalid. */
  invalidConfig: 'invalidConfig',
  /** A message that must stay local arrived from the network. */
  localMessageFromNetwork: 'localMessageFromNetwork',
} as const;

/** One of the raft error reasons. */
export type RaftErrorReason = (typeof RaftErrorReason)[keyof typeof RaftErrorReason];

const codeOf: Record<RaftErrorReason, ErrorCode> = {
  proposalDropped: ErrorCode.CONFLICT,
  entryTooLarge: ErrorCode.INVALID_ARGUMENT,
  confChangePending: ErrorCode.CONFLICT,
  invalidConfChange: ErrorCode.INVALID_ARGUMENT,
  compacted: ErrorCode.CONFLICT,
  snapshotOutOfDate: ErrorCode.CONFLICT,
  invalidConfig: ErrorCode.INVALID_ARGUMENT,
  localMessageFromNetwork: ErrorCode.INVALID_ARGUMENT,
};

/** A TsswarmError with a raft-specific `reason`; `code` is the closest generic code. */
export class RaftError extends TsswarmError {
  readonly reason: RaftErrorReason;

  constructor(reason: RaftErrorReason, message: string) {
    super(codeOf[reason], message);
    this.reason = reason;
  }
}

/** True when `err` is a RaftError, optionally with the given reason. */
export function isRaftError(err: unknown, reason?: RaftErrorReason): err is RaftError {
  return err instanceof RaftError && (reason === undefined || err.reason === reason);
}
