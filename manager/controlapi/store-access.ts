/**
 * What the service, task and network calls read from the store, and the optimistic-concurrency
 * checks of their updates: a request carries the version it read; a stale one is refused with
 * docker's "update out of sequence".
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import type { Version } from '../../proto/index.js';
import type { MemoryStore, ObjectKind, ObjectTypes, StoreEvent } from '../store/index.js';

/** The read side of the store the planners need (a MemoryStore, or a view over one). */
export type StoreView = Pick<MemoryStore, 'get' | 'list' | 'byName' | 'tasksOfService'>;

/** The version index an update request carries; INVALID_ARGUMENT when it carries none. */
export function requireVersion(version: Version | undefined, kind: string): number {
  if (version === undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `${kind}_version is required: send the version of the ${kind} you read`);
  return version.index;
}

/** CONFLICT "update out of sequence" when the object is no longer at the version the caller read. */
export function checkVersion(kind: string, id: string, current: Version | undefined, read: number): void {
  const now = current?.index ?? 0;
  if (now !== read) {
    throw new TsswarmError(
      ErrorCode.CONFLICT,
      `update out of sequence: ${kind} ${id} is at version ${now}, but the update was made from version ${read}; ` +
        `someone changed it in between: inspect it again and retry`,
    );
  }
}

/** The stored object a write's events carry for `kind` / `id` (undefined when it was removed or not written). */
export function writtenObject<K extends ObjectKind>(events: readonly StoreEvent[], kind: K, id: string): ObjectTypes[K] | undefined {
  for (const e of events) {
    if (e.kind !== 'remove' && e.object.kind === kind && e.object.value.id === id) return e.object.value as ObjectTypes[K];
  }
  return undefined;
}
