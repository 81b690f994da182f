/**
 * From the cluster's view (networks with their VNI and subnet, every endpoint with the underlay
 * address of its host) to what one host must have (pure): the networks it has endpoints on, those
 * endpoints, and the other hosts' endpoints on the same networks.
 */
import { invalidArgument } from '../lib/errors.js';
import { parseAddress } from '../manager/allocator/cidr.js';
import {
  type DesiredHostState,
  type DesiredNetwork,
  type DesiredService,
  type HostPort,
  type LocalEndpoint,
  type PublishedPort,
  type RemoteEndpoint,
  type ServicePort,
  bridgeMac,
  macFromAddress,
} from './model.js';

/** An endpoint somewhere in the cluster. */
export interface ClusterEndpoint {
  readonly id: string;
  readonly networkId: string;
  /** Underlay address of the host it lives on. */
  readonly hostAddress: string;
  /** Its network namespace on that host. */
  readonly netns: string;
  /** Interface name in the namespace; default eth0, eth1 ... in network-id order. */
  readonly ifname?: string;
  readonly address: string;
  /** Default: derived from the address (02:42:...). */
  readonly mac?: string;
  /** The service this endpoint is a task of (a backend of the service's VIP on this network). */
  readonly serviceId?: string;
  /** Names it answers to in DNS on this network (container name, network aliases). */
  readonly dnsNames?: readonly string[];
}

/** A service with a VIP on one network (a service on two networks is two of these). */
export interface ClusterService {
  readonly id: string;
  /** Its DNS name (default: the id). */
  readonly name?: string;
  readonly networkId: string;
  readonly vip: string;
  readonly ports: readonly ServicePort[];
}

/** The routing mesh: the ingress network, every host's address on it, the published ports. */
export interface ClusterIngress {
  readonly networkId: string;
  /** Underlay address of each host → its own address on the ingress network. */
  readonly hostAddresses: Readonly<Record<string, string>>;
  readonly published: readonly {
    readonly serviceId: string;
    readonly protocol: 'tcp' | 'udp';
    readonly publishedPort: number;
    readonly targetPort: number;
    /** Only to this host's own tasks, keeping the client's address. */
    readonly localOnly?: boolean;
  }[];
}

/** The cluster's view, as netd on one host receives it. */
export interface ClusterView {
  readonly hostAddress: string;
  readonly underlayDevice: string;
  readonly networks: readonly DesiredNetwork[];
  readonly endpoints: readonly ClusterEndpoint[];
  readonly services?: readonly ClusterService[];
  readonly ingress?: ClusterIngress;
  /** Host-mode ports of this host's tasks. */
  readonly hostPorts?: readonly HostPort[];
}

/** What host `view.hostAddress` must have. */
export function desiredForHost(view: ClusterView): DesiredHostState {
  const byId = new Map(view.networks.map((n) => [n.id, n]));
  for (const ep of view.endpoints) {
    if (!byId.has(ep.networkId)) throw invalidArgument(`endpoint ${ep.id} is on unknown network ${ep.networkId}`);
  }
  const mine = view.endpoints.filter((ep) => ep.hostAddress === view.hostAddress);
  const here = new Set(mine.map((ep) => ep.networkId));
  const ingress = view.ingress;
  const myIngress = ingress?.hostAddresses[view.hostAddress];
  if (ingress && !byId.has(ingress.networkId)) throw invalidArgument(`ingress network ${ingress.networkId} is unknown`);
  // Every host in the mesh has the ingress network, with or without tasks on it.
  if (ingress && myIngress !== undefined) here.add(ingress.networkId);
  const networks = view.networks
    .filter((n) => here.has(n.id))
    .map((n): DesiredNetwork => {
      if (!ingress || n.id !== ingress.networkId || myIngress === undefined) return n;
      const published: PublishedPort[] = ingress.published.map((p) => ({
        protocol: p.protocol,
        publishedPort: p.publishedPort,
        targetPort: p.targetPort,
        ...(p.localOnly === true ? { localOnly: true } : {}),
        backends: view.endpoints
          .filter((ep) => ep.serviceId === p.serviceId && ep.networkId === n.id && (p.localOnly !== true || ep.hostAddress === view.hostAddress))
          .map((ep) => ep.address)
          .sort((a, b) => parseAddress(a) - parseAddress(b)),
      }));
      return { ...n, hostAddress: myIngress, published };
    });

  const byNetns = new Map<string, ClusterEndpoint[]>();
  for (const ep of mine) byNetns.set(ep.netns, [...(byNetns.get(ep.netns) ?? []), ep]);
  const local: LocalEndpoint[] = [];
  for (const [netns, eps] of [...byNetns.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    eps.sort((a, b) => (a.networkId < b.networkId ? -1 : a.networkId > b.networkId ? 1 : 0));
    let routed = false;
    eps.forEach((ep, i) => {
      const internal = byId.get(ep.networkId)?.internal ?? false;
      const defaultRoute = !internal && !routed;
      if (defaultRoute) routed = true;
      local.push({
        id: ep.id,
        networkId: ep.networkId,
        netns,
        ifname: ep.ifname ?? `eth${i}`,
        address: ep.address,
        mac: ep.mac ?? macFromAddress(ep.address),
        defaultRoute,
      });
    });
  }
  const remote: RemoteEndpoint[] = view.endpoints
    .filter((ep) => ep.hostAddress !== view.hostAddress && here.has(ep.networkId))
    .map((ep) => ({ id: ep.id, networkId: ep.networkId, address: ep.address, mac: ep.mac ?? macFromAddress(ep.address), hostAddress: ep.hostAddress }));
  // Other hosts' ingress addresses live on their bridges: tasks here reply to them through the overlay.
  const ingressNet = ingress ? byId.get(ingress.networkId) : undefined;
  if (ingress && ingressNet && myIngress !== undefined) {
    for (const [underlay, address] of Object.entries(ingress.hostAddresses).sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (underlay === view.hostAddress) continue;
      remote.push({ id: `ingress@${underlay}`, networkId: ingressNet.id, address, mac: bridgeMac(underlay, ingressNet.vni), hostAddress: underlay });
    }
  }
  // dnsrr services (no VIP) are names in DNS only: nothing to balance.
  const services: DesiredService[] = (view.services ?? [])
    .filter((svc) => here.has(svc.networkId) && svc.vip !== '')
    .map((svc) => ({
      id: svc.id,
      networkId: svc.networkId,
      vip: svc.vip,
      ports: svc.ports,
      backends: view.endpoints
        .filter((ep) => ep.serviceId === svc.id && ep.networkId === svc.networkId)
        .map((ep) => ep.address)
        .sort((a, b) => parseAddress(a) - parseAddress(b)),
    }));
  // A host port needs the task's network here; ports that clash keep the first task (stable order).
  const hostPorts: HostPort[] = [];
  const taken = new Set<string>();
  for (const p of view.hostPorts ?? []) {
    const key = `${p.protocol}/${p.publishedPort}`;
    if (taken.has(key) || !local.some((ep) => ep.address === p.address)) continue;
    taken.add(key);
    hostPorts.push(p);
  }
  return { underlayAddress: view.hostAddress, underlayDevice: view.underlayDevice, networks, local, remote, services, ...(hostPorts.length > 0 ? { hostPorts } : {}) };
}
