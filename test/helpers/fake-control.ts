/**
 * A fake tsswarmd for CLI tests: the Control and Swarm services on a unix socket in a temp dir,
 * answering from a few nodes, tasks and a cluster held in memory, and recording every request so
 * tests can assert what the CLI sent (or that it sent nothing). Torn down with the test.
 */
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { join } from 'node:path';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { toServiceError } from '../../lib/rpc-errors.js';
import {
  Cluster,
  ControlService,
  LocalNodeState,
  Node,
  NodeAvailability,
  NodeRole,
  NodeState,
  Reachability,
  SwarmInfo,
  SwarmService,
  Task,
  TaskState,
} from '../../proto/index.js';
import { tsswarmWith, type CliResult } from './cli.js';
import { tempDir, type Teardown } from './temp-dir.js';

/** Fixed IDs: two share the prefix "a1b2" so prefixes can be ambiguous. */
export const ids = {
  mgr1: 'a1b2c3d4e5f6g7h8i9j0k1l2m',
  wrk1: 'a1b2zzzzzzzzzzzzzzzzzzzzz',
  wrk2: 'q9w8e7r6t5y4u3i2o1p0asdfg',
  mgr2: 'r7t6y5u4i3o2p1l0k9j8h7g6f',
  cluster: 'c1u2s3t4e5r6i7d8x9y0z1w2v',
} as const;

/** The join tokens the fake hands out and accepts. */
export const tokens = {
  worker: 'SWMTKN-1-digest-workersecret1',
  manager: 'SWMTKN-1-digest-managersecret1',
} as const;

const t0 = { seconds: 1_700_000_000, nanos: 0 };

function fixtureNodes(): Node[] {
  return [
    Node.create({
      id: ids.mgr1,
      meta: { version: { index: 7 }, createdAt: t0, updatedAt: t0 },
      spec: { role: NodeRole.MANAGER, availability: NodeAvailability.ACTIVE, annotations: { labels: { zone: 'a' } } },
      description: { hostname: 'mgr-1', platform: { os: 'linux', architecture: 'x86_64' }, resources: { nanoCpus: 4e9, memoryBytes: 8 * 1024 ** 3 }, engine: { engineVersion: '0.1.0' } },
      status: { state: NodeState.READY, addr: '10.0.0.1' },
      managerStatus: { raftId: 1, addr: '10.0.0.1:2377', leader: true, reachability: Reachability.REACHABLE },
      role: NodeRole.MANAGER,
    }),
    Node.create({
      id: ids.wrk1,
      meta: { version: { index: 11 }, createdAt: t0, updatedAt: t0 },
      spec: { role: NodeRole.WORKER, availability: NodeAvailability.ACTIVE },
      description: { hostname: 'wrk-1', engine: { engineVersion: '0.1.0', labels: { disk: 'ssd' } } },
      status: { state: NodeState.READY, addr: '10.0.0.2' },
    }),
    Node.create({
      id: ids.wrk2,
      meta: { version: { index: 12 }, createdAt: t0, updatedAt: t0 },
      spec: { role: NodeRole.WORKER, availability: NodeAvailability.DRAIN, annotations: { labels: { zone: 'b', gpu: '' } } },
      description: { hostname: 'wrk-2', engine: { engineVersion: '0.0.9' } },
      status: { state: NodeState.DOWN, addr: '10.0.0.3' },
    }),
    Node.create({
      id: ids.mgr2,
      meta: { version: { index: 9 }, createdAt: t0, updatedAt: t0 },
      spec: { role: NodeRole.MANAGER, availability: NodeAvailability.ACTIVE },
      description: { hostname: 'mgr-2', engine: { engineVersion: '0.1.0' } },
      status: { state: NodeState.READY, addr: '10.0.0.4' },
      managerStatus: { raftId: 2, addr: '10.0.0.4:2377', leader: false, reachability: Reachability.UNREACHABLE },
      role: NodeRole.MANAGER,
    }),
  ];
}

