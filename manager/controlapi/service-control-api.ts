/**
 * The service, task and network calls of the Control API (`tsswarm service ...`, `tsswarm network
 * ...`, task listing for `service ps` and `node ps`), as plain async functions from request to
 * response over the store, modelled on SwarmKit's controlapi. Reads come from the store's memory;
 * each write is one store transaction, made only after every check passed (services.ts,
 * networks.ts), so a refused request changes nothing. Writes from this API run one at a time, so the
 * name and published-port checks of one create see the result of the one before.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { newId as randomId } from '../../lib/ids.js';
import { randomRng, type Rng } from '../../lib/rng.js';
import type {
  CreateNetworkRequest,
  CreateNetworkResponse,
  CreateServiceRequest,
  CreateServiceResponse,
  GetNetworkRequest,
  GetNetworkResponse,
  GetServiceRequest,
  GetServiceResponse,
  GetTaskRequest,
  GetTaskResponse,
  ListNetworksRequest,
  ListNetworksResponse,
  ListServicesRequest,
  ListServicesResponse,
  ListTasksRequest,
  ListTasksResponse,
  Network,
  RemoveNetworkRequest,
  RemoveNetworkResponse,
  RemoveServiceRequest,
  RemoveServiceResponse,
  RemoveTaskRequest,
  RemoveTaskResponse,
  Service,
  Task,
  UpdateServiceRequest,
  UpdateServiceResponse,
} from '../../proto/index.js';
import type { Store } from '../store/index.js';
import { noLeaderMessage } from './control-api.js';
import { planNetworkCreate, planNetworkRemoval } from './networks.js';
import { filterObjects } from './object-filters.js';
import type { RaftMembership } from './raft-membership.js';
import { SecretControlApi } from './secrets-control-api.js';
import { findService, planServiceCreate, planServiceRemoval, planServiceUpdate } from './services.js';
import { writtenObject } from './store-access.js';
import { filterTasks } from './task-filters.js';

/** What a ServiceControlApi works on. */
export interface ServiceControlApiOptions {
  /** The cluster state; writes go through its proposer (raft on managers). */
  readonly store: Store;
  /** Who leads; writes are refused with NO_QUORUM while no one does. */
  readonly membership: Pick<RaftMembership, 'leaderNodeId'>;
  /** New object IDs; lib/ids newId when left out. */
  readonly newId?: () => string;
  /** Randomness for generated service names; a randomly seeded generator when left out. */
  readonly rng?: Rng;
}

/** The service, task and network calls of the Control API (see the file comment). */
export class ServiceControlApi {
  private readonly store: Store;
  private readonly membership: Pick<RaftMembership, 'leaderNodeId'>;
  private readonly newId: () => string;
  private readonly rng: Rng;
  private writes: Promise<unknown> = Promise.resolve();
  /** The secret and config calls; they share this API's write queue. */
  readonly secrets: SecretControlApi;

  constructor(options: ServiceControlApiOptions) {
    this.store = options.store;
    this.membership = options.membership;
    this.newId = options.newId ?? randomId;
    this.rng = options.rng ?? randomRng();
    this.secrets = new SecretControlApi({ store: this.store, newId: this.newId, requireLeader: () => this.requireLeader(), serialized: (fn) => this.serialized(fn) });
  }

  /** One service by exact ID. NOT_FOUND "service X not found". */
  getService(request: GetServiceRequest): Promise<GetServiceResponse> {
    return Promise.resolve().then(() => ({ service: findService(this.store.memory, request.serviceId) }));
  }

  /** Every service passing `request.filters` (names, name prefixes, ID prefixes, labels), in ID order. */
  listServices(request: ListServicesRequest): Promise<ListServicesResponse> {
    return Promise.resolve().then(() => ({ services: filterObjects(this.store.memory.list('service'), request.filters?.object) }));
  }

  /**
   * Creates a service (no tasks: the orchestrator makes them). INVALID_ARGUMENT for a bad spec,
   * NOT_FOUND for an unknown network, ALREADY_EXISTS for a name in use, CONFLICT for a published
   * port in use or no ingress network, NO_QUORUM without a leader.
   */
  createService(request: CreateServiceRequest): Promise<CreateServiceResponse> {
    return this.serialized(async () => {
      this.requireLeader();
      const service = planServiceCreate(this.store.memory, request.spec, { newId: this.newId, rng: this.rng });
      const events = await this.store.update((tx) => tx.create('service', service));
      return { service: this.written(events, 'service', service.id) };
    });
  }

  /**
   * Replaces a service's spec, or rolls it back to the previous one. INVALID_ARGUMENT for a bad
   * request or spec, a rename or a mode change; NOT_FOUND for an unknown service or network;
   * CONFLICT for a stale version ("update out of sequence"), no previous spec, a port in use;
   * NO_QUORUM without a leader.
   */
  updateService(request: UpdateServiceRequest): Promise<UpdateServiceResponse> {
    return this.serialized(async () => {
      this.requireLeader();
      const service = planServiceUpdate(this.store.memory, request);
      const events = await this.store.update((tx) => tx.update('service', service));
      return { service: this.written(events, 'service', service.id) };
    });
  }

