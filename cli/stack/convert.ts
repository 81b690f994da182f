/**
 * A checked compose project → what the stack should consist of: network, secret, config and
 * service specs named `STACK_key` (unless the file gives a `name:` or the object is external), each
 * labelled with the stack's namespace. Services refer to networks, secrets and configs by their
 * full names here; the deploy step swaps in IDs. Every service joins its networks with its short
 * name as an alias, so `web` resolves on the stack network. Pure.
 */
import { invalidArgument } from '../../lib/errors.js';
import {
  EndpointMode,
  IPAMFamily,
  MountType,
  PortProtocol,
  PublishMode,
  RestartCondition,
  UpdateFailureAction,
  UpdateOrder,
  timestampFromMs,
  type ConfigSpec,
  type Mount,
  type NetworkSpec,
  type SecretSpec,
  type ServiceSpec,
  type UpdateConfig,
} from '../../proto/index.js';
import { defaultRestartDelayMs, defaultUpdateConfig } from '../service-flags.js';
import type { ComposeFileObject, ComposeMount, ComposeProject, ComposeService, ComposeUpdateConfig } from './compose-model.js';
import { defaultNetworkKey } from './check-project.js';
import { fail } from './compose-error.js';

/** The label docker puts on every object of a stack; its value is the stack name. */
export const namespaceLabel = 'com.docker.stack.namespace';
/** Longest stack name: STACK_service must stay a usable name. */
export const maxStackNameChars = 40;
/** Longest object name the manager accepts. */
const maxObjectNameChars = 63;

/** A network the stack uses: made by the stack (spec) or found by name (external). */
export interface DesiredNetwork {
  readonly key: string;
  readonly name: string;
  readonly external: boolean;
  readonly spec?: NetworkSpec;
}

/** A secret or config the stack uses. */
export interface DesiredFileObject<Spec> {
  readonly key: string;
  readonly name: string;
  readonly external: boolean;
  readonly spec?: Spec;
}

/** A service of the stack; its spec names networks, secrets and configs by full name. */
export interface DesiredService {
  readonly key: string;
  readonly name: string;
  readonly spec: ServiceSpec;
}

/** Everything a stack consists of. */
export interface DesiredStack {
  readonly namespace: string;
  readonly networks: readonly DesiredNetwork[];
  readonly secrets: readonly DesiredFileObject<SecretSpec>[];
  readonly configs: readonly DesiredFileObject<ConfigSpec>[];
  readonly services: readonly DesiredService[];
}

/** Checks a stack name (as docker: a name usable as a prefix of object names). */
export function checkStackName(name: string): string {
  if (name.length > maxStackNameChars || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) {
    throw invalidArgument(`invalid stack name ${JSON.stringify(name)}: use letters, digits, '_', '.' and '-', starting with a letter or digit, at most ${maxStackNameChars} characters`);
  }
  return name;
}

/** The specs of the stack `namespace` made from `project`. */
export function convertProject(namespace: string, project: ComposeProject): DesiredStack {
  checkStackName(namespace);
  const scoped = (key: string, explicit: string | undefined): string => explicit ?? `${namespace}_${key}`;
  const nsLabels = (labels: Readonly<Record<string, string>> | undefined): Record<string, string> => ({ ...labels, [namespaceLabel]: namespace });

  const usedNetworks = new Set<string>();
  for (const s of project.services.values()) for (const n of s.networks ?? [{ name: defaultNetworkKey }]) usedNetworks.add(n.name);
  const networkNames = new Map<string, string>();
  const networks: DesiredNetwork[] = [...usedNetworks].sort().map((key) => {
    const n = project.networks.get(key);
    if (n?.externalName !== undefined) {
      networkNames.set(key, n.externalName);
      return { key, name: n.externalName, external: true };
    }
    const name = scoped(key, n?.name);
    networkNames.set(key, name);
    const spec: NetworkSpec = {
      annotations: { name, labels: nsLabels(n?.labels) },
      driver: { name: 'overlay', options: { ...n?.driverOpts } },
      ipv6Enabled: false,
      internal: n?.internal === true,
      ...(n?.ipam !== undefined && n.ipam.length > 0
        ? { ipam: { driver: { name: 'default', options: {} }, configs: n.ipam.map((c) => ({ family: IPAMFamily.IPV4, subnet: c.subnet, ipRange: c.ipRange ?? '', gateway: c.gateway ?? '', reserved: {} })) } }
        : {}),
      attachable: n?.attachable === true,
      ingress: false,
    };
    return { key, name, external: false, spec };
  });

  const fileObjects = <Spec>(objects: ReadonlyMap<string, ComposeFileObject>, used: Set<string>): DesiredFileObject<Spec>[] =>
    [...objects.values()]
      .filter((o) => used.has(o.key))
      .map((o) =>
        o.externalName !== undefined
          ? { key: o.key, name: o.externalName, external: true }
          : { key: o.key, name: scoped(o.key, o.name), external: false, spec: { annotations: { name: scoped(o.key, o.name), labels: nsLabels(o.labels) }, data: o.data ?? new Uint8Array() } as Spec },
      );
  const services = [...project.services.values()];
  const secrets = fileObjects<SecretSpec>(project.secrets, new Set(services.flatMap((s) => (s.secrets ?? []).map((r) => r.source))));
  const configs = fileObjects<ConfigSpec>(project.configs, new Set(services.flatMap((s) => (s.configs ?? []).map((r) => r.source))));
  const secretNames = new Map(secrets.map((o) => [o.key, o.name]));
  const configNames = new Map(configs.map((o) => [o.key, o.name]));
  const volumeName = (key: string): { name: string; external: boolean } => {
    const v = project.volumes.get(key);
    return v?.externalName !== undefined ? { name: v.externalName, external: true } : { name: scoped(key, v?.name), external: false };
  };

  for (const s of services) {
    const name = `${namespace}_${s.name}`;
    if (name.length > maxObjectNameChars) fail(s.pos, `services.${s.name}`, `the service name ${name} has ${name.length} characters; at most ${maxObjectNameChars} (shorten the stack or service name)`);
  }
  return {
    namespace,
    networks,
    secrets,
    configs,
    services: services
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((s) => ({ key: s.name, name: `${namespace}_${s.name}`, spec: serviceSpec(namespace, s, { project, networkNames, secretNames, configNames, volumeName }) })),
  };
}

