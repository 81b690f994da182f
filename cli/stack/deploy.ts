/**
 * Performing a deploy or a removal against the Control API: the thin shell around the pure plan
 * (deploy-plan.ts). Reads what exists, refuses before any change what cannot work, then creates
 * networks, secrets and configs, then creates or updates only the services whose spec changed, as
 * `docker stack deploy` prints it. `removeStack` removes services, then networks, secrets and
 * configs carrying the stack's namespace label, and nothing else.
 */
import { ErrorCode, TsswarmError, isTsswarmError } from '../../lib/errors.js';
import type { Config, ConfigSpec, DeepPartial, Network, NetworkSpec, Secret, SecretSpec, Service, ServiceSpec, UpdateServiceRequest } from '../../proto/index.js';
import type { DesiredStack } from './convert.js';
import { nameOf, planObjects, planServices, stackMembers } from './deploy-plan.js';
import { withoutDigest } from './spec-diff.js';

/** The Control calls a deploy and a removal use (ControlClient has them all). */
export interface StackClient {
  listServices(): Promise<Service[]>;
  createService(spec: DeepPartial<ServiceSpec>): Promise<Service>;
  updateService(req: DeepPartial<UpdateServiceRequest>): Promise<Service | undefined>;
  removeService(serviceId: string): Promise<void>;
  listNetworks(): Promise<Network[]>;
  createNetwork(spec: DeepPartial<NetworkSpec>): Promise<Network>;
  removeNetwork(networkId: string): Promise<void>;
  listSecrets(): Promise<Secret[]>;
  createSecret(spec: DeepPartial<SecretSpec>): Promise<Secret>;
  removeSecret(secretId: string): Promise<void>;
  listConfigs(): Promise<Config[]>;
  createConfig(spec: DeepPartial<ConfigSpec>): Promise<Config>;
  removeConfig(configId: string): Promise<void>;
  /** The image pinned to its registry digest, or as given with a warning. */
  resolveImage(image: string): Promise<{ image: string; warning: string }>;
}

/** Where a deploy reports: progress lines (stdout) and warnings (stderr). */
export interface StackOutput {
  line(text: string): void;
  warn(text: string): void;
}

/** Options of a deploy. */
export interface DeployOptions {
  /** Remove services of the stack that the files no longer have. */
  readonly prune: boolean;
  /** Pin images to their registry digests at create and when the image changes. */
  readonly pinImages: boolean;
}

/** How long `stack rm` waits for removed services to shut their tasks down before removing networks. */
export const serviceGoneWaitMs = 60_000;
/** How often `stack rm` tries a network, secret or config that services being removed still use. */
export const removeAttempts = 20;
/** The wait between those tries. */
export const removeRetryMs = 500;

/** Lists secrets or configs; a daemon without them (UNSUPPORTED) has none. */
async function listOrNone<T>(list: () => Promise<T[]>): Promise<T[]> {
  try {
    return await list();
  } catch (err) {
    if (isTsswarmError(err, ErrorCode.UNSUPPORTED)) return [];
    throw err;
  }
}

/** What a deploy did, for tests and the caller. */
export interface DeployResult {
  readonly created: readonly string[];
  readonly updated: readonly string[];
  readonly unchanged: readonly string[];
  readonly removed: readonly string[];
}

