/**
 * A fake tsswarmd for CLI tests: the Control and Swarm services on a unix socket in a temp dir,
 * answering from a few nodes, services, tasks, networks and a cluster held in memory, and recording
 * every request so tests can assert what the CLI sent (or that it sent nothing). Services it creates
 * or updates get tasks that move one step closer to running on every ListTasks (so progress output
 * can be watched converge); `autoAdvance = false` freezes them. Torn down with the test.
 */
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { join } from 'node:path';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { toServiceError } from '../../lib/rpc-errors.js';
import {
  Cluster,
  ControlService,
  LocalNodeState,
  Network,
  Node,
  NodeAvailability,
  NodeRole,
  NodeState,
  Reachability,
  RestartCondition,
  Service,
  ServiceRollback,
  ServiceSpec,
  SwarmInfo,
  SwarmService,
  Task,
  TaskSpec,
  TaskState,
  type DeepPartial,
  type NetworkSpec,
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
  /** Services: web (replicated) and api (global) share the prefix "s1e2". */
  web: 's1e2r3v4i5c6e7w8e9b0x1y2z',
  api: 's1e2zzzzzzzzzzzzzzzzzzzzz',
  batch: 'j0b1b2a3t4c5h6x7y8z9w0v1u',
  /** Networks: front and back share the prefix "n1e2". */
  front: 'n1e2t3f4r5o6n7t8x9y0z1w2v',
  back: 'n1e2zzzzzzzzzzzzzzzzzzzzz',
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

function fixtureServices(): Service[] {
  const base = (image: string, job = false): DeepPartial<ServiceSpec> => ({
    task: {
      container: { image },
      restart: { condition: job ? RestartCondition.ON_FAILURE : RestartCondition.ANY, delay: { seconds: 5, nanos: 0 } },
      resources: { limits: {}, reservations: {} },
      placement: {},
    },
    ...(job ? {} : { update: { parallelism: 1, monitor: { seconds: 5, nanos: 0 } }, rollback: { parallelism: 1, monitor: { seconds: 5, nanos: 0 } } }),
    endpoint: {},
  });
  return [
    Service.create({
      id: ids.web,
      meta: { version: { index: 4 }, createdAt: t0, updatedAt: t0 },
      spec: {
        ...base('nginx:1.25@sha256:0123456789abcdef'),
        annotations: { name: 'web', labels: { tier: 'front' } },
        replicated: { replicas: 2 },
        endpoint: { ports: [{ targetPort: 80, publishedPort: 8080 }] },
      },
      endpoint: { ports: [{ targetPort: 80, publishedPort: 8080 }], virtualIps: [{ networkId: ids.front, addr: '10.0.1.2/24' }] },
    }),
    Service.create({
      id: ids.api,
      meta: { version: { index: 5 }, createdAt: t0, updatedAt: t0 },
      spec: { ...base('api:2'), annotations: { name: 'api' }, global: {} },
    }),
    Service.create({
      id: ids.batch,
      meta: { version: { index: 6 }, createdAt: t0, updatedAt: t0 },
      spec: { ...base('batch:1', true), annotations: { name: 'batch' }, replicatedJob: { maxConcurrent: 1, totalCompletions: 3 } },
    }),
  ];
}

function fixtureNetworks(): Network[] {
  return [
    Network.create({
      id: ids.front,
      meta: { version: { index: 2 }, createdAt: t0, updatedAt: t0 },
      spec: { annotations: { name: 'front', labels: { team: 'web' } }, driver: { name: 'overlay' }, attachable: true },
      driverState: { name: 'overlay' },
      ipam: { driver: { name: 'default' }, configs: [{ subnet: '10.0.1.0/24', gateway: '10.0.1.1' }] },
      vni: 4097,
    }),
    Network.create({
      id: ids.back,
      meta: { version: { index: 2 }, createdAt: t0, updatedAt: t0 },
      spec: { annotations: { name: 'back' }, driver: { name: 'overlay' }, internal: true },
      driverState: { name: 'overlay' },
      vni: 4098,
    }),
  ];
}

function fixtureTasks(nowSeconds: number): Task[] {
  const task = (id: string, slot: number, nodeId: string, state: TaskState, desired: TaskState, agoSeconds: number, err = ''): Task =>
    Task.create({
      id,
      serviceId: ids.web,
      slot,
      nodeId,
      serviceAnnotations: { name: 'web' },
      spec: fixtureServices()[0]?.spec?.task ?? {},
      desiredState: desired,
      status: { state, timestamp: { seconds: nowSeconds - agoSeconds, nanos: 0 }, err },
      meta: { createdAt: { seconds: nowSeconds - agoSeconds, nanos: 0 } },
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
  services: Service[];
  networks: Network[];
  /** This host's bridge networks (`network create -d bridge`). */
  localNetworks: Network[];
  /** When true (the default), tasks not yet running move closer to running on every ListTasks. */
  autoAdvance: boolean;
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
    services: fixtureServices(),
    networks: fixtureNetworks(),
    localNetworks: [],
    autoAdvance: true,
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
  const bump = (): { index: number } => ({
    index:
      Math.max(
        ...d.nodes.map((n) => n.meta?.version?.index ?? 0),
        ...d.services.map((n) => n.meta?.version?.index ?? 0),
        ...d.networks.map((n) => n.meta?.version?.index ?? 0),
        d.cluster.meta?.version?.index ?? 0,
      ) + 1,
  });
  let counter = 0;
  /** Services created or updated through the fake: only their jobs start new tasks on their own. */
  const managed = new Set<string>();
  const newId = (prefix: string): string => `${prefix}${String(++counter).padStart(25 - prefix.length, '0')}`;
  const now = (): { seconds: number; nanos: number } => ({ seconds: Math.floor(Date.now() / 1000), nanos: 0 });
  const findService = (id: string): Service => {
    const s = d.services.find((x) => x.id === id);
    if (!s) throw new TsswarmError(ErrorCode.NOT_FOUND, `service ${id} not found`);
    return s;
  };
  const sameTask = (a: TaskSpec | undefined, b: TaskSpec | undefined): boolean =>
    Buffer.from(TaskSpec.encode(TaskSpec.create(a ?? {}))).equals(Buffer.from(TaskSpec.encode(TaskSpec.create(b ?? {}))));
  const readyNodes = (): Node[] => d.nodes.filter((n) => n.status?.state === NodeState.READY && n.spec?.availability === NodeAvailability.ACTIVE);
  const newTask = (service: Service, slot: number, nodeId: string): Task =>
    Task.create({
      id: newId('t'),
      meta: { version: bump(), createdAt: now() },
      serviceId: service.id,
      slot,
      nodeId,
      serviceAnnotations: service.spec?.annotations ?? {},
      spec: service.spec?.task ?? {},
      desiredState: TaskState.RUNNING,
      status: { state: TaskState.NEW, timestamp: now(), message: 'created' },
    });
  /** Brings a service's tasks in line with its spec (a simple, all-at-once orchestrator). */
  const reconcile = (service: Service): void => {
    const mine = d.tasks.filter((t) => t.serviceId === service.id && t.desiredState <= TaskState.RUNNING);
    const stop = (t: Task): void => {
      d.tasks = d.tasks.map((x) => (x.id === t.id ? { ...x, desiredState: TaskState.SHUTDOWN, status: { ...x.status, state: TaskState.SHUTDOWN, timestamp: now(), message: 'shutdown', err: '' } } : x));
    };
    for (const t of mine) if (!sameTask(t.spec, service.spec?.task)) stop(t);
    const current = (): Task[] => d.tasks.filter((t) => t.serviceId === service.id && t.desiredState <= TaskState.RUNNING);
    const nodes = readyNodes();
    if (service.spec?.replicated) {
      const replicas = service.spec.replicated.replicas;
      for (const t of current()) if (t.slot > replicas) stop(t);
      for (let slot = 1; slot <= replicas; slot++) {
        if (!current().some((t) => t.slot === slot)) d.tasks.push(newTask(service, slot, nodes[(slot - 1) % nodes.length]?.id ?? ''));
      }
    } else if (service.spec?.global || service.spec?.globalJob) {
      for (const n of nodes) if (!d.tasks.some((t) => t.serviceId === service.id && t.nodeId === n.id && (t.desiredState <= TaskState.RUNNING || t.status?.state === TaskState.COMPLETE))) d.tasks.push(newTask(service, 0, n.id));
    } else if (service.spec?.replicatedJob) {
      const job = service.spec.replicatedJob;
      const all = d.tasks.filter((t) => t.serviceId === service.id && sameTask(t.spec, service.spec?.task));
      const done = all.filter((t) => t.status?.state === TaskState.COMPLETE).length;
      const active = all.filter((t) => t.desiredState <= TaskState.RUNNING && (t.status?.state ?? 0) < TaskState.COMPLETE).length;
      const start = Math.max(0, Math.min((job.maxConcurrent || job.totalCompletions) - active, job.totalCompletions - done - active));
      const highest = Math.max(0, ...all.map((t) => t.slot));
      for (let i = 1; i <= start; i++) d.tasks.push(newTask(service, highest + i, nodes[(highest + i - 1) % nodes.length]?.id ?? ''));
    }
  };
  /** Steps of a task on its way up: three per ListTasks. */
  const ladder: TaskState[] = [TaskState.NEW, TaskState.PENDING, TaskState.ASSIGNED, TaskState.ACCEPTED, TaskState.PREPARING, TaskState.READY, TaskState.STARTING, TaskState.RUNNING];
  const advance = (): void => {
    if (!d.autoAdvance) return;
    d.tasks = d.tasks.map((t) => {
      if (t.desiredState > TaskState.RUNNING) return t;
      const state = t.status?.state ?? TaskState.NEW;
      const service = d.services.find((s) => s.id === t.serviceId);
      const job = service?.spec?.replicatedJob !== undefined || service?.spec?.globalJob !== undefined;
      let next: TaskState = state;
      if (state === TaskState.RUNNING && job) next = TaskState.COMPLETE;
      else if (state < TaskState.RUNNING) next = ladder[Math.min(ladder.length - 1, ladder.indexOf(state) + 3)] ?? TaskState.RUNNING;
      return next === state ? t : { ...t, status: { ...t.status, state: next, timestamp: now(), message: '', err: '' } };
    });
    for (const s of d.services) if (managed.has(s.id) && (s.spec?.replicatedJob || s.spec?.globalJob)) reconcile(s);
  };
  const findNetwork = (id: string): Network => {
    const n = d.networks.find((x) => x.id === id);
    if (!n) throw new TsswarmError(ErrorCode.NOT_FOUND, `network ${id} not found`);
    return n;
  };

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
    listTasks: (r: { filters?: { nodeIds: string[]; serviceIds: string[] } }) => {
      requireManager();
      advance();
      const want = r.filters?.nodeIds ?? [];
      const services = r.filters?.serviceIds ?? [];
      return { tasks: d.tasks.filter((t) => (want.length === 0 || want.includes(t.nodeId)) && (services.length === 0 || services.includes(t.serviceId))) };
    },
    getService: (r: { serviceId: string }) => (requireManager(), { service: findService(r.serviceId) }),
    listServices: () => (requireManager(), { services: d.services }),
    createService: (r: { spec?: ServiceSpec }) => {
      requireManager();
      const spec = ServiceSpec.create(r.spec ?? {});
      const name = spec.annotations?.name || `svc${counter + 1}`;
      if (d.services.some((s) => s.spec?.annotations?.name === name)) throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `service ${name} already exists`);
      const service = Service.create({
        id: newId('s'),
        meta: { version: bump(), createdAt: now(), updatedAt: now() },
        spec: { ...spec, annotations: { name, labels: spec.annotations?.labels ?? {} } },
        endpoint: { ...(spec.endpoint ? { spec: spec.endpoint } : {}), ports: (spec.endpoint?.ports ?? []).map((p, i) => ({ ...p, publishedPort: p.publishedPort || 30000 + i })) },
      });
      d.services.push(service);
      managed.add(service.id);
      reconcile(service);
      return { service };
    },
    updateService: (r: { serviceId: string; serviceVersion?: { index: number }; spec?: ServiceSpec; rollback: ServiceRollback }) => {
      requireManager();
      const old = findService(r.serviceId);
      if (r.serviceVersion?.index !== old.meta?.version?.index) throw new TsswarmError(ErrorCode.CONFLICT, 'update out of sequence');
      let spec = r.spec;
      if (r.rollback === ServiceRollback.PREVIOUS) {
        if (!old.previousSpec) throw new TsswarmError(ErrorCode.CONFLICT, 'service has no previous spec');
        spec = old.previousSpec;
      }
      const updated = Service.create({
        ...old,
        meta: { ...old.meta, version: bump(), updatedAt: now() },
        ...(spec ? { spec } : {}),
        ...(old.spec ? { previousSpec: old.spec } : {}),
      });
      d.services = d.services.map((s) => (s.id === old.id ? updated : s));
      managed.add(updated.id);
      reconcile(updated);
      return { service: updated };
    },
    removeService: (r: { serviceId: string }) => {
      requireManager();
      findService(r.serviceId);
      d.services = d.services.filter((s) => s.id !== r.serviceId);
      d.tasks = d.tasks.filter((t) => t.serviceId !== r.serviceId);
      return {};
    },
    getNetwork: (r: { networkId: string }) => (requireManager(), { network: findNetwork(r.networkId) }),
    listNetworks: () => (requireManager(), { networks: d.networks }),
    createNetwork: (r: { spec?: NetworkSpec }) => {
      requireManager();
      const name = r.spec?.annotations?.name ?? '';
      if (d.networks.some((n) => n.spec?.annotations?.name === name)) throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `network with name ${name} already exists`);
      const network = Network.create({ id: newId('n'), meta: { version: bump(), createdAt: now(), updatedAt: now() }, ...(r.spec ? { spec: r.spec } : {}), driverState: { name: 'overlay' }, vni: 4100 + counter });
      d.networks.push(network);
      return { network };
    },
    removeNetwork: (r: { networkId: string }) => {
      requireManager();
      const network = findNetwork(r.networkId);
      const user = d.services.find((s) => s.spec?.task?.networks.some((n) => n.target === network.id));
      if (user) throw new TsswarmError(ErrorCode.CONFLICT, `network ${network.spec?.annotations?.name ?? network.id} is in use by service ${user.spec?.annotations?.name ?? user.id}`);
      d.networks = d.networks.filter((n) => n.id !== network.id);
      return {};
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
    // No registry here: the reference comes back as given, with the daemon's kind of warning.
    resolveImage: (r: { image: string }) => ({ image: r.image, warning: '' }),
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
    createLocalNetwork: (r: { spec: NetworkSpec }) => {
      const name = r.spec.annotations?.name ?? '';
      if (d.localNetworks.some((n) => n.spec?.annotations?.name === name)) throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `network with name ${name} already exists`);
      const network = Network.create({ id: `l0c4l${String(d.localNetworks.length).padStart(20, '0')}`, spec: r.spec, driverState: { name: 'bridge', options: {} }, vni: d.localNetworks.length + 1, meta: { createdAt: t0 } });
      d.localNetworks.push(network);
      return { network };
    },
    listLocalNetworks: () => ({ networks: d.localNetworks }),
    removeLocalNetwork: (r: { ref: string }) => {
      const before = d.localNetworks.length;
      d.localNetworks = d.localNetworks.filter((n) => n.id !== r.ref && n.spec?.annotations?.name !== r.ref);
      if (d.localNetworks.length === before) throw new TsswarmError(ErrorCode.NOT_FOUND, `network ${r.ref} not found`);
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