interface Names {
  readonly project: ComposeProject;
  readonly networkNames: ReadonlyMap<string, string>;
  readonly secretNames: ReadonlyMap<string, string>;
  readonly configNames: ReadonlyMap<string, string>;
  readonly volumeName: (key: string) => { name: string; external: boolean };
}

const protocols = { tcp: PortProtocol.TCP, udp: PortProtocol.UDP, sctp: PortProtocol.SCTP } as const;
const conditions = { none: RestartCondition.NONE, 'on-failure': RestartCondition.ON_FAILURE, any: RestartCondition.ANY } as const;
const failureActions = { pause: UpdateFailureAction.PAUSE, continue: UpdateFailureAction.CONTINUE, rollback: UpdateFailureAction.ROLLBACK } as const;
const orders = { 'stop-first': UpdateOrder.STOP_FIRST, 'start-first': UpdateOrder.START_FIRST } as const;
/** Default permission bits of secret and config files. */
const defaultFileMode = 0o444;

function duration(ms: number | undefined): { seconds: number; nanos: number } | undefined {
  return ms === undefined ? undefined : timestampFromMs(ms);
}

function withDuration<K extends string>(key: K, ms: number | undefined): { [P in K]?: { seconds: number; nanos: number } } {
  const d = duration(ms);
  return (d === undefined ? {} : { [key]: d }) as { [P in K]?: { seconds: number; nanos: number } };
}

function capability(name: string): string {
  const t = name.trim().toUpperCase();
  return t === 'ALL' || t.startsWith('CAP_') ? t : `CAP_${t}`;
}

function update(c: ComposeUpdateConfig | undefined): UpdateConfig {
  const base = defaultUpdateConfig();
  return {
    parallelism: c?.parallelism ?? base.parallelism,
    ...(c?.delayMs !== undefined && c.delayMs > 0 ? withDuration('delay', c.delayMs) : {}),
    failureAction: c?.failureAction !== undefined ? failureActions[c.failureAction] : base.failureAction,
    ...(c?.monitorMs !== undefined ? withDuration('monitor', c.monitorMs) : base.monitor ? { monitor: base.monitor } : {}),
    maxFailureRatio: c?.maxFailureRatio ?? base.maxFailureRatio,
    order: c?.order !== undefined ? orders[c.order] : base.order,
  };
}

function mountOf(m: ComposeMount, names: Names, namespace: string): Mount {
  switch (m.type) {
    case 'bind':
      return { type: MountType.BIND, source: m.source, target: m.target, readOnly: m.readOnly };
    case 'tmpfs':
      return { type: MountType.TMPFS, source: '', target: m.target, readOnly: m.readOnly, tmpfsOptions: { sizeBytes: m.tmpfsSizeBytes, mode: m.tmpfsMode } };
    case 'volume': {
      if (m.source === '') return { type: MountType.VOLUME, source: '', target: m.target, readOnly: m.readOnly, volumeOptions: { noCopy: m.noCopy, labels: {} } };
      const { name, external } = names.volumeName(m.source);
      const v = names.project.volumes.get(m.source);
      const driver = v?.driver !== undefined || v?.driverOpts !== undefined ? { driverConfig: { name: v.driver ?? 'local', options: { ...v.driverOpts } } } : {};
      return {
        type: MountType.VOLUME,
        source: name,
        target: m.target,
        readOnly: m.readOnly,
        volumeOptions: { noCopy: m.noCopy, labels: external ? {} : { ...v?.labels, [namespaceLabel]: namespace }, ...(external ? {} : driver) },
      };
    }
  }
}