function fixtureTasks(nowSeconds: number): Task[] {
  const task = (id: string, slot: number, nodeId: string, state: TaskState, desired: TaskState, agoSeconds: number, err = ''): Task =>
    Task.create({
      id,
      serviceId: 'svc1',
      slot,
      nodeId,
      serviceAnnotations: { name: 'web' },
      spec: { container: { image: 'nginx:1.25@sha256:0123456789abcdef' } },
      desiredState: desired,
      status: { state, timestamp: { seconds: nowSeconds - agoSeconds, nanos: 0 }, err },
    });
  return [
    task('task1aaaaaaaaaaaaaaaaaaaa', 1, ids.mgr1, TaskState.RUNNING, TaskState.RUNNING, 300),
    task('task0aaaaaaaaaaaaaaaaaaaa', 1, ids.mgr1, TaskState.FAILED, TaskState.SHUTDOWN, 3600, 'task: non-zero exit (1) while starting the container'),
    task('task2bbbbbbbbbbbbbbbbbbbb', 2, ids.wrk1, TaskState.RUNNING, TaskState.RUNNING, 60),
  ];
}

function fixtureCluster(): Cluster {
  return Cluster.create({
    id: ids.cluster,
    meta: { version: { index: 3 }, createdAt: t0, updatedAt: t0 },
    spec: {
      annotations: { name: 'default' },
      orchestration: { taskHistoryRetentionLimit: 5 },
      raft: { snapshotInterval: 10000, keepOldSnapshots: 0, logEntriesForSlowFollowers: 500, heartbeatTick: 1, electionTick: 10 },
      dispatcher: { heartbeatPeriod: { seconds: 5, nanos: 0 } },
      caConfig: { nodeCertExpiry: { seconds: 2160 * 3600, nanos: 0 } },
    },
    rootCa: { caCert: new TextEncoder().encode('-----BEGIN CERTIFICATE-----\n'), caCertHash: 'sha256:abc', joinTokens: { worker: tokens.worker, manager: tokens.manager } },
    defaultAddressPool: ['10.0.0.0/8'],
    subnetSize: 24,
    vxlanUdpPort: 4789,
  });
}

/** One recorded request. */
export interface Call {
  readonly method: string;
  readonly request: unknown;
}

/** The fake daemon and its state, which tests may read and change. */
export interface FakeDaemon {
  /** `unix:///…/tsswarmd.sock`, for `-H`. */
  readonly host: string;
  nodes: Node[];
  tasks: Task[];
  cluster: Cluster;
  info: SwarmInfo;
  readonly calls: Call[];
  /** The requests of one method, e.g. "updateNode". */
  requests(method: string): unknown[];
  /** Runs the built CLI against this daemon. */
  cli(...args: string[]): Promise<CliResult>;
}

type Handler = (request: never) => unknown;

