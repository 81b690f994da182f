/**
 * One-host networks of the local `bridge` driver (`network create -d bridge NAME`, docker's
 * user-defined bridge networks): made and kept by this host's daemon, not the managers, for its
 * standalone containers (`container run --network NAME`). A network is a bridge with the gateway
 * address and no VXLAN device (netd's plan, `local: true`); its containers reach each other and,
 * unless `--internal`, the outside through the host's NAT, and find each other by name through
 * netd's DNS on the gateway. Subnets come from docker's local pools (172.18.0.0/16 .. 172.31.0.0/16,
 * then /20s of 192.168.0.0/16), numbers 1..4095 name the bridges (overlays use 4096 up).
 *
 * State (networks, their IPAM and every container's attachment) is one JSON file under the data
 * folder, written whole (temp file + rename) after each change; a request that fails changes
 * nothing. After a daemon restart the attachments are handed back to netd before its first
 * reconcile (`restore`), so running containers keep their interfaces.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, TsswarmError, errorMessage } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { Logger } from '../lib/log.js';
import { Ipam, type IpamState } from '../manager/allocator/ipam.js';
import { bridgeDriver, validateNetworkSpec } from '../manager/controlapi/network-spec.js';
import { resolveNetwork } from '../manager/controlapi/resolve-named.js';
import { IPAMFamily, Network, PortProtocol, PublishMode, Task, type NetworkAttachmentConfig, type NetworkSpec, type PortConfig } from '../proto/index.js';
import { timestampFromMs } from '../proto/time.js';
import type { JoinedNetworks } from '../worker/engine/container-networks.js';
import type { TaskNetworks } from '../worker/tasks/ports.js';
import { dnsServersOf } from '../worker/tasks/task-controller.js';
import { joinedEndpoints } from './joined-endpoints.js';

/** docker's local address pools, in order. */
export const localPools = [
  { base: '172.18.0.0/15', size: 16 },
  { base: '172.20.0.0/14', size: 16 },
  { base: '172.24.0.0/13', size: 16 },
  { base: '192.168.0.0/16', size: 20 },
] as const;
/** Most local networks on one host (one bridge number each). */
export const maxLocalNetworks = 4095;
/** Attachment IDs of local networks start with this (swarm attachments are task IDs). */
export const localAttachmentPrefix = 'local-';

interface NetworkRecord {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly options: Readonly<Record<string, string>>;
  readonly internal: boolean;
  readonly createdAtMs: number;
}

interface AttachmentRecord {
  readonly id: string;
  readonly containerId: string;
  readonly name: string;
  readonly aliases: readonly string[];
  /** networkId → address (without prefix). */
  readonly addresses: Readonly<Record<string, string>>;
  /** Ports published on this host to the container (`-p`), on its first network's address. */
  readonly ports?: readonly PublishedPortRecord[];
}

interface PublishedPortRecord {
  readonly protocol: 'tcp' | 'udp';
  readonly publishedPort: number;
  readonly targetPort: number;
}

/** `-p` ports as the state file keeps them; INVALID_ARGUMENT for what cannot be published. */
function publishedPorts(ports: readonly PortConfig[]): PublishedPortRecord[] {
  const out: PublishedPortRecord[] = [];
  for (const p of ports) {
    const protocol = p.protocol === PortProtocol.TCP ? 'tcp' : p.protocol === PortProtocol.UDP ? 'udp' : undefined;
    if (protocol === undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'only tcp and udp ports can be published');
    const ok = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535;
    if (!ok(p.publishedPort) || !ok(p.targetPort)) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `-p needs a host port and a container port from 1 to 65535 (got ${p.publishedPort}:${p.targetPort})`);
    if (out.some((o) => o.protocol === protocol && o.publishedPort === p.publishedPort)) {
      throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `port ${p.publishedPort}/${protocol} is published twice`);
    }
    out.push({ protocol, publishedPort: p.publishedPort, targetPort: p.targetPort });
  }
  return out;
}

