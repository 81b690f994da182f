/**
 * Typed errors for what the world can do to us (bad input, missing kernel features, dead peers).
 * Each has a stable `code` that scripts and tests may match on; messages are for people.
 */

/** Stable error codes. Add new ones here; never rename one that has shipped. */
export const ErrorCode = {
  /** The user's input is malformed or out of range (CLI exit code 2). */
  INVALID_ARGUMENT: 'EINVAL',
  /** The named object does not exist. */
  NOT_FOUND: 'ENOTFOUND',
  /** An object with that name already exists. */
  ALREADY_EXISTS: 'EEXIST',
  /** The request conflicts with the current state (stale version, object in use). */
  CONFLICT: 'ECONFLICT',
  /** A required kernel feature or host tool is missing. */
  UNSUPPORTED: 'EUNSUPPORTED',
  /** A bounded queue or buffer is full. */
  QUEUE_FULL: 'EQUEUEFULL',
  /** The component is shut down or the queue closed. */
  CLOSED: 'ECLOSED',
  /** An external command or system call failed. */
  EXTERNAL: 'EEXTERNAL',
  /** The operation did not finish within its time limit. */
  TIMEOUT: 'ETIMEDOUT',
  /** Data read from disk or the wire failed its integrity check. */
  CORRUPT: 'ECORRUPT',
  /** No node can take a task. */
  NO_SUITABLE_NODE: 'ENOSUITABLENODE',
  /** The caller lacks the privilege for the operation (e.g. not root). */
  PERMISSION: 'EPERM',
  /** A container's command does not exist in its image (`run` exits 127, as docker). */
  COMMAND_NOT_FOUND: 'ECMDNOTFOUND',
  /** A container's command exists but cannot be executed (`run` exits 126, as docker). */
  COMMAND_NOT_EXECUTABLE: 'ECMDNOEXEC',
  /** The managers have no leader or cannot reach a quorum, so the cluster state cannot change. */
  NO_QUORUM: 'ENOQUORUM',
  /** This node is not part of a swarm (or not a manager) and the request needs one. */
  NOT_IN_SWARM: 'ENOTSWARM',
} as const;

/** One of the stable error codes. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The error tsswarm throws or returns for anything the world can do to it. */
export class TsswarmError extends Error {
  override readonly name = 'TsswarmError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True when `err` is a TsswarmError, optionally with the given code. */
export function isTsswarmError(err: unknown, code?: ErrorCode): err is TsswarmError {
  return err instanceof TsswarmError && (code === undefined || err.code === code);
}

/** Shorthand for an INVALID_ARGUMENT error. */
export function invalidArgument(message: string): TsswarmError {
  return new TsswarmError(ErrorCode.INVALID_ARGUMENT, message);
}

/** The message of any thrown value, for one-line reports. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
