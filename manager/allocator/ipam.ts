/**
 * IP address management for overlay networks (pure): subnets cut from address pools (default
 * 10.0.0.0/8 in /24s) or given by the user (`--subnet`, `--gateway`, `--ip-range`), a VNI per
 * network, and addresses for service VIPs and task endpoints. Deterministic (same calls, same
 * answers), no I/O; `toJSON()` gives the state the store keeps and `Ipam.fromJSON` takes it back.
 * Every method checks all of its input before changing anything, so a failed call leaves no trace.
 */
import { assert } from '../../lib/assert.js';
import { ErrorCode, TsswarmError, invalidArgument } from '../../lib/errors.js';
import {
  type Cidr,
  blockSize,
  cidrContains,
  cidrOverlaps,
  cidrWithin,
  formatAddress,
  formatCidr,
  lastAddress,
  parseAddress,
  parseCidr,
} from './cidr.js';
import { type VniState, VniAllocator, defaultVniMin, maxVni } from './vni.js';

/** An address pool: subnets of `size` bits are cut from `base`. */
export interface PoolConfig {
  /** CIDR of the pool, e.g. 10.0.0.0/8. */
  readonly base: string;
  /** Prefix length of each subnet cut from it, e.g. 24. */
  readonly size: number;
}

/** How an Ipam hands out subnets and VNIs. */
export interface IpamConfig {
  /** Pools tried in order for networks without `--subnet`. */
  readonly pools: readonly PoolConfig[];
  readonly vniMin: number;
  readonly vniMax: number;
}

/** Docker's default: 10.0.0.0/8 in /24s, VNIs from 4096. */
export const defaultIpamConfig: IpamConfig = { pools: [{ base: '10.0.0.0/8', size: 24 }], vniMin: defaultVniMin, vniMax: maxVni };

/** Longest subnet prefix accepted: a /30 leaves one gateway and one endpoint address. */
export const maxSubnetPrefix = 30;

/** What `network create` asks of IPAM. */
export interface NetworkRequest {
  readonly id: string;
  readonly subnet?: string;
  readonly gateway?: string;
  readonly ipRange?: string;
  readonly vni?: number;
}

/** What IPAM gave a network. */
export interface NetworkAllocation {
  readonly id: string;
  readonly subnet: string;
  /** Prefix length of the subnet (endpoints use it with their address). */
  readonly prefix: number;
  readonly gateway: string;
  /** Where endpoint and VIP addresses come from: `--ip-range`, or the whole subnet. */
  readonly ipRange: string;
  readonly vni: number;
}

/** Serialized state of one network. */
export interface NetworkState {
  readonly id: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly ipRange: string;
  readonly vni: number;
  /** Last address handed out automatically (next-fit cursor). */
  readonly cursor: string;
  /** Allocated address → owner (an endpoint or VIP id), in address order. */
  readonly addresses: Readonly<Record<string, string>>;
}

/** Serialized state of an Ipam, as the store keeps it. */
export interface IpamState {
  readonly version: 1;
  readonly pools: readonly PoolConfig[];
  readonly vni: VniState;
  /** Networks in id order. */
  readonly networks: readonly NetworkState[];
}

interface Pool {
  readonly cidr: Cidr;
  readonly size: number;
}

interface Network {
  readonly id: string;
  readonly subnet: Cidr;
  readonly gateway: number;
  readonly range: Cidr;
  readonly vni: number;
  cursor: number;
  /** How many allocated addresses lie inside `range` (kept, not counted, so allocation stays O(1) amortized). */
  rangeTaken: number;
  /** address → owner */
  readonly addresses: Map<number, string>;
}

function parsePool(p: PoolConfig): Pool {
  const cidr = parseCidr(p.base, 'address pool');
  if (!Number.isInteger(p.size) || p.size < cidr.prefix || p.size > maxSubnetPrefix) {
    throw invalidArgument(`invalid subnet size /${p.size} for pool ${p.base}: must be from /${cidr.prefix} to /${maxSubnetPrefix}`);
  }
  return { cidr, size: p.size };
}

/** The address allocator of a cluster. */
export class Ipam {
  private readonly pools: readonly Pool[];
  private readonly poolConfigs: readonly PoolConfig[];
  private readonly vnis: VniAllocator;
  private readonly networks = new Map<string, Network>();

  private constructor(pools: readonly PoolConfig[], vnis: VniAllocator) {
    if (pools.length === 0) throw invalidArgument('at least one address pool is needed');
    this.pools = pools.map(parsePool);
    this.poolConfigs = pools.map((p) => ({ base: p.base, size: p.size }));
    this.vnis = vnis;
  }

  /** A fresh allocator. */
  static create(config: IpamConfig = defaultIpamConfig): Ipam {
    if (!Number.isInteger(config.vniMin) || !Number.isInteger(config.vniMax) || config.vniMin < 1 || config.vniMax > maxVni || config.vniMin > config.vniMax) {
      throw invalidArgument(`invalid VNI range ${config.vniMin}..${config.vniMax}: must lie within 1..${maxVni}`);
    }
    return new Ipam(config.pools, new VniAllocator(config.vniMin, config.vniMax));
  }

