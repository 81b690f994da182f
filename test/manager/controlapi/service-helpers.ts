/**
 * Shared fixtures of the service, task and network Control API tests: a ServiceControlApi over a
 * MemoryStore with a LocalProposer, predictable IDs and names, spec builders, and a snapshot of the
 * store to prove a refused request changed nothing.
 */
import { seededRng } from '../../../lib/rng.js';
import { ServiceControlApi } from '../../../manager/controlapi/service-control-api.js';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { LocalProposer, Store } from '../../../manager/store/store.js';
import { Network, NetworkSpec, ServiceSpec, Task, TaskState, type DeepPartial, type Service } from '../../../proto/index.js';
import { FakeMembership } from './helpers.js';

/** IDs "id00…01", "id00…02", … (25 characters, like real ones). */
export function counterIds(prefix = 'id'): () => string {
  let n = 0;
  return () => `${prefix}${String(++n).padStart(25 - prefix.length, '0')}`;
}

/** Partial message types for spec builders (DeepPartial of a present field). */
export type Part<T> = DeepPartial<NonNullable<T>>;
/** A partial container spec. */
export type ContainerPart = Part<NonNullable<ServiceSpec['task']>['container']>;

/** A ServiceControlApi over an empty store, with a leader, counter IDs and a seeded rng. */
export function serviceFixture(seed = 7): { store: Store; membership: FakeMembership; api: ServiceControlApi } {
  const memory = new MemoryStore();
  const store = new Store(memory, new LocalProposer(memory), () => 1_700_000_000_000);
  const membership = new FakeMembership([], 'm1');
  return { store, membership, api: new ServiceControlApi({ store, membership, newId: counterIds(), rng: seededRng(seed) }) };
}

/** A valid replicated service spec named `name`, with `change` merged in at the top level. */
export function serviceSpec(name: string, change: DeepPartial<ServiceSpec> = {}): ServiceSpec {
  return ServiceSpec.create({
    annotations: { name, labels: {} },
    task: { container: { image: 'nginx:1.27' } },
    replicated: { replicas: 2 },
    ...change,
  });
}

/** A spec with its task's container changed (the rest as serviceSpec). */
export function withContainer(name: string, container: ContainerPart): ServiceSpec {
  return serviceSpec(name, { task: { container: { image: 'nginx:1.27', ...container } } });
}

/** A spec with its task template changed (container image kept unless given). */
export function withTask(name: string, task: Part<ServiceSpec['task']>): ServiceSpec {
  return serviceSpec(name, { task: { container: { image: 'nginx:1.27' }, ...task } });
}

/** A network spec named `name`, with `change` merged in. */
export function networkSpec(name: string, change: DeepPartial<NetworkSpec> = {}): NetworkSpec {
  return NetworkSpec.create({ annotations: { name, labels: {} }, ...change });
}

/** A task as the orchestrator would write it. */
export function task(id: string, init: DeepPartial<Task> = {}): Task {
  return Task.create({ id, desiredState: TaskState.RUNNING, status: { state: TaskState.RUNNING }, ...init });
}

/** Writes objects straight into the store (as the orchestrator or allocator would). */
export async function seed(store: Store, objects: { services?: Service[]; tasks?: Task[]; networks?: Network[] }): Promise<void> {
  await store.update((tx) => {
    for (const n of objects.networks ?? []) tx.create('network', n);
    for (const s of objects.services ?? []) tx.create('service', s);
    for (const t of objects.tasks ?? []) tx.create('task', t);
  });
}

/** The store's applied version and a deep copy of every service, task and network. */
export function serviceStoreState(store: Store): { version: number; services: Service[]; tasks: Task[]; networks: Network[] } {
  return {
    version: store.memory.version,
    services: structuredClone(store.memory.list('service')),
    tasks: structuredClone(store.memory.list('task')),
    networks: structuredClone(store.memory.list('network')),
  };
}

/** The version a caller read an object at. */
export function versionOf(o: { meta?: { version?: { index: number } } } | undefined): { index: number } {
  return { index: o?.meta?.version?.index ?? -1 };
}