interface FileState {
  readonly version: 1;
  readonly ipam: IpamState;
  readonly networks: readonly NetworkRecord[];
  readonly attachments: readonly AttachmentRecord[];
}

/** The local networks of this host. */
export class LocalNetworks {
  private ipam: Ipam;
  private networks: NetworkRecord[];
  private attachments: AttachmentRecord[];
  private busy: Promise<unknown> = Promise.resolve();
  /** Attachments whose join is under way (reserved, not yet handed to netd). */
  private readonly joining = new Set<string>();

  private constructor(
    private readonly file: string,
    state: FileState | undefined,
    private readonly log: Logger,
  ) {
    this.ipam = state === undefined ? Ipam.create({ pools: [...localPools], vniMin: 1, vniMax: maxLocalNetworks }) : Ipam.fromJSON(state.ipam);
    this.networks = [...(state?.networks ?? [])];
    this.attachments = [...(state?.attachments ?? [])];
  }

  /** Loads DATA/local-networks.json (none yet: no networks). CORRUPT when it cannot be read. */
  static async open(dataDir: string, log: Logger): Promise<LocalNetworks> {
    const file = join(dataDir, 'local-networks.json');
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    let state: FileState | undefined;
    if (text !== undefined) {
      try {
        state = JSON.parse(text) as FileState;
        if (state.version !== 1) throw new Error(`unknown version ${String(state.version)}`);
        const allocated = new Set(state.ipam.networks.map((n) => n.id));
        const lost = state.networks.find((n) => !allocated.has(n.id));
        if (lost !== undefined) throw new Error(`network ${lost.name} (${lost.id}) has no address allocation`);
      } catch (err) {
        throw new TsswarmError(ErrorCode.CORRUPT, `cannot read the local networks in ${file}: ${errorMessage(err)}`);
      }
    }
    return new LocalNetworks(file, state, log);
  }

  /** Every local network, as Network objects (driver bridge, scope local), by name. */
  list(): Network[] {
    return this.networks.map((r) => this.networkOf(r)).sort((a, b) => ((a.spec?.annotations?.name ?? '') < (b.spec?.annotations?.name ?? '') ? -1 : 1));
  }

  /** True while some container is on a local network. */
  hasAttachments(): boolean {
    return this.attachments.length > 0;
  }

  /**
   * True when `target` is a local network's exact ID or name (an ID prefix is left to the swarm's
   * networks: a swarm network's name must not be taken for the start of a local network's ID).
   */
  isLocal(target: string): boolean {
    return this.networks.some((n) => n.id === target || n.name === target);
  }

