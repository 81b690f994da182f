/**
 * The CLI's connection to the cluster through the local tsswarmd: the Control service (nodes,
 * tasks, the cluster object) and the Swarm service (init, join, leave, info), both on the control
 * socket the Engine client uses (`-H unix://PATH`, TSSWARM_HOST). Calls return promises; failures
 * come back as one-line TsswarmErrors. Loaded only when a swarm, node, service, network or info command runs.
 */
import { credentials, makeGenericClientConstructor, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { existsSync } from 'node:fs';
import { ErrorCode, TsswarmError } from '../lib/errors.js';
import { fromServiceError } from '../lib/rpc-errors.js';
import {
  ControlService,
  SwarmService,
  type Cluster,
  type Config,
  type ConfigSpec,
  type DeepPartial,
  type ListNodesResponse,
  type ListTasksResponse,
  type Network,
  type NetworkSpec,
  type Node,
  type NodeFilters,
  type ObjectFilters,
  type Secret,
  type SecretSpec,
  type Service,
  type ServiceFilters,
  type ServiceSpec,
  type SwarmInfo,
  type SwarmInitRequest,
  type SwarmInitResponse,
  type SwarmJoinRequest,
  type SwarmJoinResponse,
  type TaskFilters,
  type UpdateClusterRequest,
  type UpdateNodeRequest,
  type UpdateServiceRequest,
} from '../proto/index.js';

/** Longest a Control or Info call may take before the CLI gives up. */
export const controlCallTimeoutMs = 30_000;
/** Longest init, join and leave may take (join waits for a certificate and the first session). */
export const membershipCallTimeoutMs = 120_000;

/** What the CLI says when a Control call reaches a node that cannot serve it and tsswarmd gave no reason. */
export const notManagerMessage =
  'this node is not a swarm manager: worker nodes cannot view or change cluster state. Run this command on a manager, or use "tsswarm swarm init" or "tsswarm swarm join" to connect this node to a swarm';

type Callback<Res> = (err: ServiceError | null, res?: Res) => void;
type UnaryFn<Req, Res> = (req: Req, options: { deadline: number }, cb: Callback<Res>) => void;

/** A typed client of the Control and Swarm services of the local tsswarmd. */
export class ControlClient {
  private readonly control: Client & Record<string, unknown>;
  private readonly swarm: Client & Record<string, unknown>;

  constructor(readonly address: string) {
    const path = address.slice('unix://'.length);
    if (!existsSync(path)) {
      throw new TsswarmError(ErrorCode.CLOSED, `cannot reach tsswarmd: no socket at ${path} (is tsswarmd running? start it with: tsswarmd)`);
    }
    const ControlCtor = makeGenericClientConstructor(ControlService as never, 'Control');
    const SwarmCtor = makeGenericClientConstructor(SwarmService as never, 'Swarm');
    this.control = new ControlCtor(address, credentials.createInsecure()) as Client & Record<string, unknown>;
    this.swarm = new SwarmCtor(address, credentials.createInsecure()) as Client & Record<string, unknown>;
  }

  private call<Req, Res>(service: 'control' | 'swarm', method: string, req: Req, timeoutMs: number): Promise<Res> {
    const client = this[service];
    const fn = (client[method] as UnaryFn<Req, Res>).bind(client);
    return new Promise((resolve, reject) => {
      fn(req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(this.toError(err, service, method)) : resolve(res as Res)));
    });
  }

  /** One line a user can act on, whatever the daemon answered. */
  private toError(err: ServiceError, service: 'control' | 'swarm', method: string): TsswarmError {
    const e = fromServiceError(err, this.address);
    // tsswarmd words these as docker does (outside a swarm / on a worker); an empty answer gets ours.
    if (e.code === ErrorCode.NOT_IN_SWARM && service === 'control' && e.message.trim() === '') return new TsswarmError(e.code, notManagerMessage);
    if (err.code === status.UNIMPLEMENTED && e.code === ErrorCode.EXTERNAL) {
      const name = service === 'control' ? 'Control' : 'Swarm';
      return new TsswarmError(ErrorCode.UNSUPPORTED, `tsswarmd at ${this.address} does not serve ${name}.${method[0]?.toUpperCase()}${method.slice(1)} (is it an older version?)`);
    }
    return e;
  }

  getNode(nodeId: string): Promise<Node> {
    return this.call<unknown, { node?: Node }>('control', 'getNode', { nodeId }, controlCallTimeoutMs).then((r) => present(r.node, `node ${nodeId}`));
  }
  async listNodes(filters?: DeepPartial<NodeFilters>): Promise<Node[]> {
    return (await this.call<unknown, ListNodesResponse>('control', 'listNodes', filters ? { filters } : {}, controlCallTimeoutMs)).nodes;
  }
  updateNode(req: DeepPartial<UpdateNodeRequest>): Promise<Node | undefined> {
    return this.call<unknown, { node?: Node }>('control', 'updateNode', req, controlCallTimeoutMs).then((r) => r.node);
  }
  async removeNode(nodeId: string, force: boolean): Promise<void> {
    await this.call('control', 'removeNode', { nodeId, force }, controlCallTimeoutMs);
  }
  async listTasks(filters: DeepPartial<TaskFilters>): Promise<ListTasksResponse['tasks']> {
    return (await this.call<unknown, ListTasksResponse>('control', 'listTasks', { filters }, controlCallTimeoutMs)).tasks;
  }
  getService(serviceId: string): Promise<Service> {
    return this.call<unknown, { service?: Service }>('control', 'getService', { serviceId }, controlCallTimeoutMs).then((r) => present(r.service, `service ${serviceId}`));
  }
  async listServices(filters?: DeepPartial<ServiceFilters>): Promise<Service[]> {
    return (await this.call<unknown, { services: Service[] }>('control', 'listServices', filters ? { filters } : {}, controlCallTimeoutMs)).services;
  }
  createService(spec: DeepPartial<ServiceSpec>): Promise<Service> {
    return this.call<unknown, { service?: Service }>('control', 'createService', { spec }, controlCallTimeoutMs).then((r) => present(r.service, 'created service'));
  }
  updateService(req: DeepPartial<UpdateServiceRequest>): Promise<Service | undefined> {
    return this.call<unknown, { service?: Service }>('control', 'updateService', req, controlCallTimeoutMs).then((r) => r.service);
  }
  async removeService(serviceId: string): Promise<void> {
    await this.call('control', 'removeService', { serviceId }, controlCallTimeoutMs);
  }
  getNetwork(networkId: string): Promise<Network> {
    return this.call<unknown, { network?: Network }>('control', 'getNetwork', { networkId }, controlCallTimeoutMs).then((r) => present(r.network, `network ${networkId}`));
  }
  async listNetworks(filters?: DeepPartial<ObjectFilters>): Promise<Network[]> {
    return (await this.call<unknown, { networks: Network[] }>('control', 'listNetworks', filters ? { filters } : {}, controlCallTimeoutMs)).networks;
  }
  createNetwork(spec: DeepPartial<NetworkSpec>): Promise<Network> {
    return this.call<unknown, { network?: Network }>('control', 'createNetwork', { spec }, controlCallTimeoutMs).then((r) => present(r.network, 'created network'));
  }
  async removeNetwork(networkId: string): Promise<void> {
    await this.call('control', 'removeNetwork', { networkId }, controlCallTimeoutMs);
  }
  /** `network create -d bridge`: a network of this host's daemon. */
  createLocalNetwork(spec: DeepPartial<NetworkSpec>): Promise<Network> {
    return this.call<unknown, { network?: Network }>('swarm', 'createLocalNetwork', { spec }, controlCallTimeoutMs).then((r) => present(r.network, 'created network'));
  }
  /** This host's bridge networks. */
  async listLocalNetworks(): Promise<Network[]> {
    return (await this.call<unknown, { networks: Network[] }>('swarm', 'listLocalNetworks', {}, controlCallTimeoutMs)).networks;
  }
  async removeLocalNetwork(ref: string): Promise<void> {
    await this.call('swarm', 'removeLocalNetwork', { ref }, controlCallTimeoutMs);
  }
  async listSecrets(filters?: DeepPartial<ObjectFilters>): Promise<Secret[]> {
    return (await this.call<unknown, { secrets: Secret[] }>('control', 'listSecrets', filters ? { filters } : {}, controlCallTimeoutMs)).secrets;
  }
  createSecret(spec: DeepPartial<SecretSpec>): Promise<Secret> {
    return this.call<unknown, { secret?: Secret }>('control', 'createSecret', { spec }, controlCallTimeoutMs).then((r) => present(r.secret, 'created secret'));
  }
  async removeSecret(secretId: string): Promise<void> {
    await this.call('control', 'removeSecret', { secretId }, controlCallTimeoutMs);
  }
  async listConfigs(filters?: DeepPartial<ObjectFilters>): Promise<Config[]> {
    return (await this.call<unknown, { configs: Config[] }>('control', 'listConfigs', filters ? { filters } : {}, controlCallTimeoutMs)).configs;
  }
  createConfig(spec: DeepPartial<ConfigSpec>): Promise<Config> {
    return this.call<unknown, { config?: Config }>('control', 'createConfig', { spec }, controlCallTimeoutMs).then((r) => present(r.config, 'created config'));
  }
  async removeConfig(configId: string): Promise<void> {
    await this.call('control', 'removeConfig', { configId }, controlCallTimeoutMs);
  }
  getCluster(clusterId: string): Promise<Cluster> {
    return this.call<unknown, { cluster?: Cluster }>('control', 'getCluster', { clusterId }, controlCallTimeoutMs).then((r) => present(r.cluster, `cluster ${clusterId}`));
  }
  updateCluster(req: DeepPartial<UpdateClusterRequest>): Promise<Cluster | undefined> {
    return this.call<unknown, { cluster?: Cluster }>('control', 'updateCluster', req, controlCallTimeoutMs).then((r) => r.cluster);
  }

  init(req: DeepPartial<SwarmInitRequest>): Promise<SwarmInitResponse> {
    return this.call('swarm', 'init', req, membershipCallTimeoutMs);
  }
  join(req: DeepPartial<SwarmJoinRequest>): Promise<SwarmJoinResponse> {
    return this.call('swarm', 'join', req, membershipCallTimeoutMs);
  }
  async leave(force: boolean): Promise<void> {
    await this.call('swarm', 'leave', { force }, membershipCallTimeoutMs);
  }
  /** The image pinned to its registry digest, or as given with a warning (Swarm.ResolveImage). */
  resolveImage(image: string): Promise<{ image: string; warning: string }> {
    return this.call('swarm', 'resolveImage', { image }, membershipCallTimeoutMs);
  }
  info(): Promise<SwarmInfo> {
    return this.call('swarm', 'info', {}, controlCallTimeoutMs);
  }

  close(): void {
    this.swarm.close();
    this.control.close();
  }
}

function present<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new TsswarmError(ErrorCode.EXTERNAL, `tsswarmd answered without the ${what}`);
  return value;
}
