/**
 * Writing to the store: a transaction collects creates, updates and removes against a consistent
 * view, stamps times on the proposer's side (so every replica applies the same bytes), and hands
 * the batch to a Proposer (raft on managers; LocalProposer on a single node and in tests). The
 * write is done when the batch is applied, or fails as a whole.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { StoreActionKind, type InternalRaftRequest, type StoreAction, type Timestamp } from '../../proto/index.js';
import { timestampFromMs } from '../../proto/time.js';
import type { MemoryStore, StoreEvent } from './memory-store.js';
import { actionTarget, objectVersion, type ObjectKind, type ObjectTypes, type StoreObject } from './objects.js';

/** Most actions in one batch. */
export const maxActionsPerBatch = 10_000;

/** Gets a batch applied in log order; resolves with the events it made, or rejects with why not. */
export interface Proposer {
  propose(request: InternalRaftRequest): Promise<StoreEvent[]>;
}

/** Applies batches straight to a MemoryStore, one index each (a single node without raft). */
export class LocalProposer implements Proposer {
  constructor(private readonly memory: MemoryStore) {}

  propose(request: InternalRaftRequest): Promise<StoreEvent[]> {
    try {
      return Promise.resolve(this.memory.apply(this.memory.version + 1, request.actions));
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

/** A write in progress: reads see the tables plus what this transaction already did. */
export class Tx {
  readonly actions: StoreAction[] = [];
  private readonly overlay = new Map<string, StoreObject | null>();

  constructor(
    private readonly memory: MemoryStore,
    private readonly now: Timestamp,
  ) {}

  /** An object as this transaction sees it. */
  get<K extends ObjectKind>(kind: K, id: string): ObjectTypes[K] | undefined {
    const key = `${kind}/${id}`;
    if (this.overlay.has(key)) return (this.overlay.get(key)?.value as ObjectTypes[K] | undefined) ?? undefined;
    return this.memory.get(kind, id);
  }

  private push(kind: number, object: StoreObject): void {
    if (this.actions.length >= maxActionsPerBatch) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `a batch holds at most ${maxActionsPerBatch} actions`);
    this.actions.push({ kind, ...actionTarget(object) } as StoreAction);
  }

  /** Adds a new object (meta is filled in). */
  create<K extends ObjectKind>(kind: K, value: ObjectTypes[K]): void {
    const object = { kind, value: { ...value, meta: { version: { index: 0 }, createdAt: this.now, updatedAt: this.now } } } as StoreObject;
    this.push(StoreActionKind.CREATE, object);
    this.overlay.set(`${kind}/${value.id}`, object);
  }

  /** Replaces an object; `value.meta.version` must be the version it was read at. */
  update<K extends ObjectKind>(kind: K, value: ObjectTypes[K]): void {
    const version = objectVersion({ kind, value } as StoreObject);
    const object = { kind, value: { ...value, meta: { ...value.meta, version: { index: version }, updatedAt: this.now } } } as StoreObject;
    this.push(StoreActionKind.UPDATE, object);
    this.overlay.set(`${kind}/${value.id}`, object);
  }

  /** Removes an object by ID. */
  remove(kind: ObjectKind, id: string): void {
    const current = this.get(kind, id);
    if (!current) throw new TsswarmError(ErrorCode.NOT_FOUND, `${kind} ${id} not found`);
    this.push(StoreActionKind.REMOVE, { kind, value: current } as StoreObject);
    this.overlay.set(`${kind}/${id}`, null);
  }
}

/** The store as its users see it: reads from memory, writes through the proposer. */
export class Store {
  private nextRequestId = 1;

  constructor(
    readonly memory: MemoryStore,
    private readonly proposer: Proposer,
    /** Wall-clock milliseconds for createdAt / updatedAt (injected in tests). */
    private readonly wallClockMs: () => number = Date.now,
  ) {}

  /** Runs `fn` in a transaction and proposes its actions as one batch. */
  async update(fn: (tx: Tx) => void): Promise<StoreEvent[]> {
    const tx = new Tx(this.memory, timestampFromMs(this.wallClockMs()));
    fn(tx);
    if (tx.actions.length === 0) return [];
    return this.proposer.propose({ id: this.nextRequestId++, actions: tx.actions });
  }
}
