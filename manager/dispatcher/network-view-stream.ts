/**
 * One node's NetworkView stream: the node's whole network view (manager/netview) when the stream
 * opens, then the whole view again each time it changes. Store changes gather for a short window
 * and the view is recomputed once per window; a view equal to the last one sent is not sent. A
 * view is complete in itself, so nothing is ever queued behind a slow reader: while the worker has
 * not read the last one, only the newest view is kept, and a watch that falls behind the store is
 * simply opened again (the next view is computed from scratch anyway).
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { Clock, Timer } from '../../lib/clock.js';
import { ErrorCode, TsswarmError, errorMessage, isTsswarmError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { toServiceError } from '../../lib/rpc-errors.js';
import { NetworkViewMessage, type NetworkViewRequest } from '../../proto/index.js';
import { networkViewForNode, sourceFromStore } from '../netview/index.js';
import type { MemoryStore, StoreEvent, Watcher } from '../store/index.js';

/** How long store changes gather before the view is computed again. */
export const networkViewBatchWindowMs = 100;
/** Store events the stream's watch may fall behind by before it is opened again. */
export const networkViewWatchQueueEvents = 10_000;
/** Times in a row the watch may be reopened without a view being sent in between before the stream gives up. */
export const maxNetworkViewWatchRestarts = 8;

/** The server side of one NetworkView call. */
export type NetworkViewCall = ServerWritableStream<NetworkViewRequest, NetworkViewMessage>;

/** What a NetworkViewStream needs from the dispatcher. */
export interface NetworkViewStreamOptions {
  readonly call: NetworkViewCall;
  readonly nodeId: string;
  readonly memory: MemoryStore;
  readonly clock: Clock;
  readonly log: Logger;
  readonly windowMs?: number;
  /** Called once when the stream ends, for whatever reason. */
  readonly onClose?: () => void;
}

/** The store events that may change some node's network view. */
export function concernsNetworkViews(e: StoreEvent): boolean {
  const o = e.object;
  switch (o.kind) {
    case 'node':
    case 'service':
    case 'network':
      return true;
    case 'task':
      return o.value.networks.length > 0;
    default:
      return false;
  }
}

/** Streams one node's network view until closed. */
export class NetworkViewStream {
  private watcher: Watcher;
  private sequence = 0;
  private lastSent: Uint8Array | undefined;
  private timer: Timer | undefined;
  private closed = false;
  /** A view is due but the worker has not read the last one: send when it drains. */
  private waitingDrain = false;
  private restarts = 0;

  constructor(private readonly options: NetworkViewStreamOptions) {
    // The watch starts before the first read, in the same turn: no change falls between them.
    this.watcher = options.memory.watch(concernsNetworkViews, networkViewWatchQueueEvents);
    const end = (): void => this.close();
    options.call.on('cancelled', end);
    options.call.on('close', end);
    options.call.on('error', end);
    options.call.on('drain', () => {
      if (!this.waitingDrain || this.closed) return;
      this.waitingDrain = false;
      this.flush();
    });
  }

  /** Sends the current view and starts following the store. */
  start(): void {
    this.flush();
    void this.pump(this.watcher);
  }

  /** Views sent so far. */
  get sent(): number {
    return this.sequence;
  }

  /** Ends the stream: with `err` as its status when given, else OK. Idempotent. */
  close(err?: TsswarmError): void {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.watcher.close();
    const { call } = this.options;
    if (!call.cancelled && !call.writableEnded) {
      if (err) call.emit('error', toServiceError(err));
      else call.end();
    }
    this.options.onClose?.();
  }

  private async pump(watcher: Watcher): Promise<void> {
    for (;;) {
      try {
        await watcher.next();
      } catch (err) {
        if (this.closed || watcher !== this.watcher) return;
        if (isTsswarmError(err, ErrorCode.QUEUE_FULL) && this.restarts < maxNetworkViewWatchRestarts) {
          // A full view is computed from scratch: watch again and send what the store has now.
          this.restarts++;
          this.options.log.warn({ node: this.options.nodeId }, 'network view watch fell behind the store; watching again');
          this.watcher = this.options.memory.watch(concernsNetworkViews, networkViewWatchQueueEvents);
          this.schedule();
          void this.pump(this.watcher);
        } else {
          this.close(new TsswarmError(ErrorCode.CLOSED, `the network view stream of node ${this.options.nodeId} ended: ${errorMessage(err)}; open a new session`));
        }
        return;
      }
      if (this.closed) return;
      this.schedule();
    }
  }

  private schedule(): void {
    this.timer ??= this.options.clock.setTimer(this.options.windowMs ?? networkViewBatchWindowMs, () => {
      this.timer = undefined;
      this.flush();
    });
  }

  /** Computes the view and sends it when it differs from the last one sent. */
  private flush(): void {
    if (this.closed) return;
    const { call, memory, nodeId } = this.options;
    if (call.writableNeedDrain) {
      this.waitingDrain = true;
      return;
    }
    let view: NetworkViewMessage;
    try {
      view = networkViewForNode(nodeId, sourceFromStore(memory));
    } catch (err) {
      this.options.log.error({ node: nodeId }, `computing the network view failed: ${errorMessage(err)}`);
      this.close(new TsswarmError(ErrorCode.CLOSED, `computing the network view of node ${nodeId} failed: ${errorMessage(err)}`));
      return;
    }
    const bytes = NetworkViewMessage.encode(view);
    if (this.lastSent !== undefined && Buffer.from(bytes).equals(this.lastSent)) return;
    this.lastSent = bytes;
    this.sequence++;
    this.restarts = 0;
    call.write({ ...view, sequence: this.sequence });
  }
}
