/**
 * From the managers' network view of this node (a NetworkViewMessage) plus what only this host
 * knows to netd's ClusterView (pure). The host adds its own underlay address and device and its
 * endpoints' namespaces: an endpoint of this node is made here only when its task has a namespace
 * (attached by the task executor, or found on the host after a restart); the tasks attached here
 * but not yet in the managers' view are added from their own attachments, so a container never
 * starts before its interfaces exist. Items that cannot be made (an endpoint on a network the view
 * lacks, another node claiming this host's underlay address) are left out and named in `skipped`.
 */
import { PortProtocol, type NetworkViewMessage, type NetworkViewNetwork } from '../proto/index.js';
import type { ClusterEndpoint, ClusterIngress, ClusterService, ClusterView } from './desired.js';
import type { DesiredNetwork, HostPort, ServicePort } from './model.js';

/** One network attachment of a task on this host, as the task executor asked for it. */
export interface LocalAttachmentEndpoint {
  readonly networkId: string;
  /** Without prefix. */
  readonly address: string;
  readonly dnsNames: readonly string[];
}

/** A task attached on this host: its namespace and attachments. */
export interface LocalAttachment {
  readonly taskId: string;
  readonly netns: string;
  readonly endpoints: readonly LocalAttachmentEndpoint[];
  /** The networks of its attachments, as the node's assignments carried them. */
  readonly networks: readonly NetworkViewNetwork[];
  /** Ports this host publishes to it (a standalone container's `-p`), on its first address. */
  readonly hostPorts?: readonly Omit<HostPort, 'address'>[];
}

/** What only this host knows. */
export interface HostSide {
  /** This host's underlay address (VXLAN source), as found on its underlay device. */
  readonly hostAddress: string;
  readonly underlayDevice: string;
  /** Tasks attached here (by task id). */
  readonly attachments: ReadonlyMap<string, LocalAttachment>;
  /** The namespace of a task of this node whose namespace exists on this host, else undefined. */
  readonly netnsOf: (taskId: string) => string | undefined;
}

/** A ClusterView and what was left out of it. */
export interface HostClusterView {
  readonly view: ClusterView;
  readonly skipped: readonly string[];
}

/** The id of a task's endpoint on a network (the managers' netview uses the same). */
export function localEndpointId(taskId: string, networkId: string): string {
  return `${taskId}.${networkId}`;
}

function toDesiredNetwork(n: NetworkViewNetwork): DesiredNetwork {
  return { id: n.id, vni: n.vni, subnet: n.subnet, gateway: n.gateway, internal: n.internal, ...(n.encrypted ? { encrypted: true } : {}), ...(n.local === true ? { local: true } : {}) };
}

function protocolName(p: PortProtocol): 'tcp' | 'udp' | undefined {
  return p === PortProtocol.TCP ? 'tcp' : p === PortProtocol.UDP ? 'udp' : undefined;
}

