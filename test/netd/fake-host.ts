/**
 * A fake host for plan's unit tests: it executes plan's operations the way ip, bridge and nft would
 * on a real host namespace (devices, masters, aliases, FDB, neighbours, the nft table, interfaces
 * in endpoint namespaces) and refuses what the kernel would refuse, so tests can check that
 * plan's output applies cleanly and converges without a lab.
 */
import type { DesiredHostState, ObservedFdb, ObservedHostState, ObservedNeighbour } from '../../netd/model.js';
import { parseNftFingerprint } from '../../netd/nft.js';
import { plan, type Operation } from '../../netd/plan.js';
import type { Rng } from '../../lib/rng.js';

interface FakeLink {
  kind: string;
  master?: string;
  up: boolean;
  alias?: string;
  peer?: string;
  group?: number;
}

/** One host namespace and the endpoint namespaces it reaches. */
export class FakeHost {
  readonly links = new Map<string, FakeLink>();
  fdb: ObservedFdb[] = [];
  neighbours: ObservedNeighbour[] = [];
  nftFingerprint: string | undefined;
  ipForward = false;
  /** Endpoint namespace → load-balancer table → the script that made it. */
  readonly lbTables = new Map<string, Map<string, string>>();
  /** Endpoint namespace → interface → configured (address set and up). */
  readonly namespaces = new Map<string, Map<string, { addresses: string[]; up: boolean; defaultRoute: boolean }>>();

  constructor(nonNetdLinks: readonly string[] = ['lo', 'eth0']) {
    for (const name of nonNetdLinks) this.links.set(name, { kind: name === 'lo' ? '' : 'veth', up: true });
  }

  /** What observe() would report. */
  observed(): ObservedHostState {
    return {
      links: [...this.links.entries()].map(([name, l]) => ({
        name,
        kind: l.kind,
        up: l.up,
        group: l.group ?? 0,
        ...(l.master === undefined ? {} : { master: l.master }),
        ...(l.alias === undefined ? {} : { alias: l.alias }),
        ...(l.peer === undefined ? {} : { peer: l.peer }),
      })),
      fdb: this.fdb.map((f) => ({ ...f })),
      neighbours: this.neighbours.map((n) => ({ ...n })),
      nftFingerprint: this.nftFingerprint,
      ipForward: this.ipForward,
    };
  }

  /** Runs operations in order; throws like the tool would on the first one that fails. */
  applyAll(ops: readonly Operation[]): void {
    for (const op of ops) this.apply(op);
  }

  private deleteLink(name: string): void {
    const l = this.links.get(name);
    if (!l) throw new Error(`Cannot find device "${name}"`);
    this.links.delete(name);
    if (l.peer?.startsWith('@')) {
      const [ns, ifname] = l.peer.slice(1).split('/');
      this.namespaces.get(ns ?? '')?.delete(ifname ?? '');
    } else if (l.peer !== undefined) this.links.delete(l.peer);
    for (const other of this.links.values()) if (other.master === name) delete other.master;
    this.fdb = this.fdb.filter((f) => f.dev !== name);
    this.neighbours = this.neighbours.filter((n) => n.dev !== name);
  }

