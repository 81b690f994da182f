/**
 * netd's core (pure): desired host state + observed host state → the ordered operations that turn
 * one into the other. Nothing is touched that is already right, so planning a converged host gives
 * no operations at all; anything of netd's (by device name prefix) that is not desired, or that is
 * half-made (a crashed run: no fingerprint alias, not enslaved, down), is removed and made again.
 *
 * Order: clear the load balancers of veths about to go → remove stale endpoints and networks (one
 * link group), stale FDB and neighbour entries → replace the host's nft table, turn forwarding on →
 * make networks (bridge, VXLAN) → make endpoint veths (host side, labelled pending) → configure
 * each endpoint's namespace (address, link, default route, load balancer) → enslave the veths and
 * write their fingerprints → write neighbour and FDB entries for remote endpoints.
 */
import { invalidArgument } from '../lib/errors.js';
import { cidrContains, parseAddress, parseCidr } from '../manager/allocator/cidr.js';
import {
  type DesiredHostState,
  type DesiredNetwork,
  type DesiredService,
  type LocalEndpoint,
  type ObservedFdb,
  type ObservedHostState,
  type ObservedLink,
  bridgeMac,
  bridgeName,
  deleteGroup,
  devicePrefix,
  endpointAlias,
  endpointFingerprint,
  lbAliasSeparator,
  locationSeparator,
  parseEndpointAlias,
  pendingEndpointAlias,
  maxLocalNetworkNumber,
  mtuOf,
  networkFingerprint,
  prefixOf,
  vethName,
  vxlanName,
  vxlanPort,
} from './model.js';
import { lbFingerprint, lbScript, noLbFingerprint } from './lb.js';
import { nftDeleteScript, nftFingerprint, nftReplaceScript, nftRules } from './nft.js';

/** The host tool an operation runs with. */
export type Tool = 'ip' | 'bridge' | 'nft' | 'sysctl';

/** One step: a line of an `ip -batch` or `bridge -batch` file, a whole `nft -f` script, or a `sysctl -w` setting. */
export interface Operation {
  readonly tool: Tool;
  /** Endpoint namespace to run in; absent means the host's namespace. */
  readonly netns?: string;
  readonly command: string;
}

interface Ops {
  ipHost: (command: string) => void;
  bridgeHost: (command: string) => void;
  ipIn: (netns: string, command: string) => void;
  nft: (script: string) => void;
  nftIn: (netns: string, script: string) => void;
  sysctl: (setting: string) => void;
  readonly list: Operation[];
}

function newOps(): Ops {
  const list: Operation[] = [];
  return {
    list,
    ipHost: (command) => list.push({ tool: 'ip', command }),
    bridgeHost: (command) => list.push({ tool: 'bridge', command }),
    ipIn: (netns, command) => list.push({ tool: 'ip', netns, command }),
    nft: (command) => list.push({ tool: 'nft', command }),
    nftIn: (netns, command) => list.push({ tool: 'nft', netns, command }),
    sysctl: (command) => list.push({ tool: 'sysctl', command }),
  };
}

