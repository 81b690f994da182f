/**
 * What the secret calls decide, as pure functions of the store's contents, with SwarmKit's rules:
 * names of at most 64 characters from [a-zA-Z0-9-_.] starting and ending with a letter or digit;
 * data of 1 byte to 500 KiB; no external drivers or templating; a name used once; updates change
 * labels only (the data is immutable); removal refused while a service references the secret.
 * The data is sealed (secrets-encryption.ts) before anything is stored, and every secret returned
 * goes through redactSecret. Configs follow the same rules (configs.ts) with plain data.
 */
import { timingSafeEqual } from 'node:crypto';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { Secret, type Annotations, type SecretSpec, type Service } from '../../proto/index.js';
import { labelProblems } from './node-spec.js';
import { sealSecretData } from './secrets-encryption.js';
import type { StoreView } from './store-access.js';

/** Most bytes of a secret's or config's data (SwarmKit's MaxSecretSize / MaxConfigSize). */
export const maxSecretDataBytes = 500 * 1024;
/** Longest secret or config name, in characters. */
export const maxSecretNameChars = 64;
/** Most labels on one secret or config. */
export const maxSecretLabels = 128;
/** Secret and config names: docker's pattern (letters, digits, -_. inside; letter or digit at both ends). */
export const secretNamePattern = /^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/;

/** The problems with the annotations of a secret or config (`kind`), if any. */
export function annotationProblems(kind: 'secret' | 'config', annotations: Annotations | undefined): string[] {
  const name = annotations?.name ?? '';
  const problems: string[] = [];
  if (name === '') problems.push(`a ${kind} name is required`);
  else if (name.length > maxSecretNameChars || !secretNamePattern.test(name)) {
    problems.push(
      `invalid ${kind} name ${JSON.stringify(name.slice(0, 80))}: only ${maxSecretNameChars} [a-zA-Z0-9-_.] characters are allowed, and the first and last must be [a-zA-Z0-9]`,
    );
  }
  problems.push(...labelProblems(annotations?.labels ?? {}, maxSecretLabels));
  return problems;
}

/** The problem with a secret's or config's data size, if any. */
export function dataSizeProblem(kind: 'secret' | 'config', data: Uint8Array): string | undefined {
  if (data.length === 0) return `${kind} data must not be empty`;
  if (data.length > maxSecretDataBytes) return `${kind} data is ${data.length} bytes; it must be at most 500 KiB (${maxSecretDataBytes} bytes)`;
  return undefined;
}

/** Throws INVALID_ARGUMENT listing every problem of `problems` under `what`. */
export function refuse(what: string, problems: readonly string[]): void {
  if (problems.length > 0) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `${what}: ${problems.join('; ')}`);
}

/** Throws INVALID_ARGUMENT when `spec` is not a valid secret spec to create. */
export function validateSecretSpec(spec: SecretSpec | undefined): asserts spec is SecretSpec {
  if (spec === undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'invalid secret spec: a spec is required');
  const problems = annotationProblems('secret', spec.annotations);
  if (spec.driver !== undefined && spec.driver.name !== '') problems.push(`secret driver ${JSON.stringify(spec.driver.name)} is not supported: only secrets with data are`);
  else {
    const size = dataSizeProblem('secret', spec.data);
    if (size !== undefined) problems.push(size);
  }
  if (spec.templating !== undefined && spec.templating.name !== '') problems.push('templated secrets are not supported');
  refuse('invalid secret spec', problems);
}

/** How a secret or config is named in messages. */
export function objectLabel(object: { readonly id: string; readonly spec?: { readonly annotations?: Annotations } | undefined }): string {
  return object.spec?.annotations?.name || object.id;
}

/**
 * The secret CreateSecret stores: checked spec, new ID, data sealed under `key` (the cluster's
 * secret key). INVALID_ARGUMENT for a bad spec, ALREADY_EXISTS for a name in use.
 */
