/**
 * Shared fixtures of the Control API tests: nodes, a cluster object with a real root CA, a fake
 * raft group, and a ControlApi over a MemoryStore with a LocalProposer.
 */
import { ControlApi } from '../../../manager/controlapi/control-api.js';
import type { RaftMember, RaftMembership } from '../../../manager/controlapi/raft-membership.js';
import { newJoinToken } from '../../../manager/ca/join-token.js';
import { createRootCa, rootCaMessage, type RootCa } from '../../../manager/ca/root-ca.js';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { LocalProposer, Store } from '../../../manager/store/store.js';
import { Cluster, Node, NodeAvailability, NodeRole, NodeState } from '../../../proto/index.js';

/** The ID of the test cluster. */
export const clusterId = 'clusteraaaaaaaaaaaaaaaaaa';

/** What a test node looks like. */
export interface NodeInit {
  readonly hostname?: string;
  /** The role its certificate grants; spec.role defaults to it. */
  readonly role?: NodeRole;
  readonly specRole?: NodeRole;
  readonly state?: NodeState;
  readonly availability?: NodeAvailability;
  readonly labels?: Record<string, string>;
  readonly engineLabels?: Record<string, string>;
}

/** A node as the store would hold it. */
export function node(id: string, init: NodeInit = {}): Node {
  const role = init.role ?? NodeRole.WORKER;
  return Node.create({
    id,
    role,
    spec: { role: init.specRole ?? role, availability: init.availability ?? NodeAvailability.ACTIVE, annotations: { name: '', labels: init.labels ?? {} } },
    description: { hostname: init.hostname ?? id, engine: { engineVersion: '1', labels: init.engineLabels ?? {} } },
    status: { state: init.state ?? NodeState.READY, addr: '198.18.0.1' },
  });
}

/** A raft group the test sets by hand. */
export class FakeMembership implements RaftMembership {
  constructor(
    public list: RaftMember[] = [],
    public leader: string | undefined = undefined,
  ) {}

  members(): readonly RaftMember[] {
    return this.list;
  }

  leaderNodeId(): string | undefined {
    return this.leader;
  }
}

/** A member of the fake raft group. */
export function member(nodeId: string, raftId: number, reachable = true): RaftMember {
  return { nodeId, raftId, addr: `198.18.0.${raftId}:2377`, reachable };
}

let sharedRoot: Promise<RootCa> | undefined;

/** One root CA for the whole test file (making one costs a key generation). */
export function testRoot(): Promise<RootCa> {
  sharedRoot ??= createRootCa();
  return sharedRoot;
}

/** The cluster object as `swarm init` writes it: named "default", with the root CA and both tokens. */
export async function clusterObject(): Promise<Cluster> {
  const root = await testRoot();
  return Cluster.create({
    id: clusterId,
    spec: {
      annotations: { name: 'default', labels: {} },
      orchestration: { taskHistoryRetentionLimit: 5 },
      dispatcher: { heartbeatPeriod: { seconds: 5, nanos: 0 } },
      caConfig: { nodeCertExpiry: { seconds: 90 * 24 * 3600, nanos: 0 } },
      raft: { snapshotInterval: 10_000, keepOldSnapshots: 0, logEntriesForSlowFollowers: 500, heartbeatTick: 1, electionTick: 10 },
    },
    rootCa: rootCaMessage(root, { worker: newJoinToken(root.digestHex), manager: newJoinToken(root.digestHex) }),
    defaultAddressPool: ['10.0.0.0/8'],
    subnetSize: 24,
    vxlanUdpPort: 4789,
  });
}

/** A store holding `nodes` (and `cluster`, if given), a fake raft group, and a ControlApi over both. */
export async function fixture(
  nodes: readonly Node[],
  members: RaftMember[] = [],
  leader?: string,
  cluster?: Cluster,
): Promise<{ store: Store; membership: FakeMembership; api: ControlApi }> {
  const memory = new MemoryStore();
  const store = new Store(memory, new LocalProposer(memory), () => 1_700_000_000_000);
  await store.update((tx) => {
    for (const n of nodes) tx.create('node', n);
    if (cluster !== undefined) tx.create('cluster', cluster);
  });
  const membership = new FakeMembership(members, leader);
  return { store, membership, api: new ControlApi({ store, membership }) };
}

/** The store's applied version and a deep copy of every node and cluster, to prove nothing changed. */
export function storeState(store: Store): { version: number; nodes: Node[]; clusters: Cluster[] } {
  return {
    version: store.memory.version,
    nodes: structuredClone(store.memory.list('node')),
    clusters: structuredClone(store.memory.list('cluster')),
  };
}
