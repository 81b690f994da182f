/**
 * The node and cluster calls of the Control API (`tsswarm node ...`, `tsswarm swarm update`,
 * `swarm join-token --rotate`), as plain async functions from request to response over the store,
 * modelled on SwarmKit's controlapi. Reads come from the store's memory, with manager status filled
 * from the raft group; writes are one store transaction each, made only after every check passed,
 * so a refused request changes nothing. Writes from this API run one at a time, so that the
 * manager checks of one demotion see the result of the one before.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import {
  NodeRole,
  type Cluster,
  type GetClusterRequest,
  type GetClusterResponse,
  type GetNodeRequest,
  type GetNodeResponse,
  type ListNodesRequest,
  type ListNodesResponse,
  type Node,
  type RemoveNodeRequest,
  type RemoveNodeResponse,
  type UpdateClusterRequest,
  type UpdateClusterResponse,
  type UpdateNodeRequest,
  type UpdateNodeResponse,
  type Version,
} from '../../proto/index.js';
import type { StoreEvent } from '../store/index.js';
import type { Store } from '../store/index.js';
import { validateClusterSpec } from './cluster-spec.js';
import { rotateJoinTokens, type RandomBytes } from './join-token-rotation.js';
import { checkDemotion, checkRemoval, desiredRole } from './manager-safety.js';
import { filterNodes } from './node-filters.js';
import { validateNodeSpec } from './node-spec.js';
import { withManagerStatus, type RaftMembership } from './raft-membership.js';
import { redactCluster } from './redact.js';

/** Docker's words when the managers have no leader. */
export const noLeaderMessage =
  "The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.";

/** What a ControlApi works on. */
export interface ControlApiOptions {
  /** The cluster state; writes go through its proposer (raft on managers). */
  readonly store: Store;
  /** The raft group as the local member sees it, for manager status and the quorum checks. */
  readonly membership: RaftMembership;
  /** Random bytes for new join token secrets; node:crypto randomBytes when left out. */
  readonly randomBytes?: RandomBytes;
}

/** The node and cluster calls of the Control API (see the file comment). */
export class ControlApi {
  private readonly store: Store;
  private readonly membership: RaftMembership;
  private readonly randomBytes: RandomBytes | undefined;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(options: ControlApiOptions) {
    this.store = options.store;
    this.membership = options.membership;
    this.randomBytes = options.randomBytes;
  }

  /** One node by exact ID, with its manager status. NOT_FOUND "node X not found". */
  getNode(request: GetNodeRequest): Promise<GetNodeResponse> {
    return Promise.resolve().then(() => ({ node: this.present(this.findNode(request.nodeId)) }));
  }

  /** Every node passing `request.filters`, in ID order, with manager status. */
  listNodes(request: ListNodesRequest): Promise<ListNodesResponse> {
    return Promise.resolve().then(() => {
      const members = this.membership.members();
      const leader = this.membership.leaderNodeId();
      return { nodes: filterNodes(this.store.memory.list('node'), request.filters).map((n) => withManagerStatus(n, members, leader)) };
    });
  }

