/**
 * How the network commands read their flags and show networks (pure): `network create` flags →
 * NetworkSpec, NETWORK references, the `network ls` table and the docker-style inspect document.
 */
import { invalidArgument } from '../lib/errors.js';
import { cidrContains, cidrOverlaps, cidrWithin, parseAddress, parseCidr, type Cidr } from '../manager/allocator/cidr.js';
import { millisOf } from '../proto/time.js';
import { IPAMFamily, type IPAMConfig, type Network, type NetworkSpec } from '../proto/index.js';
import { parseLabels } from './container-flags.js';
import { renderTable } from './output.js';
import { resolveRef, shortIdChars, type Named } from './service-view.js';

/** The only driver cluster networks have. */
export const overlayDriver = 'overlay';
/** The scope docker shows for cluster networks. */
const swarmScope = 'swarm';
/** The driver of a host's own networks, and their scope. */
export const bridgeDriver = 'bridge';
const localScope = 'local';

/** `swarm` for cluster networks, `local` for a host's bridge networks. */
export function scopeOf(n: Network): string {
  return (n.driverState?.name || n.spec?.driver?.name) === bridgeDriver ? localScope : swarmScope;
}
/** Longest network name, as docker's. */
const maxNetworkNameChars = 63;

/** The options commander collects for `network create`. */
export interface NetworkCreateFlags {
  readonly driver?: string;
  readonly subnet?: readonly string[];
  readonly gateway?: readonly string[];
  readonly ipRange?: readonly string[];
  readonly internal?: boolean;
  readonly attachable?: boolean;
  readonly label?: readonly string[];
  readonly opt?: readonly string[];
}

function wrap<T>(flag: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw invalidArgument(`${flag}: ${(err as Error).message}`);
  }
}

/** The NetworkSpec `network create NAME` asks for; every check happens here. */
export function networkSpec(name: string, f: NetworkCreateFlags): NetworkSpec {
  if (name.length > maxNetworkNameChars || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) {
    throw invalidArgument(`invalid network name ${JSON.stringify(name)}: use letters, digits, '_', '.' and '-', starting with a letter or digit, at most ${maxNetworkNameChars} characters`);
  }
  const driver = f.driver ?? overlayDriver;
  if (driver !== overlayDriver && driver !== bridgeDriver) {
    throw invalidArgument(`--driver: ${JSON.stringify(driver)} is not supported: swarm networks use the ${overlayDriver} driver, this host's own networks the ${bridgeDriver} driver`);
  }
  if (driver === bridgeDriver && f.attachable === true) throw invalidArgument('--attachable is for overlay networks: containers always attach to bridge networks');
  const subnets: [string, Cidr][] = (f.subnet ?? []).map((s) => [s, wrap('--subnet', () => parseCidr(s, 'subnet'))]);
  subnets.forEach(([text, c], i) => {
    const other = subnets.slice(0, i).find(([, o]) => cidrOverlaps(o, c));
    if (other) throw invalidArgument(`--subnet: ${text} overlaps ${other[0]}`);
  });
  const configs: IPAMConfig[] = subnets.map(([text]) => ({ family: IPAMFamily.IPV4, subnet: text, ipRange: '', gateway: '', reserved: {} }));
  const owner = (flag: string, what: string, inside: (c: Cidr) => boolean): IPAMConfig => {
    const i = subnets.findIndex(([, c]) => inside(c));
    const config = configs[i];
    if (config === undefined) throw invalidArgument(`${flag}: ${what} is not inside any --subnet`);
    return config;
  };
  if ((f.gateway ?? []).length > 0 && subnets.length === 0) throw invalidArgument('--gateway needs a --subnet');
  if ((f.ipRange ?? []).length > 0 && subnets.length === 0) throw invalidArgument('--ip-range needs a --subnet');
  for (const g of f.gateway ?? []) {
    const addr = wrap('--gateway', () => parseAddress(g, 'gateway'));
    const config = owner('--gateway', g, (c) => cidrContains(c, addr));
    if (config.gateway !== '') throw invalidArgument(`--gateway: subnet ${config.subnet} has two gateways (${config.gateway}, ${g})`);
    config.gateway = g;
  }
  for (const r of f.ipRange ?? []) {
    const range = wrap('--ip-range', () => parseCidr(r, 'ip-range'));
    const config = owner('--ip-range', r, (c) => cidrWithin(range, c));
    if (config.ipRange !== '') throw invalidArgument(`--ip-range: subnet ${config.subnet} has two ranges (${config.ipRange}, ${r})`);
    config.ipRange = r;
  }
  const options: Record<string, string> = {};
  for (const o of f.opt ?? []) {
    const eq = o.indexOf('=');
    const key = eq < 0 ? o : o.slice(0, eq);
    if (key === '') throw invalidArgument(`--opt: invalid option ${JSON.stringify(o)}: use KEY=VALUE or KEY`);
    options[key] = eq < 0 ? '' : o.slice(eq + 1);
  }
  return {
    annotations: { name, labels: wrap('--label', () => parseLabels(f.label ?? [])) },
    driver: { name: driver, options },
    ipv6Enabled: false,
    internal: f.internal === true,
    ...(configs.length > 0 ? { ipam: { driver: { name: 'default', options: {} }, configs } } : {}),
    attachable: f.attachable === true,
    ingress: false,
  };
}

