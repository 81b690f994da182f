/**
 * One grpc-js unary handler over a request → response function: a TsswarmError travels as its
 * status and code (lib/rpc-errors); anything else becomes INTERNAL with its message only, and is logged.
 */
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { isTsswarmError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { toServiceError } from '../../lib/rpc-errors.js';

/** Makes handlers for `method`s that log unexpected failures to `log`. */
export function unaryHandlers(log: Logger | undefined) {
  return <Req, Res>(method: string, fn: (request: Req) => Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      fn(call.request).then(
        (response) => callback(null, response),
        (err: unknown) => {
          if (!isTsswarmError(err)) log?.error({ err, method }, 'control API call failed unexpectedly');
          callback(toServiceError(err));
        },
      );
    };
}
