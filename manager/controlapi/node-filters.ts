/**
 * ListNodes filters, as SwarmKit's controlapi applies them: every criterion given must match;
 * within one criterion any listed value may match. Names and name prefixes are hostnames, labels are
 * the engine's labels, node labels are the spec's labels (a filter label with an empty value matches
 * any value of that key), roles are the role the node's certificate grants (what `node ls` shows).
 */
import type { Node, NodeFilters } from '../../proto/index.js';

/** True when `candidate` has every key of `wanted`, with the same value unless the wanted value is empty. */
export function labelsMatch(candidate: Readonly<Record<string, string>> | undefined, wanted: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(wanted)) {
    const actual = candidate?.[key];
    if (actual === undefined) return false;
    if (value !== '' && actual !== value) return false;
  }
  return true;
}

/** True when `node` passes every criterion of `filters` (no filters: every node passes). */
export function nodeMatches(node: Node, filters: NodeFilters | undefined): boolean {
  if (filters === undefined) return true;
  const object = filters.object;
  const hostname = node.description?.hostname ?? '';
  if (object !== undefined) {
    if (object.names.length > 0 && !object.names.includes(hostname)) return false;
    if (object.namePrefixes.length > 0 && !object.namePrefixes.some((p) => hostname.startsWith(p))) return false;
    if (object.idPrefixes.length > 0 && !object.idPrefixes.some((p) => node.id.startsWith(p))) return false;
    if (Object.keys(object.labels).length > 0 && !labelsMatch(node.description?.engine?.labels, object.labels)) return false;
  }
  if (Object.keys(filters.nodeLabels).length > 0 && !labelsMatch(node.spec?.annotations?.labels, filters.nodeLabels)) return false;
  if (filters.roles.length > 0 && !filters.roles.includes(node.role)) return false;
  return true;
}

/** The nodes of `nodes` that pass `filters`, in the same order. */
export function filterNodes(nodes: readonly Node[], filters: NodeFilters | undefined): Node[] {
  return nodes.filter((n) => nodeMatches(n, filters));
}
