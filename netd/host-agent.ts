/**
 * netd running on one node (thin): it takes the managers' network view (each NetworkView message
 * from the agent's session), adds what only this host knows (its underlay, its tasks' namespaces),
 * and brings the host there with `reconcile`, then points the DNS server at the new zone.
 *
 * - Reconciles are serialized and coalesced: any number of changes while one runs make one more
 *   run, with the newest state. A failed run is retried with backoff (retryInitialMs doubling to
 *   retryMaxMs) at most maxReconcileAttempts times; then the change is given up (logged, waiting
 *   attaches rejected) until the next change or the periodic resync (resyncIntervalMs).
 * - Nothing is reconciled before the first view arrives: an empty desired state would tear down
 *   the endpoints of tasks that kept running across a daemon restart.
 * - `attach(task, networks)` / `detach(task)` are the task executor's network hook
 *   (worker/tasks TaskNetworks): attach makes the task's namespace, registers its endpoints from
 *   task.networks (addresses from the allocator) and returns once a reconcile made them, so the
 *   container starts with its interfaces in place; detach removes the namespace (its interfaces go
 *   with it) and lets the next reconcile clean up the rest.
 */
import { readFile } from 'node:fs/promises';
import { RealClock, type Clock, type Timer } from '../lib/clock.js';
import { ErrorCode, TsswarmError, errorMessage } from '../lib/errors.js';
import { silentLogger, type Logger } from '../lib/log.js';
import { viewNetwork } from '../manager/netview/index.js';
import { NetworkViewMessage, PortProtocol, PublishMode, type Network, type NetworkViewNetwork, type Task } from '../proto/index.js';
import { reconcile, type ReconcileReport } from './apply.js';
import { type LocalAttachment, type LocalAttachmentEndpoint, clusterViewFor } from './cluster-view.js';
import { desiredForHost, type ClusterView } from './desired.js';
import { dnsZoneForHost } from './dns-records.js';
import { DnsServer, parseResolvConf } from './dns-server.js';
import { type HostPlace, type NetdExecutor, hostExecutor } from './executor.js';
import { addNamespace, deleteNamespace, existingTaskNamespaces, netnsPath, taskNetnsName } from './task-namespaces.js';
import { advertiseHost, findUnderlay, type Underlay } from './underlay.js';

/** First wait after a failed reconcile. */
export const reconcileRetryInitialMs = 200;
/** Longest wait between two attempts. */
export const reconcileRetryMaxMs = 10_000;
/** Attempts at one change before it is given up until the next change or resync. */
export const maxReconcileAttempts = 5;
/** A full reconcile at least this often, even without changes (repairs what someone broke by hand). */
export const resyncIntervalMs = 60_000;
/** How long attach waits for the task's interfaces (a first view included) before the task fails. */
export const attachTimeoutMs = 60_000;

/** What a HostAgent is built from. */
export interface HostAgentOptions {
  /** Where the host's network lives: the lab host's namespace, or (said explicitly) the root one. */
  readonly place: HostPlace;
  readonly underlay: Underlay;
  /** Default: hostExecutor(place). */
  readonly exec?: NetdExecutor;
  /** The DNS server's upstream resolvers; no DNS server when left out. */
  readonly dns?: { readonly upstreams: readonly string[]; readonly port?: number };
  readonly clock?: Clock;
  readonly log?: Logger;
  /** Overrides of the retry and resync timing (tests shorten them). */
  readonly timing?: { readonly retryInitialMs?: number; readonly retryMaxMs?: number; readonly resyncIntervalMs?: number; readonly attachTimeoutMs?: number };
}

/** Counters for the daemon and tests. */
export interface HostAgentStats {
  readonly views: number;
  readonly reconciles: number;
  readonly failures: number;
  readonly lastOperations: number;
  readonly attached: number;
  /** The last reconcile error, until a reconcile succeeds. */
  readonly lastError: string | undefined;
}

