/**
 * Fixtures of the dispatcher and agent tests: a MemoryStore behind a LocalProposer that counts
 * writes, nodes and tasks in it, a Dispatcher on a real grpc-js server on 127.0.0.1 port 0
 * (insecure), clients that name their node in call metadata, and a reader for server streams.
 * Everything started here is stopped in the test's teardown, even when the test fails.
 */
import { Server, ServerCredentials, credentials, type ClientReadableStream } from '@grpc/grpc-js';
import type { Clock } from '../../../lib/clock.js';
import { isTsswarmError, type TsswarmError } from '../../../lib/errors.js';
import { silentLogger } from '../../../lib/log.js';
import { Dispatcher, type DispatcherOptions } from '../../../manager/dispatcher/index.js';
import { LocalProposer, MemoryStore, Store, type Proposer, type StoreEvent } from '../../../manager/store/index.js';
import { DispatcherClient, dispatcherCallError } from '../../../worker/agent/index.js';
import {
  DispatcherService,
  Node,
  NodeRole,
  NodeState,
  Task,
  TaskState,
  type InternalRaftRequest,
  type NodeDescription,
  type TaskStatus,
  type WeightedPeer,
} from '../../../proto/index.js';
import type { Teardown } from '../../helpers/temp-dir.js';

/** The metadata key tests name their node with (production uses the mTLS certificate). */
export const nodeIdKey = 'test-node-id';

/** A Proposer that counts the batches it applies. */
export class CountingProposer implements Proposer {
  writes = 0;
  constructor(private readonly inner: Proposer) {}
  propose(request: InternalRaftRequest): Promise<StoreEvent[]> {
    this.writes++;
    return this.inner.propose(request);
  }
}

/** A store with a counting local proposer. */
export function newStore(): { store: Store; memory: MemoryStore; proposer: CountingProposer } {
  const memory = new MemoryStore();
  const proposer = new CountingProposer(new LocalProposer(memory));
  return { store: new Store(memory, proposer), memory, proposer };
}

/** A node as the CA would have created it when it joined. */
export async function addNode(store: Store, id: string, state: NodeState = NodeState.UNKNOWN): Promise<void> {
  await store.update((tx) => tx.create('node', Node.create({ id, role: NodeRole.WORKER, status: { state, message: '', addr: '' } })));
}

/** Options of addTask. */
export interface TaskInit {
  readonly nodeId: string;
  readonly state?: TaskState;
  readonly desired?: TaskState;
  readonly secrets?: readonly string[];
  readonly image?: string;
}

/** A task of service "svc" in the store. */
export async function addTask(store: Store, id: string, init: TaskInit): Promise<void> {
  await store.update((tx) => tx.create('task', makeTask(id, init)));
}

/** A task object (not stored). */
export function makeTask(id: string, init: TaskInit): Task {
  return Task.create({
    id,
    serviceId: 'svc',
    nodeId: init.nodeId,
    desiredState: init.desired ?? TaskState.RUNNING,
    status: { state: init.state ?? TaskState.ASSIGNED, message: '' },
    spec: {
      container: {
        image: init.image ?? 'busybox',
        secrets: (init.secrets ?? []).map((secretId) => ({ secretId, secretName: secretId })),
      },
    },
  });
}

/** Changes a stored task with `change`. */
export async function updateTask(store: Store, id: string, change: (task: Task) => Task): Promise<void> {
  await store.update((tx) => {
    const task = tx.get('task', id);
    if (task === undefined) throw new Error(`no task ${id}`);
    tx.update('task', change(task));
  });
}

/** A TaskStatus in `state`. */
export function taskStatus(state: TaskState, message = ''): TaskStatus {
  return { state, message, err: '' };
}

/** A node description for sessions. */
export const description: NodeDescription = {
  hostname: 'worker-1',
  platform: { architecture: 'amd64', os: 'linux' },
  resources: { nanoCpus: 2e9, memoryBytes: 1 << 30, pids: 0 },
};

/** Options of startDispatcher (everything of DispatcherOptions but the store, clock and identify, which it fills). */
export interface StartOptions extends Partial<Omit<DispatcherOptions, 'store' | 'clock'>> {
  readonly started?: boolean;
}

/** A Dispatcher on its own server at "127.0.0.1:<port>"; started unless `started` is false. */
export async function startDispatcher(
  t: Teardown,
  store: Store,
  clock: Clock,
  options: StartOptions = {},
): Promise<{ dispatcher: Dispatcher; address: string; server: Server }> {
  const managers: WeightedPeer[] = [];
  const dispatcher = new Dispatcher({
    store,
    clock,
    identify: (call) => String(call.metadata.get(nodeIdKey)[0] ?? ''),
    managers: () => managers,
    log: silentLogger(),
    ...options,
  });
  const server = new Server();
  server.addService(DispatcherService, dispatcher.handlers());
  t.teardown(() => {
    dispatcher.stop();
    server.forceShutdown();
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  if (options.started !== false) dispatcher.start();
  return { dispatcher, address: `127.0.0.1:${port}`, server };
}

/** A client of `address` that says it is node `nodeId`; closed on teardown. */
export function clientFor(t: Teardown, address: string, nodeId: string): DispatcherClient {
  const client = new DispatcherClient(address, credentials.createInsecure(), { [nodeIdKey]: nodeId });
  t.teardown(() => client.close());
  return client;
}

/** Reads a server stream message by message; cancelled on teardown. */
export class StreamReader<T> {
  private readonly buffered: T[] = [];
  private waiter: (() => void) | undefined;
  /** The error the stream ended with (as a TsswarmError), or 'end', once it ended. */
  ended: TsswarmError | 'end' | undefined;
  /** Every message received, in order. */
  readonly all: T[] = [];

  constructor(
    t: Teardown,
    private readonly stream: ClientReadableStream<T>,
    address: string,
  ) {
    t.teardown(() => stream.cancel());
    stream.on('data', (m: T) => {
      this.buffered.push(m);
      this.all.push(m);
      this.wake();
    });
    stream.on('error', (err: Error) => {
      this.ended ??= isTsswarmError(err) ? err : dispatcherCallError(err as Parameters<typeof dispatcherCallError>[0], address);
      this.wake();
    });
    stream.on('end', () => {
      this.ended ??= 'end';
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The next message; rejects when the stream ends first or nothing comes within `timeoutMs` (real time). */
  async next(timeoutMs = 5_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.buffered.shift();
      if (m !== undefined) return m;
      if (this.ended !== undefined) throw new Error(`stream ended: ${this.ended === 'end' ? 'end' : `${this.ended.code} ${this.ended.message}`}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no stream message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Resolves with how the stream ended (waiting at most `timeoutMs`). */
  async end(timeoutMs = 5_000): Promise<TsswarmError | 'end'> {
    const deadline = Date.now() + timeoutMs;
    while (this.ended === undefined) {
      if (Date.now() >= deadline) throw new Error(`stream did not end within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.ended;
  }

  /** Messages received but not yet taken with next(). */
  get pending(): number {
    return this.buffered.length;
  }
}

/** Polls `check` (real time) until it returns true; fails after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() >= deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets pending I/O callbacks and promise jobs run (real time). */
export function settle(ms = 20): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
