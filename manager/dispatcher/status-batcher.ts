/**
 * Task status reports from workers, coalesced into few store writes: reports wait at most one
 * window (or until a write's worth has gathered), then one store.update writes all of them. A
 * task reported twice in a window is written once, with the later state. Each caller's promise
 * settles when the write that carries its reports is applied (or failed), so a worker retries
 * what a failed write lost. States only move forward: a report older than the stored state is
 * ignored at write time.
 */
import type { Clock, Timer } from '../../lib/clock.js';
import { ErrorCode, TsswarmError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { TaskState, type TaskStatus } from '../../proto/index.js';
import type { Store } from '../store/index.js';
import { updateWithRetry } from './store-retry.js';

/** How long reports wait to be written together. */
export const statusBatchWindowMs = 50;
/** Most task updates in one store write; a window with more is written in several. */
export const maxStatusUpdatesPerWrite = 1_000;
/** Most reports waiting to be written; beyond it workers get QUEUE_FULL and retry later. */
export const maxPendingStatusUpdates = 10_000;

interface PendingStatus {
  readonly nodeId: string;
  readonly status: TaskStatus;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A window nobody waits on (every caller went away) must not become an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Counters for tests and the daemon's metrics. */
export interface StatusBatcherStats {
  /** Reports waiting for the next write. */
  readonly pending: number;
  /** Store writes made so far. */
  readonly writes: number;
  /** Task updates written so far. */
  readonly written: number;
  /** Reports dropped because they named an older state than the store's. */
  readonly ignoredBackward: number;
}

/** Collects task status reports and writes them in batches. */
export class StatusBatcher {
  private pending = new Map<string, PendingStatus>();
  private window: Deferred | undefined;
  private timer: Timer | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed: TsswarmError | undefined;
  private writes = 0;
  private written = 0;
  private ignoredBackward = 0;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly windowMs = statusBatchWindowMs,
  ) {}

  /** Current counters. */
  stats(): StatusBatcherStats {
    return { pending: this.pending.size, writes: this.writes, written: this.written, ignoredBackward: this.ignoredBackward };
  }

  /**
   * Queues `updates` of node `nodeId`; resolves once they are written. QUEUE_FULL when too many
   * reports wait already, CLOSED after close().
   */
  enqueue(nodeId: string, updates: readonly { taskId: string; status: TaskStatus }[]): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    if (updates.length === 0) return Promise.resolve();
    let fresh = 0;
    for (const u of updates) if (!this.pending.has(u.taskId)) fresh++;
    if (this.pending.size + fresh > maxPendingStatusUpdates) {
      return Promise.reject(new TsswarmError(ErrorCode.QUEUE_FULL, `the dispatcher has ${this.pending.size} task status reports waiting (at most ${maxPendingStatusUpdates}); retry later`));
    }
    for (const u of updates) {
      const queued = this.pending.get(u.taskId);
      // Keep the furthest state; of equal states, the later report.
      if (queued !== undefined && queued.status.state > u.status.state) continue;
      this.pending.set(u.taskId, { nodeId, status: u.status });
    }
    this.window ??= deferred();
    const promise = this.window.promise;
    if (this.pending.size >= maxStatusUpdatesPerWrite) this.flush();
    else this.timer ??= this.clock.setTimer(this.windowMs, () => this.flush());
    return promise;
  }

  /** Fails every waiting report with `err` and refuses new ones (the manager stepped down). */
  close(err: TsswarmError): void {
    if (this.closed) return;
    this.closed = err;
    this.timer?.cancel();
    this.timer = undefined;
    this.pending = new Map();
    this.window?.reject(err);
    this.window = undefined;
  }

  /** Starts writing what is pending now (after the writes already started). */
  private flush(): void {
    this.timer?.cancel();
    this.timer = undefined;
    const batch = this.pending;
    const window = this.window;
    this.pending = new Map();
    this.window = undefined;
    if (window === undefined || batch.size === 0) {
      window?.resolve();
      return;
    }
    this.chain = this.chain.then(() => this.write(batch)).then(
      () => window.resolve(),
      (err: unknown) => window.reject(err),
    );
  }

  private async write(batch: Map<string, PendingStatus>): Promise<void> {
    if (this.closed) throw this.closed;
    const entries = [...batch];
    for (let start = 0; start < entries.length; start += maxStatusUpdatesPerWrite) {
      const chunk = entries.slice(start, start + maxStatusUpdatesPerWrite);
      let count = 0;
      let backward = 0;
      try {
        await updateWithRetry(this.store, (tx) => {
          count = 0;
          backward = 0;
          for (const [taskId, { nodeId, status }] of chunk) {
            const task = tx.get('task', taskId);
            // Removed since it was reported, or (checked again here) not this node's.
            if (task === undefined || task.nodeId !== nodeId) continue;
            if (status.state < (task.status?.state ?? TaskState.NEW)) {
              backward++;
              continue;
            }
            tx.update('task', { ...task, status });
            count++;
          }
        });
      } catch (err) {
        this.log.warn({ updates: chunk.length }, `writing task status failed: ${errorMessage(err)}`);
        throw err;
      }
      if (count > 0) this.writes++;
      this.written += count;
      this.ignoredBackward += backward;
      if (backward > 0) this.log.debug({ ignored: backward }, 'ignored task status reports older than the stored state');
    }
  }
}