  /** Rebuilds an allocator from `toJSON()` output; CORRUPT when the state does not hang together. */
  static fromJSON(state: IpamState): Ipam {
    try {
      if (state.version !== 1) throw new Error(`unknown IPAM state version ${String(state.version)}`);
      const ipam = new Ipam(state.pools, VniAllocator.fromState(state.vni));
      for (const n of state.networks) {
        const subnet = parseCidr(n.subnet);
        const range = parseCidr(n.ipRange);
        const addresses = new Map(Object.entries(n.addresses).map(([a, owner]): [number, string] => [parseAddress(a), owner]));
        const net: Network = {
          id: n.id,
          subnet,
          gateway: parseAddress(n.gateway),
          range,
          vni: n.vni,
          cursor: parseAddress(n.cursor),
          rangeTaken: [...addresses.keys()].filter((a) => cidrContains(range, a)).length,
          addresses,
        };
        if (!ipam.vnis.has(n.vni)) throw new Error(`network ${n.id} has VNI ${n.vni}, which is not marked used`);
        if (ipam.networks.has(n.id)) throw new Error(`network ${n.id} appears twice`);
        ipam.networks.set(n.id, net);
      }
      return ipam;
    } catch (err) {
      throw new TsswarmError(ErrorCode.CORRUPT, `bad IPAM state: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /** Gives network `req.id` a subnet, gateway, range and VNI. */
  allocateNetwork(req: NetworkRequest): NetworkAllocation {
    if (req.id === '') throw invalidArgument('network id must not be empty');
    if (this.networks.has(req.id)) throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `network ${req.id} already has an allocation`);
    if (req.vni !== undefined) this.vnis.check(req.vni);
    if (req.subnet === undefined && (req.gateway !== undefined || req.ipRange !== undefined)) {
      throw invalidArgument('--gateway and --ip-range need --subnet');
    }
    const subnet = req.subnet === undefined ? this.subnetFromPools() : this.checkUserSubnet(parseCidr(req.subnet));
    const range = req.ipRange === undefined ? subnet : parseCidr(req.ipRange, 'ip range');
    if (!cidrWithin(range, subnet)) {
      throw invalidArgument(`ip range ${formatCidr(range)} is not inside subnet ${formatCidr(subnet)}`);
    }
    const gateway = req.gateway === undefined ? subnet.base + 1 : parseAddress(req.gateway, 'gateway');
    if (!cidrContains(subnet, gateway)) {
      throw invalidArgument(`gateway ${formatAddress(gateway)} is outside subnet ${formatCidr(subnet)}`);
    }
    if (gateway === subnet.base || gateway === lastAddress(subnet)) {
      throw invalidArgument(`gateway ${formatAddress(gateway)} is the network or broadcast address of ${formatCidr(subnet)}`);
    }
    if (usableCount(subnet, range, gateway) === 0) {
      throw invalidArgument(`ip range ${formatCidr(range)} leaves no address for endpoints (gateway ${formatAddress(gateway)})`);
    }
    // All checks passed: only now change state.
    let vni: number;
    if (req.vni === undefined) vni = this.vnis.allocate();
    else {
      this.vnis.reserve(req.vni);
      vni = req.vni;
    }
    // The cursor starts at the range's end so the first address handed out is the range's first usable one.
    const net: Network = { id: req.id, subnet, gateway, range, vni, cursor: lastAddress(range), rangeTaken: 0, addresses: new Map() };
    this.networks.set(req.id, net);
    return describe(net);
  }

  /** The allocation of network `id`; NOT_FOUND when it has none. */
  network(id: string): NetworkAllocation {
    return describe(this.get(id));
  }

  /** Ids of all networks with an allocation, sorted. */
  networkIds(): string[] {
    return [...this.networks.keys()].sort();
  }

  /** Frees a network's subnet and VNI; CONFLICT while addresses on it are still allocated. */
  releaseNetwork(id: string): void {
    const net = this.get(id);
    if (net.addresses.size > 0) {
      const owners = [...net.addresses.values()].sort().slice(0, 3).join(', ');
      throw new TsswarmError(
        ErrorCode.CONFLICT,
        `network ${id} still has ${net.addresses.size} allocated address(es) (${owners}${net.addresses.size > 3 ? ', ...' : ''}); release them first`,
      );
    }
    this.vnis.release(net.vni);
    this.networks.delete(id);
  }

  /**
   * An address on network `networkId` for `owner` (a task endpoint or a service VIP): `requested`
   * if given (anywhere in the subnet), else the next free one in the ip range after the last handed
   * out (next-fit, so a released address is reused only after the range wraps).
   */
  allocateAddress(networkId: string, owner: string, requested?: string): string {
    const net = this.get(networkId);
    if (owner === '') throw invalidArgument('address owner must not be empty');
    if (requested !== undefined) {
      const a = parseAddress(requested);
      if (!cidrContains(net.subnet, a)) throw invalidArgument(`address ${requested} is outside subnet ${formatCidr(net.subnet)} of network ${networkId}`);
      if (a === net.subnet.base || a === lastAddress(net.subnet)) {
        throw invalidArgument(`address ${requested} is the network or broadcast address of ${formatCidr(net.subnet)}`);
      }
      if (a === net.gateway) throw new TsswarmError(ErrorCode.CONFLICT, `address ${requested} is the gateway of network ${networkId}`);
      const holder = net.addresses.get(a);
      if (holder !== undefined) throw new TsswarmError(ErrorCode.CONFLICT, `address ${requested} on network ${networkId} is already used by ${holder}`);
      net.addresses.set(a, owner);
      if (cidrContains(net.range, a)) net.rangeTaken++;
      return requested;
    }
    const capacity = usableCount(net.subnet, net.range, net.gateway);
    const taken = net.rangeTaken;
    if (taken >= capacity) {
      throw new TsswarmError(
        ErrorCode.CONFLICT,
        `no free address left on network ${networkId} (range ${formatCidr(net.range)}: ${capacity} usable, all allocated)`,
      );
    }
    const size = blockSize(net.range.prefix);
    let a = net.cursor;
    for (let step = 0; step < size; step++) {
      a = a >= lastAddress(net.range) ? net.range.base : a + 1;
      if (isUsable(net, a) && !net.addresses.has(a)) {
        net.addresses.set(a, owner);
        net.rangeTaken++;
        net.cursor = a;
        return formatAddress(a);
      }
    }
    assert(false, `address scan of ${networkId} found nothing although ${taken} < ${capacity}`);
  }

  /** Frees an address; NOT_FOUND when it was not allocated. */
  releaseAddress(networkId: string, address: string): void {
    const net = this.get(networkId);
    const a = parseAddress(address);
    if (!net.addresses.delete(a)) throw new TsswarmError(ErrorCode.NOT_FOUND, `address ${address} is not allocated on network ${networkId}`);
    if (cidrContains(net.range, a)) net.rangeTaken--;
  }

  /** Serializable state for the store (stable order, so equal states give equal JSON). */
  toJSON(): IpamState {
    const networks = [...this.networks.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((n): NetworkState => ({
        id: n.id,
        subnet: formatCidr(n.subnet),
        gateway: formatAddress(n.gateway),
        ipRange: formatCidr(n.range),
        vni: n.vni,
        cursor: formatAddress(n.cursor),
        addresses: Object.fromEntries([...n.addresses.entries()].sort((x, y) => x[0] - y[0]).map(([a, o]) => [formatAddress(a), o])),
      }));
    return { version: 1, pools: this.poolConfigs, vni: this.vnis.toState(), networks };
  }

  private get(id: string): Network {
    const net = this.networks.get(id);
    if (!net) throw new TsswarmError(ErrorCode.NOT_FOUND, `network ${id} has no address allocation`);
    return net;
  }

  private checkUserSubnet(subnet: Cidr): Cidr {
    if (subnet.prefix > maxSubnetPrefix) {
      throw invalidArgument(`subnet ${formatCidr(subnet)} is too small: the smallest allowed is a /${maxSubnetPrefix}`);
    }
    for (const n of this.networks.values()) {
      if (cidrOverlaps(n.subnet, subnet)) {
        throw new TsswarmError(ErrorCode.CONFLICT, `subnet ${formatCidr(subnet)} overlaps network ${n.id} (${formatCidr(n.subnet)})`);
      }
    }
    return subnet;
  }

  /** The lowest pool subnet that overlaps no network's subnet (one merge walk per pool). */
  private subnetFromPools(): Cidr {
    const taken = [...this.networks.values()].map((n) => n.subnet).sort((a, b) => a.base - b.base);
    for (const pool of this.pools) {
      const step = blockSize(pool.size);
      const end = lastAddress(pool.cidr);
      let candidate = pool.cidr.base;
      let i = 0;
      while (candidate + step - 1 <= end) {
        while (i < taken.length && lastAddress(taken[i] as Cidr) < candidate) i++;
        const next = taken[i];
        if (next === undefined || next.base > candidate + step - 1) return { base: candidate, prefix: pool.size };
        candidate = Math.ceil((lastAddress(next) + 1) / step) * step;
      }
    }
    const pools = this.poolConfigs.map((p) => `${p.base} in /${p.size}s`).join(', ');
    throw new TsswarmError(ErrorCode.CONFLICT, `address pools exhausted: no free subnet left in ${pools}; give --subnet or add a pool`);
  }
}

function isUsable(net: Network, a: number): boolean {
  return a !== net.subnet.base && a !== lastAddress(net.subnet) && a !== net.gateway;
}

/** Addresses of `range` an endpoint may get: not the subnet's network or broadcast address, not the gateway. */
function usableCount(subnet: Cidr, range: Cidr, gateway: number): number {
  let n = blockSize(range.prefix);
  for (const a of new Set([subnet.base, lastAddress(subnet), gateway])) if (cidrContains(range, a)) n--;
  return n;
}

function describe(n: Network): NetworkAllocation {
  return {
    id: n.id,
    subnet: formatCidr(n.subnet),
    prefix: n.subnet.prefix,
    gateway: formatAddress(n.gateway),
    ipRange: formatCidr(n.range),
    vni: n.vni,
  };
}