export function planSecretCreate(view: StoreView, spec: SecretSpec | undefined, newId: () => string, key: Uint8Array): Secret {
  validateSecretSpec(spec);
  const name = spec.annotations?.name ?? '';
  if (view.byName('secret', name) !== undefined) throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `secret ${name} already exists`);
  const id = newId();
  const annotations = { name, labels: { ...(spec.annotations?.labels ?? {}) } };
  return Secret.create({ id, spec: { annotations, data: sealSecretData(key, id, spec.data) }, internal: false });
}

/** The secret with exact ID `id`. INVALID_ARGUMENT for an empty ID, NOT_FOUND "secret X not found". */
export function findSecret(view: StoreView, id: string): Secret {
  if (id === '') throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'a secret ID is required');
  const secret = view.get('secret', id);
  if (secret === undefined || secret.internal) throw new TsswarmError(ErrorCode.NOT_FOUND, `secret ${id} not found`);
  return secret;
}

/**
 * The secret UpdateSecret stores: the stored one with the request's labels. The request may leave
 * the data out or send the same data (SwarmKit's rule, which `stack deploy` relies on when it
 * redeploys an unchanged secret); `storedData` opens the stored data for that comparison.
 * INVALID_ARGUMENT when the request renames it, sends other data or bad labels; CONFLICT for a
 * stale version (the caller checks it with checkVersion before).
 */
export function planSecretUpdate(stored: Secret, spec: SecretSpec | undefined, storedData: () => Uint8Array): Secret {
  if (spec === undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'invalid secret spec: a spec is required');
  const name = objectLabel(stored);
  const problems: string[] = [];
  if ((spec.annotations?.name ?? '') !== (stored.spec?.annotations?.name ?? '')) problems.push('the name cannot change');
  if (spec.data.length > 0 && !sameSecretBytes(spec.data, storedData())) problems.push('the data cannot change: create a new secret and rotate the services to it');
  if ((spec.driver?.name ?? '') !== (stored.spec?.driver?.name ?? '') || (spec.templating?.name ?? '') !== (stored.spec?.templating?.name ?? '')) {
    problems.push('the driver and templating cannot change');
  }
  problems.push(...labelProblems(spec.annotations?.labels ?? {}, maxSecretLabels));
  refuse(`secret ${name}: only updates to labels are allowed`, problems);
  const annotations = { name: stored.spec?.annotations?.name ?? '', labels: { ...(spec.annotations?.labels ?? {}) } };
  return { ...stored, spec: { ...(stored.spec as SecretSpec), annotations } };
}

/** True when two byte strings are equal, compared in constant time (secret data). */
export function sameSecretBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The names of the services whose spec references secret or config `id` (`kind`), sorted. */
export function servicesReferencing(view: StoreView, kind: 'secret' | 'config', id: string): string[] {
  const uses = (s: Service): boolean =>
    kind === 'secret' ? (s.spec?.task?.container?.secrets ?? []).some((r) => r.secretId === id) : (s.spec?.task?.container?.configs ?? []).some((r) => r.configId === id);
  return view
    .list('service')
    .filter(uses)
    .map((s) => s.spec?.annotations?.name || s.id)
    .sort();
}

/** The refusal of removing a secret or config that services use, in docker's words. */
export function inUseError(kind: 'secret' | 'config', name: string, services: readonly string[]): TsswarmError {
  return new TsswarmError(
    ErrorCode.CONFLICT,
    `${kind} '${name}' is in use by the following service${services.length === 1 ? '' : 's'}: ${services.join(', ')}; remove it from ${services.length === 1 ? 'that service' : 'those services'} first`,
  );
}

/** The secret RemoveSecret removes. NOT_FOUND for an unknown one, CONFLICT naming the services that use it. */
export function planSecretRemoval(view: StoreView, id: string): Secret {
  const secret = findSecret(view, id);
  const users = servicesReferencing(view, 'secret', secret.id);
  if (users.length > 0) throw inUseError('secret', objectLabel(secret), users);
  return secret;
}
