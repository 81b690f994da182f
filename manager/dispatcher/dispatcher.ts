/**
 * The dispatcher: the leader's end of every worker's session (proto/dispatcher.proto), as in
 * Docker SwarmKit. A worker opens a Session (the node must already exist: nodes are created when
 * they join through the CA), heartbeats on it, follows its Assignments stream and reports task
 * status. A node that misses its heartbeats for a grace period goes DOWN in the store, where the
 * orchestrator sees it and reschedules its tasks. Everything the dispatcher learns goes to the
 * store; everything it sends comes from the store. It runs only while this manager leads:
 * start() on winning leadership, stop() on losing it.
 */
import type { ServerWritableStream, handleUnaryCall, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { assert } from '../../lib/assert.js';
import type { Clock, Timer } from '../../lib/clock.js';
import { ErrorCode, TsswarmError, errorMessage } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { toServiceError } from '../../lib/rpc-errors.js';
import {
  NodeState,
  millisOf,
  timestampFromMs,
  type DispatcherServer,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type SessionMessage,
  type SessionRequest,
  type TaskStatus,
  type UpdateTaskStatusRequest,
  type UpdateTaskStatusResponse,
  type PublishLogsResponse,
  type AttachNetworkRequest,
  type AttachNetworkResponse,
  type DetachNetworkRequest,
  type DetachNetworkResponse,
  type Task,
  type Secret,
  type WeightedPeer,
} from '../../proto/index.js';
import type { Store, StoreEvent, Watcher } from '../store/index.js';
import { AssignmentsStream, maxBufferedStreamMessages, type AssignmentsCall } from './assignments-stream.js';
import { NetworkViewStream, type NetworkViewCall } from './network-view-stream.js';
import { LogSubscriptionsStream, servePublishLogs, type LogSubscriptionsCall, type PublishLogsCall } from './log-streams.js';
import type { LogBroker } from '../logbroker/index.js';
import { notLeader, sessionInvalid } from './errors.js';
import { StatusBatcher, type StatusBatcherStats } from './status-batcher.js';
import { updateWithRetry } from './store-retry.js';
import { attachableNetworks, attachmentTask, checkAttachmentRoom, existingAttachment, isAttachmentTask } from './network-attachments.js';

/** The heartbeat period when the cluster object does not set spec.dispatcher.heartbeatPeriod. */
export const defaultHeartbeatPeriodMs = 5_000;
/** The shortest heartbeat period handed to workers, whatever the cluster object says. */
export const minHeartbeatPeriodMs = 50;
/** Heartbeat periods a node may miss before it is marked DOWN. */
export const heartbeatGraceMultiplier = 3;
/** Most live sessions on one dispatcher. */
export const maxSessions = 10_000;
/** Most task updates in one UpdateTaskStatus request. */
export const maxUpdatesPerStatusRequest = 1_000;
/** How often the list of managers is compared with what sessions were last told. */
export const managersPollIntervalMs = 5_000;
/** The status message of a node marked DOWN for missing its heartbeats. */
export const heartbeatFailureMessage = 'heartbeat failure';

/** What `identify` gets of any server call to find the calling node: metadata, peer, TLS auth context. */
export type DispatcherCall = Pick<ServerUnaryCall<unknown, unknown>, 'metadata' | 'getPeer' | 'getAuthContext'>;

/** What a Dispatcher is built from. */
export interface DispatcherOptions {
  /** The cluster state; every write goes through store.update. */
  readonly store: Store;
  readonly clock: Clock;
  /**
   * The node ID of the caller. In production `peerIdentity(call).nodeId` from the verified mTLS
   * certificate; tests inject their own. Throwing refuses the call (PERMISSION).
   */
  readonly identify: (call: DispatcherCall) => string;
  /** The managers workers may connect to, as the raft membership says now. */
  readonly managers: () => WeightedPeer[];
  /** The heartbeat period when the cluster object sets none; defaultHeartbeatPeriodMs when left out. */
  readonly heartbeatPeriodMs?: number;
  /** How long store changes gather before an INCREMENTAL assignments message (tests shorten it). */
  readonly assignmentsBatchWindowMs?: number;
  /** How long task status reports gather before a store write (tests shorten it). */
  readonly statusBatchWindowMs?: number;
  /** How long store changes gather before a node's network view is computed again (tests shorten it). */
  readonly networkViewBatchWindowMs?: number;
  /** The leader's log broker; without it, LogSubscriptions and PublishLogs are refused. */
  readonly logs?: LogBroker;
  /**
   * A secret as a worker must get it: its data decrypted (the store holds it sealed). A throw
   * withholds the secret from the worker (logged without its data). Identity when left out.
   */
  readonly revealSecret?: (secret: Secret) => Secret;
  readonly log?: Logger;
}

/** Counters for tests and the daemon's metrics. */
export interface DispatcherStats {
  readonly running: boolean;
  readonly sessions: number;
  /** Nodes with a heartbeat deadline pending (sessions plus nodes given grace after start()). */
  readonly heartbeatDeadlines: number;
  readonly status: StatusBatcherStats;
}

type SessionCall = ServerWritableStream<SessionRequest, SessionMessage>;

interface Session {
  readonly id: string;
  readonly nodeId: string;
  stream: SessionCall | undefined;
  /** The node version the last SessionMessage carried. */
  sentNodeVersion: number;
  /** False until the registration write is done and the first SessionMessage sent; nothing else is sent before. */
  announced: boolean;
  assignments: AssignmentsStream | undefined;
  networkView: NetworkViewStream | undefined;
  logs: LogSubscriptionsStream | undefined;
}

/** The host part of a grpc-js peer string ("10.0.0.2:41234", "::1:41234", "unknown"). */
export function peerHost(peer: string): string {
  const match = /^(.*):(\d+)$/.exec(peer);
  const host = match?.[1] ?? peer;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The leader's dispatcher. */
export class Dispatcher {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly log: Logger;
  private running = false;
  private readonly sessions = new Map<string, Session>();
  /** Heartbeat deadlines by node ID. */
  private readonly deadlines = new Map<string, Timer>();
  private nodeWatcher: Watcher | undefined;
  private managersTimer: Timer | undefined;
  private managersKey = '';
  private lastManagers: WeightedPeer[] = [];
  private batcher: StatusBatcher;

  constructor(private readonly options: DispatcherOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.log = options.log ?? silentLogger();
    this.batcher = this.newBatcher();
    this.batcher.close(notLeader());
  }

  /** True between start() and stop(). */
  get isRunning(): boolean {
    return this.running;
  }

  /** Current counters. */
  stats(): DispatcherStats {
    return { running: this.running, sessions: this.sessions.size, heartbeatDeadlines: this.deadlines.size, status: this.batcher.stats() };
  }

  /** The session ID node `nodeId` holds now, if any. */
  sessionOf(nodeId: string): string | undefined {
    return this.sessions.get(nodeId)?.id;
  }

  /** The heartbeat period workers are told: the cluster's setting, else the option, else the default. */
  heartbeatPeriodMs(): number {
    const cluster = this.store.memory.list('cluster')[0];
    const fromCluster = millisOf(cluster?.spec?.dispatcher?.heartbeatPeriod);
    const period = fromCluster > 0 ? fromCluster : (this.options.heartbeatPeriodMs ?? defaultHeartbeatPeriodMs);
    return Math.max(minHeartbeatPeriodMs, period);
  }

  /**
   * Starts serving (this manager became the leader). Every node the store has as READY gets a
   * fresh grace period to reach this dispatcher before it is marked DOWN.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.batcher = this.newBatcher();
    this.lastManagers = this.options.managers();
    this.managersKey = JSON.stringify(this.lastManagers);
    const grace = this.graceMs();
    for (const node of this.store.memory.list('node')) {
      if (node.status?.state === NodeState.READY) this.armDeadline(node.id, grace);
    }
    const watcher = this.store.memory.watch((e) => e.object.kind === 'node' || e.object.kind === 'cluster');
    this.nodeWatcher = watcher;
    void this.followNodes(watcher);
    this.scheduleManagersPoll();
    this.log.info({ heartbeatPeriodMs: this.heartbeatPeriodMs() }, 'dispatcher started');
  }

  /**
   * Stops serving (this manager lost leadership): every stream ends with "this manager is no
   * longer the leader", waiting status reports fail (workers resend them to the new leader),
   * timers stop. start() may be called again later.
   */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    const err = notLeader(true);
    for (const timer of this.deadlines.values()) timer.cancel();
    this.deadlines.clear();
    this.managersTimer?.cancel();
    this.managersTimer = undefined;
    this.nodeWatcher?.close();
    this.nodeWatcher = undefined;
    for (const session of [...this.sessions.values()]) this.endSession(session, err);
    this.sessions.clear();
    this.batcher.close(err);
    this.options.logs?.closeAll(err);
    this.log.info('dispatcher stopped');
  }

  /** Tells every session about the current managers now if they changed (the daemon calls it on raft membership changes). */
  managersChanged(): void {
    if (!this.running) return;
    const managers = this.options.managers();
    const key = JSON.stringify(managers);
    if (key === this.managersKey) return;
    this.managersKey = key;
    this.lastManagers = managers;
    for (const session of this.sessions.values()) this.sendSessionMessage(session);
  }

  /** The gRPC handlers: `server.addService(DispatcherService, dispatcher.handlers())`. */
  handlers(): DispatcherServer {
    return {
      session: (call) => this.openSession(call),
      heartbeat: this.unary((call) => this.heartbeat(call)),
      updateTaskStatus: this.unary((call) => this.updateTaskStatus(call)),
      assignments: (call) => this.openAssignments(call),
      networkView: (call) => this.openNetworkView(call),
      logSubscriptions: (call) => this.openLogSubscriptions(call),
      publishLogs: (call, callback) => this.publishLogs(call, callback),
      attachNetwork: this.unary((call) => this.attachNetwork(call)),
      detachNetwork: this.unary((call) => this.detachNetwork(call)),
    };
  }

  // ---- handlers ---------------------------------------------------------------------------------

  private openSession(call: SessionCall): void {
    void this.registerSession(call).catch((err: unknown) => {
      this.log.debug({ peer: call.getPeer() }, `session refused: ${errorMessage(err)}`);
      if (!call.cancelled && !call.writableEnded) call.emit('error', toServiceError(err));
    });
  }

  private async registerSession(call: SessionCall): Promise<void> {
    this.requireRunning();
    const nodeId = this.identify(call);
    if (this.store.memory.get('node', nodeId) === undefined) {
      throw new TsswarmError(ErrorCode.NOT_FOUND, `node ${nodeId} is not part of this cluster (it must join through the CA first)`);
    }
    const old = this.sessions.get(nodeId);
    if (old === undefined && this.sessions.size >= maxSessions) {
      throw new TsswarmError(ErrorCode.QUEUE_FULL, `this dispatcher already serves ${maxSessions} sessions`);
    }
    if (old !== undefined) {
      this.sessions.delete(nodeId);
      this.endSession(old, new TsswarmError(ErrorCode.CONFLICT, `session ${old.id} of node ${nodeId} was replaced by a newer session`));
    }
    // Registered before the store write, so a heartbeat deadline firing meanwhile sees it.
    const session: Session = { id: newId(), nodeId, stream: call, sentNodeVersion: 0, announced: false, assignments: undefined, networkView: undefined, logs: undefined };
    this.sessions.set(nodeId, session);
    this.armDeadline(nodeId, this.graceMs());
    call.on('cancelled', () => this.detachSessionStream(session, call));
    call.on('close', () => this.detachSessionStream(session, call));
    const addr = peerHost(call.getPeer());
    const description = call.request.description;
    try {
      await updateWithRetry(this.store, (tx) => {
        const node = tx.get('node', nodeId);
        if (node === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, `node ${nodeId} was removed from the cluster`);
        tx.update('node', {
          ...node,
          ...(description !== undefined ? { description } : {}),
          status: { state: NodeState.READY, message: '', addr },
        });
      });
    } catch (err) {
      // The deadline stays: a node that does not come back within the grace period goes DOWN.
      if (this.sessions.get(nodeId) === session) this.sessions.delete(nodeId);
      throw err;
    }
    if (this.sessions.get(nodeId) !== session) return; // replaced or stopped while writing
    this.log.info({ node: nodeId, session: session.id, addr }, 'node registered');
    session.announced = true;
    this.sendSessionMessage(session);
  }

  private async heartbeat(call: ServerUnaryCall<HeartbeatRequest, HeartbeatResponse>): Promise<HeartbeatResponse> {
    this.requireRunning();
    const nodeId = this.identify(call);
    this.currentSession(nodeId, call.request.sessionId);
    const period = this.heartbeatPeriodMs();
    this.armDeadline(nodeId, period * heartbeatGraceMultiplier);
    return { period: timestampFromMs(period) };
  }

  private async updateTaskStatus(call: ServerUnaryCall<UpdateTaskStatusRequest, UpdateTaskStatusResponse>): Promise<UpdateTaskStatusResponse> {
    this.requireRunning();
    const nodeId = this.identify(call);
    const { sessionId, updates } = call.request;
    this.currentSession(nodeId, sessionId);
    if (updates.length > maxUpdatesPerStatusRequest) {
      throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `${updates.length} task updates in one request; send at most ${maxUpdatesPerStatusRequest}`);
    }
    const accepted: { taskId: string; status: TaskStatus }[] = [];
    const foreign: string[] = [];
    for (const u of updates) {
      if (u.status === undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `the update of task ${u.taskId} carries no status`);
      const task = this.store.memory.get('task', u.taskId);
      if (task === undefined) continue; // removed since: nothing to record
      if (task.nodeId !== nodeId) foreign.push(u.taskId);
      else accepted.push({ taskId: u.taskId, status: u.status });
    }
    if (foreign.length > 0) {
      this.log.warn({ node: nodeId, tasks: foreign.slice(0, 10), count: foreign.length }, 'refused status reports for tasks not assigned to the node');
      throw new TsswarmError(ErrorCode.PERMISSION, `node ${nodeId} reported the status of ${foreign.length} task(s) not assigned to it (${foreign.slice(0, 3).join(', ')}); nothing of this request was recorded`);
    }
    await this.batcher.enqueue(nodeId, accepted);
    return {};
  }

  /** A standalone container of the caller's node joins attachable networks (network-attachments.ts). */
  private async attachNetwork(call: ServerUnaryCall<AttachNetworkRequest, AttachNetworkResponse>): Promise<AttachNetworkResponse> {
    this.requireRunning();
    const nodeId = this.identify(call);
    this.currentSession(nodeId, call.request.sessionId);
    let attachmentId = '';
    await updateWithRetry(this.store, (tx) => {
      const nodeTasks = this.store.memory.tasksOfNode(nodeId).map((t) => tx.get('task', t.id)).filter((t): t is Task => t !== undefined);
      const existing = existingAttachment(nodeTasks, call.request.containerId);
      if (existing !== undefined) {
        attachmentId = existing.id;
        return;
      }
      checkAttachmentRoom(nodeTasks, nodeId);
      const networks = attachableNetworks(this.store.memory.list('network'), call.request.networks);
      const task = attachmentTask(call.request, networks, nodeId, newId(), Date.now());
      tx.create('task', task);
      attachmentId = task.id;
    });
    this.log.info({ node: nodeId, container: call.request.containerId, attachment: attachmentId }, 'standalone container attached to networks');
    return { attachmentId };
  }

  /** Removes an attachment task of the caller's node; one already gone is fine. */
  private async detachNetwork(call: ServerUnaryCall<DetachNetworkRequest, DetachNetworkResponse>): Promise<DetachNetworkResponse> {
    this.requireRunning();
    const nodeId = this.identify(call);
    this.currentSession(nodeId, call.request.sessionId);
    const id = call.request.attachmentId;
    await updateWithRetry(this.store, (tx) => {
      const task = tx.get('task', id);
      if (task === undefined) return;
      if (task.nodeId !== nodeId || !isAttachmentTask(task)) {
        throw new TsswarmError(ErrorCode.PERMISSION, `task ${id} is not a network attachment of node ${nodeId}`);
      }
      tx.remove('task', id);
    });
    return {};
  }

  private openAssignments(call: AssignmentsCall): void {
    try {
      this.requireRunning();
      const nodeId = this.identify(call);
      const session = this.currentSession(nodeId, call.request.sessionId);
      session.assignments?.close(new TsswarmError(ErrorCode.CONFLICT, `a newer assignments stream of session ${session.id} replaced this one`));
      const stream = new AssignmentsStream({
        call,
        nodeId,
        memory: this.store.memory,
        clock: this.clock,
        log: this.log,
        ...(this.options.revealSecret !== undefined ? { revealSecret: this.options.revealSecret } : {}),
        ...(this.options.assignmentsBatchWindowMs !== undefined ? { windowMs: this.options.assignmentsBatchWindowMs } : {}),
        onClose: () => {
          if (session.assignments === stream) session.assignments = undefined;
        },
      });
      session.assignments = stream;
      stream.start();
      this.log.debug({ node: nodeId, session: session.id, tasks: stream.taskCount }, 'assignments stream opened');
    } catch (err) {
      this.log.debug({ peer: call.getPeer() }, `assignments refused: ${errorMessage(err)}`);
      call.emit('error', toServiceError(err));
    }
  }

  private openNetworkView(call: NetworkViewCall): void {
    try {
      this.requireRunning();
      const nodeId = this.identify(call);
      const session = this.currentSession(nodeId, call.request.sessionId);
      session.networkView?.close(new TsswarmError(ErrorCode.CONFLICT, `a newer network view stream of session ${session.id} replaced this one`));
      const stream = new NetworkViewStream({
        call,
        nodeId,
        memory: this.store.memory,
        clock: this.clock,
        log: this.log,
        ...(this.options.networkViewBatchWindowMs !== undefined ? { windowMs: this.options.networkViewBatchWindowMs } : {}),
        onClose: () => {
          if (session.networkView === stream) session.networkView = undefined;
        },
      });
      session.networkView = stream;
      stream.start();
      this.log.debug({ node: nodeId, session: session.id }, 'network view stream opened');
    } catch (err) {
      this.log.debug({ peer: call.getPeer() }, `network view refused: ${errorMessage(err)}`);
      call.emit('error', toServiceError(err));
    }
  }

  private openLogSubscriptions(call: LogSubscriptionsCall): void {
    try {
      this.requireRunning();
      const broker = this.requireLogs();
      const nodeId = this.identify(call);
      const session = this.currentSession(nodeId, call.request.sessionId);
      session.logs?.close(new TsswarmError(ErrorCode.CONFLICT, `a newer log subscriptions stream of session ${session.id} replaced this one`));
      const stream = new LogSubscriptionsStream(call, nodeId, broker, () => {
        if (session.logs === stream) session.logs = undefined;
      });
      session.logs = stream;
      stream.start();
    } catch (err) {
      this.log.debug({ peer: call.getPeer() }, `log subscriptions refused: ${errorMessage(err)}`);
      call.emit('error', toServiceError(err));
    }
  }

  private publishLogs(call: PublishLogsCall, callback: sendUnaryData<PublishLogsResponse>): void {
    try {
      this.requireRunning();
      const broker = this.requireLogs();
      const nodeId = this.identify(call);
      servePublishLogs(call, callback, nodeId, broker, (m) => void this.currentSession(nodeId, m.sessionId), this.log);
    } catch (err) {
      callback(toServiceError(err));
    }
  }

  private requireLogs(): LogBroker {
    if (this.options.logs === undefined) throw new TsswarmError(ErrorCode.UNSUPPORTED, 'this manager does not serve logs');
    return this.options.logs;
  }

  // ---- sessions and heartbeats -------------------------------------------------------------------

  private requireRunning(): void {
    if (!this.running) throw notLeader();
  }

  private identify(call: DispatcherCall): string {
    let nodeId: string;
    try {
      nodeId = this.options.identify(call);
    } catch (err) {
      throw new TsswarmError(ErrorCode.PERMISSION, `cannot tell which node is calling: ${errorMessage(err)}`);
    }
    if (nodeId === '') throw new TsswarmError(ErrorCode.PERMISSION, 'cannot tell which node is calling');
    return nodeId;
  }

  private currentSession(nodeId: string, sessionId: string): Session {
    const session = this.sessions.get(nodeId);
    if (session === undefined) throw sessionInvalid(nodeId, sessionId, 'the node has no session on this manager');
    if (session.id !== sessionId) throw sessionInvalid(nodeId, sessionId, 'a newer session replaced it');
    return session;
  }

  private graceMs(): number {
    return this.heartbeatPeriodMs() * heartbeatGraceMultiplier;
  }

  private armDeadline(nodeId: string, ms: number): void {
    this.deadlines.get(nodeId)?.cancel();
    this.deadlines.set(
      nodeId,
      this.clock.setTimer(ms, () => {
        this.deadlines.delete(nodeId);
        void this.expire(nodeId, ms);
      }),
    );
  }

  /** The node missed its heartbeats: end its session and mark it DOWN. */
  private async expire(nodeId: string, graceMs: number): Promise<void> {
    if (!this.running) return;
    const session = this.sessions.get(nodeId);
    if (session !== undefined) {
      this.sessions.delete(nodeId);
      this.endSession(session, sessionInvalid(nodeId, session.id, `no heartbeat for ${graceMs} ms`));
    }
    this.log.warn({ node: nodeId, graceMs }, 'node missed its heartbeats; marking it down');
    try {
      await updateWithRetry(this.store, (tx) => {
        // A session opened since the deadline fired keeps the node up.
        if (!this.running || this.sessions.has(nodeId)) return;
        const node = tx.get('node', nodeId);
        if (node === undefined || node.status?.state === NodeState.DOWN) return;
        tx.update('node', { ...node, status: { state: NodeState.DOWN, message: heartbeatFailureMessage, addr: node.status?.addr ?? '' } });
      });
    } catch (err) {
      this.log.warn({ node: nodeId }, `marking node down failed: ${errorMessage(err)}`);
    }
  }

  /** Ends a session's streams with `err`; its heartbeat deadline is the caller's business. */
  private endSession(session: Session, err: TsswarmError): void {
    session.assignments?.close(err);
    session.assignments = undefined;
    session.networkView?.close(err);
    session.networkView = undefined;
    session.logs?.close(err);
    session.logs = undefined;
    const stream = session.stream;
    session.stream = undefined;
    if (stream !== undefined && !stream.cancelled && !stream.writableEnded) stream.emit('error', toServiceError(err));
  }

  private detachSessionStream(session: Session, call: SessionCall): void {
    if (session.stream === call) session.stream = undefined;
  }

  private sendSessionMessage(session: Session): void {
    const stream = session.stream;
    if (!session.announced || stream === undefined || stream.cancelled || stream.writableEnded) return;
    if (stream.writableLength > maxBufferedStreamMessages) {
      this.sessions.delete(session.nodeId);
      this.endSession(session, new TsswarmError(ErrorCode.QUEUE_FULL, `node ${session.nodeId} does not read its session stream; open a new session`));
      return;
    }
    const node = this.store.memory.get('node', session.nodeId);
    const cluster = this.store.memory.list('cluster')[0];
    const message: SessionMessage = {
      sessionId: session.id,
      ...(node !== undefined ? { node } : {}),
      managers: this.lastManagers,
      rootCa: cluster?.rootCa?.caCert ?? new Uint8Array(),
    };
    session.sentNodeVersion = node?.meta?.version?.index ?? 0;
    stream.write(message);
  }

  /** Resends SessionMessages when a node with a session changes, the cluster (root CA) changes, or the managers do. */
  private async followNodes(watcher: Watcher): Promise<void> {
    for (;;) {
      let event: StoreEvent;
      try {
        event = await watcher.next();
      } catch (err) {
        if (!this.running || this.nodeWatcher !== watcher) return;
        // Fell behind: tell everyone the current state and watch again.
        this.log.warn(`node watch ended (${errorMessage(err)}); watching again`);
        const next = this.store.memory.watch((e) => e.object.kind === 'node' || e.object.kind === 'cluster');
        this.nodeWatcher = next;
        for (const session of this.sessions.values()) this.sendSessionMessage(session);
        void this.followNodes(next);
        return;
      }
      if (!this.running) return;
      this.nodeEvent(event);
      this.managersChanged();
    }
  }

  private nodeEvent(event: StoreEvent): void {
    const o = event.object;
    if (o.kind === 'cluster') {
      for (const session of this.sessions.values()) this.sendSessionMessage(session);
      return;
    }
    assert(o.kind === 'node', `node watch got a ${o.kind} event`);
    const session = this.sessions.get(o.value.id);
    if (event.kind === 'remove') {
      this.deadlines.get(o.value.id)?.cancel();
      this.deadlines.delete(o.value.id);
      if (session !== undefined) {
        this.sessions.delete(o.value.id);
        this.endSession(session, new TsswarmError(ErrorCode.NOT_FOUND, `node ${o.value.id} was removed from the cluster`));
      }
      return;
    }
    if (session !== undefined && event.version > session.sentNodeVersion) this.sendSessionMessage(session);
  }

  private scheduleManagersPoll(): void {
    this.managersTimer = this.clock.setTimer(managersPollIntervalMs, () => {
      if (!this.running) return;
      this.managersChanged();
      this.scheduleManagersPoll();
    });
  }

  private newBatcher(): StatusBatcher {
    return new StatusBatcher(this.store, this.clock, this.log, this.options.statusBatchWindowMs);
  }

  /** Wraps an async unary handler: its result or its error (as a gRPC status) goes to the callback. */
  private unary<Req, Res>(fn: (call: ServerUnaryCall<Req, Res>) => Promise<Res>): handleUnaryCall<Req, Res> {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      fn(call).then(
        (response) => callback(null, response),
        (err: unknown) => {
          if (!(err instanceof TsswarmError)) this.log.error({ peer: call.getPeer(), method: call.getPath() }, `dispatcher call failed: ${errorMessage(err)}`);
          callback(toServiceError(err));
        },
      );
    };
  }
}