function serviceSpec(namespace: string, s: ComposeService, names: Names): ServiceSpec {
  const d = s.deploy ?? {};
  const mode = d.mode ?? 'replicated';
  const job = mode === 'replicated-job' || mode === 'global-job';
  const replicas = d.replicas ?? 1;
  const env = Object.entries(s.environment ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  const h = s.healthcheck;
  const rp = d.restartPolicy;
  const restartDelay = rp?.delayMs ?? defaultRestartDelayMs;
  const refs = (s.networks ?? [{ name: defaultNetworkKey, aliases: [] }]).map((n) => ({
    target: names.networkNames.get(n.name) ?? `${namespace}_${n.name}`,
    aliases: [s.name, ...n.aliases.filter((a) => a !== s.name)],
    addresses: [],
    driverAttachmentOpts: {},
  }));
  return {
    annotations: { name: `${namespace}_${s.name}`, labels: { ...d.labels, [namespaceLabel]: namespace } },
    task: {
      container: {
        image: s.image ?? '',
        labels: { ...s.labels, [namespaceLabel]: namespace },
        command: [...(s.entrypoint ?? [])],
        args: [...(s.command ?? [])],
        hostname: s.hostname ?? '',
        env,
        dir: s.workingDir ?? '',
        user: s.user ?? '',
        groups: [...(s.groupAdd ?? [])],
        mounts: (s.volumes ?? []).map((m) => mountOf(m, names, namespace)),
        stopSignal: s.stopSignal ?? '',
        ...withDuration('stopGracePeriod', s.stopGracePeriodMs),
        ...(h !== undefined
          ? {
              healthcheck: {
                test: [...(h.test ?? [])],
                ...withDuration('interval', h.intervalMs),
                ...withDuration('timeout', h.timeoutMs),
                retries: h.retries ?? 0,
                ...withDuration('startPeriod', h.startPeriodMs),
                ...withDuration('startInterval', h.startIntervalMs),
              },
            }
          : {}),
        secrets: (s.secrets ?? []).map((r) => ({
          secretId: '',
          secretName: names.secretNames.get(r.source) ?? r.source,
          file: { name: r.target !== '' ? r.target : r.source, uid: r.uid, gid: r.gid, mode: r.mode ?? defaultFileMode },
        })),
        configs: (s.configs ?? []).map((r) => ({
          configId: '',
          configName: names.configNames.get(r.source) ?? r.source,
          file: { name: r.target !== '' ? r.target : `/${r.source}`, uid: r.uid, gid: r.gid, mode: r.mode ?? defaultFileMode },
        })),
        tty: s.tty === true,
        openStdin: s.stdinOpen === true,
        readOnly: s.readOnly === true,
        init: s.init === true,
        sysctls: { ...s.sysctls },
        capabilityAdd: (s.capAdd ?? []).map(capability),
        capabilityDrop: (s.capDrop ?? []).map(capability),
      },
      resources: {
        limits: { nanoCpus: d.limits?.nanoCpus ?? 0, memoryBytes: d.limits?.memoryBytes ?? 0, pids: d.limits?.pids ?? 0 },
        reservations: { nanoCpus: d.reservations?.nanoCpus ?? 0, memoryBytes: d.reservations?.memoryBytes ?? 0, pids: d.reservations?.pids ?? 0 },
      },
      restart: {
        condition: rp?.condition !== undefined ? conditions[rp.condition] : job ? RestartCondition.ON_FAILURE : RestartCondition.ANY,
        ...withDuration('delay', restartDelay),
        maxAttempts: rp?.maxAttempts ?? 0,
        ...withDuration('window', rp?.windowMs),
      },
      placement: {
        constraints: [...(d.placement?.constraints ?? [])],
        preferences: (d.placement?.preferences ?? []).map((p) => ({ spread: { spreadDescriptor: p } })),
        platforms: [],
        maxReplicas: d.placement?.maxReplicasPerNode ?? 0,
      },
      networks: refs,
      forceUpdate: 0,
    },
    ...(mode === 'replicated'
      ? { replicated: { replicas } }
      : mode === 'global'
        ? { global: {} }
        : mode === 'replicated-job'
          ? { replicatedJob: { totalCompletions: replicas, maxConcurrent: replicas } }
          : { globalJob: {} }),
    ...(job ? {} : { update: update(d.updateConfig), rollback: update(d.rollbackConfig) }),
    endpoint: {
      mode: d.endpointMode === 'dnsrr' ? EndpointMode.DNSRR : EndpointMode.VIP,
      ports: (s.ports ?? []).map((p) => ({
        name: '',
        protocol: protocols[p.protocol],
        targetPort: p.target,
        publishedPort: p.published,
        publishMode: p.mode === 'host' ? PublishMode.HOST : PublishMode.INGRESS,
      })),
    },
  };
}