/** The ClusterView of this host from the managers' view (undefined before the first one) and the host side. */
export function clusterViewFor(message: NetworkViewMessage | undefined, host: HostSide): HostClusterView {
  const skipped: string[] = [];
  const nodeId = message?.nodeId ?? '';
  const networks = new Map<string, DesiredNetwork>();
  for (const n of message?.networks ?? []) networks.set(n.id, toDesiredNetwork(n));
  for (const a of host.attachments.values()) for (const n of a.networks) if (!networks.has(n.id)) networks.set(n.id, toDesiredNetwork(n));

  const endpoints: ClusterEndpoint[] = [];
  const fromView = new Map((message?.endpoints ?? []).map((e) => [e.id, e]));
  const localIds = new Set<string>();
  // This host's endpoints: the attached tasks first (they know their namespace), then the view's.
  for (const a of [...host.attachments.values()].sort((x, y) => (x.taskId < y.taskId ? -1 : x.taskId > y.taskId ? 1 : 0))) {
    for (const ep of a.endpoints) {
      const id = localEndpointId(a.taskId, ep.networkId);
      if (!networks.has(ep.networkId)) {
        skipped.push(`endpoint ${id}: network ${ep.networkId} is not known here`);
        continue;
      }
      const known = fromView.get(id);
      localIds.add(id);
      endpoints.push({
        id,
        networkId: ep.networkId,
        hostAddress: host.hostAddress,
        netns: a.netns,
        address: ep.address,
        ...(known !== undefined && known.serviceId !== '' ? { serviceId: known.serviceId } : {}),
        dnsNames: known?.dnsNames ?? ep.dnsNames,
      });
    }
  }
  for (const ep of message?.endpoints ?? []) {
    if (localIds.has(ep.id)) continue;
    if (!networks.has(ep.networkId)) {
      skipped.push(`endpoint ${ep.id}: network ${ep.networkId} is not in the view`);
      continue;
    }
    const mine = ep.nodeId === nodeId && nodeId !== '';
    if (mine) {
      const netns = host.netnsOf(ep.taskId);
      if (netns === undefined) continue; // not attached here (yet, or any more): nothing to make
      localIds.add(ep.id);
      endpoints.push({
        id: ep.id,
        networkId: ep.networkId,
        hostAddress: host.hostAddress,
        netns,
        address: ep.address,
        ...(ep.serviceId !== '' ? { serviceId: ep.serviceId } : {}),
        dnsNames: ep.dnsNames,
      });
      continue;
    }
    if (ep.hostAddr === host.hostAddress || ep.hostAddr === '') {
      skipped.push(`endpoint ${ep.id}: node ${ep.nodeId} has underlay address ${JSON.stringify(ep.hostAddr)}, which is this host's or none`);
      continue;
    }
    endpoints.push({
      id: ep.id,
      networkId: ep.networkId,
      hostAddress: ep.hostAddr,
      netns: '-',
      address: ep.address,
      ...(ep.serviceId !== '' ? { serviceId: ep.serviceId } : {}),
      dnsNames: ep.dnsNames,
    });
  }

  const services: ClusterService[] = [];
  for (const s of message?.services ?? []) {
    if (!networks.has(s.networkId)) continue;
    const ports: ServicePort[] = [];
    for (const p of s.ports) {
      const protocol = protocolName(p.protocol);
      if (protocol !== undefined) ports.push({ protocol, port: p.port });
    }
    services.push({ id: s.id, name: s.name === '' ? s.id : s.name, networkId: s.networkId, vip: s.vip, ports });
  }

  let ingress: ClusterIngress | undefined;
  const mesh = message?.ingress;
  if (mesh !== undefined && networks.has(mesh.networkId)) {
    const hostAddresses: Record<string, string> = {};
    for (const h of mesh.hosts) {
      if (h.nodeId === nodeId) hostAddresses[host.hostAddress] = h.address;
      else if (h.hostAddr !== host.hostAddress && h.hostAddr !== '') hostAddresses[h.hostAddr] = h.address;
      else skipped.push(`ingress host ${h.nodeId}: underlay address ${JSON.stringify(h.hostAddr)} is this host's or none`);
    }
    const published: ClusterIngress['published'][number][] = [];
    for (const p of mesh.published) {
      const protocol = protocolName(p.protocol);
      if (protocol !== undefined) published.push({ serviceId: p.serviceId, protocol, publishedPort: p.publishedPort, targetPort: p.targetPort, ...(p.localOnly === true ? { localOnly: true } : {}) });
    }
    ingress = { networkId: mesh.networkId, hostAddresses, published };
  }

  // Host-mode ports go to the task's first address here (the order of its attachments).
  const hostPorts: HostPort[] = [];
  for (const p of message?.hostPorts ?? []) {
    const protocol = protocolName(p.protocol);
    const target = endpoints.find((ep) => ep.netns !== '-' && ep.id.startsWith(`${p.taskId}.`));
    if (protocol === undefined) continue;
    if (target === undefined) {
      skipped.push(`host port ${p.publishedPort}/${protocol} of task ${p.taskId}: the task has no network endpoint on this host (yet)`);
      continue;
    }
    hostPorts.push({ protocol, publishedPort: p.publishedPort, targetPort: p.targetPort, address: target.address });
  }
  for (const a of host.attachments.values()) {
    const first = a.endpoints[0];
    if (first !== undefined) for (const p of a.hostPorts ?? []) hostPorts.push({ ...p, address: first.address });
  }

  const view: ClusterView = {
    hostAddress: host.hostAddress,
    underlayDevice: host.underlayDevice,
    networks: [...networks.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    endpoints,
    services,
    ...(ingress !== undefined ? { ingress } : {}),
    ...(hostPorts.length > 0 ? { hostPorts } : {}),
  };
  return { view, skipped };
}
