/**
 * A service's VIPs in a node's view (pure): one entry per virtual IP on a network the node has,
 * with the ports the VIP balances (the target ports of the service's ports, TCP and UDP) and the
 * service's name for DNS. `--endpoint-mode dnsrr` services have no VIP: their entries carry an empty
 * address (DNS then answers the name with the task addresses; there is nothing to balance).
 */
import { EndpointMode, PortProtocol, type NetworkViewPort, type NetworkViewService, type Service } from '../../proto/index.js';
import { bareIpv4 } from './addresses.js';

/** The ports a service's VIPs balance, in protocol and port order. */
export function vipPorts(service: Service): NetworkViewPort[] {
  const ports = service.endpoint?.ports.length ? service.endpoint.ports : (service.spec?.endpoint?.ports ?? []);
  const seen = new Map<string, NetworkViewPort>();
  for (const p of ports) {
    if (p.targetPort === 0 || (p.protocol !== PortProtocol.TCP && p.protocol !== PortProtocol.UDP)) continue;
    seen.set(`${p.protocol}/${p.targetPort}`, { protocol: p.protocol, port: p.targetPort });
  }
  return [...seen.values()].sort((a, b) => a.protocol - b.protocol || a.port - b.port);
}

/** The VIPs of `service` on the networks `wanted` has. */
export function serviceVips(service: Service, wanted: (networkId: string) => boolean): NetworkViewService[] {
  const name = service.spec?.annotations?.name ?? '';
  if (service.spec?.endpoint?.mode === EndpointMode.DNSRR) {
    // No VIP: an entry with an empty address per network, so DNS answers the name with task addresses.
    const networks = [...new Set((service.spec.task?.networks ?? []).map((n) => n.target))].filter((id) => id !== '' && wanted(id)).sort();
    return networks.map((networkId) => ({ id: service.id, name: name === '' ? service.id : name, networkId, vip: '', ports: [] }));
  }
  const ports = vipPorts(service);
  const out: NetworkViewService[] = [];
  for (const vip of service.endpoint?.virtualIps ?? []) {
    const address = bareIpv4(vip.addr);
    if (address === undefined || !wanted(vip.networkId)) continue;
    if (out.some((s) => s.networkId === vip.networkId)) continue; // one VIP per network
    out.push({ id: service.id, name: name === '' ? service.id : name, networkId: vip.networkId, vip: address, ports });
  }
  return out;
}