interface Waiter {
  readonly generation: number;
  readonly resolve: () => void;
  readonly reject: (err: TsswarmError) => void;
}

/** netd on one node. */
export class HostAgent {
  private readonly exec: NetdExecutor;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly dns: DnsServer | undefined;
  private view: NetworkViewMessage | undefined;
  private readonly attachments = new Map<string, LocalAttachment>();
  /** Task namespaces that exist on this host, by task id. */
  private readonly present = new Map<string, string>();
  private generation = 0;
  private applied = 0;
  private running: Promise<void> | undefined;
  private waiters: Waiter[] = [];
  private refused = new Map<string, string>();
  private stopped = false;
  private resyncTimer: Timer | undefined;
  private wakeSleep: (() => void) | undefined;
  private warnedAddress = '';
  private viewWaiters: (() => void)[] = [];
  private counters = { views: 0, reconciles: 0, failures: 0, lastOperations: 0, lastError: undefined as string | undefined };

  constructor(private readonly options: HostAgentOptions) {
    this.exec = options.exec ?? hostExecutor(options.place);
    this.clock = options.clock ?? new RealClock();
    this.log = options.log ?? silentLogger();
    this.dns = options.dns === undefined ? undefined : new DnsServer({ upstreams: options.dns.upstreams, ...(options.dns.port === undefined ? {} : { port: options.dns.port }) });
  }

  /** Finds the task namespaces already on the host (a restarted daemon) and starts the resync timer. */
  async start(): Promise<void> {
    for (const [taskId, name] of await existingTaskNamespaces(this.options.place)) this.present.set(taskId, name);
    this.scheduleResync();
    this.log.info({ underlay: this.options.underlay, where: this.exec.where, taskNamespaces: this.present.size }, 'netd started');
  }

  /** Takes a new view from the managers (the whole view; it replaces the last one). */
  setView(message: NetworkViewMessage): void {
    if (this.stopped) return;
    if (message.hostAddr !== '' && message.hostAddr !== this.options.underlay.address && message.hostAddr !== this.warnedAddress) {
      this.warnedAddress = message.hostAddr;
      this.log.warn({ managers: message.hostAddr, underlay: this.options.underlay.address }, 'the managers know this node by another address than its underlay; other nodes may not reach its endpoints');
    }
    this.view = message;
    this.counters.views++;
    for (const wake of this.viewWaiters.splice(0)) wake();
    void this.changed().catch(() => undefined); // logged by the loop
  }

  /** Counters. */
  stats(): HostAgentStats {
    return { ...this.counters, attached: this.attachments.size };
  }

  /** The ClusterView netd works from now (for logs and tests). */
  clusterView(): ClusterView {
    return this.build().view;
  }

  /**
   * The task executor's hook: makes the task's namespace and its endpoints (from task.networks)
   * and resolves with the namespace's path once they exist; undefined for a task on no network.
   * Idempotent. Rejects when an attachment has no address or an unknown network, when a network is
   * refused here (encrypted without ESP), or when the interfaces could not be made in time.
   */
  async attach(task: Task, networks: ReadonlyMap<string, Network>): Promise<string | undefined> {
    if (this.stopped) throw new TsswarmError(ErrorCode.CLOSED, 'netd is stopping');
    if (task.networks.length === 0) return undefined;
    const timeoutMs = this.options.timing?.attachTimeoutMs ?? attachTimeoutMs;
    const networkOf = (id: string): NetworkViewNetwork | undefined => {
      const stored = networks.get(id);
      return this.view?.networks.find((n) => n.id === id) ?? (stored === undefined ? undefined : viewNetwork(stored));
    };
    // A network the assignments did not carry may be in the managers' first view: wait for it.
    if (this.view === undefined && task.networks.some((a) => networkOf(a.networkId) === undefined)) await this.firstView(timeoutMs);
    const attachment = this.attachmentOf(task, networkOf);
    const { netns, networks: nets } = attachment;
    await addNamespace(netns);
    this.present.set(task.id, netns);
    this.attachments.set(task.id, attachment);
    await this.changed(timeoutMs);
    const refused = nets.map((n) => this.refused.get(n.id)).filter((r): r is string => r !== undefined);
    if (refused.length > 0) throw new TsswarmError(ErrorCode.UNSUPPORTED, refused.join('; '));
    this.log.info({ task: task.id, netns, networks: nets.map((n) => n.id) }, 'task attached to its networks');
    return netnsPath(netns);
  }