/** Plans the operations that bring a host from `observed` to `desired`. Throws INVALID_ARGUMENT on inconsistent desired state. */
export function plan(desired: DesiredHostState, observed: ObservedHostState): Operation[] {
  validate(desired);
  const ops = newOps();
  const links = new Map(observed.links.map((l) => [l.name, l]));
  const networks = [...desired.networks].sort((a, b) => a.vni - b.vni);
  const byId = new Map(networks.map((n) => [n.id, n]));
  const netOk = new Set<number>();
  for (const n of networks) if (networkIsRight(n, desired, links)) netOk.add(n.vni);

  const servicesOf = new Map<string, DesiredService[]>();
  for (const svc of desired.services) servicesOf.set(svc.networkId, [...(servicesOf.get(svc.networkId) ?? []), svc]);
  // Device names hash where the endpoint lives: once per endpoint, not once per comparison and use.
  const vethNames = new Map(desired.local.map((ep) => [ep, vethName(ep)]));
  const veth = (ep: LocalEndpoint): string => vethNames.get(ep) ?? vethName(ep);
  const endpoints = [...desired.local].sort((a, b) => cmp(veth(a), veth(b)));
  const epOk = new Set<string>();
  const aliasOf = new Map<string, string>();
  for (const ep of endpoints) {
    const n = byId.get(ep.networkId);
    if (!n) continue;
    aliasOf.set(veth(ep), endpointAlias(ep, n, lbFingerprint(servicesOf.get(n.id) ?? [])));
    if (netOk.has(n.vni) && endpointIsRight(ep, n, links)) epOk.add(veth(ep));
  }

  // 0. Veths about to go (stale, or to be remade) may have a load balancer in their namespace,
  //    their alias says where; clear it first, while the alias still exists to say so.
  for (const link of observed.links) {
    if (!link.name.startsWith(devicePrefix.veth) || epOk.has(link.name)) continue;
    const at = parseEndpointAlias(link.alias);
    if (at && at.lb !== noLbFingerprint) ops.nftIn(at.netns, lbScript(at.ifname, []));
  }

  // 1. Remove what is stale or half-made (veths, VXLAN devices, bridges; a veth's local peer goes with it).
  const keep = new Set<string>([...epOk]);
  for (const n of networks) {
    if (!netOk.has(n.vni)) continue;
    keep.add(bridgeName(n.vni));
    // A local bridge network has no VXLAN device: one left under its number goes.
    if (n.local !== true) keep.add(vxlanName(n.vni));
  }
  const observedNames = observed.links.map((l) => l.name).sort(cmp);
  //    All of them go into one link group, deleted in one call (one kernel batch).
  const doomed: string[] = [];
  const gone = new Set<string>();
  for (const prefix of [devicePrefix.veth, devicePrefix.vxlan, devicePrefix.bridge]) {
    for (const name of observedNames) {
      if (!name.startsWith(prefix) || keep.has(name) || gone.has(name)) continue;
      doomed.push(name);
      const peer = links.get(name)?.peer;
      if (peer !== undefined) gone.add(peer);
    }
  }
  for (const name of doomed) if (links.get(name)?.group !== deleteGroup) ops.ipHost(`link set dev ${name} group ${deleteGroup}`);
  if (doomed.length > 0) ops.ipHost(`link del group ${deleteGroup}`);

  // Remote entries on networks that stay: what to remove now, what to write at the end.
  const remoteAdds = staleAndMissingEntries(desired, observed, networks, netOk, ops);

  // 2. Firewall: isolation and internal networks, one atomic transaction.
  const rules = nftRules(networks, desired.hostPorts ?? []);
  if (networks.length > 0 && observed.nftFingerprint !== nftFingerprint(rules)) ops.nft(nftReplaceScript(rules));
  if (networks.length === 0 && observed.nftFingerprint !== undefined) ops.nft(nftDeleteScript());

  // Outbound traffic of non-internal networks is routed and masqueraded by the host (nft.ts), which
  // needs forwarding on. netd turns it on and never off (other things on the host may rely on it).
  if (networks.some((n) => !n.internal) && observed.ipForward !== true) ops.sysctl('net.ipv4.ip_forward=1');

  // 3. Networks: bridge and VXLAN device, fingerprint written last.
  for (const n of networks) {
    if (netOk.has(n.vni)) continue;
    const br = bridgeName(n.vni);
    const vx = vxlanName(n.vni);
    const fp = networkFingerprint(n, desired);
    ops.ipHost(`link add ${br} address ${bridgeMac(desired.underlayAddress, n.vni)} mtu ${mtuOf(n)} type bridge`);
    if (n.local === true) {
      // A local bridge network: the bridge alone, with the gateway address.
      ops.ipHost(`link set dev ${br} addrgenmode none`);
      ops.ipHost(`addr add ${n.gateway}/${prefixOf(n)} dev ${br}`);
      ops.ipHost(`link set dev ${br} up`);
      ops.ipHost(`link set dev ${br} alias ${fp}`);
      continue;
    }
    ops.ipHost(
      `link add ${vx} mtu ${mtuOf(n)} type vxlan id ${n.vni} dstport ${vxlanPort} local ${desired.underlayAddress} dev ${desired.underlayDevice} nolearning`,
    );
    // No IPv6 link-local on netd's host-side devices either: each would send DAD, MLD and router
    // solicitations into the bridge when it comes up, flooded to every port (with 1,000 ports that
    // overflows the kernel's receive backlog and first packets to endpoints get lost).
    ops.ipHost(`link set dev ${br} addrgenmode none`);
    ops.ipHost(`link set dev ${vx} addrgenmode none`);
    ops.ipHost(`link set dev ${vx} master ${br} up`);
    ops.ipHost(`link set dev ${vx} type bridge_slave learning off neigh_suppress on`);
    ops.ipHost(`addr add ${n.gateway}/${prefixOf(n)} dev ${br}`);
    if (n.hostAddress !== undefined) ops.ipHost(`addr add ${n.hostAddress}/${prefixOf(n)} dev ${br}`);
    ops.ipHost(`link set dev ${br} up`);
    ops.ipHost(`link set dev ${vx} alias ${fp}`);
    ops.ipHost(`link set dev ${br} alias ${fp}`);
  }

  // 4. Endpoints: veth with its far end in the endpoint's namespace, configured there, then enslaved.
  const todo = endpoints.filter((ep) => !epOk.has(veth(ep)));
  for (const ep of todo) {
    const mtu = mtuOf(byId.get(ep.networkId) ?? {});
    ops.ipHost(`link add ${veth(ep)} mtu ${mtu} type veth peer name ${ep.ifname} mtu ${mtu} address ${ep.mac} netns ${ep.netns}`);
    ops.ipHost(`link set dev ${veth(ep)} alias ${pendingEndpointAlias(ep)}`);
  }
  for (const ep of todo) {
    const n = byId.get(ep.networkId);
    if (!n) continue;
    ops.ipIn(ep.netns, 'link set dev lo up');
    ops.ipIn(ep.netns, `addr add ${ep.address}/${prefixOf(n)} dev ${ep.ifname}`);
    // Overlays are IPv4: no IPv6 link-local, so no DAD, MLD and router solicitations flooded to
    // every port when many endpoints come up at once (Docker does the same on IPv4-only networks).
    ops.ipIn(ep.netns, `link set dev ${ep.ifname} addrgenmode none`);
    ops.ipIn(ep.netns, `link set dev ${ep.ifname} up`);
    if (ep.defaultRoute) ops.ipIn(ep.netns, `route add default via ${n.gateway} dev ${ep.ifname}`);
  }
  // VIP load balancers: new endpoints with services, and kept endpoints whose services changed.
  const lbStale = endpoints.filter((ep) => epOk.has(veth(ep)) && links.get(veth(ep))?.alias !== aliasOf.get(veth(ep)));
  for (const ep of [...todo, ...lbStale]) {
    const services = servicesOf.get(ep.networkId) ?? [];
    const isNew = !epOk.has(veth(ep));
    if (!isNew || services.length > 0) ops.nftIn(ep.netns, lbScript(ep.ifname, services));
  }
  // Grouped by kind (all masters, all ups, all aliases): measured twice as fast as per device.
  // The aliases come after `up` on purpose: `ip` looking each port up runs its pending carrier
  // event (the bridge enabling the port) at once. Written before `up`, the ip batch takes a sixth
  // of the CPU, but the kernel's linkwatch worker is left with all those events, 100 to 200 a
  // round, and in 2 of 23 rounds of 1,000 endpoints the last ones passed no traffic for 4-5 s.
  for (const ep of todo) ops.ipHost(`link set dev ${veth(ep)} addrgenmode none`);
  for (const ep of todo) {
    const n = byId.get(ep.networkId);
    if (n) ops.ipHost(`link set dev ${veth(ep)} master ${bridgeName(n.vni)}`);
  }
  for (const ep of todo) ops.ipHost(`link set dev ${veth(ep)} up`);
  for (const ep of [...todo, ...lbStale]) ops.ipHost(`link set dev ${veth(ep)} alias ${aliasOf.get(veth(ep)) ?? ''}`);

  // 5. Remote endpoints: ARP answered by the local bridge (neighbour suppression), frames sent
  //    straight to the remote VTEP. No flooding entries exist, so unknown traffic goes nowhere.
  for (const line of remoteAdds.neighbours) ops.ipHost(line);
  for (const line of remoteAdds.fdb) ops.bridgeHost(line);
  return ops.list;
}

