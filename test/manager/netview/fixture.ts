/**
 * A cluster in a MemoryStore for the network view tests: four nodes, an overlay with a service
 * published through the routing mesh, a second overlay, a network the allocator has not finished,
 * and tasks in every state that matters (running, starting, finished, unplaced, on a node without
 * an address, shutting down).
 */
import { LocalProposer, MemoryStore, Store } from '../../../manager/store/index.js';
import { ingressAddressKey } from '../../../manager/netview/index.js';
import {
  EndpointMode,
  IPAMFamily,
  Network,
  Node,
  NodeRole,
  NodeState,
  PortProtocol,
  PublishMode,
  Service,
  Task,
  TaskState,
} from '../../../proto/index.js';

/** Node underlay addresses (n3 has no tasks, n4 no address yet). */
export const addr = { n1: '198.18.0.2', n2: '198.18.0.3', n3: '198.18.0.4' } as const;

function network(id: string, vni: number, subnet: string, gateway: string, extra: { ingress?: boolean; internal?: boolean; reserved?: Record<string, string>; encrypted?: boolean } = {}): Network {
  return Network.create({
    id,
    spec: {
      annotations: { name: id },
      internal: extra.internal ?? false,
      ingress: extra.ingress ?? false,
      driver: { name: 'overlay', options: extra.encrypted === true ? { encrypted: '' } : {} },
    },
    vni,
    ipam: { configs: [{ family: IPAMFamily.IPV4, subnet, gateway, ipRange: '', reserved: extra.reserved ?? {} }] },
  });
}

/** Options of a fixture task. */
export interface TaskInit {
  readonly node: string;
  readonly state: TaskState;
  readonly desired?: TaskState;
  readonly service?: string;
  readonly nets: readonly [string, string][];
  readonly aliases?: readonly string[];
}

/** A task (not stored). */
export function task(id: string, init: TaskInit): Task {
  return Task.create({
    id,
    serviceId: init.service ?? '',
    nodeId: init.node,
    annotations: { name: `${init.service ?? 'x'}.${id}` },
    desiredState: init.desired ?? TaskState.RUNNING,
    status: { state: init.state, message: '' },
    networks: init.nets.map(([networkId, address]) => ({ networkId, addresses: [address], aliases: [...(init.aliases ?? [])] })),
  });
}

/** The fixture cluster in a store. */
export async function fixtureStore(): Promise<{ store: Store; memory: MemoryStore }> {
  const memory = new MemoryStore();
  const store = new Store(memory, new LocalProposer(memory));
  await store.update((tx) => {
    for (const [id, a] of [['n1', addr.n1], ['n2', `::ffff:${addr.n2}`], ['n3', addr.n3], ['n4', '']] as const) {
      tx.create('node', Node.create({ id, role: NodeRole.WORKER, status: { state: NodeState.READY, message: '', addr: a } }));
    }
    tx.create('network', network('appnet', 4097, '10.0.1.0/24', '10.0.1.1'));
    tx.create('network', network('other', 4098, '10.0.2.0/24', '10.0.2.1'));
    tx.create('network', network('unalloc', 0, '', ''));
    tx.create('network', network('ingress', 4096, '10.255.0.0/16', '10.255.0.1', { ingress: true, reserved: { [ingressAddressKey('n1')]: '10.255.0.2', [ingressAddressKey('n2')]: '10.255.0.3/16' } }));
    tx.create('service', Service.create({
      id: 'web',
      spec: { annotations: { name: 'web' }, endpoint: { mode: EndpointMode.VIP, ports: [{ name: '', protocol: PortProtocol.TCP, targetPort: 80, publishedPort: 8080, publishMode: PublishMode.INGRESS }] } },
      endpoint: {
        ports: [{ name: '', protocol: PortProtocol.TCP, targetPort: 80, publishedPort: 8080, publishMode: PublishMode.INGRESS }],
        virtualIps: [{ networkId: 'appnet', addr: '10.0.1.2/24' }, { networkId: 'ingress', addr: '10.255.0.10/16' }],
      },
    }));
    tx.create('service', Service.create({
      id: 'db',
      spec: { annotations: { name: 'db' }, endpoint: { mode: EndpointMode.DNSRR, ports: [] } },
      endpoint: { ports: [], virtualIps: [{ networkId: 'other', addr: '10.0.2.2/24' }] },
    }));
    tx.create('task', task('w1', { node: 'n1', state: TaskState.RUNNING, service: 'web', nets: [['appnet', '10.0.1.3/24'], ['ingress', '10.255.0.11/16']], aliases: ['www'] }));
    tx.create('task', task('w2', { node: 'n2', state: TaskState.RUNNING, service: 'web', nets: [['appnet', '10.0.1.4/24'], ['ingress', '10.255.0.12/16']] }));
    tx.create('task', task('w3', { node: 'n2', state: TaskState.STARTING, service: 'web', nets: [['appnet', '10.0.1.5/24'], ['ingress', '10.255.0.13/16']] }));
    tx.create('task', task('w4', { node: 'n2', state: TaskState.RUNNING, desired: TaskState.SHUTDOWN, service: 'web', nets: [['appnet', '10.0.1.6/24']] }));
    tx.create('task', task('old', { node: 'n1', state: TaskState.COMPLETE, service: 'web', nets: [['appnet', '10.0.1.7/24']] }));
    tx.create('task', task('unplaced', { node: '', state: TaskState.PENDING, service: 'web', nets: [['appnet', '10.0.1.8/24']] }));
    tx.create('task', task('far', { node: 'n4', state: TaskState.RUNNING, service: 'web', nets: [['appnet', '10.0.1.9/24']] }));
    tx.create('task', task('o1', { node: 'n2', state: TaskState.RUNNING, service: 'db', nets: [['other', '10.0.2.3/24']] }));
    tx.create('task', task('u1', { node: 'n1', state: TaskState.RUNNING, nets: [['unalloc', '10.9.9.9/24']] }));
  });
  return { store, memory };
}
