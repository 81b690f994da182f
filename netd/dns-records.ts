/**
 * What the embedded DNS server answers (pure), per network, so a name resolves only for callers
 * on a network that has it: `service` → its VIP (its task addresses for --endpoint-mode dnsrr),
 * `tasks.service` → its task addresses, container
 * names and aliases → their address. A single-label name (or `tasks.X`) that the caller's network
 * does not have is NXDOMAIN; any other name goes to the host's resolvers.
 */
import type { ClusterView } from './desired.js';
import { DnsType, Rcode } from './dns-message.js';

/** Names of one network: lower-case name → addresses (stable order). */
export type NetworkNames = ReadonlyMap<string, readonly string[]>;

/** Everything the server knows: names per network, and which network each gateway address serves. */
export interface DnsZone {
  readonly names: ReadonlyMap<string, NetworkNames>;
  /** gateway address → network id (the server listens on these). */
  readonly gateways: ReadonlyMap<string, string>;
}

/** What to do with a query. */
export type DnsDecision =
  | { readonly kind: 'answer'; readonly rcode: number; readonly addresses: readonly string[] }
  | { readonly kind: 'forward' };

/** The zone for the networks present on host `view.hostAddress` (those with a local endpoint). */
export function dnsZoneForHost(view: ClusterView): DnsZone {
  const here = new Set(view.endpoints.filter((e) => e.hostAddress === view.hostAddress).map((e) => e.networkId));
  const names = new Map<string, Map<string, string[]>>();
  const gateways = new Map<string, string>();
  for (const n of view.networks) {
    if (!here.has(n.id)) continue;
    gateways.set(n.gateway, n.id);
    names.set(n.id, new Map());
  }
  const add = (networkId: string, name: string, address: string): void => {
    const table = names.get(networkId);
    if (!table) return;
    const key = normalize(name);
    const list = table.get(key) ?? [];
    if (!list.includes(address)) list.push(address);
    table.set(key, list);
  };
  for (const ep of view.endpoints) for (const name of ep.dnsNames ?? []) add(ep.networkId, name, ep.address);
  for (const svc of view.services ?? []) {
    const name = svc.name ?? svc.id;
    const tasks = view.endpoints.filter((e) => e.serviceId === svc.id && e.networkId === svc.networkId).map((e) => e.address).sort(byAddress);
    // A VIP service's name is its VIP; a dnsrr service's name is every task address (no VIP).
    if (svc.vip !== '') add(svc.networkId, name, svc.vip);
    else for (const a of tasks) add(svc.networkId, name, a);
    for (const a of tasks) add(svc.networkId, `tasks.${name}`, a);
    if (tasks.length === 0) {
      names.get(svc.networkId)?.set(`tasks.${normalize(name)}`, []);
      if (svc.vip === '') names.get(svc.networkId)?.set(normalize(name), []);
    }
  }
  return { names, gateways };
}

/** Decides a query that arrived for network `networkId`. */
export function resolve(zone: DnsZone, networkId: string, qname: string, qtype: number): DnsDecision {
  const name = normalize(qname);
  const table = zone.names.get(networkId);
  const addresses = table?.get(name);
  if (addresses !== undefined) {
    const wantsA = qtype === DnsType.A || qtype === DnsType.ANY;
    return { kind: 'answer', rcode: Rcode.NOERROR, addresses: wantsA ? addresses : [] };
  }
  const labels = name.split('.');
  if (labels.length === 1 || (labels.length === 2 && labels[0] === 'tasks')) return { kind: 'answer', rcode: Rcode.NXDOMAIN, addresses: [] };
  return { kind: 'forward' };
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function byAddress(a: string, b: string): number {
  const n = (x: string): number => x.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return n(a) - n(b);
}