function networkIsRight(n: DesiredNetwork, desired: DesiredHostState, links: Map<string, ObservedLink>): boolean {
  const fp = networkFingerprint(n, desired);
  const br = links.get(bridgeName(n.vni));
  const vx = links.get(vxlanName(n.vni));
  if (n.local === true) return br !== undefined && br.kind === 'bridge' && br.alias === fp && br.up && br.group !== deleteGroup;
  return (
    br !== undefined &&
    vx !== undefined &&
    br.kind === 'bridge' &&
    vx.kind === 'vxlan' &&
    br.alias === fp &&
    vx.alias === fp &&
    br.up &&
    vx.up &&
    br.group !== deleteGroup &&
    vx.group !== deleteGroup &&
    vx.master === br.name
  );
}

function endpointIsRight(ep: LocalEndpoint, n: DesiredNetwork, links: Map<string, ObservedLink>): boolean {
  const link = links.get(vethName(ep));
  return (
    link !== undefined &&
    link.kind === 'veth' &&
    link.up &&
    link.group !== deleteGroup &&
    link.master === bridgeName(n.vni) &&
    (link.alias ?? '').startsWith(`${endpointFingerprint(ep, n)}${lbAliasSeparator}`) &&
    (link.alias ?? '').endsWith(`${locationSeparator}${ep.netns}/${ep.ifname}`)
  );
}