/** Deploys `desired`: everything is checked against the cluster before the first change. */
export async function deployStack(client: StackClient, desired: DesiredStack, opts: DeployOptions, out: StackOutput): Promise<DeployResult> {
  const [services, networks, secrets, configs] = await Promise.all([
    client.listServices(),
    client.listNetworks(),
    desired.secrets.length > 0 ? client.listSecrets() : Promise.resolve([]),
    desired.configs.length > 0 ? client.listConfigs() : Promise.resolve([]),
  ]);
  const objects = planObjects(desired, { services, networks, secrets, configs });
  const removed: string[] = [];
  if (opts.prune) {
    const names = new Set(desired.services.map((s) => s.name));
    const stale = stackMembers(services, desired.namespace).filter((x) => !names.has(nameOf(x)));
    for (const s of stale.sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1))) {
      out.line(`Removing service ${nameOf(s)}`);
      await client.removeService(s.id);
      removed.push(nameOf(s));
    }
  }
  const ids = new Map(objects.ids);
  for (const n of objects.networks) {
    out.line(`Creating network ${n.name}`);
    ids.set(n.name, (await client.createNetwork(n.spec)).id);
  }
  for (const s of objects.secrets) {
    out.line(`Creating secret ${s.name}`);
    ids.set(s.name, (await client.createSecret(s.spec)).id);
  }
  for (const c of objects.configs) {
    out.line(`Creating config ${c.name}`);
    ids.set(c.name, (await client.createConfig(c.spec)).id);
  }
  const plan = planServices(desired, services, ids);
  const pinned = new Map<string, string>();
  const pin = async (spec: ServiceSpec, currentImage: string | undefined): Promise<ServiceSpec> => {
    const container = spec.task?.container;
    if (!opts.pinImages || container === undefined || container.image.includes('@')) return spec;
    if (currentImage !== undefined && withoutDigest(currentImage) === container.image) return spec;
    let image = pinned.get(container.image);
    if (image === undefined) {
      const resolved = await client.resolveImage(container.image);
      if (resolved.warning !== '') out.warn(`warning: ${resolved.warning}`);
      image = resolved.image || container.image;
      pinned.set(container.image, image);
    }
    return { ...spec, task: { ...spec.task, networks: spec.task?.networks ?? [], forceUpdate: spec.task?.forceUpdate ?? 0, container: { ...container, image } } };
  };
  for (const u of plan.update) {
    out.line(`Updating service ${u.name} (id: ${u.service.id})`);
    const spec = await pin(u.spec, u.service.spec?.task?.container?.image);
    await client.updateService({ serviceId: u.service.id, serviceVersion: u.service.meta?.version ?? { index: 0 }, spec });
  }
  for (const c of plan.create) {
    out.line(`Creating service ${c.name}`);
    await client.createService(await pin(c.spec, undefined));
  }
  return { created: plan.create.map((c) => c.name), updated: plan.update.map((u) => u.name), unchanged: plan.unchanged, removed };
}

/** Removes the stack's services, then its networks, secrets and configs; false when it had none. */
export async function removeStack(client: StackClient, namespace: string, out: StackOutput, sleep: (ms: number) => Promise<void>): Promise<boolean> {
  const [services, networks, secrets, configs] = await Promise.all([
    client.listServices(),
    client.listNetworks(),
    listOrNone(() => client.listSecrets()),
    listOrNone(() => client.listConfigs()),
  ]);
  const byName = <T extends Service | Network | Secret | Config>(list: T[]): T[] => stackMembers(list, namespace).sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0));
  const mine = { services: byName(services), networks: byName(networks), secrets: byName(secrets), configs: byName(configs) };
  if (Object.values(mine).every((l) => l.length === 0)) return false;
  const failures: string[] = [];
  const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      if (!(err instanceof TsswarmError)) throw err;
      failures.push(`failed to remove ${what}: ${err.message}`);
    }
  };
  for (const s of mine.services) {
    out.line(`Removing service ${nameOf(s)}`);
    await attempt(`service ${nameOf(s)}`, () => client.removeService(s.id));
  }
  // A service with live tasks stays (pending delete) until they stop; its networks, secrets and
  // configs are in use until then. Wait for the services to go, then retry what is still held.
  const removedIds = new Set(mine.services.map((s) => s.id));
  for (let waited = 0; removedIds.size > 0 && waited < serviceGoneWaitMs; waited += removeRetryMs) {
    const left = (await client.listServices()).filter((s) => removedIds.has(s.id));
    if (left.length === 0) break;
    await sleep(removeRetryMs);
  }
  const patiently = async (fn: () => Promise<void>): Promise<void> => {
    for (let i = 1; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if (!isTsswarmError(err, ErrorCode.CONFLICT) || i >= removeAttempts) throw err;
        await sleep(removeRetryMs);
      }
    }
  };
  for (const n of mine.networks) {
    out.line(`Removing network ${nameOf(n)}`);
    await attempt(`network ${nameOf(n)}`, () => patiently(() => client.removeNetwork(n.id)));
  }
  for (const s of mine.secrets) {
    out.line(`Removing secret ${nameOf(s)}`);
    await attempt(`secret ${nameOf(s)}`, () => patiently(() => client.removeSecret(s.id)));
  }
  for (const c of mine.configs) {
    out.line(`Removing config ${nameOf(c)}`);
    await attempt(`config ${nameOf(c)}`, () => patiently(() => client.removeConfig(c.id)));
  }
  if (failures.length > 0) throw new TsswarmError(ErrorCode.CONFLICT, failures.join('; '));
  return true;
}
