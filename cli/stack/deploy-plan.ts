/**
 * What a deploy must do, decided from the stack's desired specs and the cluster's current objects
 * (pure, as the rest of cli/stack; commands/stack.ts performs it): which networks, secrets and
 * configs to create, which services to create, update or (with --prune) remove. Everything that
 * can be refused is refused here, before the first change: an external object that does not exist,
 * a name taken by an object outside the stack, a service whose mode would change, a config whose
 * content changed.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import type { Config, ConfigSpec, Network, NetworkSpec, Secret, SecretSpec, Service, ServiceSpec } from '../../proto/index.js';
import { namespaceLabel, type DesiredFileObject, type DesiredStack } from './convert.js';
import { nextSpec } from './spec-diff.js';

/** An object with a name and labels, as the Control API lists them. */
interface Labelled {
  readonly id: string;
  readonly spec?: { readonly annotations?: { readonly name: string; readonly labels: Readonly<Record<string, string>> } };
}

/** The cluster's objects a deploy looks at. */
export interface ExistingObjects {
  readonly services: readonly Service[];
  readonly networks: readonly Network[];
  readonly secrets: readonly Secret[];
  readonly configs: readonly Config[];
}

/** The objects to create before the services. */
export interface ObjectPlan {
  readonly networks: readonly { readonly name: string; readonly spec: NetworkSpec }[];
  readonly secrets: readonly { readonly name: string; readonly spec: SecretSpec }[];
  readonly configs: readonly { readonly name: string; readonly spec: ConfigSpec }[];
  /** Full name → ID of every network, secret and config that exists already and the stack uses. */
  readonly ids: ReadonlyMap<string, string>;
}

/** The name of an object. */
export function nameOf(o: Labelled): string {
  return o.spec?.annotations?.name ?? '';
}

/** True when `o` carries the namespace label of `stack`. */
export function inStack(o: Labelled, stack: string): boolean {
  return o.spec?.annotations?.labels[namespaceLabel] === stack;
}

/** The objects of `stack` among `objects` (by its namespace label). */
export function stackMembers<T extends Labelled>(objects: readonly T[], stack: string): T[] {
  return objects.filter((o) => inStack(o, stack));
}

function planKind<Spec>(
  kind: 'network' | 'secret' | 'config',
  wanted: readonly { readonly name: string; readonly external: boolean; readonly spec?: Spec }[],
  existing: readonly Labelled[],
  stack: string,
  ids: Map<string, string>,
): { name: string; spec: Spec }[] {
  const create: { name: string; spec: Spec }[] = [];
  for (const w of wanted) {
    const found = existing.find((o) => nameOf(o) === w.name) ?? (w.external ? existing.find((o) => o.id === w.name) : undefined);
    if (w.external) {
      if (found === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, `${kind} ${w.name} is declared as external, but could not be found: create it first (tsswarm ${kind} create ${w.name})`);
      ids.set(w.name, found.id);
    } else if (found !== undefined) {
      if (!inStack(found, stack)) throw new TsswarmError(ErrorCode.CONFLICT, `${kind} ${w.name} already exists and is not part of stack ${stack}`);
      ids.set(w.name, found.id);
    } else if (w.spec !== undefined) create.push({ name: w.name, spec: w.spec });
  }
  return create;
}

/** The networks, secrets and configs to create; throws for missing externals and taken names. */
export function planObjects(desired: DesiredStack, existing: ExistingObjects): ObjectPlan {
  const ids = new Map<string, string>();
  const stack = desired.namespace;
  const networks = planKind('network', desired.networks, existing.networks, stack, ids);
  const secrets = planKind('secret', desired.secrets as readonly DesiredFileObject<SecretSpec>[], existing.secrets, stack, ids);
  const configs = planKind('config', desired.configs as readonly DesiredFileObject<ConfigSpec>[], existing.configs, stack, ids);
  // Configs come back with their data, so a changed file is caught here (secrets never come back).
  for (const c of desired.configs) {
    const found = existing.configs.find((x) => nameOf(x) === c.name);
    // A daemon that lists configs without their data gives nothing to compare.
    if (c.external || c.spec === undefined || found?.spec === undefined || found.spec.data.length === 0) continue;
    if (!sameBytes(found.spec.data, c.spec.data)) {
      throw new TsswarmError(ErrorCode.CONFLICT, `config ${c.name} has changed, but configs cannot change: give it a new name in the file (name: ${c.name}_v2) or remove the stack first`);
    }
  }
  for (const s of desired.services) {
    const found = existing.services.find((x) => nameOf(x) === s.name);
    if (found !== undefined && !inStack(found, stack)) throw new TsswarmError(ErrorCode.CONFLICT, `service ${s.name} already exists and is not part of stack ${stack}`);
    const from = modeOf(found?.spec);
    const to = modeOf(s.spec);
    if (found !== undefined && from !== to) {
      throw new TsswarmError(ErrorCode.CONFLICT, `service ${s.name} cannot change its mode from ${from} to ${to}: remove the service (or the stack) first`);
    }
  }
  return { networks, secrets, configs, ids };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function modeOf(spec: ServiceSpec | undefined): string {
  if (spec?.global) return 'global';
  if (spec?.replicatedJob) return 'replicated-job';
  if (spec?.globalJob) return 'global-job';
  return 'replicated';
}

/** `spec` with network, secret and config names replaced by IDs from `ids`. */
export function resolveIds(spec: ServiceSpec, ids: ReadonlyMap<string, string>): ServiceSpec {
  const id = (name: string): string => {
    const found = ids.get(name);
    if (found === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, `${name} was not created`);
    return found;
  };
  const task = spec.task;
  const c = task?.container;
  if (task === undefined || c === undefined) return spec;
  return {
    ...spec,
    task: {
      ...task,
      networks: task.networks.map((n) => ({ ...n, target: id(n.target) })),
      container: {
        ...c,
        secrets: c.secrets.map((r) => ({ ...r, secretId: id(r.secretName) })),
        configs: c.configs.map((r) => ({ ...r, configId: id(r.configName) })),
      },
    },
  };
}

/** What happens to the services. */
export interface ServicePlan {
  readonly create: readonly { readonly name: string; readonly spec: ServiceSpec }[];
  readonly update: readonly { readonly name: string; readonly service: Service; readonly spec: ServiceSpec }[];
  readonly unchanged: readonly string[];
  /** Services of the stack not in the file (removed only with --prune). */
  readonly stale: readonly Service[];
}

/** Compares each desired service (IDs resolved through `ids`) with the stack's current services. */
export function planServices(desired: DesiredStack, services: readonly Service[], ids: ReadonlyMap<string, string>): ServicePlan {
  const mine = stackMembers(services, desired.namespace);
  const create: ServicePlan['create'][number][] = [];
  const update: ServicePlan['update'][number][] = [];
  const unchanged: string[] = [];
  for (const s of desired.services) {
    const wanted = resolveIds(s.spec, ids);
    const current = mine.find((x) => nameOf(x) === s.name);
    if (current === undefined) {
      create.push({ name: s.name, spec: wanted });
      continue;
    }
    const next = nextSpec(current.spec, wanted);
    if (next.changed) update.push({ name: s.name, service: current, spec: next.spec });
    else unchanged.push(s.name);
  }
  const names = new Set(desired.services.map((s) => s.name));
  return { create, update, unchanged, stale: mine.filter((x) => !names.has(nameOf(x))) };
}
