/**
 * One or more populated instances of every message type in proto/, built bottom-up so that the
 * big objects (Node, Service, Task, StoreSnapshot, RaftMessage) nest the small ones. Between them,
 * the instances of a type set every field of that type to a non-default value (a oneof needs one
 * instance per member); schemas.test.ts checks that, and that no message type lacks fixtures.
 */
import * as p from '../../proto/index.js';
import type { MessageCodec } from '../../proto/index.js';

/** The instances of one message type. */
export interface Fixture {
  readonly codec: MessageCodec<unknown>;
  readonly values: readonly unknown[];
}

/** Fixtures by fully qualified type name ("tsswarm.Node"). */
export const fixtures = new Map<string, Fixture>();

/** Registers the instances of one type and returns the first, for use inside bigger fixtures. */
function fixture<T>(codec: MessageCodec<T>, ...values: [T, ...T[]]): T {
  if (fixtures.has(codec.typeName)) throw new Error(`two fixture sets for ${codec.typeName}`);
  fixtures.set(codec.typeName, { codec: codec as MessageCodec<unknown>, values });
  return values[0];
}

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

// Values beyond 32 bits exercise the 64-bit paths of the codec.
const bigIndex = 2 ** 40 + 7;
const nodeId = 'n6ufw4mq3w9a2x1v0c8r5t7yz';
const serviceId = 's1b2c3d4e5f6g7h8i9j0k1l2m';
const taskId = 't9h8g7f6e5d4c3b2a1z0y9x8w';
const networkId = 'k2j3h4g5f6d7s8a9q0w1e2r3t';

// ---- common.proto

const timestamp = fixture(p.Timestamp, { seconds: 1_700_000_000, nanos: 123_456_789 }, { seconds: -86_400, nanos: 1 });
const duration = fixture(p.Duration, { seconds: 90 * 86_400, nanos: 5 }, { seconds: -3, nanos: -500 });
const version = fixture(p.Version, { index: bigIndex }, { index: Number.MAX_SAFE_INTEGER });
const meta = fixture(p.Meta, { version, createdAt: timestamp, updatedAt: { seconds: 1_700_000_100, nanos: 0 } });
const annotations = fixture(p.Annotations, { name: 'web', labels: { tier: 'frontend', 'com.example.team': 'infra' } });
const driver = fixture(p.Driver, { name: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } });
const platform = fixture(p.Platform, { architecture: 'amd64', os: 'linux' });
const resources = fixture(p.Resources, { nanoCpus: 1_500_000_000, memoryBytes: 6 * 2 ** 30, pids: 4096 });
const resourceRequirements = fixture(p.ResourceRequirements, {
  limits: resources,
  reservations: { nanoCpus: 250_000_000, memoryBytes: 64 * 2 ** 20, pids: 100 },
});

// ---- specs.proto