  /**
   * Replaces a node's spec. INVALID_ARGUMENT for a bad request or spec, NOT_FOUND for an unknown node,
   * CONFLICT for a stale node_version or a demotion that would leave no manager or lose quorum,
   * NO_QUORUM when the swarm has no leader.
   */
  updateNode(request: UpdateNodeRequest): Promise<UpdateNodeResponse> {
    return this.serialized(async () => {
      if (request.nodeId === '') throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'a node ID is required');
      const read = requireVersion(request.nodeVersion, 'node');
      validateNodeSpec(request.spec);
      const spec = request.spec;
      this.requireLeader();
      const node = this.findNode(request.nodeId);
      checkVersion('node', node.id, node.meta?.version, read);
      if (desiredRole(node) === NodeRole.MANAGER && spec.role === NodeRole.WORKER) {
        checkDemotion(node, this.store.memory.list('node'), this.membership.members());
      }
      const events = await this.store.update((tx) => tx.update('node', { ...node, spec, meta: { ...node.meta, version: { index: read } } }));
      return { node: this.present(written(events, 'node', node.id) ?? this.findNode(node.id)) };
    });
  }

  /**
   * Removes a node. INVALID_ARGUMENT without an ID, NOT_FOUND for an unknown node, CONFLICT for a
   * manager (always) or a node that is not down (unless `force`), NO_QUORUM without a leader.
   */
  removeNode(request: RemoveNodeRequest): Promise<RemoveNodeResponse> {
    return this.serialized(async () => {
      if (request.nodeId === '') throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'a node ID is required');
      this.requireLeader();
      const node = this.findNode(request.nodeId);
      checkRemoval(node, this.membership.members(), request.force);
      await this.store.update((tx) => tx.remove('node', node.id));
      return {};
    });
  }

  /** The cluster (the only one when `clusterId` is empty), without its CA key. */
  getCluster(request: GetClusterRequest): Promise<GetClusterResponse> {
    return Promise.resolve().then(() => ({ cluster: redactCluster(this.findCluster(request.clusterId)) }));
  }

  /**
   * Replaces the cluster's spec and rotates the join tokens `request.rotation` names. INVALID_ARGUMENT
   * for a bad request or spec, NOT_FOUND / NOT_IN_SWARM without the cluster, CONFLICT for a stale
   * cluster_version, UNSUPPORTED for autolock, NO_QUORUM without a leader. The answer has no CA key.
   */
  updateCluster(request: UpdateClusterRequest): Promise<UpdateClusterResponse> {
    return this.serialized(async () => {
      const read = requireVersion(request.clusterVersion, 'cluster');
      if (request.spec === undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'invalid cluster spec: a spec is required');
      this.requireLeader();
      const cluster = this.findCluster(request.clusterId);
      checkVersion('cluster', cluster.id, cluster.meta?.version, read);
      const spec = validateClusterSpec(request.spec, cluster);
      const rootCa = rotateJoinTokens(cluster.rootCa, request.rotation, this.randomBytes);
      const next: Cluster = { ...cluster, spec, meta: { ...cluster.meta, version: { index: read } } };
      if (rootCa !== undefined) next.rootCa = rootCa;
      const events = await this.store.update((tx) => tx.update('cluster', next));
      return { cluster: redactCluster(written(events, 'cluster', cluster.id) ?? this.findCluster(cluster.id)) };
    });
  }

  private findNode(nodeId: string): Node {
    if (nodeId === '') throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'a node ID is required');
    const node = this.store.memory.get('node', nodeId);
    if (node === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, `node ${nodeId} not found`);
    return node;
  }

  private findCluster(clusterId: string): Cluster {
    if (clusterId !== '') {
      const cluster = this.store.memory.get('cluster', clusterId);
      if (cluster === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, `cluster ${clusterId} not found`);
      return cluster;
    }
    const clusters = this.store.memory.list('cluster');
    const only = clusters[0];
    if (only === undefined) throw new TsswarmError(ErrorCode.NOT_IN_SWARM, 'there is no cluster object: this node is not a manager of an initialized swarm');
    if (clusters.length > 1) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `there are ${clusters.length} clusters; give a cluster ID`);
    return only;
  }

  private present(node: Node): Node {
    return withManagerStatus(node, this.membership.members(), this.membership.leaderNodeId());
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

/** The version index an update request carries; INVALID_ARGUMENT when it carries none. */
function requireVersion(version: Version | undefined, kind: string): number {
  if (version === undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `${kind}_version is required: send the version of the ${kind} you read`);
  return version.index;
}

/** CONFLICT when the object is no longer at the version the caller read. */
function checkVersion(kind: string, id: string, current: Version | undefined, read: number): void {
  const now = current?.index ?? 0;
  if (now !== read) {
    throw new TsswarmError(
      ErrorCode.CONFLICT,
      `update out of sequence: ${kind} ${id} is at version ${now}, but the update was made from version ${read}; ` +
        `someone changed it in between: inspect it again and retry`,
    );
  }
}

/** The stored object a write's events carry for `kind` / `id`. */
function written<K extends 'node' | 'cluster'>(events: readonly StoreEvent[], kind: K, id: string): (K extends 'node' ? Node : Cluster) | undefined {
  for (const e of events) {
    if (e.object.kind === kind && e.object.value.id === id) return e.object.value as K extends 'node' ? Node : Cluster;
  }
  return undefined;
}
