/**
 * ListServices and ListNetworks filters, as SwarmKit's controlapi applies them: every criterion
 * given must match; within one criterion any listed value may match. Names and name prefixes are
 * the spec's name, labels the spec's labels (a filter label with an empty value matches any value).
 */
import type { Annotations, ObjectFilters } from '../../proto/index.js';
import { labelsMatch } from './node-filters.js';

/** What the filters look at: an ID and the spec's annotations. */
export interface NamedObject {
  readonly id: string;
  readonly spec?: { readonly annotations?: Annotations } | undefined;
}

/** True when `object` passes every criterion of `filters` (no filters: every object passes). */
export function objectMatches(object: NamedObject, filters: ObjectFilters | undefined): boolean {
  if (filters === undefined) return true;
  const name = object.spec?.annotations?.name ?? '';
  if (filters.names.length > 0 && !filters.names.includes(name)) return false;
  if (filters.namePrefixes.length > 0 && !filters.namePrefixes.some((p) => name.startsWith(p))) return false;
  if (filters.idPrefixes.length > 0 && !filters.idPrefixes.some((p) => object.id.startsWith(p))) return false;
  if (Object.keys(filters.labels).length > 0 && !labelsMatch(object.spec?.annotations?.labels, filters.labels)) return false;
  return true;
}

/** The objects of `objects` that pass `filters`, in the same order. */
export function filterObjects<T extends NamedObject>(objects: readonly T[], filters: ObjectFilters | undefined): T[] {
  return objects.filter((o) => objectMatches(o, filters));
}
