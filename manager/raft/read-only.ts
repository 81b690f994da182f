/**
 * ReadIndex bookkeeping on the leader: each read request is tagged with the commit index when it
 * arrived and waits until a quorum has answered a heartbeat carrying its context, proving that
 * this node was still leader at that moment. Requests are released in arrival order.
 */
import { assert } from '../../lib/assert.js';
import type { Message, NodeId } from './types.js';

/** A read waiting for its leadership confirmation. */
export interface PendingRead {
  /** The request (local, or forwarded from a follower). */
  readonly request: Message;
  /** The commit index when the request arrived; the read may be served once this is applied. */
  readonly index: number;
  /** Members that acknowledged a heartbeat carrying this request's context. */
  readonly acks: Set<NodeId>;
}

/** The queue of reads waiting for a quorum of heartbeat acks. */
export class ReadOnly {
  private readonly pending = new Map<string, PendingRead>();
  private queue: string[] = [];

  /** Queues a read at `index`; a context already queued is ignored (contexts must be unique). */
  addRequest(index: number, request: Message): void {
    const ctx = request.context;
    assert(ctx !== undefined, 'read request without context');
    if (this.pending.has(ctx)) return;
    this.pending.set(ctx, { request, index, acks: new Set() });
    this.queue.push(ctx);
  }

  /** Records `from`'s heartbeat ack for `ctx`; returns the acks so far, or undefined if unknown. */
  recvAck(from: NodeId, ctx: string): ReadonlySet<NodeId> | undefined {
    const read = this.pending.get(ctx);
    if (read === undefined) return undefined;
    read.acks.add(from);
    return read.acks;
  }

  /**
   * `ctx` has a quorum: it and every read queued before it are confirmed (a later heartbeat round
   * also confirms the earlier ones). Returns them in order and forgets them.
   */
  advance(ctx: string): PendingRead[] {
    const at = this.queue.indexOf(ctx);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const out: PendingRead[] = [];
    for (const c of done) {
      const read = this.pending.get(c);
      assert(read !== undefined, `read ${c} queued but not pending`);
      this.pending.delete(c);
      out.push(read);
    }
    return out;
  }

  /** The context of the newest queued read, to attach to the next heartbeat round. */
  lastPendingContext(): string | undefined {
    return this.queue[this.queue.length - 1];
  }

  /** Number of reads waiting. */
  pendingCount(): number {
    return this.queue.length;
  }
}