const nodeSpec = fixture(p.NodeSpec, {
  annotations: { name: 'h1', labels: { zone: 'a' } },
  role: p.NodeRole.MANAGER,
  availability: p.NodeAvailability.DRAIN,
});
const bindOptions = fixture(p.BindOptions, { propagation: p.MountPropagation.RSHARED, createMountpoint: true });
const volumeOptions = fixture(p.VolumeOptions, {
  noCopy: true,
  labels: { backup: 'daily' },
  driverConfig: { name: 'local', options: { type: 'none' } },
});
const tmpfsOptions = fixture(p.TmpfsOptions, { sizeBytes: 64 * 2 ** 20, mode: 0o1777 });
const mount = fixture(p.Mount, {
  type: p.MountType.VOLUME,
  source: 'data',
  target: '/var/lib/data',
  readOnly: true,
  bindOptions,
  volumeOptions,
  tmpfsOptions,
});
const healthConfig = fixture(p.HealthConfig, {
  test: ['CMD', 'curl', '-f', 'http://localhost/'],
  interval: { seconds: 30, nanos: 0 },
  timeout: { seconds: 5, nanos: 0 },
  retries: 3,
  startPeriod: { seconds: 10, nanos: 0 },
  startInterval: { seconds: 1, nanos: 500_000_000 },
});
const fileTarget = fixture(p.FileTarget, { name: 'db_password', uid: '0', gid: '0', mode: 0o444 });
const secretReference = fixture(p.SecretReference, { secretId: 'x1y2z3', secretName: 'db_password', file: fileTarget });
const configReference = fixture(p.ConfigReference, {
  configId: 'c1d2e3',
  configName: 'nginx_conf',
  file: { name: '/etc/nginx/nginx.conf', uid: '101', gid: '101', mode: 0o440 },
});
const containerSpec = fixture(p.ContainerSpec, {
  image: 'docker.io/library/nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31',
  labels: { 'com.example.role': 'web' },
  command: ['/docker-entrypoint.sh'],
  args: ['nginx', '-g', 'daemon off;'],
  hostname: '{{.Task.Name}}',
  env: ['A=1', 'B=two words'],
  dir: '/usr/share/nginx/html',
  user: 'nginx',
  groups: ['www-data'],
  mounts: [mount],
  stopSignal: 'SIGQUIT',
  stopGracePeriod: { seconds: 10, nanos: 0 },
  healthcheck: healthConfig,
  secrets: [secretReference],
  configs: [configReference],
  tty: true,
  openStdin: true,
  readOnly: true,
  init: true,
  sysctls: { 'net.core.somaxconn': '1024' },
  capabilityAdd: ['CAP_NET_ADMIN'],
  capabilityDrop: ['CAP_MKNOD'],
});
const restartPolicy = fixture(p.RestartPolicy, {
  condition: p.RestartCondition.ON_FAILURE,
  delay: { seconds: 5, nanos: 0 },
  maxAttempts: 3,
  window: { seconds: 120, nanos: 0 },
});
const spreadOver = fixture(p.SpreadOver, { spreadDescriptor: 'node.labels.zone' });
const placementPreference = fixture(p.PlacementPreference, { spread: spreadOver });
const placement = fixture(p.Placement, {
  constraints: ['node.role==worker', 'node.labels.zone!=c'],
  preferences: [placementPreference],
  platforms: [platform, { architecture: 'arm64', os: 'linux' }],
  maxReplicas: 2,
});
const networkAttachmentConfig = fixture(p.NetworkAttachmentConfig, {
  target: 'backend',
  aliases: ['db'],
  addresses: ['10.0.1.5/24'],
  driverAttachmentOpts: { 'com.example.opt': '1' },
});
const taskSpec = fixture(p.TaskSpec, {
  container: containerSpec,
  resources: resourceRequirements,
  restart: restartPolicy,
  placement,
  networks: [networkAttachmentConfig],
  logDriver: driver,
  forceUpdate: 3,
  attachment: fixture(p.NetworkAttachmentSpec, { containerId: 'c0ffee' }),
});
const replicatedService = fixture(p.ReplicatedService, { replicas: 5 });
const globalService = fixture(p.GlobalService, {});
const replicatedJob = fixture(p.ReplicatedJob, { maxConcurrent: 2, totalCompletions: 10 });
const globalJob = fixture(p.GlobalJob, {});
const updateConfig = fixture(p.UpdateConfig, {
  parallelism: 2,
  delay: { seconds: 10, nanos: 0 },
  failureAction: p.UpdateFailureAction.ROLLBACK,
  monitor: { seconds: 5, nanos: 0 },
  maxFailureRatio: 0.25,
  order: p.UpdateOrder.START_FIRST,
});
const portConfig = fixture(p.PortConfig, {
  name: 'http',
  protocol: p.PortProtocol.UDP,
  targetPort: 80,
  publishedPort: 8080,
  publishMode: p.PublishMode.HOST,
}, { name: '', protocol: p.PortProtocol.TCP, targetPort: 80, publishedPort: 8081, publishMode: p.PublishMode.INGRESS, localOnly: true });
const endpointSpec = fixture(p.EndpointSpec, { mode: p.EndpointMode.DNSRR, ports: [portConfig] });
const serviceSpec = fixture(
  p.ServiceSpec,
  {
    annotations,
    task: taskSpec,
    replicated: replicatedService,
    update: updateConfig,
    rollback: { ...updateConfig, failureAction: p.UpdateFailureAction.PAUSE, order: p.UpdateOrder.STOP_FIRST },
    endpoint: endpointSpec,
    rebalance: p.RebalanceMode.ON,
  },
  { annotations: { name: 'agent', labels: {} }, task: taskSpec, global: globalService },
  { annotations: { name: 'migrate', labels: {} }, task: taskSpec, replicatedJob },
  { annotations: { name: 'prune', labels: {} }, task: taskSpec, globalJob },
);
const ipamConfig = fixture(p.IPAMConfig, {
  family: p.IPAMFamily.IPV4,
  subnet: '10.0.1.0/24',
  ipRange: '10.0.1.128/25',
  gateway: '10.0.1.1',
  reserved: { dns: '10.0.1.2' },
});
const ipamOptions = fixture(p.IPAMOptions, { driver: { name: 'default', options: {} }, configs: [ipamConfig] });
const networkSpec = fixture(p.NetworkSpec, {
  annotations: { name: 'backend', labels: { env: 'prod' } },
  driver: { name: 'overlay', options: { 'com.docker.network.driver.mtu': '1450' } },
  ipv6Enabled: true,
  internal: true,
  ipam: ipamOptions,
  attachable: true,
  ingress: true,
});
const secretSpec = fixture(p.SecretSpec, {
  annotations: { name: 'db_password', labels: {} },
  data: bytes('hunter2\n'),
  templating: { name: 'golang', options: {} },
  driver: { name: 'vault', options: { path: 'secret/db' } },
});
const configSpec = fixture(p.ConfigSpec, {
  annotations: { name: 'nginx_conf', labels: { v: '2' } },
  data: Uint8Array.from([0, 1, 2, 253, 254, 255]),
  templating: { name: 'golang', options: {} },
});
const orchestrationConfig = fixture(p.OrchestrationConfig, { taskHistoryRetentionLimit: 5, rebalance: true });
const dispatcherConfig = fixture(p.DispatcherConfig, { heartbeatPeriod: { seconds: 5, nanos: 0 } });
const caConfig = fixture(p.CAConfig, { nodeCertExpiry: duration });
const raftConfig = fixture(p.RaftConfig, {
  snapshotInterval: 10_000,
  keepOldSnapshots: 1,
  logEntriesForSlowFollowers: 500,
  heartbeatTick: 1,
  electionTick: 10,
});
const taskDefaults = fixture(p.TaskDefaults, { logDriver: driver });
const encryptionConfig = fixture(p.EncryptionConfig, { autoLockManagers: true });
const clusterSpec = fixture(p.ClusterSpec, {
  annotations: { name: 'default', labels: {} },
  orchestration: orchestrationConfig,
  raft: raftConfig,
  dispatcher: dispatcherConfig,
  caConfig,
  taskDefaults,
  encryptionConfig,
});

