/**
 * Finding the service or network a user means by a reference (`tsswarm service inspect REF`,
 * `--network REF`): an exact ID first, then an exact name, then a unique ID prefix, as docker does
 * (names are unique in the store, so a name matches at most one object). Pure, so the CLI and the
 * Control API share the same semantics.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import type { Network, Service } from '../../proto/index.js';
import type { NamedObject } from './object-filters.js';
import { maxAmbiguousCandidatesShown } from './resolve-node.js';

/**
 * The object `ref` names among `objects`; `kind` ("service", "network") words the errors.
 * INVALID_ARGUMENT when `ref` is empty or is the ID prefix of several objects (the message lists
 * them), NOT_FOUND "KIND X not found" when it matches none.
 */
export function resolveNamed<T extends NamedObject>(kind: string, objects: readonly T[], ref: string): T {
  if (ref === '') throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `a ${kind} ID or name is required`);
  const byId = objects.find((o) => o.id === ref);
  if (byId !== undefined) return byId;
  const byName = objects.find((o) => (o.spec?.annotations?.name ?? '') === ref);
  if (byName !== undefined) return byName;
  const byPrefix = objects.filter((o) => o.id.startsWith(ref));
  if (byPrefix.length === 1 && byPrefix[0] !== undefined) return byPrefix[0];
  if (byPrefix.length > 1) {
    const shown = byPrefix.slice(0, maxAmbiguousCandidatesShown).map((o) => {
      const name = o.spec?.annotations?.name ?? '';
      return name === '' ? o.id : `${o.id} (${name})`;
    });
    const more = byPrefix.length > shown.length ? `, and ${byPrefix.length - shown.length} more` : '';
    throw new TsswarmError(
      ErrorCode.INVALID_ARGUMENT,
      `${kind} ${ref} is ambiguous: it is the ID prefix of ${byPrefix.length} ${kind}s: ${shown.join(', ')}${more}; use a longer ID or the name`,
    );
  }
  throw new TsswarmError(ErrorCode.NOT_FOUND, `${kind} ${ref} not found`);
}

/** The service `ref` names: exact ID, exact name, then unique ID prefix (see resolveNamed). */
export function resolveService(services: readonly Service[], ref: string): Service {
  return resolveNamed('service', services, ref);
}

/** The network `ref` names: exact ID, exact name, then unique ID prefix (see resolveNamed). */
export function resolveNetwork(networks: readonly Network[], ref: string): Network {
  return resolveNamed('network', networks, ref);
}