/** Starts a fake daemon for test `t` (stopped, and its socket removed, when `t` ends). */
export async function startFakeDaemon(t: Teardown): Promise<FakeDaemon> {
  const dir = await tempDir(t, 'fake-control');
  const socket = join(dir, 'tsswarmd.sock');
  const host = `unix://${socket}`;
  const d: FakeDaemon = {
    host,
    nodes: fixtureNodes(),
    tasks: fixtureTasks(Math.floor(Date.now() / 1000)),
    cluster: fixtureCluster(),
    info: SwarmInfo.create({
      state: LocalNodeState.ACTIVE,
      nodeId: ids.mgr1,
      nodeAddr: '10.0.0.1',
      clusterId: ids.cluster,
      controlAvailable: true,
      remoteManagers: [
        { nodeId: ids.mgr2, addr: '10.0.0.4:2377' },
        { nodeId: ids.mgr1, addr: '10.0.0.1:2377' },
      ],
      nodes: 4,
      managers: 2,
    }),
    calls: [],
    requests: (method) => d.calls.filter((c) => c.method === method).map((c) => c.request),
    cli: (...args) => tsswarmWith({}, '-H', host, ...args),
  };

  const findNode = (id: string): Node => {
    const node = d.nodes.find((n) => n.id === id);
    if (!node) throw new TsswarmError(ErrorCode.NOT_FOUND, `node ${id} not found`);
    return node;
  };
  const requireManager = (): void => {
    if (!d.info.controlAvailable) throw new TsswarmError(ErrorCode.NOT_IN_SWARM, "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state.");
  };
  const bump = (): { index: number } => ({ index: Math.max(...d.nodes.map((n) => n.meta?.version?.index ?? 0), d.cluster.meta?.version?.index ?? 0) + 1 });

  const control: Record<string, Handler> = {
    getNode: (r: { nodeId: string }) => (requireManager(), { node: findNode(r.nodeId) }),
    listNodes: () => (requireManager(), { nodes: d.nodes }),
    updateNode: (r: { nodeId: string; nodeVersion?: { index: number }; spec?: Node['spec'] }) => {
      requireManager();
      const node = findNode(r.nodeId);
      if (r.nodeVersion?.index !== node.meta?.version?.index) throw new TsswarmError(ErrorCode.CONFLICT, 'update out of sequence');
      const updated: Node = { ...node, ...(r.spec ? { spec: r.spec } : {}), meta: { ...node.meta, version: bump() } };
      d.nodes = d.nodes.map((n) => (n.id === node.id ? updated : n));
      return { node: updated };
    },
    removeNode: (r: { nodeId: string; force: boolean }) => {
      requireManager();
      const node = findNode(r.nodeId);
      if (node.status?.state !== NodeState.DOWN && !r.force) throw new TsswarmError(ErrorCode.CONFLICT, `node ${r.nodeId} is not down and can't be removed`);
      d.nodes = d.nodes.filter((n) => n.id !== r.nodeId);
      return {};
    },
    listTasks: (r: { filters?: { nodeIds: string[] } }) => {
      requireManager();
      const want = r.filters?.nodeIds ?? [];
      return { tasks: d.tasks.filter((t) => want.length === 0 || want.includes(t.nodeId)) };
    },
    getCluster: (r: { clusterId: string }) => {
      requireManager();
      if (r.clusterId !== d.cluster.id) throw new TsswarmError(ErrorCode.NOT_FOUND, `cluster ${r.clusterId} not found`);
      return { cluster: d.cluster };
    },
    updateCluster: (r: { clusterId: string; clusterVersion?: { index: number }; spec?: Cluster['spec']; rotation?: { workerJoinToken: boolean; managerJoinToken: boolean } }) => {
      requireManager();
      if (r.clusterVersion?.index !== d.cluster.meta?.version?.index) throw new TsswarmError(ErrorCode.CONFLICT, 'update out of sequence');
      const rotated = d.calls.length;
      const joinTokens = {
        worker: r.rotation?.workerJoinToken ? `SWMTKN-1-digest-workerrotated${rotated}` : (d.cluster.rootCa?.joinTokens?.worker ?? ''),
        manager: r.rotation?.managerJoinToken ? `SWMTKN-1-digest-managerrotated${rotated}` : (d.cluster.rootCa?.joinTokens?.manager ?? ''),
      };
      d.cluster = Cluster.create({ ...d.cluster, ...(r.spec ? { spec: r.spec } : {}), meta: { ...d.cluster.meta, version: bump() }, rootCa: { ...d.cluster.rootCa, joinTokens } });
      return { cluster: d.cluster };
    },
  };
  const swarm: Record<string, Handler> = {
    info: () => d.info,
    init: () => {
      d.info = { ...d.info, state: LocalNodeState.ACTIVE, controlAvailable: true };
      return { nodeId: ids.mgr1, clusterId: ids.cluster };
    },
    join: (r: { joinToken: string }) => {
      if (r.joinToken !== tokens.worker && r.joinToken !== tokens.manager) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'invalid join token');
      return { nodeId: ids.wrk1, clusterId: ids.cluster, role: r.joinToken === tokens.manager ? NodeRole.MANAGER : NodeRole.WORKER };
    },
    leave: (r: { force: boolean }) => {
      if (d.info.controlAvailable && !r.force) throw new TsswarmError(ErrorCode.CONFLICT, 'a manager must leave with --force');
      d.info = SwarmInfo.create({ state: LocalNodeState.INACTIVE });
      return {};
    },
  };

  const wrap = (handlers: Record<string, Handler>): Record<string, (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void> =>
    Object.fromEntries(
      Object.entries(handlers).map(([method, fn]) => [
        method,
        (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => {
          d.calls.push({ method, request: call.request });
          try {
            cb(null, fn(call.request as never));
          } catch (err) {
            cb(toServiceError(err), null);
          }
        },
      ]),
    );

  const server = new Server();
  server.addService(ControlService as never, wrap(control) as never);
  server.addService(SwarmService as never, wrap(swarm) as never);
  await new Promise<void>((resolve, reject) => server.bindAsync(host, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  t.teardown(() => server.forceShutdown());
  return d;
}