// ---- objects.proto

const engineDescription = fixture(p.EngineDescription, {
  engineVersion: 'tsswarm 0.1.0',
  labels: { storage: 'overlayfs' },
  kernelVersion: '6.8.0-45-generic',
});
const nodeDescription = fixture(p.NodeDescription, {
  hostname: 'h1',
  platform,
  resources,
  engine: engineDescription,
});
const nodeStatus = fixture(p.NodeStatus, { state: p.NodeState.READY, message: 'heartbeat ok', addr: '198.18.0.2' });
const managerStatus = fixture(p.ManagerStatus, {
  raftId: 2 ** 52 + 3,
  addr: '198.18.0.2:2377',
  leader: true,
  reachability: p.Reachability.REACHABLE,
});
const issuanceStatus = fixture(p.IssuanceStatus, { state: p.IssuanceState.ISSUED, err: 'earlier attempt timed out' });
const certificate = fixture(p.Certificate, {
  role: p.NodeRole.MANAGER,
  csr: bytes('-----BEGIN CERTIFICATE REQUEST-----\n'),
  status: issuanceStatus,
  certificate: bytes('-----BEGIN CERTIFICATE-----\n'),
  cn: nodeId,
});
const node = fixture(p.Node, {
  id: nodeId,
  meta,
  spec: nodeSpec,
  description: nodeDescription,
  status: nodeStatus,
  managerStatus,
  role: p.NodeRole.MANAGER,
  certificate,
});
const virtualIp = fixture(p.VirtualIP, { networkId, addr: '10.0.0.2/24' });
const endpoint = fixture(p.Endpoint, { spec: endpointSpec, ports: [portConfig], virtualIps: [virtualIp] });
const updateStatus = fixture(p.UpdateStatus, {
  state: p.UpdateState.ROLLBACK_COMPLETED,
  startedAt: timestamp,
  completedAt: { seconds: 1_700_000_300, nanos: 42 },
  message: 'rollback completed',
});
const jobStatus = fixture(p.JobStatus, { jobIteration: version, lastExecution: timestamp });
const service = fixture(p.Service, {
  id: serviceId,
  meta,
  spec: serviceSpec,
  previousSpec: { ...serviceSpec, replicated: { replicas: 3 } },
  endpoint,
  updateStatus,
  pendingDelete: true,
  jobStatus,
  specVersion: version,
});
const containerStatus = fixture(p.ContainerStatus, { containerId: 'c0ffee42', pid: 4242, exitCode: 137 });
const portStatus = fixture(p.PortStatus, { ports: [portConfig] });
const taskStatus = fixture(p.TaskStatus, {
  timestamp,
  state: p.TaskState.RUNNING,
  message: 'started',
  err: 'exit status 137 on the previous attempt',
  containerStatus,
  portStatus,
});
const networkAttachment = fixture(p.NetworkAttachment, {
  networkId,
  addresses: ['10.0.1.5/24', 'fd00::5/64'],
  aliases: ['web'],
  driverAttachmentOpts: { 'com.example.opt': '1' },
});
const task = fixture(p.Task, {
  id: taskId,
  meta,
  spec: taskSpec,
  serviceId,
  slot: 3,
  nodeId,
  annotations: { name: 'web.3', labels: {} },
  serviceAnnotations: annotations,
  status: taskStatus,
  desiredState: p.TaskState.RUNNING,
  networks: [networkAttachment],
  endpoint,
  specVersion: version,
  jobIteration: { index: 2 },
  placementReason: 'rebalanced from node h1; fewest tasks of the service on the node (0)',
});
const network = fixture(p.Network, {
  id: networkId,
  meta,
  spec: networkSpec,
  driverState: { name: 'overlay', options: { 'com.docker.network.driver.overlay.vxlanid_list': '4097' } },
  ipam: ipamOptions,
  vni: 4097,
  pendingDelete: true,
});
const secret = fixture(p.Secret, { id: 'x1y2z3', meta, spec: secretSpec, internal: true });
const config = fixture(p.Config, { id: 'c1d2e3', meta, spec: configSpec });
const joinTokens = fixture(p.JoinTokens, {
  worker: 'SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx',
  manager: 'SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-7p73s1dx5in4tatdymyhg9hu2',
});
const rootCa = fixture(p.RootCA, {
  caKey: bytes('-----BEGIN EC PRIVATE KEY-----\n'),
  caCert: bytes('-----BEGIN CERTIFICATE-----\n'),
  caCertHash: 'sha256:3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl',
  joinTokens,
  lastForcedRotation: 2,
});
const cluster = fixture(p.Cluster, {
  id: 'cl0000000000000000000000a',
  meta,
  spec: clusterSpec,
  rootCa,
  defaultAddressPool: ['10.0.0.0/8'],
  subnetSize: 24,
  vxlanUdpPort: 4789,
});