  /**
   * Takes back the attachment of a task whose namespace survived a daemon restart, without waiting
   * for a reconcile (the networks must be given: nothing waits for a view). Call it before the
   * first view, so that no reconcile runs without it. False when the namespace is gone.
   */
  adopt(task: Task, networks: ReadonlyMap<string, Network>): boolean {
    if (!this.present.has(task.id)) return false;
    const stored = (id: string): NetworkViewNetwork | undefined => {
      const n = networks.get(id);
      return n === undefined ? undefined : viewNetwork(n);
    };
    this.attachments.set(task.id, this.attachmentOf(task, stored));
    return true;
  }

  private attachmentOf(task: Task, networkOf: (id: string) => NetworkViewNetwork | undefined): LocalAttachment {
    const endpoints: LocalAttachmentEndpoint[] = [];
    const nets: NetworkViewNetwork[] = [];
    for (const a of task.networks) {
      const address = a.addresses.map((x) => x.split('/')[0] ?? '').find((x) => /^\d+\.\d+\.\d+\.\d+$/.test(x));
      if (address === undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `task ${task.id} has no IPv4 address on network ${a.networkId} yet`);
      const net = networkOf(a.networkId);
      if (net === undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `network ${a.networkId} of task ${task.id} is not known (or not allocated) on this node`);
      const name = task.annotations?.name ?? '';
      endpoints.push({ networkId: a.networkId, address, dnsNames: [...new Set([...(name === '' ? [] : [name]), ...a.aliases])] });
      nets.push(net);
    }
    // A standalone container's `-p` (a service's host-mode ports come in the managers' view).
    const hostPorts = (task.serviceId === '' ? (task.endpoint?.ports ?? []) : [])
      .filter((p) => p.publishMode === PublishMode.HOST && p.publishedPort > 0 && p.protocol !== PortProtocol.SCTP)
      .map((p) => ({ protocol: p.protocol === PortProtocol.UDP ? ('udp' as const) : ('tcp' as const), publishedPort: p.publishedPort, targetPort: p.targetPort }));
    return { taskId: task.id, netns: taskNetnsName(this.options.place, task.id), endpoints, networks: nets, ...(hostPorts.length > 0 ? { hostPorts } : {}) };
  }

  /** The task executor's hook: removes the task's namespace (its interfaces go with it). Idempotent. */
  async detach(task: Task): Promise<void> {
    const netns = this.present.get(task.id) ?? this.attachments.get(task.id)?.netns;
    this.attachments.delete(task.id);
    this.present.delete(task.id);
    if (netns !== undefined) await deleteNamespace(netns);
    if (!this.stopped) void this.changed().catch(() => undefined);
  }

