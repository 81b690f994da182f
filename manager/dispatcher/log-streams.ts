/**
 * The worker's end of the log broker on the dispatcher: a session's LogSubscriptions stream (the
 * subscriptions its tasks should serve) and its PublishLogs streams (one per subscription, the
 * node's lines). The session checks stay in the dispatcher; this file moves the messages.
 */
import type { ServerReadableStream, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { ErrorCode, TsswarmError, errorMessage, isTsswarmError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { toServiceError } from '../../lib/rpc-errors.js';
import type { LogSubscription, LogSubscriptionsRequest, PublishLogsMessage, PublishLogsResponse } from '../../proto/index.js';
import type { LogBroker } from '../logbroker/index.js';
import { maxBufferedStreamMessages } from './assignments-stream.js';

export type LogSubscriptionsCall = ServerWritableStream<LogSubscriptionsRequest, LogSubscription>;
export type PublishLogsCall = ServerReadableStream<PublishLogsMessage, PublishLogsResponse>;

/** A node's open LogSubscriptions stream. */
export class LogSubscriptionsStream {
  private stopListening: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly call: LogSubscriptionsCall,
    private readonly nodeId: string,
    private readonly broker: LogBroker,
    private readonly onClose: () => void,
  ) {}

  start(): void {
    this.call.on('cancelled', () => this.close());
    this.call.on('close', () => this.close());
    this.stopListening = this.broker.listen(this.nodeId, (sub) => {
      if (this.closed) return;
      if (this.call.writableLength > maxBufferedStreamMessages) {
        this.close(new TsswarmError(ErrorCode.QUEUE_FULL, `node ${this.nodeId} does not read its log subscriptions`));
        return;
      }
      this.call.write(sub);
    });
  }

  /** Ends the stream (with `err` for the worker, when given) and stops listening. */
  close(err?: TsswarmError): void {
    if (this.closed) return;
    this.closed = true;
    this.stopListening?.();
    if (!this.call.cancelled && !this.call.writableEnded) {
      if (err) this.call.emit('error', toServiceError(err));
      else this.call.end();
    }
    this.onClose();
  }
}

/**
 * Serves one PublishLogs stream of node `nodeId`: each message goes to the broker; while the
 * subscriber is full, the stream is paused. `check` runs on every message (the session must still
 * be current). The call ends with the broker's refusal, or normally when the worker ends it.
 */
export function servePublishLogs(call: PublishLogsCall, callback: sendUnaryData<PublishLogsResponse>, nodeId: string, broker: LogBroker, check: (m: PublishLogsMessage) => void, log: Logger): void {
  let done = false;
  const finish = (err?: unknown): void => {
    if (done) return;
    done = true;
    if (err === undefined) {
      callback(null, {});
      return;
    }
    if (!isTsswarmError(err)) log.warn({ node: nodeId }, `log publication failed: ${errorMessage(err)}`);
    callback(toServiceError(err));
  };
  call.on('data', (message: PublishLogsMessage) => {
    if (done) return;
    try {
      check(message);
    } catch (err) {
      finish(err);
      return;
    }
    call.pause();
    broker.publish(nodeId, message).then(
      () => {
        if (message.close) finish();
        else call.resume();
      },
      (err: unknown) => finish(err),
    );
  });
  call.on('end', () => finish());
  call.on('error', () => finish(new TsswarmError(ErrorCode.CLOSED, `node ${nodeId} broke off its log publication`)));
}