// ---- store.proto

const storeActions = [
  { kind: p.StoreActionKind.CREATE, node },
  { kind: p.StoreActionKind.UPDATE, service },
  { kind: p.StoreActionKind.REMOVE, task },
  { kind: p.StoreActionKind.CREATE, network },
  { kind: p.StoreActionKind.UPDATE, cluster },
  { kind: p.StoreActionKind.CREATE, secret },
  { kind: p.StoreActionKind.REMOVE, config },
] as const satisfies readonly p.StoreAction[];
fixture(p.StoreAction, ...storeActions);
fixture(p.InternalRaftRequest, { id: Number.MAX_SAFE_INTEGER, actions: [...storeActions] });
const storeSnapshot = fixture(p.StoreSnapshot, {
  nodes: [node],
  services: [service],
  networks: [network],
  tasks: [task, { ...task, id: 'other', slot: 4 }],
  clusters: [cluster],
  secrets: [secret],
  configs: [config],
});

// ---- raft.proto

const raftMemberStatus = fixture(p.RaftMemberStatus, {
  leader: true,
  reachability: p.Reachability.UNREACHABLE,
  message: 'heartbeat failed',
});
const raftMember = fixture(p.RaftMember, {
  raftId: 0x1234_5678_9abc,
  nodeId,
  addr: '198.18.0.3:2377',
  status: raftMemberStatus,
});
const confChange = fixture(p.ConfChange, {
  id: 9,
  type: p.ConfChangeType.ADD_LEARNER_NODE,
  nodeId: raftMember.raftId,
  context: p.RaftMember.encode(raftMember),
});
const entry = fixture(
  p.Entry,
  { term: 7, index: 2 ** 33, type: p.EntryType.CONF_CHANGE, data: p.ConfChange.encode(confChange) },
  { term: 7, index: 2 ** 33 + 1, type: p.EntryType.NORMAL, data: p.InternalRaftRequest.encode({ id: 1, actions: [] }) },
);
const confState = fixture(p.ConfState, { voters: [1, 2, 2 ** 50], learners: [4] });
const snapshotMetadata = fixture(p.SnapshotMetadata, { confState, index: 100, term: 3 });
fixture(p.Snapshot, { metadata: snapshotMetadata, data: p.StoreSnapshot.encode(storeSnapshot) });
const snapshotChunk = fixture(p.SnapshotChunk, {
  offsetBytes: 2 ** 32,
  totalBytes: 2 ** 32 + 1024,
  data: Uint8Array.from({ length: 1024 }, (_, i) => i % 251),
});
fixture(p.HardState, { term: 3, vote: 2, commit: 99 });
const raftMessage = fixture(p.RaftMessage, {
  type: p.RaftMessageType.SNAP,
  to: 2,
  from: raftMember.raftId,
  term: 8,
  logTerm: 7,
  index: 2 ** 33 - 1,
  entries: [entry, { ...entry, index: 2 ** 33 + 1 }],
  commit: 2 ** 33 - 5,
  snapshotMetadata,
  snapshotChunk,
  reject: true,
  rejectHint: 40,
  context: bytes('transfer'),
});
fixture(p.ResolveAddressRequest, { raftId: raftMember.raftId });
fixture(p.ResolveAddressResponse, { addr: '198.18.0.3:2377' });
fixture(p.JoinRequest, { addr: '198.18.0.4:2377', nodeId: 'n4' }, { addr: '198.18.0.4:2377' });
fixture(p.JoinResponse, { raftId: 5, members: [raftMember, { ...raftMember, raftId: 1 }], removedMembers: [3, 4] });
fixture(p.LeaveRequest, { node: raftMember });
fixture(p.LeaveResponse, {});