  /** `network create -d bridge`: checks the spec, allocates a subnet and number, saves. */
  create(spec: NetworkSpec | undefined): Promise<Network> {
    return this.serial(async () => {
      const checked = validateNetworkSpec(spec, bridgeDriver);
      const name = checked.annotations?.name ?? '';
      if (this.networks.some((n) => n.name === name)) throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `network with name ${name} already exists`);
      if (this.networks.length >= maxLocalNetworks) throw new TsswarmError(ErrorCode.QUEUE_FULL, `this host already has ${maxLocalNetworks} local networks`);
      const config = checked.ipam?.configs[0];
      const id = newId();
      const ipam = Ipam.fromJSON(this.ipam.toJSON());
      ipam.allocateNetwork({
        id,
        ...(config?.subnet ? { subnet: config.subnet } : {}),
        ...(config?.gateway ? { gateway: config.gateway } : {}),
        ...(config?.ipRange ? { ipRange: config.ipRange } : {}),
      });
      const record: NetworkRecord = { id, name, labels: { ...(checked.annotations?.labels ?? {}) }, options: { ...(checked.driver?.options ?? {}) }, internal: checked.internal, createdAtMs: Date.now() };
      await this.save(ipam, [...this.networks, record], this.attachments);
      this.log.info({ network: id, name, subnet: ipam.network(id).subnet }, 'local network created');
      return this.networkOf(record);
    });
  }

  /** `network rm` of a local network: refused while a container is on it. */
  remove(ref: string): Promise<void> {
    return this.serial(async () => {
      const network = resolveNetwork(this.list(), ref);
      const user = this.attachments.find((a) => Object.hasOwn(a.addresses, network.id));
      if (user !== undefined) {
        throw new TsswarmError(ErrorCode.CONFLICT, `network ${network.spec?.annotations?.name ?? network.id} is in use by container ${user.name} (remove the container first)`);
      }
      const ipam = Ipam.fromJSON(this.ipam.toJSON());
      ipam.releaseNetwork(network.id);
      await this.save(ipam, this.networks.filter((n) => n.id !== network.id), this.attachments);
      this.log.info({ network: network.id }, 'local network removed');
    });
  }

  /**
   * Joins container `containerId` to local networks through netd: an address on each, one
   * namespace with an interface per network. Undone when anything fails.
   */
  async join(netd: TaskNetworks, containerId: string, name: string, configs: readonly NetworkAttachmentConfig[], ports: readonly PortConfig[] = []): Promise<JoinedNetworks> {
    // Addresses and ports are reserved under the lock; netd is called outside it (netd's start
    // hands the attachments back through restore, which takes the lock), and the reservation
    // stays marked as joining so that restore leaves it alone.
    const record = await this.reserve(containerId, name, configs, ports);
    const task = this.taskOf(record);
    const networks = this.networkMap();
    try {
      const netnsPath = await netd.attach(task, networks);
      if (netnsPath === undefined) throw new TsswarmError(ErrorCode.EXTERNAL, `netd made no network namespace for container ${name}`);
      return { netnsPath, dnsServers: dnsServersOf(task, networks), attachmentId: record.id, endpoints: joinedEndpoints(task, networks) };
    } catch (err) {
      await netd.detach(task).catch(() => undefined);
      await this.serial(() => this.forget(record.id)).catch(() => undefined);
      throw err;
    } finally {
      this.joining.delete(record.id);
    }
  }

  private reserve(containerId: string, name: string, configs: readonly NetworkAttachmentConfig[], ports: readonly PortConfig[]): Promise<AttachmentRecord> {
    return this.serial(async () => {
      const all = this.list();
      const networks = configs.map((c) => resolveNetwork(all, c.target));
      if (new Set(networks.map((n) => n.id)).size !== networks.length) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'a network is named twice');
      const published = publishedPorts(ports);
      for (const p of published) {
        const user = this.attachments.find((a) => (a.ports ?? []).some((q) => q.protocol === p.protocol && q.publishedPort === p.publishedPort));
        if (user !== undefined) throw new TsswarmError(ErrorCode.CONFLICT, `port ${p.publishedPort}/${p.protocol} is already published by container ${user.name}`);
      }
      const id = `${localAttachmentPrefix}${containerId}`;
      const ipam = Ipam.fromJSON(this.ipam.toJSON());
      const addresses: Record<string, string> = {};
      for (const n of networks) addresses[n.id] = ipam.allocateAddress(n.id, id);
      const record: AttachmentRecord = { id, containerId, name, aliases: [...new Set(configs.flatMap((c) => c.aliases))], addresses, ...(published.length > 0 ? { ports: published } : {}) };
      if (this.joining.has(id)) throw new TsswarmError(ErrorCode.CONFLICT, `container ${name} is already joining its networks`);
      await this.save(ipam, this.networks, [...this.attachments.filter((a) => a.id !== id), record]);
      this.joining.add(id);
      return record;
    });
  }

  /** Gives back a container's local attachment: its namespace and addresses. Idempotent. */
  async leave(netd: TaskNetworks | undefined, attachmentId: string): Promise<void> {
    // netd outside the lock (see join).
    await netd?.detach(Task.create({ id: attachmentId }));
    await this.serial(() => this.forget(attachmentId));
  }


  /**
   * After a restart: hands every attachment whose container still exists back to netd (before its
   * first reconcile), and gives back those of containers that are gone.
   */
  restore(netd: { adopt(task: Task, networks: ReadonlyMap<string, Network>): boolean; detach(task: Task): Promise<void> }, containerIds: ReadonlySet<string>): Promise<void> {
    return this.serial(async () => {
      for (const record of [...this.attachments]) {
        if (this.joining.has(record.id)) continue; // its join hands it to netd itself
        if (containerIds.has(record.containerId) && netd.adopt(this.taskOf(record), this.networkMap())) continue;
        await netd.detach(Task.create({ id: record.id })).catch(() => undefined);
        await this.forget(record.id);
        this.log.info({ container: record.containerId }, 'gave back the local network addresses of a container that is gone');
      }
    });
  }

  private async forget(attachmentId: string): Promise<void> {
    const record = this.attachments.find((a) => a.id === attachmentId);
    if (record === undefined) return;
    const ipam = Ipam.fromJSON(this.ipam.toJSON());
    for (const [networkId, address] of Object.entries(record.addresses)) {
      if (ipam.networkIds().includes(networkId)) ipam.releaseAddress(networkId, address);
    }
    await this.save(ipam, this.networks, this.attachments.filter((a) => a.id !== attachmentId));
  }

  private networkMap(): Map<string, Network> {
    return new Map(this.list().map((n) => [n.id, n]));
  }

  /** The attachment as a task netd can attach (its ID names the namespace). */
  private taskOf(record: AttachmentRecord): Task {
    const ports = (record.ports ?? []).map((p) => ({
      name: '',
      protocol: p.protocol === 'udp' ? PortProtocol.UDP : PortProtocol.TCP,
      targetPort: p.targetPort,
      publishedPort: p.publishedPort,
      publishMode: PublishMode.HOST,
    }));
    return Task.create({
      id: record.id,
      ...(ports.length > 0 ? { endpoint: { ports } } : {}),
      annotations: { name: record.name, labels: {} },
      networks: Object.entries(record.addresses).map(([networkId, address]) => ({
        networkId,
        addresses: [`${address}/${this.ipam.network(networkId).prefix}`],
        aliases: [...record.aliases],
        driverAttachmentOpts: {},
      })),
    });
  }

  private networkOf(r: NetworkRecord): Network {
    const a = this.ipam.network(r.id);
    const ipam = { driver: { name: 'default', options: {} }, configs: [{ subnet: a.subnet, gateway: a.gateway, ipRange: a.ipRange === a.subnet ? '' : a.ipRange, family: IPAMFamily.IPV4, reserved: {} }] };
    return Network.create({
      id: r.id,
      meta: { createdAt: timestampFromMs(r.createdAtMs), updatedAt: timestampFromMs(r.createdAtMs) },
      spec: { annotations: { name: r.name, labels: { ...r.labels } }, driver: { name: bridgeDriver, options: { ...r.options } }, internal: r.internal, attachable: true, ipam },
      driverState: { name: bridgeDriver, options: {} },
      ipam,
      vni: a.vni,
    });
  }

  private async save(ipam: Ipam, networks: NetworkRecord[], attachments: AttachmentRecord[]): Promise<void> {
    const state: FileState = { version: 1, ipam: ipam.toJSON(), networks, attachments };
    const tmp = `${this.file}.tmp`;
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(state, null, 2));
      await handle.sync(); // on disk before it replaces the old file: a crash leaves one or the other whole
    } finally {
      await handle.close();
    }
    await rename(tmp, this.file);
    this.ipam = ipam;
    this.networks = networks;
    this.attachments = attachments;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.busy.then(fn, fn);
    this.busy = next.catch(() => undefined);
    return next;
  }
}
