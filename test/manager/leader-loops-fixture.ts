/**
 * A one-manager cluster for the leader loops' tests: a MemoryStore behind a LocalProposer, a
 * FakeClock for both timers and wall time, reproducible IDs, the three loops, and a simulated
 * worker that moves assigned tasks to RUNNING and shut-down tasks to SHUTDOWN (states only forward).
 */
import { FakeClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { LeaderLoops } from '../../manager/leader-loops.js';
import { LocalProposer, MemoryStore, Store } from '../../manager/store/index.js';
import {
  Cluster,
  Network,
  Node,
  NodeAvailability,
  NodeRole,
  NodeState,
  Service,
  TaskState,
  type DeepPartial,
  type ServiceSpec,
  type Task,
} from '../../proto/index.js';
import { timestampFromMs } from '../../proto/time.js';

/** Lets every queued promise and watch event run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Options of a Fixture. */
export interface FixtureOptions {
  readonly pools?: string[];
  readonly subnetSize?: number;
  /** Create no cluster object. */
  readonly noCluster?: boolean;
}

/** The cluster under test. */
export class Fixture {
  readonly clock = new FakeClock(1_700_000_000_000);
  readonly memory = new MemoryStore();
  readonly store = new Store(this.memory, new LocalProposer(this.memory), () => this.clock.now());
  private seq = 0;
  readonly newId = (): string => `id${String(++this.seq).padStart(5, '0')}`;
  loops = this.newLoops();

  constructor(readonly options: FixtureOptions = {}) {}

  /** A fresh set of loops over the same store (a new leader). */
  newLoops(): LeaderLoops {
    return new LeaderLoops({ store: this.store, clock: this.clock, wallClockMs: () => this.clock.now(), newId: this.newId, log: silentLogger() });
  }

  async init(): Promise<void> {
    if (this.options.noCluster) return;
    await this.store.update((tx) =>
      tx.create(
        'cluster',
        Cluster.create({ id: 'cluster', spec: { annotations: { name: 'default' } }, defaultAddressPool: this.options.pools ?? ['10.0.0.0/8'], subnetSize: this.options.subnetSize ?? 24 }),
      ),
    );
  }

  async addNode(id: string, extra: { state?: NodeState; availability?: NodeAvailability; labels?: Record<string, string> } = {}): Promise<void> {
    await this.store.update((tx) =>
      tx.create(
        'node',
        Node.create({
          id,
          role: NodeRole.WORKER,
          spec: { annotations: { name: id, labels: extra.labels ?? {} }, role: NodeRole.WORKER, availability: extra.availability ?? NodeAvailability.ACTIVE },
          status: { state: extra.state ?? NodeState.READY },
          description: { hostname: id, platform: { os: 'linux', architecture: 'x86_64' }, resources: { nanoCpus: 4e9, memoryBytes: 8 * 1024 ** 3 } },
        }),
      ),
    );
  }

  async setNodeState(id: string, state: NodeState): Promise<void> {
    await this.store.update((tx) => {
      const n = tx.get('node', id) as Node;
      tx.update('node', { ...n, status: { ...n.status, state, message: '', addr: '' } });
    });
  }

  async addNetwork(name: string, subnet?: string): Promise<string> {
    const id = this.newId();
    await this.store.update((tx) =>
      tx.create(
        'network',
        Network.create({ id, spec: { annotations: { name }, driver: { name: 'overlay' }, ipam: { configs: subnet ? [{ subnet }] : [] } } }),
      ),
    );
    return id;
  }

  async createService(name: string, spec: DeepPartial<ServiceSpec> = {}): Promise<string> {
    const id = this.newId();
    await this.store.update((tx) =>
      tx.create(
        'service',
        Service.create({
          id,
          spec: {
            ...(spec.global || spec.replicatedJob || spec.globalJob ? {} : { replicated: { replicas: 1 } }),
            ...spec,
            annotations: { name },
            task: { container: { image: 'busybox' }, ...spec.task },
          },
        }),
      ),
    );
    return id;
  }

  /** Changes a service's spec as `service update` would (the update status is cleared). */
  async updateService(id: string, change: (spec: ServiceSpec) => ServiceSpec): Promise<void> {
    await this.store.update((tx) => {
      const s = tx.get('service', id) as Service;
      const spec = change(structuredClone(s.spec as ServiceSpec));
      const { updateStatus: _dropped, ...rest } = s;
      tx.update('service', { ...rest, previousSpec: s.spec as ServiceSpec, spec });
    });
  }

  async removeService(id: string): Promise<void> {
    await this.store.update((tx) => tx.remove('service', id));
  }

  tasksOf(serviceId: string): Task[] {
    return this.memory.tasksOfService(serviceId);
  }

  /** Tasks wanted running. */
  wanted(serviceId: string): Task[] {
    return this.tasksOf(serviceId).filter((t) => t.desiredState === TaskState.RUNNING);
  }

  /** Tasks wanted running and running. */
  up(serviceId: string): Task[] {
    return this.wanted(serviceId).filter((t) => t.status?.state === TaskState.RUNNING);
  }

  /** Runs the loops for `ms` of fake time in `stepMs` steps; `each` runs after every step. */
  async settle(ms = 500, stepMs = 10, each?: () => Promise<void> | void): Promise<void> {
    await flush();
    for (let t = 0; t < ms; t += stepMs) {
      this.clock.advance(stepMs);
      await flush();
      await this.loops.idle();
      await flush();
      if (each) await each();
    }
  }

  /**
   * Plays every worker once: assigned tasks on READY nodes start (RUNNING), unless `fail` says the
   * task fails (FAILED); tasks wanted shut down stop (SHUTDOWN). Returns how many tasks changed.
   */
  async work(fail: (t: Task) => boolean = () => false): Promise<number> {
    let changed = 0;
    await this.store.update((tx) => {
      for (const read of this.memory.list('task')) {
        const t = tx.get('task', read.id) as Task;
        const node = t.nodeId === '' ? undefined : this.memory.get('node', t.nodeId);
        if (node?.status?.state !== NodeState.READY) continue;
        const state = t.status?.state ?? TaskState.NEW;
        let next: TaskState | undefined;
        if (t.desiredState > TaskState.RUNNING && state >= TaskState.ASSIGNED && state < TaskState.COMPLETE) next = TaskState.SHUTDOWN;
        else if (t.desiredState === TaskState.RUNNING && state >= TaskState.ASSIGNED && state < TaskState.RUNNING) next = fail(t) ? TaskState.FAILED : TaskState.RUNNING;
        if (next === undefined) continue;
        changed++;
        tx.update('task', { ...t, status: { ...t.status, state: next, message: next === TaskState.FAILED ? 'failed' : 'started', err: next === TaskState.FAILED ? 'exit code 1' : '', timestamp: timestampFromMs(this.clock.now()) } });
      }
    });
    return changed;
  }
}

/** A fixture with a cluster object, started loops and `nodes` READY nodes n1..nN. */
export async function cluster(nodes = 2, options: FixtureOptions = {}): Promise<Fixture> {
  const f = new Fixture(options);
  await f.init();
  for (let i = 1; i <= nodes; i++) await f.addNode(`n${i}`);
  f.loops.start();
  await f.settle();
  return f;
}