// ---- ca.proto

fixture(p.GetRootCACertificateRequest, {});
fixture(p.GetRootCACertificateResponse, { certificate: rootCa.caCert });
fixture(p.IssueNodeCertificateRequest, {
  csr: certificate.csr,
  token: joinTokens.worker,
  availability: p.NodeAvailability.PAUSE,
});
fixture(p.IssueNodeCertificateResponse, { nodeId });
fixture(p.NodeCertificateStatusRequest, { nodeId });
fixture(p.NodeCertificateStatusResponse, { status: issuanceStatus, certificate });

// ---- dispatcher.proto

fixture(p.SessionRequest, { description: nodeDescription, sessionId: 'sess-1' });
const weightedPeer = fixture(p.WeightedPeer, { nodeId, addr: '198.18.0.2:2377', weight: 10 });
fixture(p.SessionMessage, { sessionId: 'sess-1', node, managers: [weightedPeer], rootCa: rootCa.caCert });
fixture(p.HeartbeatRequest, { sessionId: 'sess-1' });
fixture(p.HeartbeatResponse, { period: { seconds: 5, nanos: 0 } });
const taskStatusUpdate = fixture(p.TaskStatusUpdate, { taskId, status: taskStatus });
fixture(p.UpdateTaskStatusRequest, { sessionId: 'sess-1', updates: [taskStatusUpdate, taskStatusUpdate] });
fixture(p.UpdateTaskStatusResponse, {});
fixture(p.AssignmentsRequest, { sessionId: 'sess-1' });
const assignment = fixture(p.Assignment, { task }, { secret }, { config }, { network });
const assignmentChange = fixture(p.AssignmentChange, { action: p.AssignmentAction.REMOVE, assignment });
fixture(p.AssignmentsMessage, {
  type: p.AssignmentsMessageType.INCREMENTAL,
  appliesTo: '41',
  resultsIn: '42',
  changes: [assignmentChange, { action: p.AssignmentAction.UPDATE, assignment: { secret } }],
});
fixture(p.NetworkViewRequest, { sessionId: 'sess-1' });
const viewNetwork = fixture(p.NetworkViewNetwork, {
  id: networkId,
  name: 'appnet',
  vni: 4097,
  subnet: '10.0.1.0/24',
  gateway: '10.0.1.1',
  internal: true,
  encrypted: true,
  ingress: true,
  local: true,
});
const viewEndpoint = fixture(p.NetworkViewEndpoint, {
  id: `${taskId}.${networkId}`,
  networkId,
  taskId,
  nodeId,
  hostAddr: '198.18.0.3',
  address: '10.0.1.7',
  serviceId,
  dnsNames: ['web.1.t9h8', 'db'],
});
const viewPort = fixture(p.NetworkViewPort, { protocol: p.PortProtocol.UDP, port: 53 });
const viewService = fixture(p.NetworkViewService, { id: serviceId, name: 'web', networkId, vip: '10.0.1.2', ports: [viewPort, { protocol: p.PortProtocol.TCP, port: 80 }] });
const viewIngressHost = fixture(p.NetworkViewIngressHost, { nodeId, hostAddr: '198.18.0.3', address: '10.255.0.5' });
const viewPublished = fixture(p.NetworkViewPublishedPort, { serviceId, protocol: p.PortProtocol.UDP, publishedPort: 8053, targetPort: 53 }, { serviceId, protocol: p.PortProtocol.TCP, publishedPort: 8080, targetPort: 80, localOnly: true });
const viewIngress = fixture(p.NetworkViewIngress, { networkId, hosts: [viewIngressHost], published: [viewPublished] });
fixture(p.NetworkViewMessage, {
  nodeId,
  hostAddr: '198.18.0.3',
  sequence: bigIndex,
  networks: [viewNetwork],
  endpoints: [viewEndpoint],
  services: [viewService],
  ingress: viewIngress,
  hostPorts: [fixture(p.NetworkViewHostPort, { taskId, protocol: p.PortProtocol.UDP, publishedPort: 5353, targetPort: 53 })],
});

