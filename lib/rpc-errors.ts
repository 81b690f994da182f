/**
 * TsswarmError over gRPC: a server turns a thrown error into a status with the error's code in the
 * metadata; a client turns the status back into the same TsswarmError, so exit codes and messages
 * survive the trip. Unexpected errors become INTERNAL without details leaking a stack.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ErrorCode, TsswarmError } from './errors.js';

/** Metadata key carrying the TsswarmError code. */
export const errorCodeKey = 'tsswarm-error-code';
/** Trailer a manager that does not lead adds to a refusal: the leader's address, where to go instead. */
export const leaderHintKey = 'tsswarm-leader';

/** The leader address a refused call's trailers name, if any. */
export function leaderHintOf(err: unknown): string | undefined {
  const metadata = (err as { metadata?: { get(key: string): unknown[] } } | undefined)?.metadata;
  const value = metadata?.get(leaderHintKey)[0];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

const grpcStatusFor: Readonly<Record<ErrorCode, status>> = {
  [ErrorCode.INVALID_ARGUMENT]: status.INVALID_ARGUMENT,
  [ErrorCode.NOT_FOUND]: status.NOT_FOUND,
  [ErrorCode.ALREADY_EXISTS]: status.ALREADY_EXISTS,
  [ErrorCode.CONFLICT]: status.FAILED_PRECONDITION,
  [ErrorCode.UNSUPPORTED]: status.UNIMPLEMENTED,
  [ErrorCode.QUEUE_FULL]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.CLOSED]: status.UNAVAILABLE,
  [ErrorCode.EXTERNAL]: status.INTERNAL,
  [ErrorCode.TIMEOUT]: status.DEADLINE_EXCEEDED,
  [ErrorCode.CORRUPT]: status.DATA_LOSS,
  [ErrorCode.NO_SUITABLE_NODE]: status.FAILED_PRECONDITION,
  [ErrorCode.PERMISSION]: status.PERMISSION_DENIED,
  [ErrorCode.COMMAND_NOT_FOUND]: status.INVALID_ARGUMENT,
  [ErrorCode.COMMAND_NOT_EXECUTABLE]: status.INVALID_ARGUMENT,
  [ErrorCode.NO_QUORUM]: status.UNAVAILABLE,
  [ErrorCode.NOT_IN_SWARM]: status.FAILED_PRECONDITION,
};

/** A gRPC error object for a thrown value (what a handler passes to its callback or emits). */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const metadata = new Metadata();
  if (err instanceof TsswarmError) {
    metadata.set(errorCodeKey, err.code);
    return { code: grpcStatusFor[err.code], details: err.message, metadata };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: status.INTERNAL, details: `internal error: ${message}`, metadata };
}

const knownCodes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** The TsswarmError a client should see for a failed call. */
export function fromServiceError(err: ServiceError, target: string): TsswarmError {
  const code = err.metadata?.get(errorCodeKey)[0];
  if (typeof code === 'string' && knownCodes.has(code)) return new TsswarmError(code as ErrorCode, err.details);
  if (err.code === status.UNAVAILABLE) {
    return new TsswarmError(ErrorCode.CLOSED, `cannot reach tsswarmd at ${target}: is it running?`);
  }
  if (err.code === status.DEADLINE_EXCEEDED) return new TsswarmError(ErrorCode.TIMEOUT, `tsswarmd did not answer in time (${err.details})`);
  return new TsswarmError(ErrorCode.EXTERNAL, err.details || err.message);
}
