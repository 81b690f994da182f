/**
 * This host's place in a swarm and the roles it runs: none (not in a swarm), worker (an agent with
 * a dispatcher session), or manager and worker (a raft member with the manager services on 2377,
 * plus the agent). `swarm init`, `join` and `leave` move between them; state is saved so that a
 * restarted tsswarmd takes up its roles again. Role changes made by other managers (promote,
 * demote) reach the node through its session and its raft membership.
 */
import { credentials as grpcCredentials } from '@grpc/grpc-js';
import { hostname as osHostname, cpus, totalmem, release } from 'node:os';
import { RealClock } from '../lib/clock.js';
import { CertRenewal } from './cert-renewal.js';
import { ErrorCode, TsswarmError, errorMessage } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { Logger } from '../lib/log.js';
import type { Rng } from '../lib/rng.js';
import { Manager } from '../manager/manager.js';
import {
  CertificateAuthority,
  createNodeKeyAndCsr,
  createRootCa,
  joinCluster,
  loadNodeTlsMaterial,
  mtlsChannelCredentials,
  nodeTlsMaterial,
  renewCertificate,
  rootCaMessage,
  saveNodeTlsMaterial,
  type NodeTlsMaterial,
} from '../manager/ca/index.js';
import { LeaderClient } from '../manager/leader-client.js';
import {
  LocalNodeState,
  NodeAvailability,
  NodeRole,
  NodeState as ObservedNodeState,
  RaftService,
  Task,
  type ClusterSpec,
  type NodeDescription,
  type SwarmInfo,
  type SwarmInitRequest,
  type SwarmInitResponse,
  type SwarmJoinRequest,
  type SwarmJoinResponse,
  type TaskStatus,
} from '../proto/index.js';
import { timestampFromMs } from '../proto/time.js';
import { Agent, type AgentEvent } from '../worker/agent/index.js';
import { chooseAdvertiseAddr, normalizeAddr } from './addresses.js';
import { certificatesDir, loadNodeState, raftDir, removeNodeState, saveNodeState, type NodeState } from './node-state.js';
import { HostContainerNetworks, SwarmContainerNetworks } from './container-networks.js';
import type { LocalNetworks } from './local-networks.js';
import type { ContainerNetworks } from '../worker/engine/container-networks.js';
import { RejectingTaskWorker } from './rejecting-task-worker.js';
import { TaskExecutor, type TaskEngine, type TaskImages, type TaskNetworks } from '../worker/tasks/index.js';
import { localOnlyView, startHostAgent, type HostAgent, type HostPlace } from '../netd/index.js';
import type { TaskLogSource, TaskWorker } from '../worker/agent/index.js';

/** Longest wait for a new single-member raft group to elect itself at init. */
export const initLeaderWaitMs = 10_000;
/** Longest wait for a joining manager to be promoted from learner to voter. */
export const joinVoterWaitMs = 30_000;
/** Default overlay address pool and subnet size (docker's). */
export const defaultAddressPool = '10.0.0.0/8';
export const defaultSubnetSize = 24;
/** Default dead tasks kept per slot. */
export const defaultTaskHistoryLimit = 5;
/** Default worker heartbeat period. */
export const defaultHeartbeatPeriodMs = 5_000;
/** Default node certificate lifetime (90 days). */
export const defaultNodeCertExpiryMs = 90 * 24 * 60 * 60 * 1000;

/** Longest `swarm leave` spends giving standalone containers' attachments back to the managers. */
export const leaveDetachBudgetMs = 10_000;
/** How long after a new session the attachments of vanished containers are given back. */
export const attachmentSweepDelayMs = 10_000;
/** First and longest wait before the roles are started again after a failed start. */
export const firstRolesRetryMs = 5_000;
export const maxRolesRetryMs = 5 * 60_000;

/** What a SwarmNode is built from. */
export interface SwarmNodeOptions {
  readonly dataDir: string;
  /** The node's hostname as `node ls` shows it. */
  readonly hostname?: string;
  readonly engineVersion: string;
  readonly rng: Rng;
  readonly log: Logger;
  /** This host's containers and images; without them tasks are rejected (tests of the control plane). */
  readonly engine?: TaskEngine;
  readonly images?: TaskImages;
  /** Task container logs served to `service logs`; none served when left out. */
  readonly taskLogs?: TaskLogSource;
  /** Where netd programs this host's network (a lab host's namespace, or the root one); no netd when left out. */
  readonly netdPlace?: HostPlace;
  /** This host's bridge networks (`network create -d bridge`); none when left out. */
  readonly localNetworks?: LocalNetworks;
  /** Where task secrets and configs get their per-task tmpfs (RUN_DIR/secrets); tasks using them are rejected without it. */
  readonly secretsDir?: string;
  /** Raft timing (tests and the fast profile). */
  readonly tickMs?: number;
  readonly electionTicks?: number;
}

