/**
 * The allocator loop (the leader's): gives networks a subnet, gateway and VNI, services a virtual IP
 * on each of their networks (plus ingress when they publish ports through the routing mesh) and
 * their published ports (0 → one from 30000-32767), and tasks in NEW their addresses on every
 * network of their service, moving them to PENDING for the scheduler. Everything it hands out is
 * written onto the objects (Network.ipam / vni / driverState, Service.endpoint, Task.networks /
 * endpoint); its in-memory Ipam and port table are rebuilt from those objects on start, after a
 * watch closes and after any failed write, so it never hands out an address in use and the same
 * store gives the same answers. On start it creates the `ingress` network when there is none (the
 * first subnet of the pool: 10.0.0.0/24 with docker's defaults), and gives every node its own
 * address on it (recorded under `node:<id>` in the ingress network's IPAM config). Addresses of
 * finished or removed tasks, removed services and removed nodes are released.
 */
import { ErrorCode, errorMessage, isTsswarmError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import {
  Endpoint,
  EndpointMode,
  EndpointSpec,
  IPAMFamily,
  Network,
  PortProtocol,
  PublishMode,
  TaskState,
  type NetworkAttachment,
  type NetworkAttachmentConfig,
  type PortConfig,
  type Service,
  type Task,
} from '../../proto/index.js';
import { timestampFromMs } from '../../proto/time.js';
import type { LoopBody, LoopContext, PassResult } from '../leader-loops.js';
import type { Store, StoreEvent } from '../store/index.js';
import { Ipam, defaultIpamConfig, type IpamConfig, type NetworkAllocation } from './ipam.js';
import { PortAllocator, dynamicPortMax, dynamicPortMin } from './ports.js';

/** The name of the routing mesh's network. */
export const ingressNetworkName = 'ingress';
/** The driver option that carries a network's VNI (as docker's overlay driver names it). */
export const vxlanIdOption = 'com.docker.network.driver.overlay.vxlanid_list';
/** The status message of a task whose addresses are allocated. */
export const pendingSchedulingMessage = 'pending task scheduling';
/** Networks allocated in one pass. */
export const maxNetworksPerAllocatorPass = 100;
/** Services allocated in one pass. */
export const maxServicesPerAllocatorPass = 200;
/** Tasks allocated in one pass (one store write). */
export const maxTasksPerAllocatorPass = 500;
/** Nodes given their address on the ingress network in one pass. */
export const maxNodesPerAllocatorPass = 500;

/**
 * The key of node `nodeId`'s own address on the ingress network in the ingress network's
 * `ipam.configs[0].reserved` (the store has no per-node attachment object); netd SNATs published
 * traffic to it (manager/netview reads it with the same key).
 */
export function nodeIngressKey(nodeId: string): string {
  return `node:${nodeId}`;
}

/** The subnet size when the cluster object sets none (docker's /24). */
export const defaultSubnetSize = 24;

/** What the Allocator is built from. */
export interface AllocatorOptions {
  readonly store: Store;
  readonly log: Logger;
  readonly newId: () => string;
}

/** An address this allocator holds (without prefix length). */
interface Held {
  readonly networkId: string;
  readonly address: string;
}

interface HeldPort {
  readonly protocol: string;
  readonly port: number;
}

function isAllocated(n: Network): boolean {
  return n.vni > 0 && (n.ipam?.configs[0]?.subnet ?? '') !== '';
}

function withoutPrefix(cidr: string): string {
  const slash = cidr.indexOf('/');
  return slash < 0 ? cidr : cidr.slice(0, slash);
}

function protocolName(p: PortConfig): string {
  return p.protocol === PortProtocol.UDP ? 'udp' : p.protocol === PortProtocol.SCTP ? 'sctp' : 'tcp';
}

/** True when the service publishes a port in host mode. */
export function publishesHostPorts(service: Service): boolean {
  return (service.spec?.endpoint?.ports ?? []).some((p) => p.publishMode === PublishMode.HOST);
}

/** True when the service publishes a port through the routing mesh. */
export function publishesIngress(service: Service): boolean {
  return (service.spec?.endpoint?.ports ?? []).some((p) => p.publishMode === PublishMode.INGRESS);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The allocator's loop body. */
export class Allocator implements LoopBody {
  readonly name = 'allocator';
  private ipam: Ipam = Ipam.create();
  private ports = new PortAllocator();
  private poolKey = '';
  private readonly taskAddresses = new Map<string, Held[]>();
  private readonly serviceVips = new Map<string, Held[]>();
  private readonly servicePorts = new Map<string, HeldPort[]>();
  /** Nodes' own addresses on the ingress network. */
  private readonly nodeAddresses = new Map<string, Held>();
  private readonly dirtyNodes = new Set<string>();
  private readonly dirtyNetworks = new Set<string>();
  private readonly dirtyServices = new Set<string>();
  private readonly dirtyTasks = new Set<string>();
  /** Services and tasks ("service:ID", "task:ID") waiting for a network or their service's endpoint. */
  private readonly waiting = new Set<string>();
  private everything = true;

  constructor(private readonly options: AllocatorOptions) {}

  follows(e: StoreEvent): boolean {
    const k = e.object.kind;
    return k === 'network' || k === 'service' || k === 'task' || k === 'cluster' || k === 'node';
  }

  note(e: StoreEvent): void {
    const o = e.object;
    if (o.kind === 'cluster') {
      if (poolKeyOf(this.configOf(o.value)) !== this.poolKey) this.everything = true;
    } else if (o.kind === 'network') {
      if (e.kind === 'remove') this.everything = true;
      else this.dirtyNetworks.add(o.value.id);
    } else if (o.kind === 'service') {
      if (e.kind === 'remove') this.releaseService(o.value.id);
      else this.dirtyServices.add(o.value.id);
    } else if (o.kind === 'node') {
      // A new node needs its ingress address; a removed one gives it back.
      if (e.kind === 'remove' || !this.nodeAddresses.has(o.value.id)) this.dirtyNodes.add(o.value.id);
    } else if (o.kind === 'task') {
      const state = o.value.status?.state ?? TaskState.NEW;
      if (e.kind === 'remove' || state >= TaskState.COMPLETE) this.releaseTask(o.value.id);
      else if (state === TaskState.NEW && o.value.desiredState <= TaskState.RUNNING) this.dirtyTasks.add(o.value.id);
    }
  }

  reset(): void {
    this.everything = true;
  }

  async pass(ctx: LoopContext): Promise<PassResult> {
    if (this.everything) {
      this.everything = false;
      this.rebuild();
      await this.ensureIngress(ctx);
    }
    await this.allocateNetworks(ctx);
    await this.allocateNodes(ctx);
    await this.allocateServices(ctx);
    await this.allocateTasks(ctx);
    const more = this.everything || this.dirtyNetworks.size > 0 || this.dirtyNodes.size > 0 || this.dirtyServices.size > 0 || this.dirtyTasks.size > 0;
    return { more, wakeAtMs: undefined };
  }

  // ---- state from the store --------------------------------------------------------------------

  private configOf(cluster: { defaultAddressPool: string[]; subnetSize: number } | undefined): IpamConfig {
    const pools = cluster?.defaultAddressPool ?? [];
    if (pools.length === 0) return defaultIpamConfig;
    const size = cluster?.subnetSize || defaultSubnetSize;
    return { ...defaultIpamConfig, pools: pools.map((base) => ({ base, size })) };
  }

  /** Rebuilds the Ipam and port table from what the objects hold, and marks everything unallocated dirty. */
  private rebuild(): void {
    const memory = this.options.store.memory;
    const log = this.options.log;
    const config = this.configOf(memory.list('cluster')[0]);
    this.poolKey = poolKeyOf(config);
    try {
      this.ipam = Ipam.create(config);
    } catch (err) {
      log.error(`the cluster's address pools are unusable (${errorMessage(err)}); using ${defaultIpamConfig.pools[0]?.base ?? ''}`);
      this.ipam = Ipam.create();
    }
    this.ports = new PortAllocator();
    this.taskAddresses.clear();
    this.serviceVips.clear();
    this.servicePorts.clear();
    this.nodeAddresses.clear();
    this.dirtyNodes.clear();
    this.dirtyNetworks.clear();
    this.dirtyServices.clear();
    this.dirtyTasks.clear();
    this.waiting.clear();
    for (const n of memory.list('network')) {
      if (!isAllocated(n)) {
        this.dirtyNetworks.add(n.id);
        continue;
      }
      const c = n.ipam?.configs[0];
      try {
        this.ipam.allocateNetwork({
          id: n.id,
          subnet: c?.subnet ?? '',
          vni: n.vni,
          ...(c?.gateway ? { gateway: c.gateway } : {}),
          ...(c?.ipRange ? { ipRange: c.ipRange } : {}),
        });
      } catch (err) {
        log.error({ network: n.id }, `stored allocation of network ${n.id} cannot be restored: ${errorMessage(err)}`);
      }
    }
    const ingress = ingressOf(memory.list('network'));
    if (ingress !== undefined && isAllocated(ingress)) {
      for (const [key, value] of Object.entries(ingress.ipam?.configs[0]?.reserved ?? {})) {
        if (!key.startsWith('node:')) continue;
        const held = this.restore(ingress.id, value, key);
        if (held) this.nodeAddresses.set(key.slice('node:'.length), held);
      }
    }
    for (const n of memory.list('node')) if (!this.nodeAddresses.has(n.id)) this.dirtyNodes.add(n.id);
    for (const id of this.nodeAddresses.keys()) if (memory.get('node', id) === undefined) this.dirtyNodes.add(id);
    for (const s of memory.list('service')) {
      const vips: Held[] = [];
      for (const vip of s.endpoint?.virtualIps ?? []) {
        const held = this.restore(vip.networkId, vip.addr, `service:${s.id}`);
        if (held) vips.push(held);
      }
      if (vips.length > 0) this.serviceVips.set(s.id, vips);
      const ports: HeldPort[] = [];
      for (const p of s.endpoint?.ports ?? []) {
        if (p.publishMode !== PublishMode.INGRESS || p.publishedPort === 0) continue;
        try {
          this.ports.reserve(protocolName(p), p.publishedPort, s.id);
          ports.push({ protocol: protocolName(p), port: p.publishedPort });
        } catch (err) {
          log.error({ service: s.id }, errorMessage(err));
        }
      }
      if (ports.length > 0) this.servicePorts.set(s.id, ports);
      this.dirtyServices.add(s.id);
    }
    for (const t of memory.list('task')) {
      const state = t.status?.state ?? TaskState.NEW;
      if (state >= TaskState.COMPLETE) continue;
      const held: Held[] = [];
      for (const a of t.networks) {
        for (const addr of a.addresses) {
          const h = this.restore(a.networkId, addr, `task:${t.id}`);
          if (h) held.push(h);
        }
      }
      if (held.length > 0) this.taskAddresses.set(t.id, held);
      if (state === TaskState.NEW && t.desiredState <= TaskState.RUNNING) this.dirtyTasks.add(t.id);
    }
  }

  private restore(networkId: string, cidr: string, owner: string): Held | undefined {
    const address = withoutPrefix(cidr);
    try {
      this.ipam.allocateAddress(networkId, owner, address);
      return { networkId, address };
    } catch (err) {
      this.options.log.error({ owner }, `stored address ${cidr} on network ${networkId} cannot be restored: ${errorMessage(err)}`);
      return undefined;
    }
  }

  private releaseHeld(held: readonly Held[]): void {
    for (const h of held) {
      try {
        this.ipam.releaseAddress(h.networkId, h.address);
      } catch (err) {
        if (!isTsswarmError(err, ErrorCode.NOT_FOUND)) throw err;
      }
    }
  }

  private releaseTask(id: string): void {
    const held = this.taskAddresses.get(id);
    if (held === undefined) return;
    this.taskAddresses.delete(id);
    this.releaseHeld(held);
  }

  private releaseService(id: string): void {
    const vips = this.serviceVips.get(id);
    this.serviceVips.delete(id);
    if (vips) this.releaseHeld(vips);
    for (const p of this.servicePorts.get(id) ?? []) this.ports.release(p.protocol, p.port, id);
    this.servicePorts.delete(id);
  }

  private requeueWaiting(): void {
    for (const key of this.waiting) {
      const id = key.slice(key.indexOf(':') + 1);
      if (key.startsWith('service:')) this.dirtyServices.add(id);
      else this.dirtyTasks.add(id);
    }
    this.waiting.clear();
  }

  private hasAllocation(networkId: string): boolean {
    try {
      this.ipam.network(networkId);
      return true;
    } catch {
      return false;
    }
  }

  // ---- networks --------------------------------------------------------------------------------

  private networkFields(n: Network, a: NetworkAllocation): Pick<Network, 'ipam' | 'vni' | 'driverState'> {
    const driver = n.spec?.driver;
    return {
      vni: a.vni,
      ipam: {
        driver: n.spec?.ipam?.driver ?? { name: 'default', options: {} },
        configs: [{ family: IPAMFamily.IPV4, subnet: a.subnet, ipRange: a.ipRange, gateway: a.gateway, reserved: {} }],
      },
      driverState: { name: driver?.name || 'overlay', options: { ...(driver?.options ?? {}), [vxlanIdOption]: String(a.vni) } },
    };
  }

  private async ensureIngress(ctx: LoopContext): Promise<void> {
    const memory = this.options.store.memory;
    if (memory.list('network').some((n) => n.spec?.ingress === true)) return;
    if (memory.byName('network', ingressNetworkName) !== undefined) {
      this.options.log.warn(`a network named "${ingressNetworkName}" exists but is not the ingress network; no routing mesh`);
      return;
    }
    const id = this.options.newId();
    const alloc = this.ipam.allocateNetwork({ id });
    const base = Network.create({
      id,
      spec: {
        annotations: { name: ingressNetworkName, labels: {} },
        driver: { name: 'overlay', options: {} },
        ingress: true,
        ipam: { driver: { name: 'default', options: {} }, configs: [] },
      },
    });
    const network: Network = { ...base, ...this.networkFields(base, alloc) };
    let created = false;
    try {
      await ctx.write((tx) => {
        created = false;
        if (memory.byName('network', ingressNetworkName) !== undefined) return;
        tx.create('network', network);
        created = true;
      });
    } finally {
      if (!created) this.ipam.releaseNetwork(id);
    }
    if (created) {
      this.options.log.info({ network: id, subnet: alloc.subnet, vni: alloc.vni }, 'created the ingress network');
      for (const n of memory.list('node')) this.dirtyNodes.add(n.id);
    }
  }

  private async allocateNetworks(ctx: LoopContext): Promise<void> {
    const memory = this.options.store.memory;
    const batch = [...this.dirtyNetworks].sort().slice(0, maxNetworksPerAllocatorPass);
    for (const id of batch) this.dirtyNetworks.delete(id);
    let changed = false;
    for (const id of batch) {
      const n = memory.get('network', id);
      if (n === undefined || n.pendingDelete) continue;
      if (isAllocated(n)) {
        if (!this.hasAllocation(id)) {
          // Written by someone else (a restored snapshot, an older leader): adopt it.
          this.everything = true;
        }
        changed = true;
        continue;
      }
      const c = n.spec?.ipam?.configs[0];
      let alloc: NetworkAllocation;
      try {
        alloc = this.ipam.allocateNetwork({
          id,
          ...(c?.subnet ? { subnet: c.subnet } : {}),
          ...(c?.gateway ? { gateway: c.gateway } : {}),
          ...(c?.ipRange ? { ipRange: c.ipRange } : {}),
        });
      } catch (err) {
        this.options.log.warn({ network: id }, `cannot allocate network ${n.spec?.annotations?.name ?? id}: ${errorMessage(err)}`);
        continue;
      }
      let written = false;
      try {
        await ctx.write((tx) => {
          written = false;
          const current = tx.get('network', id);
          if (current === undefined || isAllocated(current)) return;
          tx.update('network', { ...current, ...this.networkFields(current, alloc) });
          written = true;
        });
      } finally {
        if (!written) this.ipam.releaseNetwork(id);
      }
      if (written) {
        changed = true;
        if (n.spec?.ingress === true) for (const node of memory.list('node')) this.dirtyNodes.add(node.id);
      }
    }
    if (changed) this.requeueWaiting();
  }

  // ---- nodes (their own address on the ingress network) -------------------------------------------

  private async allocateNodes(ctx: LoopContext): Promise<void> {
    const memory = this.options.store.memory;
    if (this.dirtyNodes.size === 0) return;
    const ingress = ingressOf(memory.list('network'));
    // Without an allocated ingress network there is nothing to do; its allocation re-marks every node.
    if (ingress === undefined || !isAllocated(ingress) || !this.hasAllocation(ingress.id)) return;
    const batch = [...this.dirtyNodes].sort().slice(0, maxNodesPerAllocatorPass);
    for (const id of batch) this.dirtyNodes.delete(id);
    const prefix = this.ipam.network(ingress.id).prefix;
    const fresh = new Map<string, Held>();
    const gone: string[] = [];
    for (const id of batch) {
      const held = this.nodeAddresses.get(id);
      if (memory.get('node', id) === undefined) {
        if (held !== undefined) gone.push(id);
        continue;
      }
      if (held !== undefined) continue;
      try {
        fresh.set(id, { networkId: ingress.id, address: this.ipam.allocateAddress(ingress.id, nodeIngressKey(id)) });
      } catch (err) {
        this.options.log.warn({ node: id }, `cannot give node ${id} an address on the ingress network: ${errorMessage(err)}`);
      }
    }
    if (fresh.size === 0 && gone.length === 0) return;
    let written = false;
    try {
      await ctx.write((tx) => {
        written = false;
        const current = tx.get('network', ingress.id);
        const config = current?.ipam?.configs[0];
        if (current === undefined || current.ipam === undefined || config === undefined) return;
        const reserved = { ...config.reserved };
        for (const id of gone) delete reserved[nodeIngressKey(id)];
        for (const [id, h] of fresh) reserved[nodeIngressKey(id)] = `${h.address}/${prefix}`;
        tx.update('network', { ...current, ipam: { ...current.ipam, configs: [{ ...config, reserved }, ...current.ipam.configs.slice(1)] } });
        written = true;
      });
    } finally {
      if (!written) this.releaseHeld([...fresh.values()]);
    }
    if (!written) return;
    for (const [id, h] of fresh) this.nodeAddresses.set(id, h);
    for (const id of gone) {
      const held = this.nodeAddresses.get(id);
      this.nodeAddresses.delete(id);
      if (held) this.releaseHeld([held]);
    }
  }

  // ---- services --------------------------------------------------------------------------------

  /** Network IDs of the attachment configs, resolved by ID or name; undefined entries are unknown. */
  private resolve(configs: readonly NetworkAttachmentConfig[]): { id: string; config: NetworkAttachmentConfig | undefined }[] {
    const memory = this.options.store.memory;
    const out: { id: string; config: NetworkAttachmentConfig | undefined }[] = [];
    for (const c of configs) {
      const n = memory.get('network', c.target) ?? memory.byName('network', c.target);
      if (n === undefined) {
        this.options.log.warn(`network ${c.target} does not exist; not attaching to it`);
        continue;
      }
      if (!out.some((o) => o.id === n.id)) out.push({ id: n.id, config: c });
    }
    return out;
  }

  /** The networks of a service's tasks: ingress first when it publishes through the mesh, then its own. */
  private networksOf(service: Service, configs: readonly NetworkAttachmentConfig[]): { id: string; config: NetworkAttachmentConfig | undefined }[] | undefined {
    const own = this.resolve(configs);
    // Host-mode ports need an address the host can reach: a task on no network of its own joins
    // the ingress network (docker uses its gwbridge for this).
    if (publishesIngress(service) || (own.length === 0 && publishesHostPorts(service))) {
      const ingress = ingressOf(this.options.store.memory.list('network'));
      if (ingress === undefined) return undefined;
      if (!own.some((o) => o.id === ingress.id)) own.unshift({ id: ingress.id, config: undefined });
    }
    return own.every((o) => this.hasAllocation(o.id)) ? own : undefined;
  }

  /** The networks of a standalone container's attachment task, once they are all allocated. */
  private attachmentNetworks(configs: readonly NetworkAttachmentConfig[]): { id: string; config: NetworkAttachmentConfig | undefined }[] | undefined {
    const own = this.resolve(configs);
    return own.every((o) => this.hasAllocation(o.id)) ? own : undefined;
  }

  private async allocateServices(ctx: LoopContext): Promise<void> {
    const memory = this.options.store.memory;
    const batch = [...this.dirtyServices].sort().slice(0, maxServicesPerAllocatorPass);
    for (const id of batch) this.dirtyServices.delete(id);
    let changed = false;
    for (const id of batch) {
      const service = memory.get('service', id);
      if (service === undefined || service.pendingDelete) continue;
      const networks = this.networksOf(service, service.spec?.task?.networks ?? []);
      if (networks === undefined) {
        this.waiting.add(`service:${id}`);
        continue;
      }
      const freshVips: Held[] = [];
      const freshPorts: HeldPort[] = [];
      let endpoint: Endpoint;
      try {
        endpoint = this.endpointOf(service, networks.map((n) => n.id), freshVips, freshPorts);
      } catch (err) {
        this.releaseHeld(freshVips);
        for (const p of freshPorts) this.ports.release(p.protocol, p.port, id);
        this.options.log.warn({ service: id }, `cannot allocate the endpoint of service ${service.spec?.annotations?.name ?? id}: ${errorMessage(err)}`);
        continue;
      }
      if (service.endpoint !== undefined && sameBytes(Endpoint.encode(service.endpoint), Endpoint.encode(endpoint))) continue;
      let written = false;
      try {
        await ctx.write((tx) => {
          written = false;
          const current = tx.get('service', id);
          if (current === undefined || current.pendingDelete || (current.meta?.version?.index ?? 0) !== (service.meta?.version?.index ?? 0)) return;
          tx.update('service', { ...current, endpoint });
          written = true;
        });
      } finally {
        if (!written) {
          this.releaseHeld(freshVips);
          for (const p of freshPorts) this.ports.release(p.protocol, p.port, id);
        }
      }
      if (!written) {
        this.dirtyServices.add(id);
        continue;
      }
      changed = true;
      // Drop what the old endpoint held and the new one does not.
      const keptVips = new Set(endpoint.virtualIps.map((v) => `${v.networkId} ${withoutPrefix(v.addr)}`));
      this.releaseHeld((this.serviceVips.get(id) ?? []).filter((h) => !keptVips.has(`${h.networkId} ${h.address}`)));
      this.serviceVips.set(id, endpoint.virtualIps.map((v) => ({ networkId: v.networkId, address: withoutPrefix(v.addr) })));
      const keptPorts = new Set(endpoint.ports.filter((p) => p.publishMode === PublishMode.INGRESS).map((p) => `${protocolName(p)}/${p.publishedPort}`));
      for (const p of this.servicePorts.get(id) ?? []) if (!keptPorts.has(`${p.protocol}/${p.port}`)) this.ports.release(p.protocol, p.port, id);
      this.servicePorts.set(id, endpoint.ports.filter((p) => p.publishMode === PublishMode.INGRESS && p.publishedPort > 0).map((p) => ({ protocol: protocolName(p), port: p.publishedPort })));
    }
    if (changed) this.requeueWaiting();
  }

  /** The endpoint the service should have; what it newly takes goes to `freshVips` / `freshPorts`. */
  private endpointOf(service: Service, networkIds: readonly string[], freshVips: Held[], freshPorts: HeldPort[]): Endpoint {
    const spec = service.spec?.endpoint ?? EndpointSpec.create();
    const held = this.serviceVips.get(service.id) ?? [];
    const virtualIps = [];
    if (spec.mode !== EndpointMode.DNSRR) {
      for (const networkId of networkIds) {
        const prefix = this.ipam.network(networkId).prefix;
        let h = held.find((x) => x.networkId === networkId);
        if (h === undefined) {
          h = { networkId, address: this.ipam.allocateAddress(networkId, `service:${service.id}`) };
          freshVips.push(h);
        }
        virtualIps.push({ networkId, addr: `${h.address}/${prefix}` });
      }
    }
    const old = service.endpoint?.ports ?? [];
    const taken = new Set<string>();
    const ports: PortConfig[] = [];
    for (const p of spec.ports) {
      if (p.publishMode !== PublishMode.INGRESS) {
        ports.push({ ...p });
        continue;
      }
      const protocol = protocolName(p);
      let port = p.publishedPort;
      if (port > 0) {
        if (this.ports.ownerOf(protocol, port) === undefined) freshPorts.push({ protocol, port });
        this.ports.reserve(protocol, port, service.id);
      } else {
        const previous = old.find(
          (o) =>
            o.publishMode === PublishMode.INGRESS &&
            o.protocol === p.protocol &&
            o.targetPort === p.targetPort &&
            o.publishedPort >= dynamicPortMin &&
            o.publishedPort <= dynamicPortMax &&
            this.ports.ownerOf(protocol, o.publishedPort) === service.id &&
            !taken.has(`${protocol}/${o.publishedPort}`) &&
            !spec.ports.some((q) => q.publishedPort === o.publishedPort && protocolName(q) === protocol),
        );
        if (previous) port = previous.publishedPort;
        else {
          port = this.ports.allocate(protocol, service.id);
          freshPorts.push({ protocol, port });
        }
      }
      taken.add(`${protocol}/${port}`);
      ports.push({ ...p, publishedPort: port });
    }
    return { spec, ports, virtualIps };
  }

  // ---- tasks -----------------------------------------------------------------------------------

  private async allocateTasks(ctx: LoopContext): Promise<void> {
    const memory = this.options.store.memory;
    const batch = [...this.dirtyTasks].sort().slice(0, maxTasksPerAllocatorPass);
    for (const id of batch) this.dirtyTasks.delete(id);
    const planned = new Map<string, { networks: NetworkAttachment[]; endpoint: Endpoint | undefined; held: Held[] }>();
    for (const id of batch) {
      const t = memory.get('task', id);
      if (t === undefined || (t.status?.state ?? TaskState.NEW) !== TaskState.NEW || t.desiredState > TaskState.RUNNING) continue;
      this.releaseTask(id);
      const service = memory.get('service', t.serviceId);
      const attachment = t.spec?.attachment !== undefined;
      // A task without its service is the orchestrator's to shut down (a standalone container's
      // attachment has none).
      if (!attachment && (service === undefined || service.pendingDelete)) continue;
      if (service !== undefined && (service.endpoint === undefined || this.waiting.has(`service:${service.id}`))) {
        this.waiting.add(`task:${id}`);
        continue;
      }
      const networks = service === undefined ? this.attachmentNetworks(t.spec?.networks ?? []) : this.networksOf(service, t.spec?.networks ?? []);
      if (networks === undefined) {
        this.waiting.add(`task:${id}`);
        continue;
      }
      const held: Held[] = [];
      try {
        const attachments = networks.map(({ id: networkId, config }): NetworkAttachment => {
          const prefix = this.ipam.network(networkId).prefix;
          const requested = config?.addresses[0];
          const address = this.ipam.allocateAddress(networkId, `task:${id}`, requested === undefined ? undefined : withoutPrefix(requested));
          held.push({ networkId, address });
          return { networkId, addresses: [`${address}/${prefix}`], aliases: [...(config?.aliases ?? [])], driverAttachmentOpts: { ...(config?.driverAttachmentOpts ?? {}) } };
        });
        planned.set(id, { networks: attachments, endpoint: service?.endpoint, held });
        this.taskAddresses.set(id, held);
      } catch (err) {
        this.releaseHeld(held);
        this.options.log.warn({ task: id }, `cannot allocate the addresses of task ${t.annotations?.name ?? id}: ${errorMessage(err)}`);
      }
    }
    if (planned.size === 0) return;
    const skipped = new Set<string>();
    try {
      await ctx.write((tx) => {
        skipped.clear();
        for (const [id, plan] of planned) {
          const t: Task | undefined = tx.get('task', id);
          if (t === undefined || (t.status?.state ?? TaskState.NEW) !== TaskState.NEW || t.desiredState > TaskState.RUNNING) {
            skipped.add(id);
            continue;
          }
          tx.update('task', {
            ...t,
            networks: plan.networks,
            ...(plan.endpoint ? { endpoint: plan.endpoint } : {}),
            status: { ...t.status, state: TaskState.PENDING, message: pendingSchedulingMessage, err: '', timestamp: timestampFromMs(ctx.nowMs) },
          });
        }
      });
    } catch (err) {
      for (const id of planned.keys()) this.releaseTask(id);
      throw err;
    }
    for (const id of skipped) this.releaseTask(id);
  }
}

/** The ingress network (the lowest ID if there are several, as manager/netview picks it). */
function ingressOf(networks: readonly Network[]): Network | undefined {
  return networks.filter((n) => n.spec?.ingress === true && !n.pendingDelete).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))[0];
}

function poolKeyOf(config: IpamConfig): string {
  return JSON.stringify(config.pools);
}
