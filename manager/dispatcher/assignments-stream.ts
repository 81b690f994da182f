/**
 * One node's Assignments stream: a COMPLETE message with the node's whole assignment set, then
 * INCREMENTAL messages built from a store watch. Changes gather for a short window (or until a
 * message's worth is waiting) so a burst of store writes becomes few messages. Each message names
 * the set version it applies to and the one it results in, numbered per stream, so the worker sees
 * a missed message. A worker too slow to read, or a watch that falls behind, ends the stream with
 * an error: the worker opens a new session and gets a fresh COMPLETE.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { Clock, Timer } from '../../lib/clock.js';
import { ErrorCode, TsswarmError, errorMessage, isTsswarmError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { toServiceError } from '../../lib/rpc-errors.js';
import { AssignmentAction, AssignmentsMessageType, type AssignmentChange, type AssignmentsMessage, type AssignmentsRequest, type Secret } from '../../proto/index.js';
import type { MemoryStore, StoreEvent, Watcher } from '../store/index.js';
import { AssignmentSet } from './assignment-set.js';

/** How long store changes gather before an INCREMENTAL message is sent. */
export const assignmentsBatchWindowMs = 50;
/** Most changes in one INCREMENTAL message; more are sent as several messages in a row. */
export const maxChangesPerAssignmentsMessage = 512;
/** Store events an assignments stream may fall behind by before it is closed. */
export const assignmentsWatchQueueEvents = 10_000;
/** Messages a stream may hold unsent (a worker not reading) before it is closed. */
export const maxBufferedStreamMessages = 64;

/** The server side of one Assignments call. */
export type AssignmentsCall = ServerWritableStream<AssignmentsRequest, AssignmentsMessage>;

/** What an AssignmentsStream needs from the dispatcher. */
export interface AssignmentsStreamOptions {
  readonly call: AssignmentsCall;
  readonly nodeId: string;
  readonly memory: MemoryStore;
  readonly clock: Clock;
  readonly log: Logger;
  readonly windowMs?: number;
  /** Called once when the stream ends, for whatever reason. */
  readonly onClose?: () => void;
  /** A secret as the worker must get it (data decrypted); a throw withholds it. Identity when left out. */
  readonly revealSecret?: (secret: Secret) => Secret;
}

/** Streams one node's assignments until closed. */
export class AssignmentsStream {
  private readonly set: AssignmentSet;
  private readonly watcher: Watcher;
  private sequence = 0;
  private timer: Timer | undefined;
  private flushing = false;
  private closed = false;
  private wakeDrain: (() => void) | undefined;

  constructor(private readonly options: AssignmentsStreamOptions) {
    const { memory, nodeId, call } = options;
    this.set = new AssignmentSet(nodeId, (kind, id) => memory.get(kind, id));
    // Dependencies are taken as any secret, config or network event: the set decides whether it
    // holds one when it applies the event (the filter runs before earlier events are applied).
    const filter = (e: StoreEvent): boolean =>
      e.object.kind === 'secret' || e.object.kind === 'config' || e.object.kind === 'network' || this.set.concerns(e);
    // The watch starts before the read, in the same turn: no change falls between them.
    this.watcher = memory.watch(filter, assignmentsWatchQueueEvents);
    this.set.load(memory.tasksOfNode(nodeId));
    const end = (): void => this.close();
    call.on('cancelled', end);
    call.on('close', end);
    call.on('error', end);
  }

  /** Sends the COMPLETE message and starts following the store. */
  start(): void {
    this.send(AssignmentsMessageType.COMPLETE, this.set.snapshot());
    void this.pump();
  }

  /** The number of tasks the worker has been given. */
  get taskCount(): number {
    return this.set.taskCount;
  }

  /** Ends the stream: with `err` as its status when given, else OK. Idempotent. */
  close(err?: TsswarmError): void {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.watcher.close();
    this.wakeDrain?.();
    const { call } = this.options;
    if (!call.cancelled && !call.writableEnded) {
      if (err) call.emit('error', toServiceError(err));
      else call.end();
    }
    this.options.onClose?.();
  }

  private async pump(): Promise<void> {
    for (;;) {
      let event: StoreEvent;
      try {
        event = await this.watcher.next();
      } catch (err) {
        if (this.closed) return;
        if (isTsswarmError(err, ErrorCode.QUEUE_FULL)) {
          this.options.log.warn({ node: this.options.nodeId }, 'assignments stream fell behind the store; closing it');
          this.close(new TsswarmError(ErrorCode.QUEUE_FULL, `the assignments stream of node ${this.options.nodeId} fell behind; open a new session`));
        } else {
          this.close(new TsswarmError(ErrorCode.CLOSED, `the assignments stream ended: ${errorMessage(err)}`));
        }
        return;
      }
      if (this.closed) return;
      if (!this.set.apply(event)) continue;
      if (this.set.pendingChanges >= maxChangesPerAssignmentsMessage) void this.flush();
      else this.timer ??= this.options.clock.setTimer(this.options.windowMs ?? assignmentsBatchWindowMs, () => void this.flush());
    }
  }

  /** Sends every pending change as INCREMENTAL messages, waiting for the worker to read. */
  private async flush(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (!this.closed && this.set.pendingChanges > 0) {
        const writable = this.send(AssignmentsMessageType.INCREMENTAL, this.set.take(maxChangesPerAssignmentsMessage));
        if (!writable) await this.drained();
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Writes one message; false when the stream wants the writer to wait for 'drain'. */
  private send(type: AssignmentsMessageType, changes: AssignmentChange[]): boolean {
    if (this.closed) return false;
    const { call } = this.options;
    if (call.writableLength > maxBufferedStreamMessages) {
      this.close(new TsswarmError(ErrorCode.QUEUE_FULL, `node ${this.options.nodeId} does not read its assignments; open a new session`));
      return false;
    }
    const appliesTo = type === AssignmentsMessageType.COMPLETE ? '' : String(this.sequence);
    this.sequence++;
    const message: AssignmentsMessage = { type, appliesTo, resultsIn: String(this.sequence), changes: this.revealed(changes) };
    return call.write(message);
  }

  /** The changes with each secret's data opened for the worker; a secret that cannot be opened is withheld. */
  private revealed(changes: AssignmentChange[]): AssignmentChange[] {
    const reveal = this.options.revealSecret;
    if (reveal === undefined) return changes;
    const out: AssignmentChange[] = [];
    for (const change of changes) {
      const secret = change.assignment?.secret;
      if (secret === undefined || change.action !== AssignmentAction.UPDATE) {
        out.push(change);
        continue;
      }
      try {
        out.push({ ...change, assignment: { secret: reveal(secret) } });
      } catch (err) {
        this.options.log.error({ node: this.options.nodeId, secret: secret.id, err: errorMessage(err) }, 'secret withheld from the worker: its data cannot be decrypted');
      }
    }
    return out;
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.wakeDrain = undefined;
        this.options.call.off('drain', done);
        resolve();
      };
      this.wakeDrain = done;
      this.options.call.on('drain', done);
    });
  }
}
