/**
 * A manager: the raft member that holds the replicated store, and the services other nodes reach
 * on port 2377 over mutual TLS: Raft (messages, joins, leaves), CA (joins and renewals), Control
 * (forwarded to the leader when this member does not lead) and Dispatcher (leader only). Work that
 * only the leader does starts and stops with leadership: the dispatcher and the membership
 * reconciler, which promotes learners that caught up and removes managers that were demoted.
 */
import { setMaxListeners } from 'node:events';
import { Server, type ServiceError, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { RealClock } from '../lib/clock.js';
import { ErrorCode, TsswarmError, errorMessage, isTsswarmError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Rng } from '../lib/rng.js';
import { leaderHintKey, toServiceError } from '../lib/rpc-errors.js';
import {
  CAService,
  ControlService,
  DispatcherService,
  LogsService,
  NodeRole,
  NodeState,
  RaftService,
  Reachability,
  type CAServer,
  type Cluster,
  type ControlServer,
  type DispatcherServer,
  type JoinRequest,
  type JoinResponse,
  type LeaveRequest,
  type LogsServer,
  type RaftMember,
  type RaftServer,
} from '../proto/index.js';
import {
  CertificateAuthority,
  authorizationInterceptor,
  caService,
  certRoleOf,
  mtlsChannelCredentials,
  mtlsServerCredentials,
  nodeRoleOf,
  peerIdentity,
  rootCaFromMessage,
  type IssuedEvent,
  type NodeTlsMaterial,
} from './ca/index.js';
import { ControlApi, ServiceControlApi, controlHandlers, noLeaderMessage, revealSecret, serviceControlHandlers, type RaftMembership } from './controlapi/index.js';
import { Dispatcher } from './dispatcher/index.js';
import { isLearnerNotReadyError, RaftNode, type MemberStatus } from './raft/node/raft-node.js';
import { LeaderClient } from './leader-client.js';
import { LeaderLoops } from './leader-loops.js';
import { LogBroker } from './logbroker/index.js';
import { logsHandlers } from './logs-service.js';
import { MemoryStore, RaftProposer, Store, StoreApplication } from './store/index.js';
import { listenForPeers, type PeerListener } from './peer-listener.js';

/** How often the leader looks for learners to promote and demoted managers to remove. */
export const membershipCheckIntervalMs = 500;
/** Store writes and control calls on behalf of other nodes fail (NO_QUORUM) after this long. */
export const managerRequestTimeoutMs = 4_000;
/**
 * A Control call forwarded to the leader fails after this long, the leader's own budget for it: a
 * leader whose host vanished without resetting connections is found out this soon, not after the
 * forwarding client's 10 s.
 */
export const forwardedControlTimeoutMs = managerRequestTimeoutMs;

/** What a Manager is started with. */
export interface ManagerOptions {
  /** Directory of the raft WAL and snapshots. */
  readonly raftDir: string;
  readonly tls: NodeTlsMaterial;
  /** host:port to listen on (2377 by default). */
  readonly listenAddr: string;
  /** host:port the other managers and workers dial. */
  readonly advertiseAddr: string;
  readonly raftId: number;
  /** Raft ID → address of the members this member knows at start (itself included). */
  readonly members: ReadonlyMap<number, string>;
  readonly nodeIds: ReadonlyMap<number, string>;
  /** Joining an existing raft group (no bootstrap). */
  readonly join: boolean;
  readonly forceNewCluster: boolean;
  readonly rng: Rng;
  readonly log: Logger;
  /** This member was removed from the raft group (demoted or left): the daemon stops the manager role. */
  readonly onRemoved: () => void;
  readonly tickMs?: number;
  readonly electionTicks?: number;
}

/** A running manager (see the file comment). */
export class Manager {
  readonly store: Store;
  readonly dispatcher: Dispatcher;
  readonly logBroker: LogBroker;
  readonly control: ControlApi;
  readonly services: ServiceControlApi;
  /** Orchestrator, allocator and scheduler: leader only. */
  readonly loops: LeaderLoops;
  private ca: CertificateAuthority | undefined;
  private caClusterVersion = -1;
  private membershipTimer: NodeJS.Timeout | undefined;
  private reconciling = false;
  private stopped = false;
  /** Aborted when the leader changes: cancels the Control calls forwarded to the old one. */
  private forwards = forwardsController();
  /** The manager port; set once it listens. */
  private listener: PeerListener | undefined;
  private readonly leaderClient: LeaderClient;

  private constructor(
    readonly options: ManagerOptions,
    readonly raft: RaftNode,
    readonly server: Server,
    /** The tables the raft application applies entries to. */
    readonly memory: MemoryStore,
  ) {
    this.store = new Store(this.memory, new RaftProposer(raft));
    this.control = new ControlApi({ store: this.store, membership: this.membership() });
    this.loops = new LeaderLoops({ store: this.store, clock: new RealClock(), log: options.log.child({ component: 'leader-loops' }) });
    this.services = new ServiceControlApi({ store: this.store, membership: this.membership(), rng: options.rng.fork() });
    this.logBroker = new LogBroker({ memory: this.memory, log: options.log.child({ component: 'logbroker' }) });
    this.dispatcher = new Dispatcher({
      store: this.store,
      logs: this.logBroker,
      clock: new RealClock(),
      identify: (call) => {
        const peer = peerIdentity(call);
        if (peer === undefined) throw new TsswarmError(ErrorCode.PERMISSION, 'the dispatcher needs a node certificate');
        return peer.nodeId;
      },
      managers: () => this.raft.memberStatus().filter((m) => m.voter).map((m) => ({ nodeId: m.nodeId, addr: m.addr, weight: m.reachable ? 10 : 1 })),
      log: options.log.child({ component: 'dispatcher' }),
      // The store holds secret data sealed; it is opened only on its way to a worker.
      revealSecret: (secret) => revealSecret(secret, this.cluster()),
    });
    this.leaderClient = new LeaderClient(mtlsChannelCredentials(options.tls, { clusterId: options.tls.identity.clusterId }));
  }

  /** Starts the raft member and the 2377 server. */
  static async start(options: ManagerOptions): Promise<Manager> {
    const memory = new MemoryStore();
    let manager: Manager | undefined;
    const raft = await RaftNode.start({
      id: options.raftId,
      members: options.members,
      nodeIds: options.nodeIds,
      dir: options.raftDir,
      application: new StoreApplication(memory),
      credentials: mtlsChannelCredentials(options.tls, { clusterId: options.tls.identity.clusterId }),
      rng: options.rng,
      join: options.join,
      forceNewCluster: options.forceNewCluster,
      requestTimeoutMs: managerRequestTimeoutMs,
      ...(options.tickMs !== undefined ? { tickMs: options.tickMs } : {}),
      ...(options.electionTicks !== undefined ? { electionTicks: options.electionTicks } : {}),
      onRemoved: () => manager?.removed(),
      onLeaderChange: (leader) => manager?.leaderChanged(leader),
    });
    const server = new Server({ interceptors: [authorizationInterceptor({ clusterId: options.tls.identity.clusterId, log: options.log.child({ component: 'authz' }) })] });
    manager = new Manager(options, raft, server, memory);
    server.addService(RaftService, manager.raftHandlers());
    server.addService(CAService, manager.caHandlers());
    server.addService(ControlService, manager.controlService());
    server.addService(DispatcherService, manager.dispatcherService());
    server.addService(LogsService, manager.logsService());
    try {
      manager.listener = await listenForPeers(server, options.listenAddr, mtlsServerCredentials(options.tls, { allowAnonymous: true }), options.log.child({ component: 'listener' }));
    } catch (err) {
      server.forceShutdown(); // also closes the connection injector's server
      manager.leaderClient.close();
      await raft.stop();
      throw new TsswarmError(ErrorCode.EXTERNAL, `cannot listen on ${options.listenAddr}: ${errorMessage(err)}`, { cause: err });
    }
    if (raft.isLeader) manager.leaderChanged(raft.leaderId);
    return manager;
  }

  /** True while this member leads. */
  get isLeader(): boolean {
    return this.raft.isLeader;
  }

  /** The leader's raft address, if one is known. */
  leaderAddr(): string | undefined {
    const id = this.raft.leaderId;
    return id === 0 ? undefined : this.raft.member(id)?.addr;
  }

  /** The node ID of the leader, if one is known. */
  leaderNodeId(): string | undefined {
    const id = this.raft.leaderId;
    return id === 0 ? undefined : this.raft.member(id)?.nodeId;
  }

  /** The cluster object, once the store has it. */
  cluster(): Cluster | undefined {
    return this.memory.list('cluster')[0];
  }

  /** Raft membership as the Control API sees it. */
  private membership(): RaftMembership {
    return {
      // Voters only: a learner still catching up is not yet a manager anyone can count on.
      members: () => this.raft.memberStatus().filter((m) => m.voter).map((m) => ({ raftId: m.raftId, nodeId: m.nodeId, addr: m.addr, reachable: m.reachable || m.leader })),
      leaderNodeId: () => this.leaderNodeId(),
    };
  }

  private leaderChanged(leader: number): void {
    // Calls forwarded to the previous leader will not be answered by it as leader: fail them now
    // (NO_QUORUM, retryable) rather than at their deadline.
    this.forwards.abort(new TsswarmError(ErrorCode.NO_QUORUM, `the leader changed while it handled the call; retry. ${leader === 0 ? noLeaderMessage : ''}`.trim()));
    this.forwards = forwardsController();
    if (this.stopped) return;
    const leading = leader === this.options.raftId;
    this.options.log.info({ leader, self: this.options.raftId }, leading ? 'this manager is now the leader' : 'leader changed');
    if (leading && !this.dispatcher.isRunning) {
      this.dispatcher.start();
      this.membershipTimer ??= setInterval(() => void this.reconcileMembership(), membershipCheckIntervalMs);
      // The loops must see everything committed before this term, or they would redo work: a
      // ReadIndex round returns once this member applied up to the commit index.
      this.raft.read().then(
        () => {
          if (!this.stopped && this.raft.isLeader) this.loops.start();
        },
        (err: unknown) => this.options.log.warn(`leader loops not started: ${errorMessage(err)}`),
      );
    } else if (!leading) {
      this.loops.stop();
      if (this.dispatcher.isRunning) this.dispatcher.stop();
      if (this.membershipTimer) clearInterval(this.membershipTimer);
      this.membershipTimer = undefined;
    }
  }

  private removed(): void {
    if (this.stopped) return;
    this.options.log.warn('this manager was removed from the raft group');
    this.options.onRemoved();
  }

  /** Leader: promote learners that caught up; remove managers whose node was demoted. One change at a time. */
  private async reconcileMembership(): Promise<void> {
    if (this.reconciling || !this.raft.isLeader || this.stopped) return;
    this.reconciling = true;
    try {
      for (const learner of this.raft.learnerProgress()) {
        if (!learner.ready) continue; // not caught up yet (isLearnerReady): looked at again in 500 ms
        this.options.log.info({ raftId: learner.raftId }, 'promoting a caught-up learner to voter');
        await this.raft.changeMembership({ type: 'addVoter', raftId: learner.raftId });
        return;
      }
      for (const member of this.raft.memberStatus()) {
        const node = member.nodeId === '' ? undefined : this.memory.get('node', member.nodeId);
        const demoted = node !== undefined && node.spec?.role === NodeRole.WORKER;
        if (!demoted) continue;
        if (member.raftId === this.options.raftId) {
          const successor = this.raft.memberStatus().find((m) => m.voter && m.reachable && m.raftId !== member.raftId);
          if (successor) {
            this.options.log.info({ to: successor.raftId }, 'this manager was demoted: handing leadership over');
            this.raft.transferLeadership(successor.raftId);
          }
          return;
        }
        this.options.log.info({ raftId: member.raftId, node: member.nodeId }, 'removing a demoted manager from the raft group');
        await this.raft.changeMembership({ type: 'removeNode', raftId: member.raftId });
        return;
      }
    } catch (err) {
      // A learner can fall back between the check and the proposal: that is retried, not a failure.
      if (isLearnerNotReadyError(err)) this.options.log.debug(errorMessage(err));
      else this.options.log.warn(`membership change failed: ${errorMessage(err)}`);
    } finally {
      this.reconciling = false;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Raft service

  private raftHandlers(): RaftServer {
    return {
      streamMessages: this.raft.transport.streamHandler(),
      resolveAddress: (call, callback) => {
        const member = this.raft.member(call.request.raftId);
        if (member === undefined) callback(toServiceError(new TsswarmError(ErrorCode.NOT_FOUND, `raft member ${call.request.raftId} is not known here`)));
        else callback(null, { addr: member.addr });
      },
      join: (call, callback) => reply(callback, this.handleJoin(call)),
      leave: (call, callback) => reply(callback, this.handleLeave(call)),
    };
  }

  private async handleJoin(call: ServerUnaryCall<JoinRequest, JoinResponse>): Promise<JoinResponse> {
    const peer = peerIdentity(call);
    if (peer === undefined || peer.role !== 'manager') throw new TsswarmError(ErrorCode.PERMISSION, 'only nodes with a manager certificate may join the raft group');
    // Forwarded calls carry the joiner's node ID: the leader sees the forwarding manager's certificate.
    const nodeId = call.request.nodeId || peer.nodeId;
    if (!this.raft.isLeader) return this.leaderClient.call(this.requireLeaderAddr(), RaftService.join, { ...call.request, nodeId });
    if (!/^[^\s:]+:\d+$/.test(call.request.addr) && !/^\[[0-9a-fA-F:]+\]:\d+$/.test(call.request.addr)) {
      throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `raft address ${JSON.stringify(call.request.addr)} is not host:port`);
    }
    // A node that joins again (its data was wiped) gets a new raft ID; its old one is removed first.
    const old = this.raft.memberStatus().find((m) => m.nodeId === nodeId);
    if (old !== undefined) await this.raft.changeMembership({ type: 'removeNode', raftId: old.raftId });
    const raftId = this.newRaftId();
    await this.raft.changeMembership({ type: 'addLearner', raftId, addr: call.request.addr, nodeId });
    this.options.log.info({ raftId, node: nodeId, addr: call.request.addr, via: peer.nodeId }, 'manager joined the raft group as a learner');
    return { raftId, members: this.raft.memberStatus().map((m) => raftMemberOf(m)), removedMembers: [...this.raft.removed] };
  }

  private async handleLeave(call: ServerUnaryCall<LeaveRequest, object>): Promise<object> {
    const peer = peerIdentity(call);
    if (peer === undefined || peer.role !== 'manager') throw new TsswarmError(ErrorCode.PERMISSION, 'only managers may leave the raft group');
    // As for joins: a forwarded call names the node that leaves (the leader sees the forwarder).
    const nodeId = call.request.node?.nodeId || peer.nodeId;
    if (!this.raft.isLeader) return this.leaderClient.call(this.requireLeaderAddr(), RaftService.leave, { node: { raftId: 0, addr: '', ...call.request.node, nodeId } });
    const member = this.raft.memberStatus().find((m) => m.nodeId === nodeId);
    if (member === undefined) return {};
    if (member.raftId === this.options.raftId) throw new TsswarmError(ErrorCode.CONFLICT, 'the leader cannot remove itself; transfer leadership first');
    await this.raft.changeMembership({ type: 'removeNode', raftId: member.raftId });
    return {};
  }

  private newRaftId(): number {
    const taken = new Set([...this.raft.memberStatus().map((m) => m.raftId), ...this.raft.removed]);
    for (;;) {
      const id = 1 + Math.floor(this.options.rng.next() * 2 ** 31);
      if (!taken.has(id)) return id;
    }
  }

  private requireLeaderAddr(): string {
    const addr = this.leaderAddr();
    if (addr === undefined || this.raft.leaderId === this.options.raftId) throw new TsswarmError(ErrorCode.NO_QUORUM, noLeaderMessage);
    return addr;
  }

  // ------------------------------------------------------------------------------------------
  // CA service

  /** The CA as the cluster object describes it now; UNAVAILABLE until this member has the object. */
  private async currentCa(): Promise<CertificateAuthority> {
    const cluster = this.cluster();
    if (cluster === undefined || cluster.rootCa === undefined) throw new TsswarmError(ErrorCode.CLOSED, 'this manager has not caught up with the cluster state yet; try again');
    const version = cluster.meta?.version?.index ?? 0;
    if (this.ca === undefined) {
      const root = await rootCaFromMessage(cluster.rootCa);
      this.ca = new CertificateAuthority({
        root,
        clusterId: cluster.id,
        ...(cluster.rootCa.joinTokens ? { joinTokens: cluster.rootCa.joinTokens } : {}),
        certExpiryMs: certExpiryOf(cluster),
      });
    } else if (version !== this.caClusterVersion) {
      if (cluster.rootCa.joinTokens) this.ca.adoptJoinTokens(cluster.rootCa.joinTokens);
      this.ca.setCertExpiryMs(certExpiryOf(cluster));
    }
    this.caClusterVersion = version;
    return this.ca;
  }

  private caHandlers(): CAServer {
    let handlers: CAServer | undefined;
    const ready = async (): Promise<CAServer> => {
      // A linearizable read first: a follower must not judge a join token (or a node's role) by a
      // store that has not applied the latest rotation yet; a rotated token stops working at once.
      await this.raft.read();
      const ca = await this.currentCa();
      handlers ??= caService({
        ca,
        desiredRole: (nodeId) => {
          const node = this.memory.get('node', nodeId);
          if (node === undefined) throw new TsswarmError(ErrorCode.PERMISSION, `node ${nodeId} was removed from the swarm; it must join again`);
          return node.spec === undefined ? undefined : certRoleOf(node.spec.role);
        },
        onIssued: (event) => void this.recordIssued(event),
        log: this.options.log.child({ component: 'ca' }),
      });
      return handlers;
    };
    const wrap =
      <K extends keyof CAServer>(name: K): CAServer[K] =>
      ((call: never, callback: (err: unknown, value?: unknown) => void) => {
        ready().then(
          (h) => (h[name] as (c: never, cb: unknown) => void)(call, callback),
          (err: unknown) => callback(toServiceError(err)),
        );
      }) as CAServer[K];
    return { getRootCACertificate: wrap('getRootCACertificate'), issueNodeCertificate: wrap('issueNodeCertificate'), nodeCertificateStatus: wrap('nodeCertificateStatus') };
  }

  /** Writes a newly joined node to the store, or a renewed node's role. */
  private async recordIssued(event: IssuedEvent): Promise<void> {
    const { identity } = event.issued;
    const role = nodeRoleOf(identity.role);
    try {
      await this.store.update((tx) => {
        const existing = tx.get('node', identity.nodeId);
        if (existing === undefined) {
          tx.create('node', {
            id: identity.nodeId,
            spec: { annotations: { name: '', labels: {} }, role, availability: event.availability },
            role,
            status: { state: NodeState.UNKNOWN, message: 'joined, waiting for its first session', addr: '' },
          } as never);
        } else if (existing.role !== role) {
          tx.update('node', { ...existing, role });
        }
      });
    } catch (err) {
      this.options.log.warn({ node: identity.nodeId }, `could not record the node's certificate: ${errorMessage(err)}`);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Dispatcher service

  /**
   * The dispatcher's handlers, with a refusal that names the leader when this member does not lead,
   * so that a worker that only knows this manager finds the leader at once.
   */
  private dispatcherService(): DispatcherServer {
    const inner = this.dispatcher.handlers();
    const refusal = (): Partial<ServiceError> | undefined => {
      if (this.raft.isLeader) return undefined;
      const err = toServiceError(new TsswarmError(ErrorCode.CLOSED, 'this manager is not the leader; connect to the leader'));
      const leader = this.leaderAddr();
      if (leader !== undefined) err.metadata?.set(leaderHintKey, leader);
      return err;
    };
    return {
      session: (call) => {
        const refused = refusal();
        if (refused) call.emit('error', refused);
        else inner.session(call);
      },
      assignments: (call) => {
        const refused = refusal();
        if (refused) call.emit('error', refused);
        else inner.assignments(call);
      },
      heartbeat: (call, callback) => {
        const refused = refusal();
        if (refused) callback(refused);
        else inner.heartbeat(call, callback);
      },
      networkView: (call) => {
        const refused = refusal();
        if (refused) call.emit('error', refused);
        else inner.networkView(call);
      },
      updateTaskStatus: (call, callback) => {
        const refused = refusal();
        if (refused) callback(refused);
        else inner.updateTaskStatus(call, callback);
      },
      logSubscriptions: (call) => {
        const refused = refusal();
        if (refused) call.emit('error', refused);
        else inner.logSubscriptions(call);
      },
      publishLogs: (call, callback) => {
        const refused = refusal();
        if (refused) callback(refused);
        else inner.publishLogs(call, callback);
      },
      attachNetwork: (call, callback) => {
        const refused = refusal();
        if (refused) callback(refused);
        else inner.attachNetwork(call, callback);
      },
      detachNetwork: (call, callback) => {
        const refused = refusal();
        if (refused) callback(refused);
        else inner.detachNetwork(call, callback);
      },
    };
  }

  /** The Logs service: subscriptions served by the leader's broker, forwarded by followers. */
  logsService(): LogsServer {
    return logsHandlers({
      isLeader: () => this.raft.isLeader,
      broker: this.logBroker,
      leaderAddr: () => this.requireLeaderAddr(),
      leaderClient: this.leaderClient,
      log: this.options.log.child({ component: 'logs' }),
    });
  }

  // ------------------------------------------------------------------------------------------
  // Control service

  /**
   * The Control service of this manager: served here when this member leads, forwarded to the
   * leader otherwise (as SwarmKit does), so every call sees the leader's state.
   */
  controlService(): ControlServer {
    const log = this.options.log.child({ component: 'controlapi' });
    const local = { ...controlHandlers(this.control, log), ...serviceControlHandlers(this.services, log) } as Partial<ControlServer>;
    const out: Record<string, unknown> = {};
    for (const [name, method] of Object.entries(ControlService)) {
      const handler = local[name as keyof ControlServer] as ((call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void) | undefined;
      out[name] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void => {
        if (!this.raft.isLeader) {
          let addr: string;
          try {
            addr = this.requireLeaderAddr();
          } catch (err) {
            callback(toServiceError(err));
            return;
          }
          this.leaderClient.call(addr, method as never, call.request, forwardedControlTimeoutMs, this.forwards.signal).then(
            (response) => callback(null, response),
            (err: unknown) => callback(toServiceError(leaderUnreachable(err, addr))),
          );
          return;
        }
        if (handler === undefined) {
          callback(toServiceError(new TsswarmError(ErrorCode.UNSUPPORTED, `${method.path} is not available in this version of tsswarm`)));
          return;
        }
        // Reads are linearizable: a leader confirms it still leads (ReadIndex) and has applied
        // everything committed before it answers from memory.
        if (name.startsWith('get') || name.startsWith('list')) {
          this.raft.read().then(
            () => handler(call, callback),
            (err: unknown) => callback(toServiceError(err)),
          );
          return;
        }
        handler(call, callback);
      };
    }
    return out as unknown as ControlServer;
  }

  /** Stops everything this manager runs; the raft data stays on disk. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.membershipTimer) clearInterval(this.membershipTimer);
    this.loops.stop();
    if (this.dispatcher.isRunning) this.dispatcher.stop();
    this.leaderClient.close();
    this.listener?.close();
    this.server.forceShutdown();
    await this.raft.stop();
  }
}

/** A forwarded call that could not reach the leader: the managers are electing one, or lost quorum. */
/** A controller for forwarded calls: one abort listener per call in flight, so no listener limit. */
function forwardsController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

function leaderUnreachable(err: unknown, addr: string): unknown {
  if (isTsswarmError(err, ErrorCode.CLOSED)) return new TsswarmError(ErrorCode.NO_QUORUM, `the leader at ${addr} cannot be reached. ${noLeaderMessage}`, { cause: err });
  if (isTsswarmError(err, ErrorCode.TIMEOUT)) {
    return new TsswarmError(ErrorCode.NO_QUORUM, `the leader at ${addr} did not answer within ${forwardedControlTimeoutMs / 1000} s. ${noLeaderMessage}`, { cause: err });
  }
  return err;
}

function reply<T>(callback: sendUnaryData<T>, work: Promise<T>): void {
  work.then(
    (value) => callback(null, value),
    (err: unknown) => callback(toServiceError(err)),
  );
}

function raftMemberOf(m: MemberStatus): RaftMember {
  return { raftId: m.raftId, nodeId: m.nodeId, addr: m.addr, status: { leader: m.leader, reachability: m.reachable ? Reachability.REACHABLE : Reachability.UNREACHABLE, message: '' } };
}

function certExpiryOf(cluster: Cluster): number {
  const d = cluster.spec?.caConfig?.nodeCertExpiry;
  return d ? d.seconds * 1000 + Math.floor(d.nanos / 1e6) : 90 * 24 * 60 * 60 * 1000;
}