// ---- logs.proto

const logSelector = fixture(p.LogSelector, { serviceIds: [serviceId], taskIds: [taskId] });
const logOptions = fixture(p.LogSubscriptionOptions, { follow: true, tail: -1, since: timestamp }, { follow: false, tail: 10 });
const logMessage = fixture(p.LogMessage, {
  context: fixture(p.LogContext, { serviceId, nodeId, taskId }),
  timestamp,
  source: p.LogSource.STDERR,
  data: new Uint8Array([104, 105, 0, 255]),
});
fixture(p.SubscribeLogsRequest, { selector: logSelector, options: logOptions });
fixture(p.SubscribeLogsMessage, { messages: [logMessage], warnings: ['node n3 is not connected to the leader: the logs of its tasks are missing'] });
fixture(p.LogSubscriptionsRequest, { sessionId: 'session-1' });
fixture(p.LogSubscription, { id: 'sub-1', selector: logSelector, options: logOptions, close: true });
fixture(p.PublishLogsMessage, { sessionId: 'session-1', subscriptionId: 'sub-1', messages: [logMessage], close: true, error: 'container gone' });
fixture(p.PublishLogsResponse, {});
fixture(p.AttachNetworkRequest, { sessionId: 'sess-1', containerId: 'c0ffee', containerName: 'probe', networks: [networkAttachmentConfig] });
fixture(p.AttachNetworkResponse, { attachmentId: 'att-1' });
fixture(p.DetachNetworkRequest, { sessionId: 'sess-1', attachmentId: 'att-1' });
fixture(p.DetachNetworkResponse, {});

// ---- control.proto

const objectFilters = fixture(p.ObjectFilters, {
  names: ['web'],
  idPrefixes: ['s1b'],
  labels: { tier: 'frontend', team: '' },
  namePrefixes: ['we'],
});
fixture(p.NodeFilters, {
  object: objectFilters,
  nodeLabels: { zone: 'a' },
  roles: [p.NodeRole.MANAGER, p.NodeRole.WORKER],
});
fixture(p.ServiceFilters, { object: objectFilters });
fixture(p.TaskFilters, {
  object: objectFilters,
  serviceIds: [serviceId],
  nodeIds: [nodeId],
  desiredStates: [p.TaskState.RUNNING, p.TaskState.SHUTDOWN],
  slots: [1, 2, 2 ** 35],
});
fixture(p.KeyRotation, { workerJoinToken: true, managerJoinToken: true, managerUnlockKey: true });

fixture(p.GetNodeRequest, { nodeId });
fixture(p.GetNodeResponse, { node });
fixture(p.ListNodesRequest, { filters: { object: objectFilters, nodeLabels: {}, roles: [p.NodeRole.MANAGER] } });
fixture(p.ListNodesResponse, { nodes: [node, { ...node, id: 'other' }] });
fixture(p.UpdateNodeRequest, { nodeId, nodeVersion: version, spec: nodeSpec });
fixture(p.UpdateNodeResponse, { node });
fixture(p.RemoveNodeRequest, { nodeId, force: true });
fixture(p.RemoveNodeResponse, {});

fixture(p.GetServiceRequest, { serviceId });
fixture(p.GetServiceResponse, { service });
fixture(p.ListServicesRequest, { filters: { object: objectFilters } });
fixture(p.ListServicesResponse, { services: [service] });
fixture(p.CreateServiceRequest, { spec: serviceSpec });
fixture(p.CreateServiceResponse, { service });
fixture(p.UpdateServiceRequest, {
  serviceId,
  serviceVersion: version,
  spec: serviceSpec,
  rollback: p.ServiceRollback.PREVIOUS,
});
fixture(p.UpdateServiceResponse, { service });
fixture(p.RemoveServiceRequest, { serviceId });
fixture(p.RemoveServiceResponse, {});