/**
 * Removes (into `ops`) neighbour and FDB entries on kept networks that no remote endpoint wants,
 * and returns the lines that write the missing or wrong ones. Networks being made anew start empty.
 */
function staleAndMissingEntries(
  desired: DesiredHostState,
  observed: ObservedHostState,
  networks: readonly DesiredNetwork[],
  netOk: ReadonlySet<number>,
  ops: Ops,
): { neighbours: string[]; fdb: string[] } {
  const adds = { neighbours: [] as string[], fdb: [] as string[] };
  const byId = new Map(networks.map((n) => [n.id, n]));
  const remoteByVni = new Map<number, { address: string; mac: string; hostAddress: string }[]>();
  for (const r of desired.remote) {
    const n = byId.get(r.networkId);
    if (!n) continue;
    const list = remoteByVni.get(n.vni) ?? [];
    list.push(r);
    remoteByVni.set(n.vni, list);
  }
  for (const n of networks) {
    if (n.local === true) continue;
    const br = bridgeName(n.vni);
    const vx = vxlanName(n.vni);
    const kept = netOk.has(n.vni);
    const remotes = [...(remoteByVni.get(n.vni) ?? [])].sort((a, b) => cmp(a.mac, b.mac));
    const wantMacs = new Map(remotes.map((r) => [r.mac, r.hostAddress]));
    const wantNeigh = new Map(remotes.map((r) => [r.address, r.mac]));

    const selfByMac = new Map<string, ObservedFdb[]>();
    const masterByMac = new Map<string, ObservedFdb>();
    const haveNeigh = new Map<string, string | undefined>();
    if (kept) {
      for (const f of observed.fdb) {
        if (f.dev !== vx) continue;
        if (f.self) selfByMac.set(f.mac, [...(selfByMac.get(f.mac) ?? []), f]);
        else if (f.state === 'static') masterByMac.set(f.mac, f);
      }
      for (const nb of observed.neighbours) if (nb.dev === br && nb.permanent) haveNeigh.set(nb.address, nb.mac);
    }
    for (const mac of [...selfByMac.keys()].sort(cmp)) if (!wantMacs.has(mac)) ops.bridgeHost(`fdb del ${mac} dev ${vx} self`);
    for (const mac of [...masterByMac.keys()].sort(cmp)) if (!wantMacs.has(mac)) ops.bridgeHost(`fdb del ${mac} dev ${vx} master`);
    for (const addr of [...haveNeigh.keys()].sort(cmp)) if (!wantNeigh.has(addr)) ops.ipHost(`neigh del ${addr} dev ${br}`);

    for (const r of remotes) {
      const self = selfByMac.get(r.mac) ?? [];
      const selfRight = self.length === 1 && self[0]?.dst === r.hostAddress && self[0].state === 'permanent';
      if (!selfRight && self.length > 1) adds.fdb.push(`fdb del ${r.mac} dev ${vx} self`);
      if (!selfRight) adds.fdb.push(`fdb replace ${r.mac} dev ${vx} dst ${r.hostAddress} self permanent`);
      if (!masterByMac.has(r.mac)) adds.fdb.push(`fdb replace ${r.mac} dev ${vx} master static`);
      if (haveNeigh.get(r.address) !== r.mac) adds.neighbours.push(`neigh replace ${r.address} lladdr ${r.mac} dev ${br} nud permanent`);
    }
  }
  return adds;
}

