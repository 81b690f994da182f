/**
 * The dispatcher's refusals, as TsswarmErrors whose messages tell the worker what to do next.
 * They cross gRPC through lib/rpc-errors (the code travels in the trailers).
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';

/** The message every stream ends with when this manager steps down. */
export const noLongerLeaderMessage = 'this manager is no longer the leader';

/** This manager's dispatcher is not running (not the leader, or not yet): try another manager. */
export function notLeader(stepDown = false): TsswarmError {
  return new TsswarmError(ErrorCode.CLOSED, stepDown ? noLongerLeaderMessage : 'this manager is not the leader; connect to another manager');
}

/**
 * The session named in a request is not the node's current one (unknown, replaced, expired):
 * the worker must open a new session.
 */
export function sessionInvalid(nodeId: string, sessionId: string, why: string): TsswarmError {
  return new TsswarmError(ErrorCode.NOT_FOUND, `session ${JSON.stringify(sessionId)} of node ${nodeId} is not valid (${why}); open a new session`);
}