fixture(p.GetTaskRequest, { taskId });
fixture(p.GetTaskResponse, { task });
fixture(p.ListTasksRequest, {
  filters: { object: objectFilters, serviceIds: [serviceId], nodeIds: [], desiredStates: [], slots: [] },
});
fixture(p.ListTasksResponse, { tasks: [task] });
fixture(p.RemoveTaskRequest, { taskId });
fixture(p.RemoveTaskResponse, {});

fixture(p.GetNetworkRequest, { networkId });
fixture(p.GetNetworkResponse, { network });
fixture(p.ListNetworksRequest, { filters: objectFilters });
fixture(p.ListNetworksResponse, { networks: [network] });
fixture(p.CreateNetworkRequest, { spec: networkSpec });
fixture(p.CreateNetworkResponse, { network });
fixture(p.RemoveNetworkRequest, { networkId });
fixture(p.RemoveNetworkResponse, {});

fixture(p.GetSecretRequest, { secretId: secret.id });
fixture(p.GetSecretResponse, { secret });
fixture(p.ListSecretsRequest, { filters: objectFilters });
fixture(p.ListSecretsResponse, { secrets: [secret] });
fixture(p.CreateSecretRequest, { spec: secretSpec });
fixture(p.CreateSecretResponse, { secret });
fixture(p.UpdateSecretRequest, { secretId: secret.id, secretVersion: version, spec: secretSpec });
fixture(p.UpdateSecretResponse, { secret });
fixture(p.RemoveSecretRequest, { secretId: secret.id });
fixture(p.RemoveSecretResponse, {});

fixture(p.GetConfigRequest, { configId: config.id });
fixture(p.GetConfigResponse, { config });
fixture(p.ListConfigsRequest, { filters: objectFilters });
fixture(p.ListConfigsResponse, { configs: [config] });
fixture(p.CreateConfigRequest, { spec: configSpec });
fixture(p.CreateConfigResponse, { config });
fixture(p.UpdateConfigRequest, { configId: config.id, configVersion: version, spec: configSpec });
fixture(p.UpdateConfigResponse, { config });
fixture(p.RemoveConfigRequest, { configId: config.id });
fixture(p.RemoveConfigResponse, {});

fixture(p.GetClusterRequest, { clusterId: cluster.id });
fixture(p.GetClusterResponse, { cluster });
fixture(p.UpdateClusterRequest, {
  clusterId: cluster.id,
  clusterVersion: version,
  spec: clusterSpec,
  rotation: { workerJoinToken: true, managerJoinToken: false, managerUnlockKey: false },
});
fixture(p.UpdateClusterResponse, { cluster });

// ---- engine.proto

const containerMount = fixture(
  p.ContainerMount,
  { type: 'tmpfs', source: 'scratch', target: '/scratch', readOnly: true, tmpfsSizeBytes: bigIndex, tmpfsMode: 0o1777, volumeNoCopy: true, volumeDriver: 'local', volumeDriverOptions: { type: 'tmpfs' }, volumeLabels: { team: 'a' } },
);

fixture(p.ContainerCreateRequest, {
  image: 'registry.lab:5000/busybox:1.36',
  name: 'web',
  entrypoint: ['/bin/sh', '-c'],
  entrypointSet: true,
  cmd: ['httpd', '-f'],
  env: ['A=1'],
  workingDir: '/srv',
  user: 'app:staff',
  hostname: 'web-1',
  labels: { tier: 'front' },
  mounts: [containerMount],
  memoryBytes: 64 * 1024 * 1024,
  nanoCpus: 500_000_000,
  cpuShares: 512,
  pidsLimit: 100,
  readOnly: true,
  stopSignal: 'SIGQUIT',
  stopTimeout: duration,
  stopTimeoutSet: true,
  autoRemove: true,
  healthcheck: healthConfig,
  networks: [networkAttachmentConfig],
  ports: [portConfig],
});
fixture(p.ContainerCreateResponse, { id: taskId, warnings: ['no registry answered'] });
fixture(p.ContainerRef, { id: 'web' });
fixture(p.ContainerStopRequest, { id: 'web', timeout: duration, timeoutSet: true });
fixture(p.ContainerRemoveRequest, { id: 'web', force: true, removeVolumes: true });