  /**
   * Removes a service: at once when none of its tasks is live (its finished tasks go with it),
   * otherwise it is marked pending delete and the orchestrator shuts its tasks down and removes it.
   * NOT_FOUND for an unknown service, NO_QUORUM without a leader.
   */
  removeService(request: RemoveServiceRequest): Promise<RemoveServiceResponse> {
    return this.serialized(async () => {
      this.requireLeader();
      const removal = planServiceRemoval(this.store.memory, request.serviceId);
      if (removal.kind === 'remove') {
        await this.store.update((tx) => {
          for (const id of removal.taskIds) tx.remove('task', id);
          tx.remove('service', removal.service.id);
        });
      } else if (removal.kind === 'mark') {
        await this.store.update((tx) => tx.update('service', removal.service));
      }
      return {};
    });
  }

  /** One task by exact ID. NOT_FOUND "task X not found". */
  getTask(request: GetTaskRequest): Promise<GetTaskResponse> {
    return Promise.resolve().then(() => ({ task: this.findTask(request.taskId) }));
  }

  /** Every task passing `request.filters`, in ID order. */
  listTasks(request: ListTasksRequest): Promise<ListTasksResponse> {
    return Promise.resolve().then(() => {
      const filters = request.filters;
      const memory = this.store.memory;
      // The index narrows the candidates when the filter names services; the filter still decides.
      const candidates =
        filters !== undefined && filters.serviceIds.length > 0
          ? [...new Set(filters.serviceIds)].flatMap((id) => memory.tasksOfService(id)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
          : memory.list('task');
      return { tasks: filterTasks(candidates, filters) };
    });
  }

  /** Removes a task from the store. NOT_FOUND for an unknown task, NO_QUORUM without a leader. */
  removeTask(request: RemoveTaskRequest): Promise<RemoveTaskResponse> {
    return this.serialized(async () => {
      this.requireLeader();
      const task = this.findTask(request.taskId);
      await this.store.update((tx) => tx.remove('task', task.id));
      return {};
    });
  }

  /** One network by exact ID (the CLI resolves names with resolveNetwork). NOT_FOUND "network X not found". */
  getNetwork(request: GetNetworkRequest): Promise<GetNetworkResponse> {
    return Promise.resolve().then(() => ({ network: this.findNetwork(request.networkId) }));
  }

  /** Every network passing `request.filters` (names, name prefixes, ID prefixes, labels), in ID order. */
  listNetworks(request: ListNetworksRequest): Promise<ListNetworksResponse> {
    return Promise.resolve().then(() => ({ networks: filterObjects(this.store.memory.list('network'), request.filters) }));
  }

  /**
   * Creates a network (not allocated yet: no subnet or VNI until the allocator loop gives them).
   * INVALID_ARGUMENT for a bad spec, ALREADY_EXISTS for a name in use or a second ingress network,
   * CONFLICT for an overlapping subnet, NO_QUORUM without a leader.
   */
  createNetwork(request: CreateNetworkRequest): Promise<CreateNetworkResponse> {
    return this.serialized(async () => {
      this.requireLeader();
      const network = planNetworkCreate(this.store.memory, request.spec, this.newId);
      const events = await this.store.update((tx) => tx.create('network', network));
      return { network: this.written(events, 'network', network.id) };
    });
  }

  /**
   * Removes a network. NOT_FOUND for an unknown network, CONFLICT while a service or a live task uses
   * it (or, for the ingress network, while a service publishes through the routing mesh), NO_QUORUM
   * without a leader.
   */
  removeNetwork(request: RemoveNetworkRequest): Promise<RemoveNetworkResponse> {
    return this.serialized(async () => {
      this.requireLeader();
      const network = planNetworkRemoval(this.store.memory, request.networkId);
      await this.store.update((tx) => tx.remove('network', network.id));
      return {};
    });
  }

  private findTask(taskId: string): Task {
    if (taskId === '') throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'a task ID is required');
    const task = this.store.memory.get('task', taskId);
    if (task === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, `task ${taskId} not found`);
    return task;
  }

  private findNetwork(networkId: string): Network {
    if (networkId === '') throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'a network ID is required');
    const network = this.store.memory.get('network', networkId);
    if (network === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, `network ${networkId} not found`);
    return network;
  }

  /** The object as the write stored it (the store's memory when the proposer's events lack it). */
  private written<K extends 'service' | 'network'>(events: Parameters<typeof writtenObject>[0], kind: K, id: string): K extends 'service' ? Service : Network {
    const value = writtenObject(events, kind, id) ?? this.store.memory.get(kind, id);
    if (value === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, `${kind} ${id} not found after it was written`);
    return value as K extends 'service' ? Service : Network;
  }

  private requireLeader(): void {
    if (this.membership.leaderNodeId() === undefined) throw new TsswarmError(ErrorCode.NO_QUORUM, noLeaderMessage);
  }

  /** Runs `fn` after every earlier write of this API has finished (succeeded or failed). */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.writes.then(fn, fn);
    this.writes = result.catch(() => undefined);
    return result;
  }
}
