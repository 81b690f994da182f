/**
 * The append messages a leader has sent to one follower and not yet seen acknowledged, bounded by
 * `maxInflightMessages`. Each is remembered by the last index it carried; an ack for index i frees
 * every message whose last index is <= i.
 */
import { assert } from '../../lib/assert.js';

/** A bounded FIFO of in-flight append messages, as a ring buffer of last indexes. */
export class Inflights {
  /** The most messages that may be in flight at once. */
  readonly maxInflightMessages: number;
  private readonly buffer: number[];
  private start = 0;
  private size = 0;

  constructor(maxInflightMessages: number) {
    assert(Number.isInteger(maxInflightMessages) && maxInflightMessages > 0, 'maxInflightMessages must be > 0');
    this.maxInflightMessages = maxInflightMessages;
    this.buffer = new Array<number>(maxInflightMessages).fill(0);
  }

  /** Records a message whose last entry is `lastIndex`; indexes must increase. */
  add(lastIndex: number): void {
    assert(!this.full(), 'add to full inflights');
    if (this.size > 0) {
      const newest = this.buffer[(this.start + this.size - 1) % this.maxInflightMessages] as number;
      assert(lastIndex > newest, `inflight index ${lastIndex} not after ${newest}`);
    }
    this.buffer[(this.start + this.size) % this.maxInflightMessages] = lastIndex;
    this.size++;
  }

  /** Frees every message whose last index is <= `index` (they were acknowledged). */
  freeLE(index: number): void {
    while (this.size > 0 && (this.buffer[this.start] as number) <= index) {
      this.start = (this.start + 1) % this.maxInflightMessages;
      this.size--;
    }
    if (this.size === 0) this.start = 0;
  }

  /** Frees the oldest message (used to let one probe through a full window). */
  freeFirstOne(): void {
    if (this.size === 0) return;
    this.freeLE(this.buffer[this.start] as number);
  }

  /** True when no more messages may be sent. */
  full(): boolean {
    return this.size === this.maxInflightMessages;
  }

  /** Number of messages in flight. */
  count(): number {
    return this.size;
  }

  /** Forgets every message. */
  reset(): void {
    this.start = 0;
    this.size = 0;
  }
}
