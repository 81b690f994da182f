/**
 * What the config calls decide, as pure functions of the store's contents: the same rules as
 * secrets (secrets.ts: names, 1 byte to 500 KiB of data, a name used once, labels-only updates,
 * removal refused while a service references it), except that the data is stored and returned as
 * it is (a config is not secret; `config inspect` shows it, as docker's does).
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { Config, type ConfigSpec } from '../../proto/index.js';
import { labelProblems } from './node-spec.js';
import { annotationProblems, dataSizeProblem, inUseError, maxSecretLabels, objectLabel, refuse, servicesReferencing } from './secrets.js';
import type { StoreView } from './store-access.js';

/** Throws INVALID_ARGUMENT when `spec` is not a valid config spec to create. */
export function validateConfigSpec(spec: ConfigSpec | undefined): asserts spec is ConfigSpec {
  if (spec === undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'invalid config spec: a spec is required');
  const problems = annotationProblems('config', spec.annotations);
  const size = dataSizeProblem('config', spec.data);
  if (size !== undefined) problems.push(size);
  if (spec.templating !== undefined && spec.templating.name !== '') problems.push('templated configs are not supported');
  refuse('invalid config spec', problems);
}

/** The config CreateConfig stores. INVALID_ARGUMENT for a bad spec, ALREADY_EXISTS for a name in use. */
export function planConfigCreate(view: StoreView, spec: ConfigSpec | undefined, newId: () => string): Config {
  validateConfigSpec(spec);
  const name = spec.annotations?.name ?? '';
  if (view.byName('config', name) !== undefined) throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `config ${name} already exists`);
  return Config.create({ id: newId(), spec: { annotations: { name, labels: { ...(spec.annotations?.labels ?? {}) } }, data: spec.data } });
}

/** The config with exact ID `id`. INVALID_ARGUMENT for an empty ID, NOT_FOUND "config X not found". */
export function findConfig(view: StoreView, id: string): Config {
  if (id === '') throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'a config ID is required');
  const config = view.get('config', id);
  if (config === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, `config ${id} not found`);
  return config;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The config UpdateConfig stores: the stored one with the request's labels. The request's data must
 * be empty or the stored data (SwarmKit compares it); INVALID_ARGUMENT for a rename, other data or
 * bad labels.
 */
export function planConfigUpdate(stored: Config, spec: ConfigSpec | undefined): Config {
  if (spec === undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'invalid config spec: a spec is required');
  const problems: string[] = [];
  if ((spec.annotations?.name ?? '') !== (stored.spec?.annotations?.name ?? '')) problems.push('the name cannot change');
  if (spec.data.length > 0 && !sameBytes(spec.data, stored.spec?.data ?? new Uint8Array(0))) {
    problems.push('the data cannot change: create a new config and rotate the services to it');
  }
  if ((spec.templating?.name ?? '') !== (stored.spec?.templating?.name ?? '')) problems.push('the templating cannot change');
  problems.push(...labelProblems(spec.annotations?.labels ?? {}, maxSecretLabels));
  refuse(`config ${objectLabel(stored)}: only updates to labels are allowed`, problems);
  const annotations = { name: stored.spec?.annotations?.name ?? '', labels: { ...(spec.annotations?.labels ?? {}) } };
  return { ...stored, spec: { ...(stored.spec as ConfigSpec), annotations } };
}

/** The config RemoveConfig removes. NOT_FOUND for an unknown one, CONFLICT naming the services that use it. */
export function planConfigRemoval(view: StoreView, id: string): Config {
  const config = findConfig(view, id);
  const users = servicesReferencing(view, 'config', config.id);
  if (users.length > 0) throw inUseError('config', objectLabel(config), users);
  return config;
}
