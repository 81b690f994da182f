/**
 * The cluster state: one table per object kind, with indexes, changed only by batches of actions
 * applied in raft log order. A batch is checked whole before anything changes (atomic): creates
 * need a new ID and a free name, updates must carry the version they read (optimistic
 * concurrency, as `docker service update` does), removes need the object to exist. Every applied
 * object gets the batch's raft index as its version. Watchers get (create | update | remove,
 * object, version) events through bounded queues.
 */
import { assert } from '../../lib/assert.js';
import { BoundedQueue } from '../../lib/bounded-queue.js';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { StoreActionKind, type StoreAction, type StoreSnapshot } from '../../proto/index.js';
import {
  actionObject,
  objectId,
  objectKinds,
  objectName,
  objectVersion,
  withMeta,
  type ObjectKind,
  type ObjectTypes,
  type StoreObject,
} from './objects.js';

/** What happened to an object. */
export type EventKind = 'create' | 'update' | 'remove';

/** One change, as watchers see it. */
export interface StoreEvent {
  readonly kind: EventKind;
  readonly object: StoreObject;
  /** The raft index of the batch that made the change. */
  readonly version: number;
}

/** Events a watcher may fall behind by before it is closed (it must then re-read and watch again). */
export const defaultWatchQueueEvents = 10_000;

/** A subscription to store changes. */
export interface Watcher {
  /** The next event; rejects with QUEUE_FULL when the watcher fell too far behind, CLOSED after close(). */
  next(): Promise<StoreEvent>;
  close(): void;
}

interface WatcherEntry {
  readonly queue: BoundedQueue<StoreEvent>;
  readonly filter: (e: StoreEvent) => boolean;
  overflowed: boolean;
}

function tableKey(kind: ObjectKind, name: string): string {
  return `${kind}/${name}`;
}

/** The in-memory tables of the cluster state. */
export class MemoryStore {
  private readonly tables = new Map<ObjectKind, Map<string, StoreObject>>(objectKinds.map((k) => [k, new Map()]));
  private readonly names = new Map<string, string>();
  private readonly tasksByService = new Map<string, Set<string>>();
  private readonly tasksByNode = new Map<string, Set<string>>();
  private readonly watchers = new Set<WatcherEntry>();
  private appliedIndex = 0;

  /** The raft index of the last applied batch. */
  get version(): number {
    return this.appliedIndex;
  }

  /** One object, or undefined. */
  get<K extends ObjectKind>(kind: K, id: string): ObjectTypes[K] | undefined {
    return this.tables.get(kind)?.get(id)?.value as ObjectTypes[K] | undefined;
  }

  /** Every object of a kind, in ID order. */
  list<K extends ObjectKind>(kind: K): ObjectTypes[K][] {
    const table = this.tables.get(kind) as Map<string, StoreObject>;
    return [...table.keys()].sort().map((id) => table.get(id)?.value as ObjectTypes[K]);
  }

  /** The object of a named kind with that name. */
  byName<K extends ObjectKind>(kind: K, name: string): ObjectTypes[K] | undefined {
    const id = this.names.get(tableKey(kind, name));
    return id === undefined ? undefined : this.get(kind, id);
  }

  /** Tasks of a service. */
  tasksOfService(serviceId: string): ObjectTypes['task'][] {
    return [...(this.tasksByService.get(serviceId) ?? [])].sort().map((id) => this.get('task', id) as ObjectTypes['task']);
  }

  /** Tasks assigned to a node. */
  tasksOfNode(nodeId: string): ObjectTypes['task'][] {
    return [...(this.tasksByNode.get(nodeId) ?? [])].sort().map((id) => this.get('task', id) as ObjectTypes['task']);
  }

  /**
   * Applies one batch at raft index `index` (greater than the last). Throws ALREADY_EXISTS,
   * NOT_FOUND or CONFLICT, changing nothing, when any action cannot apply; `index` is consumed
   * either way, since every replica sees the same outcome.
   */
  apply(index: number, actions: readonly StoreAction[]): StoreEvent[] {
    assert(index > this.appliedIndex, `batch index ${index} is not after ${this.appliedIndex}`);
    this.appliedIndex = index;
    const planned = this.check(actions);
    const events = planned.map(({ kind, object }) => this.write(kind, object, index));
    this.publish(events);
    return events;
  }

