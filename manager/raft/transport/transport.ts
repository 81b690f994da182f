/**
 * The raft transport: one outgoing gRPC stream per peer (Raft.StreamMessages), each with a bounded
 * queue drained in batches, reconnecting with jittered exponential backoff; and the server side
 * that decodes incoming streams and hands messages to the node. Credentials are injected (mutual
 * TLS in a cluster, insecure on loopback in tests). Raft tolerates lost messages, so a full queue
 * drops and reports the peer unreachable instead of growing. A lost snapshot is different: the
 * leader waits for its outcome before it sends that follower anything again, so every snapshot
 * message the transport is given ends in exactly one `snapshotSent` report, finished or failed
 * (as etcd's rafthttp calls ReportSnapshot).
 */
import {
  Client,
  makeGenericClientConstructor,
  status,
  type ChannelCredentials,
  type ClientDuplexStream,
  type ServerDuplexStream,
} from '@grpc/grpc-js';
import type { Rng } from '../../../lib/rng.js';
import { RaftService, type RaftMessage, type RaftServer } from '../../../proto/index.js';
import { MessageType, type Message, type NodeId } from '../types.js';
import { MessageDecoder, encodeMessage } from './message-codec.js';

/** Messages queued for one peer before new ones are dropped. */
export const maxQueuedMessages = 4096;
/** First reconnect delay; doubles up to maxBackoffMs, with jitter. */
export const initialBackoffMs = 50;
export const maxBackoffMs = 2_000;

/**
 * How a snapshot message ended: `finished` once its last chunk was handed to gRPC without error
 * (the stream took it; the follower's answer tells the rest), `failed` when it was dropped (full
 * queue, unknown or removed peer, transport closing) or its stream broke or never connected.
 */
export type SnapshotOutcome = 'finished' | 'failed';

/** What the transport tells the node. */
export interface TransportHandler {
  /** A message arrived from a peer. */
  receive(message: Message): void;
  /** Messages to `peer` were dropped (queue full or connection lost): raft should probe it. */
  unreachable(peer: NodeId): void;
  /** A snapshot message to `peer` ended; called once per snapshot message given to send(). */
  snapshotSent(peer: NodeId, outcome: SnapshotOutcome): void;
  /** True when `peer` was removed from the group: its streams are refused with `removedMemberDetails`. */
  isRemoved?(peer: NodeId): boolean;
  /** A peer refused this member's stream because this member was removed from the group. */
  removedFromGroup?(): void;
}

/** The status details a member sends on the stream of a member that was removed from the group. */
export const removedMemberDetails = 'raft member was removed from the group';

type RaftClient = Client & { streamMessages(): ClientDuplexStream<RaftMessage, RaftMessage> };

const RaftClientCtor = makeGenericClientConstructor(RaftService as never, 'Raft') as unknown as new (
  address: string,
  credentials: ChannelCredentials,
  options: Record<string, number>,
) => RaftClient;

/**
 * No gRPC retries and no retry buffer on the raft streams: raft resends what is lost and the link
 * reconnects by itself. With the defaults, grpc-js acknowledges a write at once while its retry
 * buffer (1 MiB per call, 16 MiB per channel) has room, so stream.write() never pushes back, up to
 * 1 MiB of encoded messages wait in front of each peer's stream, and every completed write copies
 * that backlog (measured: 200 MB of garbage on the leader per 60,000 writes). Without the buffer, a
 * write completes when it reaches HTTP/2, and the backlog waits in the link's bounded queue.
 */
const channelOptions = { 'grpc.enable_retries': 0, 'grpc.per_rpc_retry_buffer_size': 0 };

/** The outgoing side to one peer. */
class PeerLink {
  private queue: Message[] = [];
  private stream: ClientDuplexStream<RaftMessage, RaftMessage> | undefined;
  private client: RaftClient | undefined;
  private backoffMs = initialBackoffMs;
  private retryTimer: NodeJS.Timeout | undefined;
  private draining = false;
  private stopped = false;
  private connectedAt = 0;
  /** Snapshot messages written to the current stream whose last chunk gRPC has not taken yet. */
  private readonly snapshotsInFlight = new Set<Message>();

  constructor(
    readonly peer: NodeId,
    private address: string,
    private readonly credentials: ChannelCredentials,
    private readonly handler: TransportHandler,
    private readonly rng: Rng,
  ) {}

  send(message: Message): void {
    if (this.stopped) return this.dropped([message]);
    if (this.queue.length >= maxQueuedMessages) {
      const lost = this.queue;
      this.queue = [];
      this.handler.unreachable(this.peer);
      this.dropped([...lost, message]);
      return;
    }
    this.queue.push(message);
    this.drain();
  }

  /** Points the link at a new address (the peer moved). */
  retarget(address: string): void {
    if (address === this.address) return;
    this.address = address;
    this.reset();
  }

  private connect(): ClientDuplexStream<RaftMessage, RaftMessage> {
    this.client ??= new RaftClientCtor(this.address, this.credentials, channelOptions);
    const stream = this.client.streamMessages();
    stream.on('data', () => undefined);
    stream.on('error', (err: { details?: string }) => {
      if (err.details === removedMemberDetails) this.handler.removedFromGroup?.();
      this.fail();
    });
    stream.on('end', () => this.fail());
    this.stream = stream;
    this.connectedAt = Date.now();
    return stream;
  }