  /**
   * Stops reconciling and the DNS server. With `removeAll`, also removes everything netd made on
   * the host and the namespaces of attached tasks (tests, `swarm leave`); without, the network
   * stays as it is for the tasks that keep running across a daemon restart.
   */
  async stop(options: { readonly removeAll?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.resyncTimer?.cancel();
    this.wakeSleep?.();
    await this.running;
    for (const w of this.waiters) w.reject(new TsswarmError(ErrorCode.CLOSED, 'netd is stopping'));
    this.waiters = [];
    await this.dns?.close();
    if (options.removeAll === true) {
      const { hostAddress, underlayDevice } = this.build().view;
      await reconcile(desiredForHost({ hostAddress, underlayDevice, networks: [], endpoints: [] }), this.exec);
      for (const netns of new Set([...this.present.values(), ...[...this.attachments.values()].map((a) => a.netns)])) await deleteNamespace(netns);
      this.present.clear();
      this.attachments.clear();
    }
    this.log.info({ removedAll: options.removeAll === true }, 'netd stopped');
  }

  /** Resolves when the first view is in (at once if it is), rejects with TIMEOUT after `timeoutMs`. */
  private firstView(timeoutMs: number): Promise<void> {
    if (this.view !== undefined) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        timer.cancel();
        resolve();
      };
      const timer = this.clock.setTimer(timeoutMs, () => {
        this.viewWaiters = this.viewWaiters.filter((w) => w !== wake);
        reject(new TsswarmError(ErrorCode.TIMEOUT, `no network view from the managers within ${timeoutMs} ms`));
      });
      this.viewWaiters.push(wake);
    });
  }

  // ---- the reconcile loop -----------------------------------------------------------------------

  /** Notes a change; resolves once a reconcile that includes it succeeded (or rejects). */
  private changed(timeoutMs?: number): Promise<void> {
    const generation = ++this.generation;
    const done = new Promise<void>((resolve, reject) => {
      let timer: Timer | undefined;
      const waiter: Waiter = {
        generation,
        resolve: () => {
          timer?.cancel();
          resolve();
        },
        reject: (err) => {
          timer?.cancel();
          reject(err);
        },
      };
      this.waiters.push(waiter);
      if (timeoutMs !== undefined) {
        timer = this.clock.setTimer(timeoutMs, () => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          const why = this.view === undefined ? 'no network view from the managers yet' : (this.counters.lastError ?? 'reconciles still running');
          reject(new TsswarmError(ErrorCode.TIMEOUT, `netd did not make the interfaces within ${timeoutMs} ms: ${why}`));
        });
      }
    });
    this.kick();
    return done;
  }

  private kick(): void {
    if (this.running !== undefined || this.stopped || this.view === undefined) return;
    this.running = this.loop().finally(() => {
      this.running = undefined;
      // A change that came in while the loop was finishing.
      if (this.applied < this.generation && !this.stopped) this.kick();
    });
  }

  private async loop(): Promise<void> {
    let attempts = 0;
    while (!this.stopped && this.applied < this.generation) {
      const target = this.generation;
      try {
        const report = await this.reconcileOnce();
        attempts = 0;
        this.applied = target;
        this.counters.lastError = undefined;
        this.settle(target, undefined);
        if (report.operations > 0) this.log.info({ operations: report.operations, batches: report.batches, generation: target }, 'netd reconciled');
      } catch (err) {
        attempts++;
        this.counters.failures++;
        this.counters.lastError = errorMessage(err);
        if (attempts >= maxReconcileAttempts) {
          this.log.error({ attempts }, `netd reconcile failed; giving up until the next change: ${errorMessage(err)}`);
          this.applied = target;
          this.settle(target, err instanceof TsswarmError ? err : new TsswarmError(ErrorCode.EXTERNAL, errorMessage(err), { cause: err }));
          return;
        }
        const initial = this.options.timing?.retryInitialMs ?? reconcileRetryInitialMs;
        const delay = Math.min(this.options.timing?.retryMaxMs ?? reconcileRetryMaxMs, initial * 2 ** (attempts - 1));
        this.log.warn({ attempts, retryInMs: delay }, `netd reconcile failed: ${errorMessage(err)}`);
        await this.sleep(delay);
      }
    }
  }

  private settle(generation: number, err: TsswarmError | undefined): void {
    const done = this.waiters.filter((w) => w.generation <= generation);
    this.waiters = this.waiters.filter((w) => w.generation > generation);
    for (const w of done) (err === undefined ? w.resolve() : w.reject(err));
  }

  private async reconcileOnce(): Promise<ReconcileReport> {
    const { view, skipped } = this.build();
    for (const s of skipped) this.log.debug(`netd: left out ${s}`);
    const report = await reconcile(desiredForHost(view), this.exec);
    this.counters.reconciles++;
    this.counters.lastOperations = report.operations;
    this.refused = new Map(report.refused.map((r) => [r.networkId, r.reason]));
    for (const r of report.refused) this.log.warn({ network: r.networkId }, r.reason);
    if (this.dns !== undefined) {
      this.dns.setZone(dnsZoneForHost(view));
      try {
        await this.dns.listen();
      } catch (err) {
        this.log.warn(`netd: the DNS server could not listen on every gateway: ${errorMessage(err)}`);
      }
    }
    return report;
  }

  private build(): ReturnType<typeof clusterViewFor> {
    return clusterViewFor(this.view, {
      hostAddress: this.options.underlay.address,
      underlayDevice: this.options.underlay.device,
      attachments: this.attachments,
      netnsOf: (taskId) => this.present.get(taskId),
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.clock.setTimer(ms, () => {
        this.wakeSleep = undefined;
        resolve();
      });
      this.wakeSleep = () => {
        timer.cancel();
        this.wakeSleep = undefined;
        resolve();
      };
    });
  }

  private scheduleResync(): void {
    if (this.stopped) return;
    this.resyncTimer = this.clock.setTimer(this.options.timing?.resyncIntervalMs ?? resyncIntervalMs, () => {
      void this.changed().catch(() => undefined);
      this.scheduleResync();
    });
  }
}

