/**
 * Merging of `-c base.yml -c override.yml`, as docker does: a later file's service settings replace
 * the earlier ones field by field; environment, labels, sysctls and deploy labels merge by key;
 * ports merge by published port and protocol (unpublished ones by target); volumes by target; secrets and configs by
 * source; networks by name; deploy, resources, restart policy, update configs, placement and
 * healthcheck merge field by field. Top-level networks, volumes, secrets and configs of a later
 * file replace those of the same name. Pure.
 */
import type { ComposeDeploy, ComposeHealthcheck, ComposeProject, ComposeService } from './compose-model.js';

/** `base` with `override` applied. */
export function mergeProjects(base: ComposeProject, override: ComposeProject): ComposeProject {
  const services = new Map(base.services);
  for (const [name, s] of override.services) {
    const earlier = services.get(name);
    services.set(name, earlier === undefined ? s : mergeService(earlier, s));
  }
  return {
    services,
    networks: new Map([...base.networks, ...override.networks]),
    volumes: new Map([...base.volumes, ...override.volumes]),
    secrets: new Map([...base.secrets, ...override.secrets]),
    configs: new Map([...base.configs, ...override.configs]),
  };
}

/** Fields of `b` that are set replace those of `a`. */
function fields<T extends object>(a: T | undefined, b: T | undefined): T | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b)) if (v !== undefined) out[k] = v;
  return out as T;
}

function byKey<T>(a: readonly T[] | undefined, b: readonly T[] | undefined, key: (x: T) => string): readonly T[] | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const out = new Map(a.map((x) => [key(x), x]));
  for (const x of b) out.set(key(x), x);
  return [...out.values()];
}

function maps(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> | undefined {
  return a === undefined ? b : b === undefined ? a : { ...a, ...b };
}

function mergeDeploy(a: ComposeDeploy | undefined, b: ComposeDeploy | undefined): ComposeDeploy | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  const out: ComposeDeploy = {
    ...fields(a, b),
    ...opt('labels', maps(a.labels, b.labels)),
    ...opt('limits', fields(a.limits, b.limits)),
    ...opt('reservations', fields(a.reservations, b.reservations)),
    ...opt('restartPolicy', fields(a.restartPolicy, b.restartPolicy)),
    ...opt('updateConfig', fields(a.updateConfig, b.updateConfig)),
    ...opt('rollbackConfig', fields(a.rollbackConfig, b.rollbackConfig)),
    ...opt('placement', fields(a.placement, b.placement)),
  };
  return out;
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function mergeService(a: ComposeService, b: ComposeService): ComposeService {
  return {
    ...(fields(a, b) as ComposeService),
    name: a.name,
    pos: a.pos,
    ...opt('environment', maps(a.environment, b.environment)),
    ...opt('labels', maps(a.labels, b.labels)),
    ...opt('sysctls', maps(a.sysctls, b.sysctls)),
    ...opt('ports', byKey(a.ports, b.ports, (p) => (p.published !== 0 ? `published ${p.published}/${p.protocol}` : `target ${p.target}/${p.protocol}`))),
    ...opt('volumes', byKey(a.volumes, b.volumes, (v) => v.target)),
    ...opt('secrets', byKey(a.secrets, b.secrets, (r) => r.source)),
    ...opt('configs', byKey(a.configs, b.configs, (r) => r.source)),
    ...opt('networks', byKey(a.networks, b.networks, (n) => n.name)),
    ...opt('healthcheck', fields<ComposeHealthcheck>(a.healthcheck, b.healthcheck)),
    ...opt('deploy', mergeDeploy(a.deploy, b.deploy)),
  };
}
