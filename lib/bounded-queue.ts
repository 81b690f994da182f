/**
 * A FIFO queue with a fixed capacity. Producers that outrun consumers get a QUEUE_FULL error
 * (tryPush returns false) instead of growing memory without bound.
 */
import { assert } from './assert.js';
import { ErrorCode, TsswarmError } from './errors.js';

/** A bounded FIFO with an async consumer side. */
export class BoundedQueue<T> {
  private items: T[] = [];
  private head = 0;
  private waiters: Array<{ resolve: (v: T) => void; reject: (e: Error) => void }> = [];
  private closed = false;

  constructor(readonly capacity: number) {
    assert(Number.isInteger(capacity) && capacity > 0, `queue capacity must be a positive integer, got ${capacity}`);
  }

  /** Items waiting to be taken. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** True once close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Adds an item; false when the queue is full. Throws CLOSED after close(). */
  tryPush(item: T): boolean {
    if (this.closed) throw new TsswarmError(ErrorCode.CLOSED, 'queue is closed');
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve(item);
      return true;
    }
    if (this.length >= this.capacity) return false;
    this.items.push(item);
    return true;
  }

  /** Adds an item; throws QUEUE_FULL when the queue is full. */
  push(item: T): void {
    if (!this.tryPush(item)) {
      throw new TsswarmError(ErrorCode.QUEUE_FULL, `queue full (capacity ${this.capacity})`);
    }
  }

  /** Takes the oldest item, or undefined when empty. */
  tryShift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head] as T;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Takes the oldest item, waiting for one; rejects with CLOSED when closed and empty. */
  shift(): Promise<T> {
    if (this.length > 0) return Promise.resolve(this.tryShift() as T);
    if (this.closed) return Promise.reject(new TsswarmError(ErrorCode.CLOSED, 'queue is closed'));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Takes up to `max` items at once without waiting (for batching). */
  drain(max: number): T[] {
    const out: T[] = [];
    while (out.length < max && this.length > 0) out.push(this.tryShift() as T);
    return out;
  }

  /** Refuses further pushes and wakes waiting consumers with CLOSED; queued items stay takeable. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new TsswarmError(ErrorCode.CLOSED, 'queue is closed'));
  }
}