/** The environment variable naming the lab host namespace a daemon runs in (the `--netns` flag wins). */
export const netnsEnvVar = 'TSSWARM_NETNS';

/** Where this daemon's host network lives: the namespace named by `--netns` or TSSWARM_NETNS, else the root namespace. */
export function hostPlaceOf(netnsFlag: string | undefined, env: NodeJS.ProcessEnv = process.env): HostPlace {
  const name = netnsFlag ?? env[netnsEnvVar] ?? '';
  return name === '' ? { rootNamespace: true } : { netns: name };
}

/** What the daemon knows when it starts netd. */
export interface StartHostAgentOptions {
  /**
   * The node's advertise address ("IP" or "IP:port"); its interface is the underlay. Undefined for
   * a host outside any swarm, whose netd runs only its bridge networks (no VXLAN, no underlay:
   * loopback stands in).
   */
  readonly advertiseAddr: string | undefined;
  readonly place: HostPlace;
  /** Run the DNS server on the gateways (default true); upstreams from /etc/resolv.conf. */
  readonly dns?: boolean;
  readonly log?: Logger;
}

/** The underlay of a netd outside any swarm: it makes no VXLAN device, so loopback stands in. */
export const localOnlyUnderlay: Underlay = { address: '127.0.0.1', device: 'lo' };

/** The view of a netd outside any swarm: no managers, no networks but the host's bridge networks. */
export function localOnlyView(): NetworkViewMessage {
  return NetworkViewMessage.create({});
}

/** Finds the underlay, reads the host's resolvers and starts a HostAgent (the daemon's one call). */
export async function startHostAgent(options: StartHostAgentOptions): Promise<HostAgent> {
  const exec = hostExecutor(options.place);
  const underlay = options.advertiseAddr === undefined ? localOnlyUnderlay : await findUnderlay(exec, advertiseHost(options.advertiseAddr));
  const upstreams = options.dns === false ? undefined : parseResolvConf(await readFile('/etc/resolv.conf', 'utf8').catch(() => ''));
  const agent = new HostAgent({
    place: options.place,
    underlay,
    exec,
    ...(upstreams === undefined ? {} : { dns: { upstreams } }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  await agent.start();
  return agent;
}
