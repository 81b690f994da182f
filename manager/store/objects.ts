/**
 * The kinds of object the store holds and how to get at their common parts (ID, version, name),
 * as one tagged union over the generated proto types.
 */
import type { Cluster, Config, Meta, Network, Node, Secret, Service, StoreAction, Task } from '../../proto/index.js';

/** Every table of the store. */
export const objectKinds = ['node', 'service', 'task', 'network', 'cluster', 'secret', 'config'] as const;
/** The name of one table. */
export type ObjectKind = (typeof objectKinds)[number];

/** The object type of each table. */
export interface ObjectTypes {
  node: Node;
  service: Service;
  task: Task;
  network: Network;
  cluster: Cluster;
  secret: Secret;
  config: Config;
}

/** An object with its kind. */
export type StoreObject = { [K in ObjectKind]: { readonly kind: K; readonly value: ObjectTypes[K] } }[ObjectKind];

/** Tables whose objects have unique names (spec.annotations.name). */
export const namedKinds: ReadonlySet<ObjectKind> = new Set(['service', 'network', 'cluster', 'secret', 'config']);

/** The object's ID. */
export function objectId(o: StoreObject): string {
  return o.value.id;
}

/** The object's stored version (the raft index of its last write), 0 when never stored. */
export function objectVersion(o: StoreObject): number {
  return o.value.meta?.version?.index ?? 0;
}

/** The object's unique name, for the tables that have one. */
export function objectName(o: StoreObject): string | undefined {
  if (!namedKinds.has(o.kind)) return undefined;
  const spec = (o.value as { spec?: { annotations?: { name?: string } } }).spec;
  return spec?.annotations?.name;
}

/** A copy of the object with new meta. */
export function withMeta(o: StoreObject, meta: Meta): StoreObject {
  return { kind: o.kind, value: { ...o.value, meta } } as StoreObject;
}

/** The object a StoreAction carries. */
export function actionObject(action: StoreAction): StoreObject | undefined {
  for (const kind of objectKinds) {
    const value = action[kind];
    if (value !== undefined) return { kind, value } as StoreObject;
  }
  return undefined;
}

/** The StoreAction field for an object. */
export function actionTarget(o: StoreObject): Partial<StoreAction> {
  return { [o.kind]: o.value } as Partial<StoreAction>;
}
