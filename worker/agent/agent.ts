/**
 * The worker's agent: it keeps one session with the leader's dispatcher, as SwarmKit's agent does.
 * It opens a Session, heartbeats at the period the manager returns, follows the Assignments stream
 * and hands each message, in order, to the TaskWorker, and sends the task status reports queued
 * with reportStatus() in batches. When anything fails (the manager dies, steps down, forgets the
 * session, or a message was missed) it drops the whole session and opens a new one, on another
 * manager unless the manager itself asked for a new session, after a bounded, jittered backoff.
 */
import { status as grpcStatus, type ChannelCredentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { Clock, Timer } from '../../lib/clock.js';
import { ErrorCode, TsswarmError, errorMessage, isTsswarmError } from '../../lib/errors.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import type { Rng } from '../../lib/rng.js';
import {
  AssignmentsMessageType,
  millisOf,
  type AssignmentsMessage,
  type LogSubscription,
  type NetworkViewMessage,
  type NetworkAttachmentConfig,
  type NodeDescription,
  type SessionMessage,
  type TaskStatus,
  type WeightedPeer,
} from '../../proto/index.js';
import { backoffDelayMs, defaultBackoff, type BackoffPolicy } from './backoff.js';
import { leaderHintOf } from '../../lib/rpc-errors.js';
import { DispatcherClient, dispatcherCallError } from './dispatcher-client.js';
import { StatusQueue } from './status-queue.js';
import { LogPublisher, maxActiveSubscriptions, type TaskLogSource } from './log-publisher.js';
import type { TaskWorker } from './task-worker.js';

/** How long status reports gather before they are sent together. */
export const statusFlushWindowMs = 50;
/** Most reports in one UpdateTaskStatus request (the dispatcher accepts up to 1000). */
export const maxStatusReportsPerRequest = 1_000;
/** How long the first SessionMessage may take before the manager counts as failed. */
export const sessionOpenTimeoutMs = 10_000;
/** Assignments messages received but not yet handed to the worker before the stream is paused. */
export const maxPendingAssignmentMessages = 8;
/** The heartbeat period used until (and if) the manager says otherwise. */
export const fallbackHeartbeatPeriodMs = 5_000;
/** The shortest heartbeat period the agent honours, whatever a manager says. */
export const minAgentHeartbeatPeriodMs = 10;

/** Where the agent is in its life. */
export type AgentState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopped';

/** A snapshot of the agent's connection, for the daemon and tests. */
export interface AgentStatus {
  readonly state: AgentState;
  /** The manager address of the current (or last attempted) session. */
  readonly manager: string | undefined;
  /** The current session's ID, while connected. */
  readonly sessionId: string | undefined;
  /** This node's ID, as the last SessionMessage told it. */
  readonly nodeId: string | undefined;
  /** Consecutive attempts that failed before a session was established. */
  readonly failures: number;
  /** Status reports waiting to be sent. */
  readonly queuedReports: number;
}

/** Something that happened to the agent's session. */
export type AgentEvent =
  | { readonly type: 'connected'; readonly manager: string; readonly sessionId: string; readonly nodeId: string }
  | { readonly type: 'session'; readonly message: SessionMessage }
  | { readonly type: 'assignments'; readonly message: AssignmentsMessage }
  /** A whole network view for netd (only with `networkView: true`); each replaces the one before. */
  | { readonly type: 'networkView'; readonly message: NetworkViewMessage }
  | { readonly type: 'disconnected'; readonly manager: string; readonly error: TsswarmError; readonly retryInMs: number };

/** What an Agent is built from. */
export interface AgentOptions {
  /** Manager addresses (host:port) to start from; the managers' own list takes over once known. */
  readonly managers: readonly string[];
  /** Channel credentials for a manager connection (mTLS in production, insecure in tests). */
  readonly credentials: () => ChannelCredentials;
  /** What this node says about itself. */
  readonly description: NodeDescription;
  readonly worker: TaskWorker;
  readonly clock: Clock;
  /** Jitter for the backoff and the choice of the first manager. */
  readonly rng: Rng;
  readonly backoff?: BackoffPolicy;
  readonly log?: Logger;
  /** Extra metadata on every call (tests identify nodes by it; production relies on the certificate). */
  readonly callMetadata?: Readonly<Record<string, string>>;
  /**
   * Also follow the session's NetworkView stream and emit each view as a `networkView` event (netd
   * runs on this node). A manager without the call is tolerated: the session goes on without views.
   */
  readonly networkView?: boolean;
  /** Serve `service logs` subscriptions from these task containers (without it, none are served). */
  readonly logs?: TaskLogSource;
}

/** How one session ended. */
interface SessionEnd {
  readonly error: TsswarmError;
  /** True once the session had been established (its first SessionMessage arrived). */
  readonly established: boolean;
}

/** The manager asked for a new session (it forgot ours, or a message was missed): stay with it. */
function sameManagerWanted(err: TsswarmError): boolean {
  return err.code === ErrorCode.NOT_FOUND || err.code === ErrorCode.CONFLICT || err.code === ErrorCode.CORRUPT;
}

/** One attempt at a session with one manager: its calls, timers and how it ended. */
class SessionRun {
  readonly client: DispatcherClient;
  sessionId: string | undefined;
  private readonly timers = new Set<Timer>();
  private readonly streams: ClientReadableStream<unknown>[] = [];
  private ended: SessionEnd | undefined;
  private resolveEnd!: (end: SessionEnd) => void;
  readonly done: Promise<SessionEnd>;
  established = false;

  constructor(
    readonly address: string,
    credentials: ChannelCredentials,
    callMetadata: Readonly<Record<string, string>>,
  ) {
    this.client = new DispatcherClient(address, credentials, callMetadata);
    this.done = new Promise((resolve) => (this.resolveEnd = resolve));
  }

  get isEnded(): boolean {
    return this.ended !== undefined;
  }

  track<T>(stream: ClientReadableStream<T>): ClientReadableStream<T> {
    this.streams.push(stream as ClientReadableStream<unknown>);
    return stream;
  }

  timer(clock: Clock, ms: number, fn: () => void): void {
    const timer = clock.setTimer(ms, () => {
      this.timers.delete(timer);
      if (!this.isEnded) fn();
    });
    this.timers.add(timer);
  }

  /** Ends the run with `error` (the first call wins), cancelling everything it started. */
  fail(error: TsswarmError): void {
    if (this.ended) return;
    this.ended = { error, established: this.established };
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    for (const s of this.streams) s.cancel();
    this.client.close();
    this.resolveEnd(this.ended);
  }
}

/** The worker's agent: one dispatcher session at a time, failing over between managers. */
export class Agent {
  private readonly log: Logger;
  private readonly queue = new StatusQueue();
  private readonly listeners = new Set<(event: AgentEvent) => void>();
  private state: AgentState = 'idle';
  private run: SessionRun | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wakeBackoff: (() => void) | undefined;
  private failures = 0;
  /** Rounds over every known manager that all failed since the last session. */
  private rounds = 0;
  private readonly triedThisRound = new Set<string>();
  private address: string | undefined;
  private nodeId: string | undefined;
  private latestManagers: WeightedPeer[] = [];
  private hintedManager: string | undefined;
  private flushTimer = false;
  private sending = false;
  private assignChain: Promise<void> = Promise.resolve();
  private pendingAssignments = 0;

  constructor(private readonly options: AgentOptions) {
    if (options.managers.length === 0) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'the agent needs at least one manager address');
    this.log = options.log ?? silentLogger();
  }

  /** Where the agent stands now. */
  status(): AgentStatus {
    return {
      state: this.state,
      manager: this.address,
      sessionId: this.state === 'connected' ? this.run?.sessionId : undefined,
      nodeId: this.nodeId,
      failures: this.failures,
      queuedReports: this.queue.size,
    };
  }

  /** Subscribes to session events; returns the unsubscribe function. */
  on(listener: (event: AgentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts connecting (in the background); a second call does nothing. */
  start(): void {
    if (this.loop !== undefined || this.stopping) return;
    this.loop = this.runLoop();
  }

  /** Ends the session and every call, timer and retry; resolves when all is quiet. Reports still queued are dropped. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.run?.fail(new TsswarmError(ErrorCode.CLOSED, 'the agent is stopping'));
    this.wakeBackoff?.();
    await this.loop;
    await this.assignChain;
    this.state = 'stopped';
  }

  /**
   * Queues the observed status of a task for the dispatcher; sent within statusFlushWindowMs
   * while connected, kept (one report per task, the furthest state) while not. QUEUE_FULL when
   * too many tasks have reports waiting.
   */
  reportStatus(taskId: string, status: TaskStatus): void {
    if (this.stopping) throw new TsswarmError(ErrorCode.CLOSED, 'the agent is stopped');
    this.queue.push(taskId, status);
    this.scheduleFlush();
  }

  /**
   * Asks the managers for the network attachment of standalone container `containerId`
   * (network-attachments on the manager side); resolves with the attachment task's ID. CLOSED
   * while there is no session.
   */
  attachNetwork(containerId: string, containerName: string, networks: readonly NetworkAttachmentConfig[]): Promise<string> {
    const { run, sessionId } = this.liveSession();
    return run.client.attachNetwork({ sessionId, containerId, containerName, networks: [...networks] });
  }

  /** Removes a standalone container's attachment task. CLOSED while there is no session. */
  detachNetwork(attachmentId: string): Promise<void> {
    const { run, sessionId } = this.liveSession();
    return run.client.detachNetwork(sessionId, attachmentId);
  }

  private liveSession(): { run: SessionRun; sessionId: string } {
    const run = this.run;
    const sessionId = run?.sessionId;
    if (this.stopping || run === undefined || run.isEnded || sessionId === undefined || this.state !== 'connected') {
      throw new TsswarmError(ErrorCode.CLOSED, 'this node is not connected to a manager right now; try again when `tsswarm node ls` shows it Ready');
    }
    return { run, sessionId };
  }

  // ---- the connection loop -----------------------------------------------------------------------

  private async runLoop(): Promise<void> {
    let sameManager = false;
    while (!this.stopping) {
      const address = this.pickManager(sameManager);
      this.address = address;
      this.state = 'connecting';
      const run = new SessionRun(address, this.options.credentials(), this.options.callMetadata ?? {});
      this.run = run;
      this.openSession(run);
      const end = await run.done;
      this.run = undefined;
      if (this.stopping) break;
      this.failures = end.established ? 0 : this.failures + 1;
      sameManager = sameManagerWanted(end.error);
      // A manager that does not lead names the leader: go there next, without waiting long.
      this.hintedManager = leaderHintOf(end.error.cause);
      // The wait grows per round over all the managers we know, not per attempt: with two managers
      // lost for good, the one that is left (a --force-new-cluster survivor, say) is tried again
      // within one backoff period, not after three growing ones. Inside a round the next manager is
      // tried after the shortest wait.
      if (end.established) this.triedThisRound.clear();
      this.triedThisRound.add(address);
      const roundDone = sameManager || this.candidates().every((c) => this.triedThisRound.has(c));
      if (roundDone) this.triedThisRound.clear();
      const quick = end.established || this.hintedManager !== undefined || !roundDone;
      if (!end.established) this.rounds = roundDone ? this.rounds + 1 : this.rounds;
      else this.rounds = 0;
      const delay = backoffDelayMs(quick ? 0 : Math.max(0, this.rounds - 1), this.options.rng, this.options.backoff ?? defaultBackoff);
      this.log.warn({ manager: address, retryInMs: delay, failures: this.failures }, `dispatcher session ended: ${end.error.message}`);
      this.emit({ type: 'disconnected', manager: address, error: end.error, retryInMs: delay });
      this.state = 'backoff';
      await this.sleep(delay);
    }
    this.state = 'stopped';
  }

  /** The manager to try next: the same one, or the next after it in the managers' list then the initial list. */
  private pickManager(sameManager: boolean): string {
    const hinted = this.hintedManager;
    this.hintedManager = undefined;
    if (hinted !== undefined) return hinted;
    const candidates = this.candidates();
    if (sameManager && this.address !== undefined) return this.address;
    if (this.address === undefined) return candidates[this.options.rng.int(candidates.length)] as string;
    const at = candidates.indexOf(this.address);
    return candidates[(at + 1) % candidates.length] as string;
  }

  /** The managers to try: the managers' own latest list, then the initial list. */
  private candidates(): string[] {
    return [...new Set([...this.latestManagers.map((m) => m.addr).filter((a) => a !== ''), ...this.options.managers])];
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.options.clock.setTimer(ms, () => {
        this.wakeBackoff = undefined;
        resolve();
      });
      this.wakeBackoff = () => {
        timer.cancel();
        this.wakeBackoff = undefined;
        resolve();
      };
    });
  }

  private emit(event: AgentEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.log.error(`agent event listener failed: ${errorMessage(err)}`);
      }
    }
  }

  // ---- one session -------------------------------------------------------------------------------

  private openSession(run: SessionRun): void {
    const { clock } = this.options;
    const stream = run.track(run.client.session(this.options.description));
    run.timer(clock, sessionOpenTimeoutMs, () => {
      // Only a session that never opened times out; an open one lives as long as its heartbeats.
      if (run.established) return;
      run.fail(new TsswarmError(ErrorCode.TIMEOUT, `manager at ${run.address} did not open a session within ${sessionOpenTimeoutMs} ms`));
    });
    stream.on('data', (message: SessionMessage) => {
      if (run.isEnded) return;
      if (message.managers.length > 0) this.latestManagers = message.managers;
      if (message.node !== undefined) this.nodeId = message.node.id;
      if (run.sessionId === undefined) {
        run.sessionId = message.sessionId;
        run.established = true;
        this.sessionEstablished(run);
      }
      this.emit({ type: 'session', message });
    });
    stream.on('error', (err: Error) => run.fail(streamError(err, run.address, 'session')));
    stream.on('end', () => run.fail(new TsswarmError(ErrorCode.CLOSED, `manager at ${run.address} ended the session`)));
  }

  private sessionEstablished(run: SessionRun): void {
    const sessionId = run.sessionId as string;
    this.state = 'connected';
    this.failures = 0;
    this.rounds = 0;
    this.triedThisRound.clear();
    this.log.info({ manager: run.address, session: sessionId, node: this.nodeId }, 'dispatcher session open');
    this.emit({ type: 'connected', manager: run.address, sessionId, nodeId: this.nodeId ?? '' });
    this.heartbeat(run, sessionId);
    this.followAssignments(run, sessionId);
    if (this.options.networkView === true) this.followNetworkView(run, sessionId);
    if (this.options.logs !== undefined) this.followLogSubscriptions(run, sessionId, this.options.logs);
    this.flushTimer = false;
    this.scheduleFlush();
  }

  private heartbeat(run: SessionRun, sessionId: string): void {
    run.client.heartbeat(sessionId).then(
      (response) => {
        if (run.isEnded) return;
        const period = millisOf(response.period);
        const next = Math.max(minAgentHeartbeatPeriodMs, period > 0 ? period : fallbackHeartbeatPeriodMs);
        run.timer(this.options.clock, next, () => this.heartbeat(run, sessionId));
      },
      (err: unknown) => run.fail(asTsswarmError(err)),
    );
  }

  private followAssignments(run: SessionRun, sessionId: string): void {
    const stream = run.track(run.client.assignments(sessionId));
    let last: string | undefined;
    stream.on('data', (message: AssignmentsMessage) => {
      if (run.isEnded) return;
      if (message.type === AssignmentsMessageType.INCREMENTAL && message.appliesTo !== last) {
        run.fail(new TsswarmError(ErrorCode.CORRUPT, `missed an assignments message (got one for set ${JSON.stringify(message.appliesTo)}, have ${JSON.stringify(last)}); opening a new session`));
        return;
      }
      last = message.resultsIn;
      this.deliver(run, stream, message);
    });
    stream.on('error', (err: Error) => run.fail(streamError(err, run.address, 'assignments')));
    stream.on('end', () => run.fail(new TsswarmError(ErrorCode.CLOSED, `manager at ${run.address} ended the assignments stream`)));
  }

  private followNetworkView(run: SessionRun, sessionId: string): void {
    const stream = run.track(run.client.networkView(sessionId));
    stream.on('data', (message: NetworkViewMessage) => {
      if (!run.isEnded) this.emit({ type: 'networkView', message });
    });
    let unimplemented = false;
    stream.on('error', (err: Error) => {
      if (run.isEnded) return;
      if ((err as Partial<ServiceError>).code === grpcStatus.UNIMPLEMENTED) {
        unimplemented = true;
        this.log.warn({ manager: run.address }, 'the manager has no NetworkView call (older version); overlay networks will not follow the cluster');
        return;
      }
      run.fail(streamError(err, run.address, 'network view'));
    });
    // The end of a refused call may come before its error: decide once both had their turn.
    stream.on('end', () =>
      setImmediate(() => {
        if (!unimplemented) run.fail(new TsswarmError(ErrorCode.CLOSED, `manager at ${run.address} ended the network view stream`));
      }),
    );
  }

  /**
   * Serves the leader's log subscriptions for as long as the session lasts. A manager without the
   * call, or a broken stream, costs only the logs: the session goes on.
   */
  private followLogSubscriptions(run: SessionRun, sessionId: string, source: TaskLogSource): void {
    const stream = run.track(run.client.logSubscriptions(sessionId));
    const publishers = new Map<string, LogPublisher>();
    const stopAll = (): void => {
      for (const p of [...publishers.values()]) p.stop();
    };
    void run.done.then(stopAll);
    stream.on('data', (sub: LogSubscription) => {
      if (run.isEnded) return;
      if (sub.close) {
        publishers.get(sub.id)?.stop();
        return;
      }
      if (publishers.has(sub.id)) return;
      if (publishers.size >= maxActiveSubscriptions) {
        this.log.warn({ subscription: sub.id }, `already serving ${maxActiveSubscriptions} log subscriptions; this one is refused`);
        return;
      }
      const publisher = new LogPublisher(sub, sessionId, source, (done) => run.client.publishLogs(done), this.log, () => publishers.delete(sub.id));
      publishers.set(sub.id, publisher);
      publisher.start();
    });
    stream.on('error', (err: Error) => {
      stopAll();
      if (run.isEnded) return;
      if ((err as Partial<ServiceError>).code === grpcStatus.UNIMPLEMENTED) this.log.warn({ manager: run.address }, 'the manager has no LogSubscriptions call (older version); service logs are not served');
      else this.log.warn({ manager: run.address }, `log subscriptions stream failed: ${errorMessage(err)}`);
    });
    stream.on('end', stopAll);
  }

  /** Hands `message` to the worker after the ones before it; pauses the stream while too many wait. */
  private deliver(run: SessionRun, stream: ClientReadableStream<AssignmentsMessage>, message: AssignmentsMessage): void {
    this.pendingAssignments++;
    if (this.pendingAssignments >= maxPendingAssignmentMessages) stream.pause();
    this.emit({ type: 'assignments', message });
    this.assignChain = this.assignChain
      .then(() => this.options.worker.assign(message))
      .catch((err: unknown) => this.log.error({ changes: message.changes.length }, `the task worker failed to apply assignments: ${errorMessage(err)}`))
      .finally(() => {
        this.pendingAssignments--;
        if (this.pendingAssignments < maxPendingAssignmentMessages && !run.isEnded) stream.resume();
      });
  }

  // ---- status reports ----------------------------------------------------------------------------

  private scheduleFlush(): void {
    const run = this.run;
    if (this.flushTimer || this.sending || this.queue.size === 0 || run === undefined || run.sessionId === undefined || run.isEnded) return;
    this.flushTimer = true;
    run.timer(this.options.clock, statusFlushWindowMs, () => {
      this.flushTimer = false;
      void this.flush(run);
    });
  }

  private async flush(run: SessionRun): Promise<void> {
    const sessionId = run.sessionId;
    if (this.sending || sessionId === undefined || run.isEnded) return;
    const batch = this.queue.take(maxStatusReportsPerRequest);
    if (batch.length === 0) return;
    this.sending = true;
    try {
      await run.client.updateTaskStatus(sessionId, batch);
    } catch (err) {
      const error = asTsswarmError(err);
      if (error.code === ErrorCode.PERMISSION || error.code === ErrorCode.INVALID_ARGUMENT) {
        // The manager will never take these: resending would loop forever.
        this.log.error({ reports: batch.length }, `the dispatcher refused task status reports, dropping them: ${error.message}`);
      } else if (error.code === ErrorCode.QUEUE_FULL) {
        // The dispatcher is busy: keep the reports and the session, try again after the window.
        this.queue.putBack(batch);
      } else {
        this.queue.putBack(batch);
        run.fail(error);
      }
    } finally {
      this.sending = false;
    }
    if (this.run === run) {
      this.flushTimer = false;
      this.scheduleFlush();
    }
  }
}

function asTsswarmError(err: unknown): TsswarmError {
  if (err instanceof TsswarmError) return err;
  return new TsswarmError(ErrorCode.EXTERNAL, errorMessage(err), { cause: err });
}

/** The TsswarmError for a failed stream (grpc-js emits ServiceErrors on streams). */
function streamError(err: Error, address: string, what: string): TsswarmError {
  if (isTsswarmError(err)) return err;
  const service = err as Partial<ServiceError>;
  if (typeof service.code === 'number' && service.metadata !== undefined) return dispatcherCallError(service as ServiceError, address);
  return new TsswarmError(ErrorCode.EXTERNAL, `${what} stream to ${address} failed: ${err.message}`, { cause: err });
}