  private drain(): void {
    if (this.draining || this.retryTimer || this.stopped || this.queue.length === 0) return;
    let stream: ClientDuplexStream<RaftMessage, RaftMessage>;
    try {
      stream = this.stream ?? this.connect();
    } catch {
      this.fail();
      return;
    }
    this.draining = true;
    // Write until the stream pushes back, and keep the rest here (bounded, as raft messages, not yet
    // encoded) until it drains: whatever is written is encoded and buffered by gRPC, and grpc-js
    // copies a call's whole backlog of buffered writes each time one of them completes.
    let sent = 0;
    let ok = true;
    while (ok && sent < this.queue.length) {
      const m = this.queue[sent++] as Message;
      const wires = encodeMessage(m);
      const last = wires.length - 1;
      if (m.type === MessageType.snap) this.snapshotsInFlight.add(m);
      for (const [i, wire] of wires.entries()) {
        // gRPC calls back once it has handed the write to HTTP/2 (no retry buffer in between);
        // for the last chunk of a snapshot, that is when the whole snapshot left.
        const done = i === last && m.type === MessageType.snap ? (err?: Error | null) => this.settle(m, err ? 'failed' : 'finished') : undefined;
        ok = stream.write(wire, done) && ok;
      }
    }
    this.queue = sent === this.queue.length ? [] : this.queue.slice(sent);
    if (!ok) {
      stream.once('drain', () => {
        this.draining = false;
        this.drain();
      });
      return;
    }
    this.draining = false;
  }

  private fail(): void {
    if (this.stopped) return;
    // A stream that lived longer than the longest backoff was a working connection: start over.
    if (Date.now() - this.connectedAt > maxBackoffMs) this.backoffMs = initialBackoffMs;
    this.reset();
    this.handler.unreachable(this.peer);
    // A snapshot waiting for a peer that cannot be reached is stale by the time it is; the leader
    // sends a fresh one when the peer answers again.
    const snapshots = this.queue.filter((m) => m.type === MessageType.snap);
    if (snapshots.length > 0) this.queue = this.queue.filter((m) => m.type !== MessageType.snap);
    this.dropped(snapshots);
    const delay = Math.min(maxBackoffMs, this.backoffMs) * (0.5 + this.rng.next());
    this.backoffMs = Math.min(maxBackoffMs, this.backoffMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.drain();
    }, delay);
  }

  private reset(): void {
    const stream = this.stream;
    this.stream = undefined;
    this.draining = false;
    stream?.removeAllListeners();
    stream?.on('error', () => undefined);
    stream?.cancel();
    this.client?.close();
    this.client = undefined;
    // Whatever of a snapshot was written to that stream is lost with it.
    for (const m of [...this.snapshotsInFlight]) this.settle(m, 'failed');
  }

  /** Reports the outcome of a snapshot message written to a stream, once. */
  private settle(m: Message, outcome: SnapshotOutcome): void {
    if (!this.snapshotsInFlight.delete(m)) return;
    this.handler.snapshotSent(this.peer, outcome);
  }

  /** Reports the snapshots among messages that will never be written as failed. */
  private dropped(messages: readonly Message[]): void {
    for (const m of messages) if (m.type === MessageType.snap) this.handler.snapshotSent(this.peer, 'failed');
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const lost = this.queue;
    this.queue = [];
    this.reset();
    this.dropped(lost);
  }
}

/** One member's transport. */
export class Transport {
  private readonly links = new Map<NodeId, PeerLink>();

  constructor(
    private readonly credentials: ChannelCredentials,
    private readonly handler: TransportHandler,
    private readonly rng: Rng,
  ) {}

  /** Adds (or moves) a peer. */
  setPeer(peer: NodeId, address: string): void {
    const link = this.links.get(peer);
    if (link) link.retarget(address);
    else this.links.set(peer, new PeerLink(peer, address, this.credentials, this.handler, this.rng));
  }

  /** Forgets a peer and drops what was queued for it. */
  removePeer(peer: NodeId): void {
    this.links.get(peer)?.stop();
    this.links.delete(peer);
  }

  /**
   * Sends messages (from a Ready) to their peers; unknown peers are reported unreachable. Every
   * snapshot message among them is reported through `snapshotSent`, finished or failed: at once
   * when it is dropped here, else when its send ends.
   */
  send(messages: readonly Message[]): void {
    for (const m of messages) {
      const link = this.links.get(m.to);
      if (link) {
        link.send(m);
        continue;
      }
      this.handler.unreachable(m.to);
      if (m.type === MessageType.snap) this.handler.snapshotSent(m.to, 'failed');
    }
  }

  /** The server half: register with `server.addService(RaftService, {...transport.serverHandlers(), ...})`. */
  streamHandler(): RaftServer['streamMessages'] {
    return (call: ServerDuplexStream<RaftMessage, RaftMessage>) => {
      const decoder = new MessageDecoder();
      call.on('data', (wire: RaftMessage) => {
        try {
          const m = decoder.decode(wire);
          if (m && this.handler.isRemoved?.(m.from)) {
            call.emit('error', { code: status.FAILED_PRECONDITION, details: removedMemberDetails });
            return;
          }
          if (m) this.handler.receive(m);
        } catch {
          call.end();
        }
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    };
  }

  /** Closes every link. */
  close(): void {
    for (const link of this.links.values()) link.stop();
    this.links.clear();
  }
}