/** This host in its swarm (see the file comment). */
export class SwarmNode {
  private state: NodeState | undefined;
  private tls: NodeTlsMaterial | undefined;
  private managerRole: Manager | undefined;
  private agent: Agent | undefined;
  /** Outlives the roles: promotion and demotion must not disturb running tasks. */
  private executor: TaskExecutor | undefined;
  /** netd, started with the first role (it needs the advertise address); outlives the roles too. */
  private netd: Promise<HostAgent> | undefined;
  /** What netd runs for: the advertise address it was started with, or 'local' outside a swarm. */
  private netdMode: string | undefined;
  /** Standalone containers' swarm networks (the engine's hook), once the daemon asked for it. */
  private attachments: SwarmContainerNetworks | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private error = '';
  private busy: Promise<unknown> = Promise.resolve();
  private roleChange: Promise<void> | undefined;
  private closed = false;
  private readonly renewal: CertRenewal;
  private rolesRetry: NodeJS.Timeout | undefined;
  private rolesRetryMs = firstRolesRetryMs;

  private constructor(private readonly options: SwarmNodeOptions) {
    const testDelay = Number(process.env['TSSWARM_TEST_CERT_RENEW_MS']);
    this.renewal = new CertRenewal({
      clock: new RealClock(),
      rng: options.rng.fork(),
      wallNowMs: Date.now,
      log: options.log.child({ component: 'certificates' }),
      renew: () => this.renewCertificate(),
      ...(Number.isInteger(testDelay) && testDelay > 0 ? { firstRenewalMs: testDelay } : {}),
    });
  }

  /** Puts `tls` in use as the node's certificate (roles read it when they start) and plans its renewal. */
  private setTls(tls: NodeTlsMaterial | undefined): void {
    this.tls = tls;
    if (tls === undefined || this.closed) this.renewal.stop();
    else this.renewal.schedule({ notBeforeMs: tls.notBeforeMs, notAfterMs: tls.notAfterMs });
  }

  /**
   * Renews the node certificate for its current role and restarts the roles with it (they hold the
   * certificate in their TLS contexts). A leading manager hands leadership to a reachable voter
   * first, so the cluster does not wait for an election timeout.
   */
  private renewCertificate(): Promise<void> {
    return this.serial(async () => {
      const state = this.state;
      if (state === undefined || this.closed) return;
      const renewed = await this.renewFromAnyManager(state.role);
      await saveNodeTlsMaterial(renewed, certificatesDir(this.options.dataDir));
      this.setTls(renewed);
      this.options.log.info({ notAfter: new Date(renewed.notAfterMs).toISOString(), role: state.role }, 'renewed the node certificate');
      const manager = this.managerRole;
      if (manager?.isLeader) await this.handOverLeadership(manager).catch(() => undefined);
      await this.stopRoles();
      await this.takeUpRoles('with the renewed certificate');
    });
  }

  /**
   * Starts the roles the state names. On failure (raft storage unreadable for now, the port taken,
   * ...) the error shows in `info` and the start is tried again, 5 s later doubling to 5 min, until
   * it works or the node leaves or stops: a node must not sit without roles until its next renewal.
   */
  private async takeUpRoles(why: string): Promise<void> {
    this.cancelRolesRetry();
    try {
      await this.startRoles(false, false);
      this.error = '';
      this.rolesRetryMs = firstRolesRetryMs;
    } catch (err) {
      this.error = errorMessage(err);
      this.options.log.error({ retryInMs: this.rolesRetryMs }, `could not take up the swarm roles ${why}: ${this.error}`);
      await this.stopRoles().catch(() => undefined);
      const delay = this.rolesRetryMs;
      this.rolesRetryMs = Math.min(this.rolesRetryMs * 2, maxRolesRetryMs);
      this.rolesRetry = setTimeout(() => {
        this.rolesRetry = undefined;
        void this.serial(async () => {
          if (this.closed || this.state === undefined || this.managerRole !== undefined || this.agent !== undefined) return;
          await this.takeUpRoles('(retry)');
        });
      }, delay);
    }
  }

  private cancelRolesRetry(): void {
    if (this.rolesRetry !== undefined) clearTimeout(this.rolesRetry);
    this.rolesRetry = undefined;
  }