/** A network's ID and name, for {@link resolveRef}. */
export function networkNamed(n: Network): Named {
  return { id: n.id, name: n.spec?.annotations?.name ?? '' };
}

/** The network `ref` names: exact ID, exact name, unique ID prefix. */
export function resolveNetwork(networks: readonly Network[], ref: string): Network {
  return resolveRef(networks, ref, 'network', networkNamed);
}

/** One row of `network ls`, with docker's field names. */
export interface NetworkRow {
  readonly ID: string;
  readonly Name: string;
  readonly Driver: string;
  readonly Scope: string;
  readonly Internal: boolean;
  readonly Labels: string;
}

/** The `network ls` row of a network. */
export function networkRow(n: Network, noTrunc = false): NetworkRow {
  return {
    ID: noTrunc ? n.id : n.id.slice(0, shortIdChars),
    Name: n.spec?.annotations?.name ?? '',
    Driver: n.driverState?.name || n.spec?.driver?.name || overlayDriver,
    Scope: scopeOf(n),
    Internal: n.spec?.internal ?? false,
    Labels: Object.entries(n.spec?.annotations?.labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  };
}

/** Networks in docker's order: by name. */
export function sortNetworks(networks: readonly Network[]): Network[] {
  return [...networks].sort((a, b) => networkNamed(a).name.localeCompare(networkNamed(b).name, 'en', { numeric: true }) || a.id.localeCompare(b.id));
}

/** The `network ls` table. */
export function networkTable(rows: readonly NetworkRow[]): string {
  return renderTable(['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], rows.map((r) => [r.ID, r.Name, r.Driver, r.Scope]));
}

/** `network ls -f` keys. */
const networkFilterKeys = ['id', 'name', 'label', 'driver', 'scope'] as const;
type NetworkFilterKey = (typeof networkFilterKeys)[number];
/** Parsed `network ls -f` filters. */
export type NetworkFilter = ReadonlyMap<NetworkFilterKey, readonly string[]>;

/** Parses `network ls -f` values. */
export function parseNetworkFilters(texts: readonly string[]): NetworkFilter {
  const out = new Map<NetworkFilterKey, string[]>();
  for (const text of texts) {
    const eq = text.indexOf('=');
    const key = text.slice(0, Math.max(eq, 0));
    if (eq <= 0 || !(networkFilterKeys as readonly string[]).includes(key)) throw invalidArgument(`invalid filter ${JSON.stringify(text)} (keys: ${networkFilterKeys.join(', ')})`);
    out.set(key as NetworkFilterKey, [...(out.get(key as NetworkFilterKey) ?? []), text.slice(eq + 1)]);
  }
  return out;
}

/** The networks that pass every filter key (any of its values). */
export function filterNetworks(networks: readonly Network[], filter: NetworkFilter): Network[] {
  const match = (n: Network, key: NetworkFilterKey, v: string): boolean => {
    const row = networkRow(n, true);
    switch (key) {
      case 'id':
        return n.id.startsWith(v);
      case 'name':
        return row.Name.includes(v);
      case 'driver':
        return row.Driver === v;
      case 'scope':
        return row.Scope === v;
      case 'label': {
        const labels = n.spec?.annotations?.labels ?? {};
        const eq = v.indexOf('=');
        return eq < 0 ? Object.hasOwn(labels, v) : labels[v.slice(0, eq)] === v.slice(eq + 1);
      }
    }
  };
  return networks.filter((n) => [...filter].every(([key, values]) => values.some((v) => match(n, key, v))));
}

/** A network as docker's API shows it (`network inspect`). */
export function networkDocument(n: Network): Record<string, unknown> {
  const spec = n.spec;
  const ipam = (n.ipam?.configs.length ?? 0) > 0 ? n.ipam : spec?.ipam;
  return {
    Name: spec?.annotations?.name ?? '',
    Id: n.id,
    Created: new Date(millisOf(n.meta?.createdAt)).toISOString(),
    Scope: scopeOf(n),
    Driver: n.driverState?.name || spec?.driver?.name || overlayDriver,
    EnableIPv6: spec?.ipv6Enabled ?? false,
    IPAM: {
      Driver: ipam?.driver?.name || 'default',
      Options: ipam?.driver?.options ?? {},
      Config: (ipam?.configs ?? []).map((c) => ({ Subnet: c.subnet, ...(c.ipRange ? { IPRange: c.ipRange } : {}), ...(c.gateway ? { Gateway: c.gateway } : {}) })),
    },
    Internal: spec?.internal ?? false,
    Attachable: spec?.attachable ?? false,
    Ingress: spec?.ingress ?? false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: { ...(spec?.driver?.options ?? {}), ...(n.driverState?.options ?? {}), ...(n.vni && scopeOf(n) === swarmScope ? { 'com.docker.network.driver.overlay.vxlanid_list': String(n.vni) } : {}) },
    Labels: spec?.annotations?.labels ?? {},
  };
}