const containerSummary = fixture(p.ContainerSummary, {
  id: taskId,
  name: 'web',
  image: 'busybox',
  command: 'httpd -f',
  createdAt: timestamp,
  state: p.ContainerRunState.EXITED,
  exitCode: 137,
  oomKilled: true,
  startedAt: timestamp,
  finishedAt: timestamp,
  pid: bigIndex,
  health: 'unhealthy',
});
fixture(p.ContainerListRequest, { all: true });
fixture(p.ContainerListResponse, { containers: [containerSummary] });
fixture(p.ContainerInspectResponse, { summary: containerSummary, json: '{"Id":"x"}' });
fixture(p.ContainerWaitResponse, { exitCode: 3, oomKilled: true });
fixture(p.ContainerLogsRequest, { id: 'web', follow: true, since: timestamp, sinceSet: true, tail: 10, tailSet: true });
fixture(p.LogEntry, { stream: p.LogStream.STDERR, time: '2026-11-23T09:18:05.492304741+00:00', text: 'hello' });
const execStart = fixture(p.ExecStart, { id: 'web', cmd: ['sh', '-c', 'cat'], env: ['B=2'], workingDir: '/tmp', interactive: true });
fixture(p.ExecInput, { start: execStart }, { stdin: bytes('input') }, { stdinClose: true });
fixture(p.ExecOutput, { stdout: bytes('out') }, { stderr: bytes('err') }, { exitCode: 7 });
fixture(p.ContainerStatsResponse, { memoryUsageBytes: bigIndex, memoryLimitBytes: bigIndex + 1, cpuPercent: 49.5, pidsCurrent: 3 });
const containerProcess = fixture(p.ContainerProcess, { pid: 4242, user: 'root', command: 'sleep 300' });
fixture(p.ContainerTopResponse, { processes: [containerProcess] });
fixture(p.VolumeCreateRequest, { name: 'data', driver: 'local', driverOptions: { type: 'tmpfs', device: 'tmpfs', o: 'size=64m' }, labels: { team: 'a' } });
const volume = fixture(p.Volume, {
  name: 'data',
  driver: 'local',
  mountpoint: '/var/lib/tsswarm/volumes/data/_data',
  createdAt: '2026-11-23T15:00:00.000Z',
  labels: { team: 'a' },
  options: { type: 'tmpfs' },
  scope: 'local',
  usedBy: ['web'],
  anonymous: true,
});
fixture(p.VolumeRef, { name: 'data' });
fixture(p.VolumeListResponse, { volumes: [volume] });
fixture(p.VolumeRemoveRequest, { name: 'data', force: true });
fixture(p.VolumePruneRequest, { all: true, labelFilters: ['team=a'] });
fixture(p.VolumePruneResponse, { deleted: ['data'], reclaimedBytes: bigIndex });

fixture(p.Empty, {});

// swarm.proto
fixture(p.SwarmInitRequest, {
  listenAddr: '0.0.0.0:2377',
  advertiseAddr: '198.18.0.1:2377',
  defaultAddrPool: ['10.0.0.0/8', '172.30.0.0/16'],
  subnetSize: 24,
  forceNewCluster: true,
  spec: clusterSpec,
});
fixture(p.SwarmInitResponse, { nodeId: 'n1', clusterId: 'c1' });
fixture(p.SwarmJoinRequest, { remoteAddr: '198.18.0.1:2377', joinToken: 'SWMTKN-1-x-y', listenAddr: '0.0.0.0:2377', advertiseAddr: '198.18.0.2', availability: p.NodeAvailability.DRAIN });
fixture(p.SwarmJoinResponse, { nodeId: 'n2', clusterId: 'c1', role: p.NodeRole.MANAGER });
fixture(p.SwarmLeaveRequest, { force: true });
fixture(p.SwarmLeaveResponse, {});
fixture(p.SwarmInfoRequest, {});
fixture(p.ResolveImageRequest, { image: 'busybox:1.36' });
fixture(p.ResolveImageResponse, { image: 'busybox:1.36@sha256:' + 'a'.repeat(64), warning: 'registry unreachable' });
const remoteManager = fixture(p.RemoteManager, { nodeId: 'n1', addr: '198.18.0.1:2377' });
fixture(p.CreateLocalNetworkRequest, { spec: networkSpec });
fixture(p.CreateLocalNetworkResponse, { network });
fixture(p.ListLocalNetworksRequest, {});
fixture(p.ListLocalNetworksResponse, { networks: [network] });
fixture(p.RemoveLocalNetworkRequest, { ref: 'mynet' });
fixture(p.RemoveLocalNetworkResponse, {});
fixture(p.SwarmInfo, {
  state: p.LocalNodeState.ERROR,
  nodeId: 'n2',
  nodeAddr: '198.18.0.2',
  clusterId: 'c1',
  controlAvailable: true,
  remoteManagers: [remoteManager],
  error: 'no quorum',
  nodes: 5,
  managers: 3,
});

/** A raft message that carries a snapshot chunk and two entries, for transport tests. */
export const sampleRaftMessage: p.RaftMessage = raftMessage;
/** A fully populated node, for tests that need one. */
export const sampleNode: p.Node = node;
