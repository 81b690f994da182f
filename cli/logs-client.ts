/**
 * The CLI's log subscription through the local tsswarmd (Logs.SubscribeLogs on the control
 * socket): every message is handed on as it comes; the promise settles when the stream ends
 * (without --follow, once every node sent its lines) or fails with one line a user can act on.
 */
import { credentials, makeGenericClientConstructor, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { existsSync } from 'node:fs';
import { ErrorCode, TsswarmError } from '../lib/errors.js';
import { fromServiceError } from '../lib/rpc-errors.js';
import { LogsService, type DeepPartial, type SubscribeLogsMessage, type SubscribeLogsRequest } from '../proto/index.js';

/** A running subscription: `done` settles at its end; cancel() ends it early (Ctrl-C). */
export interface LogStream {
  readonly done: Promise<void>;
  cancel(): void;
}

/** Subscribes to logs at `address` ("unix://PATH"). */
export function subscribeLogs(address: string, request: DeepPartial<SubscribeLogsRequest>, onMessage: (m: SubscribeLogsMessage) => void): LogStream {
  const path = address.slice('unix://'.length);
  if (!existsSync(path)) throw new TsswarmError(ErrorCode.CLOSED, `cannot reach tsswarmd: no socket at ${path} (is tsswarmd running? start it with: tsswarmd)`);
  const Ctor = makeGenericClientConstructor(LogsService as never, 'Logs');
  const client = new Ctor(address, credentials.createInsecure()) as unknown as { subscribeLogs(req: unknown): ClientReadableStream<SubscribeLogsMessage>; close(): void };
  const stream = client.subscribeLogs(request);
  let cancelled = false;
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (m: SubscribeLogsMessage) => onMessage(m));
    stream.on('end', () => {
      client.close();
      resolve();
    });
    stream.on('error', (err: ServiceError) => {
      client.close();
      if (cancelled && err.code === status.CANCELLED) resolve();
      else if (err.code === status.UNIMPLEMENTED) reject(new TsswarmError(ErrorCode.UNSUPPORTED, `tsswarmd at ${address} does not serve service logs (is it an older version?)`));
      else reject(fromServiceError(err, address));
    });
  });
  return {
    done,
    cancel: () => {
      cancelled = true;
      stream.cancel();
    },
  };
}