  /** Loads the saved swarm state and takes up the roles it names. */
  static async open(options: SwarmNodeOptions): Promise<SwarmNode> {
    const node = new SwarmNode(options);
    const state = await loadNodeState(options.dataDir);
    if (state !== undefined) {
      node.state = state;
      try {
        // Roles first, then the renewal plan: a renewal that is already due must not race the start.
        const tls = await loadNodeTlsMaterial(certificatesDir(options.dataDir), state.clusterId);
        node.tls = tls;
        await node.serial(() => node.takeUpRoles('after the restart'));
        node.setTls(tls);
      } catch (err) {
        node.error = errorMessage(err);
        options.log.error(`could not take up the swarm roles: ${node.error}`);
      }
    } else if (options.localNetworks?.hasAttachments() === true) {
      // Outside a swarm, containers on the host's bridge networks still need netd.
      await node.ensureNetd()?.catch(() => undefined);
    }
    return node;
  }

  /** This host's bridge networks, when the daemon keeps them. */
  get localNetworks(): LocalNetworks | undefined {
    return this.options.localNetworks;
  }

  /** The running manager, when this node is one. */
  get manager(): Manager | undefined {
    return this.managerRole;
  }

  /** Runs swarm operations one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.busy.then(fn, fn);
    this.busy = next.catch(() => undefined);
    return next;
  }

  /** `swarm init`: a new swarm with this node as its first manager (or a lone survivor's recovery). */
  init(request: SwarmInitRequest): Promise<SwarmInitResponse> {
    return this.serial(async () => {
      if (request.forceNewCluster) return this.forceNewCluster(request);
      if (this.state) throw alreadyInSwarm();
      const listenAddr = normalizeAddr(request.listenAddr || '0.0.0.0:2377', '--listen-addr');
      const advertiseAddr = chooseAdvertiseAddr(request.advertiseAddr, listenAddr);
      const pools = request.defaultAddrPool.length > 0 ? request.defaultAddrPool : [defaultAddressPool];
      const subnetSize = request.subnetSize || defaultSubnetSize;
      validatePools(pools, subnetSize);
      const root = await createRootCa();
      const clusterId = newId();
      const nodeId = newId();
      const ca = new CertificateAuthority({ root, clusterId });
      const { keyPem, csrPem } = await createNodeKeyAndCsr();
      const issued = await ca.issueFor({ nodeId, role: 'manager', clusterId }, csrPem);
      const tls = await nodeTlsMaterial(root.certPem, issued.certPem, keyPem, clusterId);
      const raftId = 1 + Math.floor(this.options.rng.next() * 2 ** 31);
      await saveNodeTlsMaterial(tls, certificatesDir(this.options.dataDir));
      this.setTls(tls);
      this.state = { clusterId, nodeId, role: 'manager', listenAddr, advertiseAddr, raftId, managers: [advertiseAddr] };
      try {
        await saveNodeState(this.options.dataDir, this.state);
        await this.startManager(false, false);
        const manager = this.managerRole as Manager;
        await waitFor(() => manager.isLeader, initLeaderWaitMs, 'the new raft group did not elect its leader');
        await manager.store.update((tx) => {
          tx.create('cluster', {
            id: clusterId,
            spec: clusterSpecWithDefaults(request.spec),
            rootCa: rootCaMessage(root, ca.joinTokens()),
            defaultAddressPool: pools,
            subnetSize,
            vxlanUdpPort: 4789,
          } as never);
          tx.create('node', {
            id: nodeId,
            spec: { annotations: { name: '', labels: {} }, role: NodeRole.MANAGER, availability: NodeAvailability.ACTIVE },
            role: NodeRole.MANAGER,
            description: this.description(),
            status: { state: ObservedNodeState.UNKNOWN, message: '', addr: '' },
          } as never);
        });
        this.startAgent();
      } catch (err) {
        await this.abandon();
        throw err;
      }
      this.options.log.info({ nodeId, clusterId, advertiseAddr }, 'swarm initialized');
      return { nodeId, clusterId };
    });
  }

  private async forceNewCluster(request: SwarmInitRequest): Promise<SwarmInitResponse> {
    const state = this.state;
    if (state === undefined || state.role !== 'manager') {
      throw new TsswarmError(ErrorCode.CONFLICT, '--force-new-cluster needs a node that was a manager of a swarm; this node has no manager state to recover from');
    }
    // The recovered manager keeps its addresses and the cluster its settings: refuse what would
    // otherwise be ignored (change them with `swarm update` afterwards, or leave and init anew).
    const ignored = forceNewClusterConflicts(request, state);
    if (ignored !== undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `--force-new-cluster keeps this manager's addresses and the cluster's settings: ${ignored}`);
    await this.stopRoles();
    await this.startManager(false, true);
    const manager = this.managerRole as Manager;
    await waitFor(() => manager.isLeader, initLeaderWaitMs, 'the recovered manager did not become the leader');
    this.startAgent();
    this.error = '';
    this.options.log.warn({ nodeId: state.nodeId }, 'forced a new cluster: this manager is now the only member of its raft group');
    return { nodeId: state.nodeId, clusterId: state.clusterId };
  }

