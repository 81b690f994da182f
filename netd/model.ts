/**
 * What netd wants a host's network to look like (desired) and what it found there (observed), plus
 * the naming and fingerprint rules that tie the two together (pure). Devices netd owns in a host
 * namespace are recognised by name prefix: `tsb-VNI` (bridge), `tsv-VNI` (VXLAN), `tse-HASH`
 * (host end of an endpoint's veth). Each carries a fingerprint of its full configuration in its
 * ifalias, written as the last step of making it, so a device from a crashed run (no alias, or an
 * old one) is seen as wrong and remade.
 */
import { createHash } from 'node:crypto';
import { parseAddress, parseCidr } from '../manager/allocator/cidr.js';

/** MTU of everything on an overlay: a 1500-byte underlay minus 50 bytes of VXLAN encapsulation. */
export const overlayMtu = 1450;
/** The MTU of a network's devices. */
export function mtuOf(network: Pick<DesiredNetwork, 'local'>): number {
  return network.local === true ? bridgeMtu : overlayMtu;
}

/** MTU of a local bridge network (no encapsulation). */
export const bridgeMtu = 1500;
/** Highest "VNI" of a local bridge network: they number from 1 up, overlays from 4096 up. */
export const maxLocalNetworkNumber = 4095;
/** UDP port of VXLAN (IANA). */
export const vxlanPort = 4789;
/** Name of the nftables table netd owns in each host namespace. */
export const nftTable = 'tsswarm_netd';
/**
 * Link group netd moves devices into before deleting them all with one `ip link del group`: the
 * kernel then unregisters them in one batch (one RCU grace period, not one per device: 1,000 veths
 * go in a tenth of a second instead of twenty). A device seen in this group is never kept.
 */
export const deleteGroup = 4242;
/** Prefix of every ifalias netd writes. */
export const aliasPrefix = 'tsswarm:';

/** Prefixes of the devices netd owns; anything else in the namespace is left alone. */
export const devicePrefix = { bridge: 'tsb-', vxlan: 'tsv-', veth: 'tse-' } as const;

/** An overlay network as one host needs it. */
export interface DesiredNetwork {
  readonly id: string;
  readonly vni: number;
  /** CIDR, e.g. 10.0.0.0/24. */
  readonly subnet: string;
  readonly gateway: string;
  /** `--internal`: no default route in endpoints, no traffic out of the network. */
  readonly internal: boolean;
  /** `--opt encrypted`: refused (never made unencrypted); see esp.ts. */
  readonly encrypted?: boolean;
  /**
   * A one-host network of the local `bridge` driver: a bridge with MTU 1500 and no VXLAN device;
   * its `vni` is a local number (1..maxLocalNetworkNumber) naming the bridge.
   */
  readonly local?: boolean;
  /** The ingress network only: this host's own address on it (published traffic is SNATed to it). */
  readonly hostAddress?: string;
  /** The ingress network only: ports published on every host (the routing mesh). */
  readonly published?: readonly PublishedPort[];
}

/** A port published through the routing mesh: any host's `publishedPort` → a task's `targetPort`. */
export interface PublishedPort {
  readonly protocol: 'tcp' | 'udp';
  readonly publishedPort: number;
  readonly targetPort: number;
  /** Task addresses on the ingress network, in a stable order (this host's only when localOnly). */
  readonly backends: readonly string[];
  /** Only to this host's tasks, without SNAT: the task sees the client's address. */
  readonly localOnly?: boolean;
}

/** A port published in host mode: this host's `publishedPort` → one local task's `targetPort`. */
export interface HostPort {
  readonly protocol: 'tcp' | 'udp';
  readonly publishedPort: number;
  readonly targetPort: number;
  /** The task's address (without prefix) on one of its networks here. */
  readonly address: string;
}

/** An endpoint on this host: one veth into a namespace. */
export interface LocalEndpoint {
  readonly id: string;
  readonly networkId: string;
  /** Named network namespace (under /run/netns) the endpoint lives in. */
  readonly netns: string;
  /** Interface name inside that namespace, e.g. eth0. */
  readonly ifname: string;
  readonly address: string;
  readonly mac: string;
  /** Whether this attachment carries the namespace's default route (at most one per namespace). */
  readonly defaultRoute: boolean;
}

/** An endpoint on another host that local endpoints must reach. */
export interface RemoteEndpoint {
  readonly id: string;
  readonly networkId: string;
  readonly address: string;
  readonly mac: string;
  /** Underlay address of the host it lives on (the VTEP). */
  readonly hostAddress: string;
}

/** Everything netd makes on one host. */
export interface DesiredHostState {
  /** This host's underlay address (VXLAN source). */
  readonly underlayAddress: string;
  /** Underlay device VXLAN packets leave by. */
  readonly underlayDevice: string;
  readonly networks: readonly DesiredNetwork[];
  readonly local: readonly LocalEndpoint[];
  readonly remote: readonly RemoteEndpoint[];
  /** Services with a VIP on this host's networks; every local endpoint on the network balances them. */
  readonly services: readonly DesiredService[];
  /** Ports this host publishes in host mode, each to one local task. */
  readonly hostPorts?: readonly HostPort[];
}

/** A port of a service VIP. */
export interface ServicePort {
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
}

/** A service reached through a virtual IP on one network. */
export interface DesiredService {
  readonly id: string;
  readonly networkId: string;
  readonly vip: string;
  readonly ports: readonly ServicePort[];
  /** Task addresses on the network, in a stable order. */
  readonly backends: readonly string[];
}

