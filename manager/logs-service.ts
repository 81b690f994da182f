/**
 * The Logs service of a manager (proto/logs.proto): the leader subscribes the caller with its log
 * broker; a follower forwards the stream to the leader, as Control calls are forwarded, so a
 * client may ask any manager.
 */
import type { ServerWritableStream, ServiceError } from '@grpc/grpc-js';
import { ErrorCode, TsswarmError, errorMessage, isTsswarmError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { fromServiceError, toServiceError } from '../lib/rpc-errors.js';
import { LogsService, type LogsServer, type SubscribeLogsMessage, type SubscribeLogsRequest } from '../proto/index.js';
import type { LeaderClient } from './leader-client.js';
import type { LogBroker } from './logbroker/index.js';

type SubscribeCall = ServerWritableStream<SubscribeLogsRequest, SubscribeLogsMessage>;

/** What the Logs handlers need from the manager. */
export interface LogsServiceOptions {
  readonly isLeader: () => boolean;
  readonly broker: LogBroker;
  /** The leader's address; throws (NO_QUORUM, ...) when there is none. */
  readonly leaderAddr: () => string;
  readonly leaderClient: LeaderClient;
  readonly log: Logger;
}

/** The Logs handlers of a manager. */
export function logsHandlers(options: LogsServiceOptions): LogsServer {
  return {
    subscribeLogs: (call) => {
      try {
        if (options.isLeader()) subscribeHere(call, options.broker);
        else forward(call, options);
      } catch (err) {
        if (!isTsswarmError(err)) options.log.warn(`log subscription failed: ${errorMessage(err)}`);
        call.emit('error', toServiceError(err));
      }
    },
  };
}

function subscribeHere(call: SubscribeCall, broker: LogBroker): void {
  const options = call.request.options ?? { follow: false, tail: -1 };
  const close = broker.subscribe(call.request.selector ?? { serviceIds: [], taskIds: [] }, options, {
    write: (message) => (call.cancelled || call.writableEnded ? true : call.write(message)),
    onDrain: (fn) => call.once('drain', fn),
    end: (err) => {
      if (call.cancelled || call.writableEnded) return;
      if (err) call.emit('error', toServiceError(err));
      else call.end();
    },
  });
  call.on('cancelled', close);
  call.on('close', close);
}

function forward(call: SubscribeCall, options: LogsServiceOptions): void {
  const addr = options.leaderAddr();
  const upstream = options.leaderClient.stream(addr, LogsService.subscribeLogs, call.request);
  let ended = false;
  const stop = (): void => {
    if (ended) return;
    ended = true;
    upstream.cancel();
  };
  call.on('cancelled', stop);
  call.on('close', stop);
  call.on('drain', () => upstream.resume());
  upstream.on('data', (message: SubscribeLogsMessage) => {
    if (call.cancelled || call.writableEnded) return;
    if (!call.write(message)) upstream.pause();
  });
  upstream.on('end', () => {
    ended = true;
    if (!call.cancelled && !call.writableEnded) call.end();
  });
  upstream.on('error', (err: ServiceError) => {
    if (ended) return;
    ended = true;
    const failure = fromServiceError(err, `the leader at ${addr}`);
    call.emit('error', toServiceError(failure.code === ErrorCode.CLOSED ? new TsswarmError(ErrorCode.NO_QUORUM, `the leader at ${addr} cannot be reached: ${failure.message}`) : failure));
  });
}