  /** `swarm join`: gets a certificate with the token, then takes up the role the token grants. */
  join(request: SwarmJoinRequest): Promise<SwarmJoinResponse> {
    return this.serial(async () => {
      if (this.state) throw alreadyInSwarm();
      if (request.joinToken.trim() === '') throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'a join token is required (--token)');
      const remote = normalizeAddr(request.remoteAddr, 'manager address');
      const tls = await joinCluster({ address: remote, token: request.joinToken, availability: request.availability });
      const role = tls.identity.role;
      const listenAddr = normalizeAddr(request.listenAddr || '0.0.0.0:2377', '--listen-addr');
      const advertiseAddr = chooseAdvertiseAddr(request.advertiseAddr, listenAddr);
      await saveNodeTlsMaterial(tls, certificatesDir(this.options.dataDir));
      this.setTls(tls);
      this.state = { clusterId: tls.identity.clusterId, nodeId: tls.identity.nodeId, role, listenAddr, advertiseAddr, raftId: 0, managers: [remote] };
      try {
        if (role === 'manager') await this.joinRaft([remote]);
        await saveNodeState(this.options.dataDir, this.state);
        this.startAgent();
      } catch (err) {
        await this.abandon();
        throw err;
      }
      this.options.log.info({ nodeId: tls.identity.nodeId, role, remote }, 'joined the swarm');
      return { nodeId: tls.identity.nodeId, clusterId: tls.identity.clusterId, role: role === 'manager' ? NodeRole.MANAGER : NodeRole.WORKER };
    });
  }

  /** Undoes a failed init or join: nothing of the swarm stays. */
  private async abandon(): Promise<void> {
    await this.stopRoles();
    this.state = undefined;
    this.setTls(undefined);
    await removeNodeState(this.options.dataDir);
  }

  /** Asks a manager to add this one to the raft group, then starts the raft member. */
  private async joinRaft(managers: readonly string[]): Promise<void> {
    const state = this.requireState();
    const tls = this.requireTls();
    const client = new LeaderClient(mtlsChannelCredentials(tls, { clusterId: tls.identity.clusterId }));
    let lastError: unknown = new TsswarmError(ErrorCode.NOT_FOUND, 'no manager address is known');
    try {
      for (const addr of managers) {
        try {
          const response = await client.call(addr, RaftService.join, { addr: state.advertiseAddr });
          const members = new Map<number, string>(response.members.map((m) => [m.raftId, m.addr]));
          const nodeIds = new Map<number, string>(response.members.map((m) => [m.raftId, m.nodeId]));
          members.set(response.raftId, state.advertiseAddr);
          nodeIds.set(response.raftId, state.nodeId);
          this.state = { ...state, role: 'manager', raftId: response.raftId };
          await saveNodeState(this.options.dataDir, this.state);
          await this.startManager(true, false, members, nodeIds);
          // Return once this member votes, so that the managers the user counts are all voters.
          const manager = this.managerRole as Manager;
          await waitFor(() => manager.raft.membership.voters.includes(response.raftId), joinVoterWaitMs, 'this manager was not promoted from learner to voter');
          return;
        } catch (err) {
          lastError = err;
        }
      }
    } finally {
      client.close();
    }
    throw lastError;
  }

  /** `swarm leave`: stops the roles and forgets the swarm. A manager needs `force`. */
  leave(force: boolean): Promise<void> {
    return this.serial(async () => {
      const state = this.state;
      if (state === undefined) throw new TsswarmError(ErrorCode.NOT_IN_SWARM, 'This node is not part of a swarm');
      if (state.role === 'manager' && !force) {
        const voters = this.managerRole?.raft.memberStatus().filter((m) => m.voter).length ?? 1;
        const last = voters <= 1;
        throw new TsswarmError(
          ErrorCode.CONFLICT,
          last
            ? 'You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message.'
            : `You are attempting to leave the swarm on a node that is participating as a manager. Removing this node leaves ${voters - 1} managers out of ${voters}; demote it first (\`tsswarm node demote\`) or use \`--force\` to ignore this message.`,
        );
      }
      // Standalone containers' swarm attachments are given back while the managers can still be
      // told (best effort, at most leaveDetachBudgetMs in all), so their addresses do not linger.
      const deadline = Date.now() + leaveDetachBudgetMs;
      const agent = this.agent;
      for (const id of this.executor?.attachments.ids() ?? []) {
        if (agent === undefined || Date.now() > deadline) break;
        await Promise.resolve()
          .then(() => agent.detachNetwork(id))
          .catch((err: unknown) => this.options.log.warn({ attachment: id }, `could not give the network attachment back before leaving: ${errorMessage(err)}`));
      }
      const manager = this.managerRole;
      if (manager && manager.raft.memberStatus().filter((m) => m.voter).length > 1) await this.leaveRaft(manager);
      this.cancelRolesRetry();
      await this.stopRoles();
      // As docker does, a node that leaves removes its swarm tasks' containers; standalone
      // containers lose their swarm networks.
      const attachments = this.executor?.attachments.ids() ?? [];
      await this.executor?.removeAll();
      const netd = await this.netd?.catch(() => undefined);
      for (const id of attachments) await netd?.detach(Task.create({ id })).catch(() => undefined);
      await this.executor?.close();
      this.executor = undefined;
      // The host's bridge networks stay for their containers: netd goes on for them alone.
      const keepLocal = this.options.localNetworks?.hasAttachments() === true;
      if (!keepLocal) await this.stopNetd(true);
      await removeNodeState(this.options.dataDir);
      this.state = undefined;
      this.setTls(undefined);
      this.error = '';
      if (keepLocal) await this.ensureNetd();
      this.options.log.info({ nodeId: state.nodeId }, 'left the swarm');
    });
  }

  /** Best effort: hand leadership over if held, then ask the leader to remove this member. */
  private async leaveRaft(manager: Manager): Promise<void> {
    try {
      if (manager.isLeader) await this.handOverLeadership(manager);
      const leader = manager.leaderAddr();
      if (leader === undefined || manager.isLeader) return;
      const client = new LeaderClient(mtlsChannelCredentials(this.requireTls(), { clusterId: this.requireTls().identity.clusterId }));
      try {
        await client.call(leader, RaftService.leave, { node: { raftId: manager.raft.id, nodeId: this.requireState().nodeId, addr: '', status: undefined } } as never, 5_000);
      } finally {
        client.close();
      }
    } catch (err) {
      this.options.log.warn(`could not leave the raft group cleanly: ${errorMessage(err)}`);
    }
  }

  /** A leading manager asks a reachable voter to take over, and waits (at most 3 s) until it has. */
  private async handOverLeadership(manager: Manager): Promise<void> {
    const successor = manager.raft.memberStatus().find((m) => m.voter && m.reachable && m.raftId !== manager.raft.id);
    if (successor === undefined) return;
    manager.raft.transferLeadership(successor.raftId);
    await waitFor(() => !manager.isLeader && manager.leaderAddr() !== undefined, 3_000, 'leadership transfer');
  }

  /** The local node's swarm state for `tsswarm info`. */
  info(): SwarmInfo {
    const state = this.state;
    if (state === undefined) {
      return { state: this.error ? LocalNodeState.ERROR : LocalNodeState.INACTIVE, nodeId: '', nodeAddr: '', clusterId: '', controlAvailable: false, remoteManagers: [], error: this.error, nodes: 0, managers: 0 };
    }
    const manager = this.managerRole;
    const members = manager?.raft.memberStatus() ?? [];
    const agentStatus = this.agent?.status();
    const active = manager !== undefined || agentStatus?.state === 'connected';
    return {
      state: this.error ? LocalNodeState.ERROR : active ? LocalNodeState.ACTIVE : LocalNodeState.PENDING,
      nodeId: state.nodeId,
      nodeAddr: state.advertiseAddr.slice(0, state.advertiseAddr.lastIndexOf(':')).replace(/^\[|\]$/g, ''),
      clusterId: state.clusterId,
      controlAvailable: manager !== undefined,
      remoteManagers: manager ? members.filter((m) => m.voter).map((m) => ({ nodeId: m.nodeId, addr: m.addr })) : state.managers.map((addr) => ({ nodeId: '', addr })),
      error: this.error,
      nodes: manager ? manager.memory.list('node').length : 0,
      managers: members.filter((m) => m.voter).length,
    };
  }

  private requireState(): NodeState {
    if (this.state === undefined) throw new TsswarmError(ErrorCode.NOT_IN_SWARM, 'This node is not part of a swarm');
    return this.state;
  }

  private requireTls(): NodeTlsMaterial {
    if (this.tls === undefined) throw new TsswarmError(ErrorCode.NOT_IN_SWARM, 'This node has no swarm certificate');
    return this.tls;
  }

  private async startRoles(join: boolean, forceNewCluster: boolean): Promise<void> {
    if (this.requireState().role === 'manager') await this.startManager(join, forceNewCluster);
    this.startAgent();
  }

  private async startManager(join: boolean, forceNewCluster: boolean, members?: Map<number, string>, nodeIds?: Map<number, string>): Promise<void> {
    const state = this.requireState();
    const tls = this.requireTls();
    this.managerRole = await Manager.start({
      raftDir: raftDir(this.options.dataDir),
      tls,
      listenAddr: state.listenAddr,
      advertiseAddr: state.advertiseAddr,
      raftId: state.raftId,
      members: members ?? new Map([[state.raftId, state.advertiseAddr]]),
      nodeIds: nodeIds ?? new Map([[state.raftId, state.nodeId]]),
      join,
      forceNewCluster,
      rng: this.options.rng.fork(),
      log: this.options.log.child({ role: 'manager' }),
      onRemoved: () => this.demoted(),
      ...(this.options.tickMs !== undefined ? { tickMs: this.options.tickMs } : {}),
      ...(this.options.electionTicks !== undefined ? { electionTicks: this.options.electionTicks } : {}),
    });
  }

  private startAgent(): void {
    const state = this.requireState();
    const tls = this.requireTls();
    const managers = state.role === 'manager' ? [state.advertiseAddr, ...state.managers.filter((m) => m !== state.advertiseAddr)] : [...state.managers];
    const worker = this.taskWorker();
    const agent = new Agent({
      managers,
      credentials: () => mtlsChannelCredentials(tls, { clusterId: tls.identity.clusterId }),
      networkView: this.options.netdPlace !== undefined,
      ...(this.options.taskLogs !== undefined ? { logs: this.options.taskLogs } : {}),
      description: this.description(),
      worker,
      clock: new RealClock(),
      rng: this.options.rng.fork(),
      log: this.options.log.child({ role: 'agent' }),
    });
    agent.on((event) => this.agentEvent(event));
    agent.start();
    this.agent = agent;
    // Reports made while no agent ran (or dropped by the last one's stop) go out again.
    this.executor?.reportAll();
  }

  private taskWorker(): TaskWorker {
    const report = (taskId: string, status: TaskStatus): void => {
      try {
        this.agent?.reportStatus(taskId, status);
      } catch (err) {
        this.options.log.warn({ task: taskId }, `task status not queued: ${errorMessage(err)}`);
      }
    };
    const { engine, images } = this.options;
    if (engine === undefined || images === undefined) return new RejectingTaskWorker(report);
    const networks = this.netdHook();
    const { secretsDir } = this.options;
    this.executor ??= new TaskExecutor({ engine, images, report, log: this.options.log.child({ role: 'executor' }), ...(networks ? { networks } : {}), ...(secretsDir !== undefined ? { secretsDir } : {}) });
    return this.executor;
  }

  /** The engine's hook for standalone containers on attachable networks (`container run --network`). */
  containerNetworks(): ContainerNetworks {
    this.attachments ??= new SwarmContainerNetworks(
      { managers: () => this.agent, assignments: () => this.executor, netd: () => this.netdHook() },
      this.options.log.child({ component: 'container-networks' }),
    );
    const local = this.options.localNetworks;
    return local === undefined ? this.attachments : new HostContainerNetworks(this.attachments, local, () => this.netdHook());
  }

  /**
   * A while after each new session (its assignments have come by then), gives back the network
   * attachments of containers that are gone (see SwarmContainerNetworks.sweep).
   */
  private scheduleAttachmentSweep(delayMs = attachmentSweepDelayMs): void {
    const attachments = this.attachments;
    const engine = this.options.engine;
    if (attachments === undefined || engine === undefined || this.sweepTimer !== undefined || this.closed) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = undefined;
      void engine
        .list(true)
        .then((all) => attachments.sweep(new Set(all.map((c) => c.record.config.id)), Date.now()))
        .then((result) => {
          if (result.retryInMs !== undefined) this.scheduleAttachmentSweep(result.retryInMs);
        })
        .catch((err: unknown) => this.options.log.warn(`network attachment sweep failed: ${errorMessage(err)}`));
    }, delayMs);
    this.sweepTimer.unref();
  }

  /**
   * Starts netd and hands it the attachments of this host's bridge-network containers before the
   * managers' first view can reach it (the agent's view waits for this promise), so no reconcile
   * runs without them.
   */
  private async startNetd(advertiseAddr: string | undefined, place: HostPlace): Promise<HostAgent> {
    const netd = await startHostAgent({ advertiseAddr, place, log: this.options.log.child({ component: 'netd' }) });
    const { localNetworks, engine } = this.options;
    if (localNetworks !== undefined && engine !== undefined) {
      try {
        const containers = new Set((await engine.list(true)).map((c) => c.record.config.id));
        await localNetworks.restore(netd, containers);
      } catch (err) {
        this.options.log.warn(`could not hand the bridge networks' containers back to netd: ${errorMessage(err)}`);
      }
    }
    // Outside a swarm no managers' view will come: the host's bridge networks are all there is.
    if (advertiseAddr === undefined) netd.setView(localOnlyView());
    return netd;
  }

  /**
   * netd in the mode the node is in: in a swarm, on its advertise address; outside, for the host's
   * bridge networks only (when the daemon keeps them). A change of mode (init, join, leave) stops
   * the running netd, leaving the host as it is, and starts one in the new mode, which takes over.
   * Undefined when this host runs no netd.
   */
  private ensureNetd(): Promise<HostAgent> | undefined {
    const place = this.options.netdPlace;
    const advertiseAddr = this.state?.advertiseAddr;
    if (place === undefined || (advertiseAddr === undefined && this.options.localNetworks === undefined)) return undefined;
    const mode = advertiseAddr ?? 'local';
    if (this.netd !== undefined && this.netdMode === mode) return this.netd;
    const previous = this.netd;
    this.netdMode = mode;
    this.netd = (async () => {
      const old = await previous?.catch(() => undefined);
      await old?.stop({ removeAll: false });
      return this.startNetd(advertiseAddr, place);
    })();
    const starting = this.netd;
    starting.catch((err: unknown) => {
      this.options.log.error(`netd did not start: ${errorMessage(err)}`);
      // The next use tries again (the advertise interface may come up later).
      if (this.netd === starting) {
        this.netd = undefined;
        this.netdMode = undefined;
      }
    });
    return starting;
  }

  /** netd's task hook: attach waits for netd to be up (it starts in the background). */
  private netdHook(): TaskNetworks | undefined {
    if (this.ensureNetd() === undefined) return undefined;
    const current = (): Promise<HostAgent> => this.ensureNetd() ?? Promise.reject(new TsswarmError(ErrorCode.CLOSED, 'netd is not running on this host'));
    return {
      attach: async (task, networks) => (await current()).attach(task, networks),
      detach: async (task) => (await current()).detach(task),
    };
  }

  private agentEvent(event: AgentEvent): void {
    if (this.closed) return;
    if (event.type === 'networkView') {
      const view = event.message;
      void this.netd?.then((netd) => netd.setView(view)).catch(() => undefined);
      return;
    }
    if (event.type !== 'session') return;
    this.scheduleAttachmentSweep();
    const state = this.state;
    if (state === undefined) return;
    const managers = event.message.managers.map((m) => m.addr).filter((a) => a !== '');
    if (managers.length > 0 && managers.join(',') !== state.managers.join(',')) {
      this.state = { ...state, managers };
      void saveNodeState(this.options.dataDir, this.state).catch(() => undefined);
    }
    const wanted = event.message.node?.spec?.role;
    if (wanted === NodeRole.MANAGER && state.role === 'worker' && this.roleChange === undefined) {
      this.roleChange = this.serial(() => this.promoted()).finally(() => (this.roleChange = undefined));
    }
  }

  /** The store says this worker is now a manager: get a manager certificate, join raft, serve 2377. */
  private async promoted(): Promise<void> {
    const state = this.requireState();
    if (state.role !== 'worker') return;
    this.options.log.info('promoted to manager: renewing the certificate and joining the raft group');
    try {
      const renewed = await this.renewFromAnyManager('manager');
      await saveNodeTlsMaterial(renewed, certificatesDir(this.options.dataDir));
      this.setTls(renewed);
      await this.stopRoles();
      await this.joinRaft(state.managers);
      this.startAgent();
    } catch (err) {
      this.options.log.warn(`promotion failed, staying a worker for now: ${errorMessage(err)}`);
      this.state = { ...state, role: 'worker', raftId: 0 };
      await saveNodeState(this.options.dataDir, this.state);
      if (this.agent === undefined) this.startAgent();
    }
  }

  /** This manager left the raft group (demoted or removed): carry on as a worker. */
  private demoted(): void {
    if (this.closed || this.roleChange !== undefined) return;
    this.roleChange = this.serial(async () => {
      const state = this.state;
      if (state === undefined || state.role !== 'manager') return;
      this.options.log.info('this node is no longer a manager: carrying on as a worker');
      const others = (this.managerRole?.raft.memberStatus() ?? []).filter((m) => m.raftId !== state.raftId).map((m) => m.addr);
      await this.stopRoles();
      this.state = { ...state, role: 'worker', raftId: 0, managers: others.length > 0 ? others : state.managers.filter((m) => m !== state.advertiseAddr) };
      await saveNodeState(this.options.dataDir, this.state);
      try {
        const renewed = await this.renewFromAnyManager('worker');
        await saveNodeTlsMaterial(renewed, certificatesDir(this.options.dataDir));
        this.setTls(renewed);
      } catch (err) {
        this.options.log.warn(`could not get a worker certificate yet: ${errorMessage(err)}`);
      }
      this.startAgent();
    }).finally(() => (this.roleChange = undefined));
  }

  private async renewFromAnyManager(role: 'manager' | 'worker'): Promise<NodeTlsMaterial> {
    const state = this.requireState();
    let lastError: unknown = new TsswarmError(ErrorCode.NOT_FOUND, 'no manager address is known');
    for (const addr of state.managers) {
      try {
        const renewed = await renewCertificate(addr, this.requireTls());
        if (renewed.identity.role !== role) throw new TsswarmError(ErrorCode.CONFLICT, `the CA issued a ${renewed.identity.role} certificate, not a ${role} one`);
        return renewed;
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }

  private async stopRoles(): Promise<void> {
    const agent = this.agent;
    const manager = this.managerRole;
    this.agent = undefined;
    this.managerRole = undefined;
    await agent?.stop();
    await manager?.stop();
  }

  /** Stops netd; `removeAll` also deletes what it made (leaving the swarm). */
  private async stopNetd(removeAll: boolean): Promise<void> {
    const netd = this.netd;
    this.netd = undefined;
    this.netdMode = undefined;
    if (netd === undefined) return;
    try {
      await (await netd).stop({ removeAll });
    } catch (err) {
      this.options.log.warn(`netd did not stop cleanly: ${errorMessage(err)}`);
    }
  }

  private description(): NodeDescription {
    return {
      hostname: this.options.hostname ?? osHostname(),
      platform: { architecture: process.arch === 'x64' ? 'x86_64' : process.arch, os: 'linux' },
      resources: { nanoCpus: cpus().length * 1e9, memoryBytes: totalmem() },
      engine: { engineVersion: this.options.engineVersion, labels: {}, kernelVersion: release() },
    } as NodeDescription;
  }

  /** Stops the roles; the swarm state stays for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    this.renewal.stop();
    this.cancelRolesRetry();
    if (this.sweepTimer !== undefined) clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    await this.busy;
    await this.stopRoles();
    await this.executor?.close();
    await this.stopNetd(false);
  }
}

function alreadyInSwarm(): TsswarmError {
  return new TsswarmError(ErrorCode.ALREADY_EXISTS, 'This node is already part of a swarm. Use "tsswarm swarm leave" to leave this swarm and join another one.');
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new TsswarmError(ErrorCode.TIMEOUT, `${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function validatePools(pools: readonly string[], subnetSize: number): void {
  for (const pool of pools) {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(pool);
    const octetsOk = m !== null && [1, 2, 3, 4].every((i) => Number(m[i]) <= 255);
    if (!m || !octetsOk || Number(m[5]) > 30) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `invalid --default-addr-pool ${JSON.stringify(pool)}: expected an IPv4 CIDR like 10.0.0.0/8`);
    if (subnetSize < Number(m[5]) || subnetSize > 29) {
      throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `--default-addr-pool-mask-length ${subnetSize} must be between the pool's prefix (/${m[5]}) and 29`);
    }
  }
}

/** What a `swarm init --force-new-cluster` request asks for that the recovery cannot do, if anything. */
export function forceNewClusterConflicts(request: SwarmInitRequest, state: { listenAddr: string; advertiseAddr: string }): string | undefined {
  if (request.listenAddr !== '' && normalizeAddr(request.listenAddr, '--listen-addr') !== state.listenAddr) {
    return `--listen-addr ${request.listenAddr} differs from ${state.listenAddr}`;
  }
  if (request.advertiseAddr !== '' && chooseAdvertiseAddr(request.advertiseAddr, state.listenAddr) !== state.advertiseAddr) {
    return `--advertise-addr ${request.advertiseAddr} differs from ${state.advertiseAddr}`;
  }
  if (request.defaultAddrPool.length > 0 || request.subnetSize > 0) return '--default-addr-pool and --default-addr-pool-mask-length apply to new swarms only';
  return undefined;
}

/** The cluster spec of a new swarm: what `swarm init` was given, docker's defaults elsewhere. */
export function clusterSpecWithDefaults(spec: ClusterSpec | undefined): ClusterSpec {
  const ms = (v: { seconds: number; nanos: number } | undefined, fallback: number): { seconds: number; nanos: number } => (v && (v.seconds > 0 || v.nanos > 0) ? v : timestampFromMs(fallback));
  return {
    ...spec,
    annotations: { name: 'default', labels: spec?.annotations?.labels ?? {} },
    // An orchestration section given by the client is taken as is (a history limit of 0 keeps no
    // dead tasks, as in docker); without one, the defaults.
    orchestration: spec?.orchestration ? { ...spec.orchestration } : { taskHistoryRetentionLimit: defaultTaskHistoryLimit },
    raft: { snapshotInterval: 10_000, keepOldSnapshots: 0, logEntriesForSlowFollowers: 500, heartbeatTick: 1, electionTick: 10, ...spec?.raft },
    dispatcher: { heartbeatPeriod: ms(spec?.dispatcher?.heartbeatPeriod, defaultHeartbeatPeriodMs) },
    caConfig: { nodeCertExpiry: ms(spec?.caConfig?.nodeCertExpiry, defaultNodeCertExpiryMs) },
  } as ClusterSpec;
}