  /** Validates a batch against the tables as they would be after each earlier action of it. */
  private check(actions: readonly StoreAction[]): { kind: EventKind; object: StoreObject }[] {
    const seen = new Map<string, StoreObject | null>();
    const names = new Map<string, string | null>();
    const current = (o: StoreObject): StoreObject | undefined => {
      const key = tableKey(o.kind, objectId(o));
      return seen.has(key) ? (seen.get(key) ?? undefined) : this.tables.get(o.kind)?.get(objectId(o));
    };
    const nameOwner = (kind: ObjectKind, name: string): string | undefined => {
      const key = tableKey(kind, name);
      return names.has(key) ? (names.get(key) ?? undefined) : this.names.get(key);
    };
    const planned: { kind: EventKind; object: StoreObject }[] = [];
    for (const action of actions) {
      const object = actionObject(action);
      if (!object) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'store action carries no object');
      const id = objectId(object);
      if (id === '') throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `${object.kind} without an ID`);
      const existing = current(object);
      const name = objectName(object);
      if (action.kind === StoreActionKind.CREATE) {
        if (existing) throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `${object.kind} ${id} already exists`);
        if (name !== undefined && name !== '' && nameOwner(object.kind, name) !== undefined) {
          throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `${object.kind} name "${name}" is already in use`);
        }
        planned.push({ kind: 'create', object });
      } else if (action.kind === StoreActionKind.UPDATE) {
        if (!existing) throw new TsswarmError(ErrorCode.NOT_FOUND, `${object.kind} ${id} not found`);
        if (objectVersion(object) !== objectVersion(existing)) {
          throw new TsswarmError(
            ErrorCode.CONFLICT,
            `update out of sequence: ${object.kind} ${id} is at version ${objectVersion(existing)}, the update was made from version ${objectVersion(object)}`,
          );
        }
        const oldName = objectName(existing);
        if (name !== undefined && name !== oldName && name !== '' && nameOwner(object.kind, name) !== undefined) {
          throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `${object.kind} name "${name}" is already in use`);
        }
        if (oldName !== undefined && oldName !== name) names.set(tableKey(object.kind, oldName), null);
        planned.push({ kind: 'update', object });
      } else if (action.kind === StoreActionKind.REMOVE) {
        if (!existing) throw new TsswarmError(ErrorCode.NOT_FOUND, `${object.kind} ${id} not found`);
        const oldName = objectName(existing);
        if (oldName !== undefined) names.set(tableKey(object.kind, oldName), null);
        seen.set(tableKey(object.kind, id), null);
        planned.push({ kind: 'remove', object: existing });
        continue;
      } else {
        throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `unknown store action kind ${action.kind}`);
      }
      seen.set(tableKey(object.kind, id), object);
      if (name !== undefined && name !== '') names.set(tableKey(object.kind, name), id);
    }
    return planned;
  }

  private write(kind: EventKind, object: StoreObject, index: number): StoreEvent {
    const table = this.tables.get(object.kind) as Map<string, StoreObject>;
    const id = objectId(object);
    const old = table.get(id);
    if (old) this.unindex(old);
    if (kind === 'remove') {
      table.delete(id);
      return { kind, object, version: index };
    }
    const meta = { ...object.value.meta, version: { index } };
    const stored = withMeta(object, meta);
    table.set(id, stored);
    this.index(stored);
    return { kind, object: stored, version: index };
  }

  private index(o: StoreObject): void {
    const name = objectName(o);
    if (name !== undefined && name !== '') this.names.set(tableKey(o.kind, name), objectId(o));
    if (o.kind === 'task') {
      addTo(this.tasksByService, o.value.serviceId, o.value.id);
      if (o.value.nodeId !== '') addTo(this.tasksByNode, o.value.nodeId, o.value.id);
    }
  }

  private unindex(o: StoreObject): void {
    const name = objectName(o);
    if (name !== undefined && this.names.get(tableKey(o.kind, name)) === objectId(o)) this.names.delete(tableKey(o.kind, name));
    if (o.kind === 'task') {
      removeFrom(this.tasksByService, o.value.serviceId, o.value.id);
      removeFrom(this.tasksByNode, o.value.nodeId, o.value.id);
    }
  }

  private publish(events: readonly StoreEvent[]): void {
    for (const w of this.watchers) {
      if (w.overflowed) continue;
      for (const e of events) {
        if (!w.filter(e)) continue;
        if (!w.queue.tryPush(e)) {
          w.overflowed = true;
          w.queue.close();
          break;
        }
      }
    }
  }

  /** Subscribes to changes from now on. */
  watch(filter: (e: StoreEvent) => boolean = () => true, capacity = defaultWatchQueueEvents): Watcher {
    const entry: WatcherEntry = { queue: new BoundedQueue<StoreEvent>(capacity), filter, overflowed: false };
    this.watchers.add(entry);
    return {
      next: async () => {
        try {
          return await entry.queue.shift();
        } catch (err) {
          if (entry.overflowed) throw new TsswarmError(ErrorCode.QUEUE_FULL, `watcher fell more than ${capacity} events behind; re-read the store and watch again`);
          throw err;
        }
      },
      close: () => {
        this.watchers.delete(entry);
        entry.queue.close();
      },
    };
  }

  /** Every table, for a raft snapshot. */
  snapshot(): StoreSnapshot {
    return {
      nodes: this.list('node'),
      services: this.list('service'),
      tasks: this.list('task'),
      networks: this.list('network'),
      clusters: this.list('cluster'),
      secrets: this.list('secret'),
      configs: this.list('config'),
    };
  }

  /** Replaces every table with a snapshot taken at raft index `index`. Watchers are closed. */
  restore(snapshot: StoreSnapshot, index: number): void {
    for (const table of this.tables.values()) table.clear();
    this.names.clear();
    this.tasksByService.clear();
    this.tasksByNode.clear();
    const put = (o: StoreObject): void => {
      (this.tables.get(o.kind) as Map<string, StoreObject>).set(objectId(o), o);
      this.index(o);
    };
    snapshot.nodes.forEach((value) => put({ kind: 'node', value }));
    snapshot.services.forEach((value) => put({ kind: 'service', value }));
    snapshot.tasks.forEach((value) => put({ kind: 'task', value }));
    snapshot.networks.forEach((value) => put({ kind: 'network', value }));
    snapshot.clusters.forEach((value) => put({ kind: 'cluster', value }));
    snapshot.secrets.forEach((value) => put({ kind: 'secret', value }));
    snapshot.configs.forEach((value) => put({ kind: 'config', value }));
    this.appliedIndex = index;
    for (const w of this.watchers) w.queue.close();
    this.watchers.clear();
  }
}

function addTo(index: Map<string, Set<string>>, key: string, id: string): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(id);
}

function removeFrom(index: Map<string, Set<string>>, key: string, id: string): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(id);
  if (set.size === 0) index.delete(key);
}