  apply(op: Operation): void {
    const w = op.command.split(' ');
    const fail = (why: string): never => {
      throw new Error(`${op.tool}${op.netns === undefined ? '' : ` -n ${op.netns}`} "${op.command}": ${why}`);
    };
    if (op.tool === 'sysctl') {
      if (op.command !== 'net.ipv4.ip_forward=1') fail('unknown sysctl');
      this.ipForward = true;
      return;
    }
    if (op.tool === 'nft' && op.netns !== undefined) {
      const table = /^table ip (\S+)\n/.exec(op.command)?.[1] ?? fail('no table');
      const tables = this.lbTables.get(op.netns) ?? new Map<string, string>();
      if (op.command.includes(`table ip ${table} {`)) tables.set(table, op.command);
      else tables.delete(table);
      this.lbTables.set(op.netns, tables);
      return;
    }
    if (op.tool === 'nft') {
      if (/^delete table inet \S+\n$/.test(op.command)) {
        if (this.nftFingerprint === undefined) fail('No such file or directory');
        this.nftFingerprint = undefined;
      } else this.nftFingerprint = parseNftFingerprint(op.command) ?? '';
      return;
    }
    if (op.netns !== undefined) {
      const ns = this.namespaces.get(op.netns);
      const dev = w[w.indexOf('dev') + 1] ?? '';
      if (op.command === 'link set dev lo up') return;
      if (op.command.endsWith(' addrgenmode none')) {
        if (!ns?.has(dev)) fail(`Cannot find device "${dev}"`);
        return;
      }
      const iface = ns?.get(dev);
      if (!iface) return fail(`Cannot find device "${dev}"`);
      if (w[0] === 'addr') iface.addresses.push(w[2] ?? '');
      else if (w[0] === 'link') iface.up = true;
      else if (w[0] === 'route') {
        if (iface.defaultRoute) fail('File exists');
        iface.defaultRoute = true;
      } else fail('unknown command');
      return;
    }
    const get = (name: string): FakeLink => this.links.get(name) ?? fail(`Cannot find device "${name}"`);
    const key = `${w[0]} ${w[1]}`;
    switch (key) {
      case 'link add': {
        const name = w[2] ?? '';
        if (this.links.has(name)) fail('File exists');
        const kind = w[w.indexOf('type') + 1] ?? '';
        if (kind === 'veth') {
          const peer = w[w.indexOf('peer') + 2] ?? '';
          const netns = w[w.indexOf('netns') + 1] ?? '';
          const ns = this.namespaces.get(netns) ?? new Map();
          if (ns.has(peer)) fail('File exists');
          ns.set(peer, { addresses: [], up: false, defaultRoute: false });
          this.namespaces.set(netns, ns);
          this.links.set(name, { kind, up: false, peer: `@${netns}/${peer}` });
        } else this.links.set(name, { kind, up: false });
        return;
      }
      case 'link set': {
        const name = w[3] ?? '';
        const l = get(name);
        if (w[4] === 'master') {
          const master = get(w[5] ?? '');
          if (master.kind !== 'bridge') fail('not a bridge');
          l.master = w[5] ?? '';
          if (w[6] === 'up') l.up = true;
        } else if (w[4] === 'up') l.up = true;
        else if (w[4] === 'alias') l.alias = w.slice(5).join(' ');
        else if (w[4] === 'group') l.group = Number(w[5]);
        else if (w[4] === 'addrgenmode') return;
        else if (w[4] === 'type' && w[5] === 'bridge_slave') {
          if (l.master === undefined) fail('not a bridge port');
        } else fail('unknown link set');
        return;
      }
      case 'link del': {
        if (w[2] === 'group') {
          const group = Number(w[3]);
          const names = [...this.links.entries()].filter(([, l]) => l.group === group).map(([n]) => n);
          if (names.length === 0) fail('Cannot find device');
          for (const n of names) if (this.links.has(n)) this.deleteLink(n);
          return;
        }
        this.deleteLink(w[3] ?? '');
        return;
      }
      case 'addr add':
        get(w[4] ?? '');
        return;
      case 'neigh replace': {
        const [address, mac, dev] = [w[2] ?? '', w[4] ?? '', w[6] ?? ''];
        get(dev);
        this.neighbours = this.neighbours.filter((n) => !(n.address === address && n.dev === dev));
        this.neighbours.push({ address, dev, mac, permanent: true });
        return;
      }
      case 'neigh del': {
        const [address, dev] = [w[2] ?? '', w[4] ?? ''];
        const before = this.neighbours.length;
        this.neighbours = this.neighbours.filter((n) => !(n.address === address && n.dev === dev));
        if (this.neighbours.length === before) fail('No such file or directory');
        return;
      }
      case 'fdb replace': {
        const [mac, dev] = [w[2] ?? '', w[4] ?? ''];
        const l = get(dev);
        const self = w.includes('self');
        if (!self && l.master === undefined) fail('not a bridge port');
        this.fdb = this.fdb.filter((f) => !(f.mac === mac && f.dev === dev && f.self === self));
        const dst = w.includes('dst') ? { dst: w[w.indexOf('dst') + 1] ?? '' } : {};
        this.fdb.push({ mac, dev, self, state: self ? 'permanent' : 'static', ...dst });
        return;
      }
      case 'fdb del': {
        const [mac, dev] = [w[2] ?? '', w[4] ?? ''];
        const self = w[5] === 'self';
        const before = this.fdb.length;
        this.fdb = this.fdb.filter((f) => !(f.mac === mac && f.dev === dev && f.self === self));
        if (this.fdb.length === before) fail('No such file or directory');
        return;
      }
      default:
        fail('unknown command');
    }
  }
}

/** `tool[@netns] command`, first line of an nft script only. */
export function show(ops: readonly Operation[]): string[] {
  return ops.map((o) => `${o.tool}${o.netns === undefined ? '' : `@${o.netns}`} ${o.command.split('\n')[0] ?? ''}`);
}

/**
 * One step of the plan simulations: plans `desired` on `host` and applies it, crashing part-way
 * with probability 0.4 and recovering with a fresh plan; throws unless planning again gives nothing.
 */
export function applyWithCrashes(host: FakeHost, desired: DesiredHostState, rng: Rng): void {
  const ops = plan(desired, host.observed());
  if (rng.chance(0.4)) {
    host.applyAll(ops.slice(0, rng.int(ops.length + 1)));
    host.applyAll(plan(desired, host.observed()));
  } else host.applyAll(ops);
  const again = plan(desired, host.observed());
  if (again.length > 0) throw new Error(`not converged: ${show(again).join('; ')}`);
}