/** Throws INVALID_ARGUMENT when the desired state cannot be made as a whole. */
function validate(d: DesiredHostState): void {
  const ids = new Set<string>();
  const vnis = new Set<number>();
  for (const n of d.networks) {
    if (ids.has(n.id)) throw invalidArgument(`network ${n.id} is listed twice`);
    if (vnis.has(n.vni)) throw invalidArgument(`networks share VNI ${n.vni}`);
    ids.add(n.id);
    vnis.add(n.vni);
  }
  for (const n of d.networks) {
    const subnet = parseCidr(n.subnet, `subnet of network ${n.id}`);
    if (!cidrContains(subnet, parseAddress(n.gateway, `gateway of network ${n.id}`))) {
      throw invalidArgument(`gateway ${n.gateway} of network ${n.id} is outside ${n.subnet}`);
    }
    if (n.hostAddress !== undefined && !cidrContains(subnet, parseAddress(n.hostAddress, `host address on network ${n.id}`))) {
      throw invalidArgument(`host address ${n.hostAddress} on network ${n.id} is outside ${n.subnet}`);
    }
    const ports = new Set<string>();
    for (const p of n.published ?? []) {
      const ok = (x: number): boolean => Number.isInteger(x) && x >= 1 && x <= 65535;
      if ((p.protocol !== 'tcp' && p.protocol !== 'udp') || !ok(p.publishedPort) || !ok(p.targetPort)) {
        throw invalidArgument(`network ${n.id}: invalid published port ${String(p.publishedPort)}:${String(p.targetPort)}/${String(p.protocol)}`);
      }
      if (ports.has(`${p.protocol}/${p.publishedPort}`)) throw invalidArgument(`port ${p.publishedPort}/${p.protocol} is published twice`);
      ports.add(`${p.protocol}/${p.publishedPort}`);
      if (n.hostAddress === undefined) throw invalidArgument(`network ${n.id} publishes ports but has no host address`);
      for (const b of p.backends) parseAddress(b, `backend of published port ${p.publishedPort}`);
    }
  }
  parseAddress(d.underlayAddress, 'underlay address');
  if (!ifnamePattern.test(d.underlayDevice)) throw invalidArgument(`invalid underlay device ${JSON.stringify(d.underlayDevice)}`);
  const places = new Set<string>();
  const routes = new Set<string>();
  for (const ep of d.local) {
    const n = d.networks.find((x) => x.id === ep.networkId);
    if (!n) throw invalidArgument(`endpoint ${ep.id} is on network ${ep.networkId}, which this host does not have`);
    if (!netnsPattern.test(ep.netns)) throw invalidArgument(`endpoint ${ep.id}: invalid namespace name ${JSON.stringify(ep.netns)}`);
    if (!ifnamePattern.test(ep.ifname)) throw invalidArgument(`endpoint ${ep.id}: invalid interface name ${JSON.stringify(ep.ifname)}`);
    if (!macPattern.test(ep.mac)) throw invalidArgument(`endpoint ${ep.id}: invalid MAC ${JSON.stringify(ep.mac)}`);
    if (!cidrContains(parseCidr(n.subnet), parseAddress(ep.address, `address of endpoint ${ep.id}`))) {
      throw invalidArgument(`endpoint ${ep.id}: address ${ep.address} is outside ${n.subnet} of network ${n.id}`);
    }
    const place = `${ep.netns}/${ep.ifname}`;
    if (places.has(place)) throw invalidArgument(`two endpoints want interface ${ep.ifname} in namespace ${ep.netns}`);
    places.add(place);
    if (ep.defaultRoute) {
      if (routes.has(ep.netns)) throw invalidArgument(`two endpoints want the default route of namespace ${ep.netns}`);
      routes.add(ep.netns);
    }
  }
  for (const svc of d.services) {
    const n = d.networks.find((x) => x.id === svc.networkId);
    if (!n) throw invalidArgument(`service ${svc.id} is on network ${svc.networkId}, which this host does not have`);
    if (!cidrContains(parseCidr(n.subnet), parseAddress(svc.vip, `VIP of service ${svc.id}`))) {
      throw invalidArgument(`service ${svc.id}: VIP ${svc.vip} is outside ${n.subnet} of network ${n.id}`);
    }
    for (const p of svc.ports) {
      if ((p.protocol !== 'tcp' && p.protocol !== 'udp') || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
        throw invalidArgument(`service ${svc.id}: invalid port ${String(p.port)}/${String(p.protocol)}`);
      }
    }
    for (const b of svc.backends) parseAddress(b, `backend of service ${svc.id}`);
  }
  const localIds = new Set(d.networks.filter((n) => n.local === true).map((n) => n.id));
  for (const n of d.networks) {
    const local = n.local === true;
    if (local && (n.vni < 1 || n.vni > maxLocalNetworkNumber)) throw invalidArgument(`local network ${n.id} has number ${n.vni}, outside 1..${maxLocalNetworkNumber}`);
    if (!local && n.vni <= maxLocalNetworkNumber) throw invalidArgument(`overlay network ${n.id} has VNI ${n.vni}, which is in the local networks' range`);
    if (local && (n.hostAddress !== undefined || (n.published ?? []).length > 0)) throw invalidArgument(`local network ${n.id} cannot carry the routing mesh`);
  }
  for (const r of d.remote) {
    if (!ids.has(r.networkId)) throw invalidArgument(`remote endpoint ${r.id} is on network ${r.networkId}, which this host does not have`);
    if (localIds.has(r.networkId)) throw invalidArgument(`remote endpoint ${r.id} is on local network ${r.networkId}, which has no other hosts`);
    if (!macPattern.test(r.mac)) throw invalidArgument(`remote endpoint ${r.id}: invalid MAC ${JSON.stringify(r.mac)}`);
    parseAddress(r.address, `address of remote endpoint ${r.id}`);
    parseAddress(r.hostAddress, `host address of remote endpoint ${r.id}`);
  }
}

/** Interface names the kernel takes (IFNAMSIZ - 1) and that are safe in a batch line. */
const ifnamePattern = /^[A-Za-z0-9_.-]{1,15}$/;
/** Named network namespaces that are safe in a batch line (short enough for a 255-byte alias). */
const netnsPattern = /^[A-Za-z0-9_.-]{1,180}$/;
/** A unicast MAC in lower case. */
const macPattern = /^[0-9a-f][02468ace](:[0-9a-f]{2}){5}$/;

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
