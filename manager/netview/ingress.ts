/**
 * The routing mesh in a node's view (pure): the ingress network, every node's own address on it
 * and the ports services publish through it.
 *
 * A node's address on the ingress network is what its published traffic is SNATed to. The store
 * has no per-node attachment object, so the allocator records it in the ingress network's IPAM
 * state: `network.ipam.configs[i].reserved[ingressAddressKey(nodeId)] = "10.255.0.5"` (or CIDR).
 * A node without one is not in the mesh (it neither serves published ports nor is a return path).
 */
import {
  EndpointMode,
  PortProtocol,
  PublishMode,
  type Network,
  type NetworkViewIngress,
  type NetworkViewIngressHost,
  type NetworkViewPublishedPort,
  type Service,
} from '../../proto/index.js';
import { bareIpv4, compareStrings } from './addresses.js';

/** The key under which the allocator reserves node `nodeId`'s address on the ingress network. */
export function ingressAddressKey(nodeId: string): string {
  return `node:${nodeId}`;
}

/** The ingress network among `networks` (at most one per cluster; the lowest id if the store has more). */
export function ingressNetworkOf(networks: readonly Network[]): Network | undefined {
  return [...networks].filter((n) => n.spec?.ingress === true && !n.pendingDelete).sort((a, b) => compareStrings(a.id, b.id))[0];
}

/** Node `nodeId`'s own address on the ingress network, if the allocator reserved one. */
export function ingressAddressOf(ingress: Network, nodeId: string): string | undefined {
  for (const config of ingress.ipam?.configs ?? []) {
    const value = config.reserved[ingressAddressKey(nodeId)];
    const address = value === undefined ? undefined : bareIpv4(value);
    if (address !== undefined) return address;
  }
  return undefined;
}

/**
 * Ports published through the mesh (publish mode ingress, TCP or UDP, a published port chosen or
 * allocated), in protocol and port order. A port claimed by two services (the Control API refuses
 * that) goes to the service with the lower id, so every node agrees.
 */
export function publishedPorts(services: readonly Service[]): NetworkViewPublishedPort[] {
  const byPort = new Map<string, NetworkViewPublishedPort>();
  for (const svc of [...services].sort((a, b) => compareStrings(a.id, b.id))) {
    if (svc.pendingDelete || svc.spec?.endpoint?.mode === EndpointMode.DNSRR) continue;
    const ports = svc.endpoint?.ports.length ? svc.endpoint.ports : (svc.spec?.endpoint?.ports ?? []);
    for (const p of ports) {
      if (p.publishMode !== PublishMode.INGRESS || p.publishedPort === 0 || p.targetPort === 0) continue;
      if (p.protocol !== PortProtocol.TCP && p.protocol !== PortProtocol.UDP) continue;
      const key = `${p.protocol}/${p.publishedPort}`;
      if (!byPort.has(key)) byPort.set(key, { serviceId: svc.id, protocol: p.protocol, publishedPort: p.publishedPort, targetPort: p.targetPort, ...(p.localOnly === true ? { localOnly: true } : {}) });
    }
  }
  return [...byPort.values()].sort((a, b) => a.protocol - b.protocol || a.publishedPort - b.publishedPort);
}

/** The mesh: every node with an underlay address and an ingress address, in node-id order. */
export function ingressView(ingress: Network, hosts: readonly { readonly nodeId: string; readonly hostAddr: string }[], published: NetworkViewPublishedPort[]): NetworkViewIngress {
  const members: NetworkViewIngressHost[] = [];
  for (const h of [...hosts].sort((a, b) => compareStrings(a.nodeId, b.nodeId))) {
    const address = ingressAddressOf(ingress, h.nodeId);
    if (address !== undefined && h.hostAddr !== '') members.push({ nodeId: h.nodeId, hostAddr: h.hostAddr, address });
  }
  return { networkId: ingress.id, hosts: members, published };
}
