/**
 * Finding the node a user means by a reference (`tsswarm node inspect REF`): an exact ID first,
 * then an exact hostname, then a unique ID prefix, as docker does. Pure, so the CLI and the
 * Control API share the same semantics.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import type { Node } from '../../proto/index.js';

/** Most candidates an "ambiguous" error names. */
export const maxAmbiguousCandidatesShown = 10;

/**
 * The node `ref` names among `nodes`. INVALID_ARGUMENT when `ref` is empty or matches several nodes
 * (the message lists them), NOT_FOUND "node X not found" when it matches none.
 */
export function resolveNode(nodes: readonly Node[], ref: string): Node {
  if (ref === '') throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'a node ID or hostname is required');
  const byId = nodes.find((n) => n.id === ref);
  if (byId !== undefined) return byId;
  const byHostname = nodes.filter((n) => n.description?.hostname === ref);
  if (byHostname.length === 1 && byHostname[0] !== undefined) return byHostname[0];
  if (byHostname.length > 1) throw ambiguous(ref, 'hostname', byHostname);
  const byPrefix = nodes.filter((n) => n.id.startsWith(ref));
  if (byPrefix.length === 1 && byPrefix[0] !== undefined) return byPrefix[0];
  if (byPrefix.length > 1) throw ambiguous(ref, 'ID prefix', byPrefix);
  throw new TsswarmError(ErrorCode.NOT_FOUND, `node ${ref} not found`);
}

function ambiguous(ref: string, what: string, matches: readonly Node[]): TsswarmError {
  const shown = matches.slice(0, maxAmbiguousCandidatesShown).map((n) => {
    const hostname = n.description?.hostname ?? '';
    return hostname === '' ? n.id : `${n.id} (${hostname})`;
  });
  const more = matches.length > shown.length ? `, and ${matches.length - shown.length} more` : '';
  return new TsswarmError(
    ErrorCode.INVALID_ARGUMENT,
    `node ${ref} is ambiguous: it is the ${what} of ${matches.length} nodes: ${shown.join(', ')}${more}; use a longer ID`,
  );
}