/** A link as `ip -d link show` reports it. */
export interface ObservedLink {
  readonly name: string;
  /** bridge, vxlan, veth, ... ('' when the kernel gives none). */
  readonly kind: string;
  readonly master?: string;
  readonly up: boolean;
  readonly alias?: string;
  /** The other end of a veth when it lives in the same namespace (deleting one deletes both). */
  readonly peer?: string;
  /** Link group (0 = default). */
  readonly group: number;
}

/** A forwarding-database entry netd may own: on a VXLAN device, `self` (with dst) or `master` static. */
export interface ObservedFdb {
  readonly mac: string;
  readonly dev: string;
  /** `self` entry of the VXLAN device (where to send); else a bridge (`master`) entry. */
  readonly self: boolean;
  readonly dst?: string;
  /** permanent, static, '' (learned) ... */
  readonly state: string;
}

/** A neighbour entry on one of netd's bridges. */
export interface ObservedNeighbour {
  readonly address: string;
  readonly dev: string;
  readonly mac?: string;
  readonly permanent: boolean;
}

/** What netd found in a host namespace. */
export interface ObservedHostState {
  readonly links: readonly ObservedLink[];
  readonly fdb: readonly ObservedFdb[];
  readonly neighbours: readonly ObservedNeighbour[];
  /** Fingerprint in netd's nft table comment; undefined when the table does not exist. */
  readonly nftFingerprint: string | undefined;
  /** net.ipv4.ip_forward of the host namespace (undefined when not read). */
  readonly ipForward?: boolean;
}

/** An observed state with nothing in it (a fresh host). */
export const emptyObservedState: ObservedHostState = { links: [], fdb: [], neighbours: [], nftFingerprint: undefined };

/** Docker's scheme: 02:42 followed by the four bytes of the IPv4 address. */
export function macFromAddress(address: string): string {
  const n = parseAddress(address);
  const bytes = [0x02, 0x42, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Bridge device of a network. */
export function bridgeName(vni: number): string {
  return `${devicePrefix.bridge}${vni}`;
}

/** VXLAN device of a network. */
export function vxlanName(vni: number): string {
  return `${devicePrefix.vxlan}${vni}`;
}

/** Host end of an endpoint's veth: fixed by where the other end lives (at most 15 characters). */
export function vethName(ep: Pick<LocalEndpoint, 'netns' | 'ifname'>): string {
  return `${devicePrefix.veth}${hash(`${ep.netns}/${ep.ifname}`).slice(0, 11)}`;
}

/** The bridge's MAC: fixed per host and network, never of the 02:42 endpoint form. */
export function bridgeMac(underlayAddress: string, vni: number): string {
  const h = hash(`${underlayAddress}/${vni}`);
  const second = h.slice(0, 2) === '42' ? '43' : h.slice(0, 2);
  return ['02', second, h.slice(2, 4), h.slice(4, 6), h.slice(6, 8), h.slice(8, 10)].join(':');
}

/** Prefix length of a network's subnet. */
export function prefixOf(network: DesiredNetwork): number {
  return parseCidr(network.subnet).prefix;
}

/** The alias a network's bridge and VXLAN device carry: changes whenever anything about them would. */
export function networkFingerprint(network: DesiredNetwork, state: Pick<DesiredHostState, 'underlayAddress' | 'underlayDevice'>): string {
  const { vni, subnet, gateway, internal } = network;
  const body =
    network.local === true
      ? JSON.stringify(['local', vni, subnet, gateway, internal, bridgeMtu])
      : JSON.stringify([vni, subnet, gateway, internal, network.hostAddress ?? null, state.underlayAddress, state.underlayDevice, overlayMtu, vxlanPort]);
  return `${aliasPrefix}net:${vni}:${hash(body).slice(0, 16)}`;
}

/** Separates an endpoint's own fingerprint from its load-balancer fingerprint in the alias. */
export const lbAliasSeparator = ':lb:';
/** Separates the fingerprints from where the far end lives (`:at:NETNS/IFNAME`). */
export const locationSeparator = ':at:';

/**
 * The alias an endpoint's host-side veth carries once made: its own fingerprint, its load
 * balancer's, and where its far end lives, so that netd can clean up in that namespace later
 * even when the endpoint is no longer desired (its namespace is not otherwise known then).
 */
export function endpointAlias(ep: LocalEndpoint, network: DesiredNetwork, lbFingerprint: string): string {
  return `${endpointFingerprint(ep, network)}${lbAliasSeparator}${lbFingerprint}${locationSeparator}${ep.netns}/${ep.ifname}`;
}

/** The alias a veth carries from the moment it is made until it is complete. */
export function pendingEndpointAlias(ep: Pick<LocalEndpoint, 'netns' | 'ifname'>): string {
  return `${aliasPrefix}pending${locationSeparator}${ep.netns}/${ep.ifname}`;
}

/** What an endpoint veth's alias says: where its far end lives and its load-balancer fingerprint (undefined while pending). */
export function parseEndpointAlias(alias: string | undefined): { netns: string; ifname: string; lb: string | undefined } | undefined {
  const m = /^tsswarm:(?:pending|ep:[0-9a-f]+:lb:([0-9a-z]+)):at:([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(alias ?? '');
  if (!m) return undefined;
  return { netns: m[2] ?? '', ifname: m[3] ?? '', lb: m[1] };
}

/** The fingerprint of an endpoint's veth and interface (not its load balancer). */
export function endpointFingerprint(ep: LocalEndpoint, network: DesiredNetwork): string {
  const body = JSON.stringify([ep.netns, ep.ifname, ep.address, ep.mac, ep.defaultRoute, network.vni, network.subnet, network.gateway, mtuOf(network)]);
  return `${aliasPrefix}ep:${hash(body).slice(0, 16)}`;
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
