/**
 * The flags of `service create` and `service update`, turned into a ServiceSpec as `docker service`
 * does (pure: the caller hands in its environment and a file reader for `--env-file`). Every flag
 * is checked before anything is sent; errors name the flag (`--update-delay: invalid duration "10x"`).
 */
import { invalidArgument } from '../lib/errors.js';
import { parseBytes, parseDurationMs } from '../lib/units.js';
import { parseConstraint } from '../manager/scheduler/constraints.js';
import {
  EndpointMode,
  MountType,
  PortProtocol,
  PublishMode,
  RebalanceMode,
  RestartCondition,
  UpdateFailureAction,
  UpdateOrder,
  timestampFromMs,
  type Duration,
  type HealthConfig,
  type Mount,
  type NetworkAttachmentConfig,
  type PlacementPreference,
  type PortConfig,
  type Resources,
  type RestartPolicy,
  type ServiceSpec,
  type UpdateConfig,
  type SecretReference,
  type ConfigReference,
} from '../proto/index.js';
import { envEntries, parseLabels, parseMount } from './container-flags.js';
import { healthConfigFromFlags, updatedHealthConfig, type HealthFlags } from './health-flags.js';

/** What `--env-file` and `-e NAME` read from the caller (the command passes the real ones). */
export interface FlagContext {
  readonly env: NodeJS.ProcessEnv;
  readonly readFile: (path: string) => string;
}

/** The update/rollback config flags both `create` and `update` take, by prefix. */
export interface UpdateConfigFlags {
  readonly parallelism?: string;
  readonly delay?: string;
  readonly order?: string;
  readonly failureAction?: string;
  readonly monitor?: string;
  readonly maxFailureRatio?: string;
}

/** Flags `create` and `update` share (docker's names, camel-cased by commander). */
export interface CommonFlags extends HealthFlags {
  readonly replicas?: string;
  readonly maxConcurrent?: string;
  readonly hostname?: string;
  readonly workdir?: string;
  readonly user?: string;
  readonly limitMemory?: string;
  readonly limitCpu?: string;
  readonly limitPids?: string;
  readonly reserveMemory?: string;
  readonly reserveCpu?: string;
  readonly restartCondition?: string;
  readonly restartDelay?: string;
  readonly restartMaxAttempts?: string;
  readonly restartWindow?: string;
  readonly replicasMaxPerNode?: string;
  readonly endpointMode?: string;
  readonly stopSignal?: string;
  readonly stopGracePeriod?: string;
  readonly updateParallelism?: string;
  readonly updateDelay?: string;
  readonly updateOrder?: string;
  readonly updateFailureAction?: string;
  readonly updateMonitor?: string;
  readonly updateMaxFailureRatio?: string;
  readonly rollbackParallelism?: string;
  readonly rollbackDelay?: string;
  readonly rollbackOrder?: string;
  readonly rollbackFailureAction?: string;
  readonly rollbackMonitor?: string;
  readonly rollbackMaxFailureRatio?: string;
  /** `--rebalance [on|off|default]` (bare: on). */
  readonly rebalance?: string | boolean;
}

/** The options commander collects for `service create`. */
export interface CreateFlags extends CommonFlags {
  readonly name?: string;
  readonly mode?: string;
  readonly env?: readonly string[];
  readonly envFile?: readonly string[];
  readonly label?: readonly string[];
  readonly containerLabel?: readonly string[];
  readonly mount?: readonly string[];
  readonly constraint?: readonly string[];
  readonly placementPref?: readonly string[];
  readonly network?: readonly string[];
  readonly publish?: readonly string[];
  readonly init?: boolean;
  readonly readOnly?: boolean;
  readonly entrypoint?: string;
  readonly group?: readonly string[];
  readonly capAdd?: readonly string[];
  readonly capDrop?: readonly string[];
  readonly sysctl?: readonly string[];
  readonly tty?: boolean;
  readonly secret?: readonly string[];
  readonly config?: readonly string[];
}

/** Service modes as users type them. */
export const serviceModes = ['replicated', 'global', 'replicated-job', 'global-job'] as const;
/** One of {@link serviceModes}. */
export type ServiceModeName = (typeof serviceModes)[number];

/** Docker's defaults for update and rollback configs: one task at a time, pause, watch 5 s. */
export const defaultUpdateMonitorMs = 5_000;
/** Docker's default restart delay. */
export const defaultRestartDelayMs = 5_000;
/** Longest service name, as a DNS label. */
const maxServiceNameChars = 63;

const restartConditions = { none: RestartCondition.NONE, 'on-failure': RestartCondition.ON_FAILURE, any: RestartCondition.ANY } as const;
const updateOrders = { 'stop-first': UpdateOrder.STOP_FIRST, 'start-first': UpdateOrder.START_FIRST } as const;
const failureActions = { pause: UpdateFailureAction.PAUSE, continue: UpdateFailureAction.CONTINUE, rollback: UpdateFailureAction.ROLLBACK } as const;
const rebalanceModes = { on: RebalanceMode.ON, true: RebalanceMode.ON, off: RebalanceMode.OFF, false: RebalanceMode.OFF, default: RebalanceMode.DEFAULT } as const;

/** `--rebalance [on|off|default]`: whether tasks move to nodes that join or come back (replicated services). */
function rebalanceFlag(v: string | boolean | undefined, mode: ServiceModeName): { rebalance?: RebalanceMode } {
  if (v === undefined) return {};
  const value = v === true ? RebalanceMode.ON : v === false ? RebalanceMode.OFF : choice(rebalanceModes, v.trim().toLowerCase(), '--rebalance');
  if (mode !== 'replicated' && value !== RebalanceMode.DEFAULT) throw invalidArgument('--rebalance can only be used with replicated mode');
  return { rebalance: value };
}
const endpointModes = { vip: EndpointMode.VIP, dnsrr: EndpointMode.DNSRR } as const;
const protocols = { tcp: PortProtocol.TCP, udp: PortProtocol.UDP, sctp: PortProtocol.SCTP } as const;
const publishModes = { ingress: PublishMode.INGRESS, host: PublishMode.HOST } as const;

function choice<T>(table: Readonly<Record<string, T>>, text: string, flag: string): T {
  const v = Object.hasOwn(table, text) ? table[text] : undefined;
  if (v === undefined) throw invalidArgument(`${flag}: invalid value ${JSON.stringify(text)}: use ${Object.keys(table).join(', ')}`);
  return v;
}

/** A whole number ≥ `min`. */
export function uintFlag(text: string, flag: string, min = 0): number {
  const t = text.trim();
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(Number(t)) || Number(t) < min) {
    throw invalidArgument(`${flag}: invalid value ${JSON.stringify(text)}: want a whole number${min > 0 ? ` of at least ${min}` : ''}`);
  }
  return Number(t);
}

/** A Go-style duration (`10s`, `1m30s`) ≥ 0 as a Duration message. */
export function durationFlag(text: string, flag: string): Duration {
  let ms: number;
  try {
    ms = parseDurationMs(text, flag);
  } catch {
    throw invalidArgument(`${flag}: invalid duration ${JSON.stringify(text)}: use a duration such as 10s, 1m30s or 500ms`);
  }
  return timestampFromMs(ms);
}

function bytesFlag(text: string, flag: string): number {
  try {
    return parseBytes(text, flag);
  } catch {
    throw invalidArgument(`${flag}: invalid size ${JSON.stringify(text)}: use a number with an optional unit b, k, m, g (e.g. 64m)`);
  }
}

function cpuFlag(text: string, flag: string): number {
  const n = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isFinite(n) || n < 0) throw invalidArgument(`${flag}: invalid value ${JSON.stringify(text)}: use a number of CPUs such as 0.5 or 2`);
  return Math.round(n * 1e9);
}

function ratioFlag(text: string, flag: string): number {
  const n = /^\d*\.?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isFinite(n) || n < 0 || n > 1) throw invalidArgument(`${flag}: invalid value ${JSON.stringify(text)}: want a number from 0 to 1`);
  return n;
}

/** Checks a service name as a DNS label (docker's rule); empty lets the manager pick one. */
export function checkServiceName(name: string): string {
  if (name.length > maxServiceNameChars || !/^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(name)) {
    throw invalidArgument(`--name: invalid name ${JSON.stringify(name)}: use letters, digits and '-' (not at the ends), at most ${maxServiceNameChars} characters`);
  }
  return name;
}

/** docker's `--env-file`: `KEY=value` or `KEY` lines; blank lines and `#` comments skipped. */
export function parseEnvFile(text: string, path: string, callerEnv: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line.trimEnd() : line.slice(0, eq);
    if (key === '' || /\s/.test(key)) throw invalidArgument(`--env-file ${path}: line ${i + 1}: invalid variable name ${JSON.stringify(key)}`);
    if (eq >= 0) out.push(line);
    else if (callerEnv[key] !== undefined) out.push(`${key}=${callerEnv[key]}`);
  });
  return out;
}

function envFlag(entries: readonly string[], flag: string, callerEnv: NodeJS.ProcessEnv): string[] {
  try {
    return envEntries(entries, callerEnv);
  } catch (err) {
    throw invalidArgument(`${flag}: ${(err as Error).message}`);
  }
}

function labelsFlag(entries: readonly string[], flag: string): Record<string, string> {
  try {
    return parseLabels(entries);
  } catch (err) {
    throw invalidArgument(`${flag}: ${(err as Error).message}`);
  }
}

/** `--mount type=bind|volume|tmpfs,...` (the fields `container run --mount` takes) as a service Mount. */
export function parseServiceMount(text: string): Mount {
  let m;
  try {
    m = parseMount(text);
  } catch (err) {
    throw invalidArgument(`--mount ${JSON.stringify(text)}: ${(err as Error).message.replace(/^--mount /, '')}`);
  }
  return {
    type: m.type === 'tmpfs' ? MountType.TMPFS : m.type === 'volume' ? MountType.VOLUME : MountType.BIND,
    source: m.source,
    target: m.target,
    readOnly: m.readOnly,
    ...(m.type === 'tmpfs' ? { tmpfsOptions: { sizeBytes: m.tmpfsSizeBytes, mode: m.tmpfsMode } } : {}),
    ...(m.type === 'volume'
      ? {
          volumeOptions: {
            noCopy: m.volumeNoCopy,
            labels: m.volumeLabels,
            ...(m.volumeDriver !== '' || Object.keys(m.volumeDriverOptions).length > 0
              ? { driverConfig: { name: m.volumeDriver || 'local', options: m.volumeDriverOptions } }
              : {}),
          },
        }
      : {}),
  };

}

function constraintFlag(text: string, flag: string): string {
  try {
    return parseConstraint(text).text;
  } catch (err) {
    throw invalidArgument(`${flag}: ${(err as Error).message}`);
  }
}

/** `--placement-pref spread=node.labels.zone`. */
export function parsePlacementPref(text: string, flag = '--placement-pref'): PlacementPreference {
  const eq = text.indexOf('=');
  const key = eq < 0 ? text : text.slice(0, eq);
  const value = eq < 0 ? '' : text.slice(eq + 1);
  if (key !== 'spread' || value === '') throw invalidArgument(`${flag}: invalid preference ${JSON.stringify(text)}: use spread=node.labels.KEY`);
  return { spread: { spreadDescriptor: value } };
}

/** What `--network` asks for; `target` is a name, ID or prefix until the command resolves it. */
export function parseNetworkFlag(text: string, flag = '--network'): NetworkAttachmentConfig {
  if (!text.includes('=')) {
    if (text.trim() === '') throw invalidArgument(`${flag}: the network is empty`);
    return { target: text.trim(), aliases: [], addresses: [], driverAttachmentOpts: {} };
  }
  const out: NetworkAttachmentConfig = { target: '', aliases: [], addresses: [], driverAttachmentOpts: {} };
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (key === 'name' || key === 'target') out.target = value;
    else if (key === 'alias') out.aliases.push(value);
    else if (key === 'driver-opt') {
      const e = value.indexOf('=');
      if (e <= 0) throw invalidArgument(`${flag}: invalid driver-opt ${JSON.stringify(value)}: use driver-opt=KEY=VALUE`);
      out.driverAttachmentOpts[value.slice(0, e)] = value.slice(e + 1);
    } else throw invalidArgument(`${flag}: unknown field ${JSON.stringify(key)} in ${JSON.stringify(text)}: use name, alias or driver-opt`);
  }
  if (out.target === '') throw invalidArgument(`${flag}: ${JSON.stringify(text)} names no network (use name=NETWORK)`);
  return out;
}

function portNumber(text: string, flag: string, spec: string, allowZero: boolean): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n > 65535 || n < (allowZero ? 0 : 1)) throw invalidArgument(`${flag}: invalid port ${JSON.stringify(text)} in ${JSON.stringify(spec)}`);
  return n;
}

function portRange(text: string, flag: string, spec: string, allowZero: boolean): number[] {
  const [a = '', b, ...rest] = text.split('-');
  if (rest.length > 0) throw invalidArgument(`${flag}: invalid port range ${JSON.stringify(text)} in ${JSON.stringify(spec)}`);
  const lo = portNumber(a, flag, spec, allowZero);
  const hi = b === undefined ? lo : portNumber(b, flag, spec, allowZero);
  if (hi < lo) throw invalidArgument(`${flag}: invalid port range ${JSON.stringify(text)} in ${JSON.stringify(spec)}`);
  return Array.from({ length: hi - lo + 1 }, (_v, i) => lo + i);
}

/**
 * `-p/--publish`: short `8080:80`, `80`, `8080:80/udp`, `8000-8001:80-81`, or long
 * `published=8080,target=80,protocol=tcp,mode=ingress|host`.
 */
export function parsePublish(text: string, flag = '--publish'): PortConfig[] {
  if (text.includes('=')) {
    const fields = new Map<string, string>();
    for (const part of text.split(',')) {
      const eq = part.indexOf('=');
      if (eq <= 0) throw invalidArgument(`${flag}: invalid field ${JSON.stringify(part)} in ${JSON.stringify(text)}: use KEY=VALUE`);
      const key = part.slice(0, eq).trim();
      if (!['published', 'target', 'protocol', 'mode', 'name', 'mesh'].includes(key)) {
        throw invalidArgument(`${flag}: unknown field ${JSON.stringify(key)} in ${JSON.stringify(text)}: use published, target, protocol, mode, mesh`);
      }
      fields.set(key, part.slice(eq + 1).trim());
    }
    const target = fields.get('target');
    if (target === undefined) throw invalidArgument(`${flag}: ${JSON.stringify(text)} has no target port (target=PORT)`);
    const publishMode = choice(publishModes, (fields.get('mode') ?? 'ingress').toLowerCase(), `${flag} mode`);
    // mesh=local (ours): each host sends the port to its own tasks only, keeping the client's address.
    const mesh = choice({ all: 'all', local: 'local' } as const, (fields.get('mesh') ?? 'all').toLowerCase(), `${flag} mesh`);
    if (mesh === 'local' && publishMode !== PublishMode.INGRESS) throw invalidArgument(`${flag}: mesh=local applies to the routing mesh (mode=ingress), not to mode=host`);
    return [
      {
        name: fields.get('name') ?? '',
        targetPort: portNumber(target, flag, text, false),
        publishedPort: fields.has('published') ? portNumber(fields.get('published') ?? '', flag, text, true) : 0,
        protocol: choice(protocols, (fields.get('protocol') ?? 'tcp').toLowerCase(), `${flag} protocol`),
        publishMode,
        ...(mesh === 'local' ? { localOnly: true } : {}),
      },
    ];
  }
  const slash = text.indexOf('/');
  const ports = slash < 0 ? text : text.slice(0, slash);
  const protocol = choice(protocols, slash < 0 ? 'tcp' : text.slice(slash + 1).toLowerCase(), `${flag} protocol`);
  const parts = ports.split(':');
  if (parts.length > 2) throw invalidArgument(`${flag}: invalid ${JSON.stringify(text)}: use PUBLISHED:TARGET[/PROTOCOL] (a host IP cannot be given for services)`);
  const targets = portRange(parts[parts.length - 1] ?? '', flag, text, false);
  const published = parts.length === 2 ? portRange(parts[0] ?? '', flag, text, true) : targets.map(() => 0);
  if (published.length !== targets.length) throw invalidArgument(`${flag}: invalid ${JSON.stringify(text)}: the published and target ranges differ in length`);
  return targets.map((target, i) => ({ name: '', protocol, targetPort: target, publishedPort: published[i] ?? 0, publishMode: PublishMode.INGRESS }));
}

function updateConfig(flags: UpdateConfigFlags, prefix: '--update' | '--rollback', base: UpdateConfig): UpdateConfig {
  const actions: Readonly<Record<string, UpdateFailureAction>> =
    prefix === '--rollback' ? { pause: UpdateFailureAction.PAUSE, continue: UpdateFailureAction.CONTINUE } : failureActions;
  return {
    parallelism: flags.parallelism !== undefined ? uintFlag(flags.parallelism, `${prefix}-parallelism`) : base.parallelism,
    ...(flags.delay !== undefined ? { delay: durationFlag(flags.delay, `${prefix}-delay`) } : base.delay ? { delay: base.delay } : {}),
    failureAction: flags.failureAction !== undefined ? choice(actions, flags.failureAction, `${prefix}-failure-action`) : base.failureAction,
    ...(flags.monitor !== undefined ? { monitor: durationFlag(flags.monitor, `${prefix}-monitor`) } : base.monitor ? { monitor: base.monitor } : {}),
    maxFailureRatio: flags.maxFailureRatio !== undefined ? ratioFlag(flags.maxFailureRatio, `${prefix}-max-failure-ratio`) : base.maxFailureRatio,
    order: flags.order !== undefined ? choice(updateOrders, flags.order, `${prefix}-order`) : base.order,
  };
}

/** Docker's default update (and rollback) config. */
export function defaultUpdateConfig(): UpdateConfig {
  return { parallelism: 1, failureAction: UpdateFailureAction.PAUSE, monitor: timestampFromMs(defaultUpdateMonitorMs), maxFailureRatio: 0, order: UpdateOrder.STOP_FIRST };
}

function updateFlagsOf(f: CommonFlags, which: 'update' | 'rollback'): UpdateConfigFlags {
  return which === 'update'
    ? strip({ parallelism: f.updateParallelism, delay: f.updateDelay, order: f.updateOrder, failureAction: f.updateFailureAction, monitor: f.updateMonitor, maxFailureRatio: f.updateMaxFailureRatio })
    : strip({ parallelism: f.rollbackParallelism, delay: f.rollbackDelay, order: f.rollbackOrder, failureAction: f.rollbackFailureAction, monitor: f.rollbackMonitor, maxFailureRatio: f.rollbackMaxFailureRatio });
}

function strip<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

function anySet(o: object): boolean {
  return Object.values(o).some((v) => v !== undefined);
}

function resources(base: Resources | undefined, memory: string | undefined, cpu: string | undefined, pids: string | undefined, prefix: '--limit' | '--reserve'): Resources {
  return {
    memoryBytes: memory !== undefined ? bytesFlag(memory, `${prefix}-memory`) : (base?.memoryBytes ?? 0),
    nanoCpus: cpu !== undefined ? cpuFlag(cpu, `${prefix}-cpu`) : (base?.nanoCpus ?? 0),
    pids: pids !== undefined ? uintFlag(pids, `${prefix}-pids`) : (base?.pids ?? 0),
  };
}

/** The mode of a spec as users type it. */
export function modeNameOf(spec: ServiceSpec | undefined): ServiceModeName {
  if (spec?.global) return 'global';
  if (spec?.replicatedJob) return 'replicated-job';
  if (spec?.globalJob) return 'global-job';
  return 'replicated';
}

function isJobMode(mode: ServiceModeName): boolean {
  return mode === 'replicated-job' || mode === 'global-job';
}

function checkModeFlags(mode: ServiceModeName, f: CommonFlags): void {
  if (f.replicas !== undefined && (mode === 'global' || mode === 'global-job')) throw invalidArgument('--replicas can only be used with replicated or replicated-job mode');
  if (f.maxConcurrent !== undefined && mode !== 'replicated-job') throw invalidArgument('--max-concurrent can only be used with replicated-job mode');
  if (isJobMode(mode) && (anySet(updateFlagsOf(f, 'update')) || anySet(updateFlagsOf(f, 'rollback')))) {
    throw invalidArgument('--update-* and --rollback-* flags cannot be used with jobs (jobs are not updated in place)');
  }
}

function checkEndpoint(spec: ServiceSpec): void {
  const ep = spec.endpoint;
  if (ep?.mode === EndpointMode.DNSRR && ep.ports.some((p) => p.publishMode === PublishMode.INGRESS)) {
    throw invalidArgument('--endpoint-mode dnsrr cannot be used with ports published in ingress mode: publish them with mode=host');
  }
  const seen = new Set<string>();
  for (const p of ep?.ports ?? []) {
    if (p.publishedPort === 0) continue;
    const key = `${p.publishedPort}/${p.protocol}`;
    if (seen.has(key)) throw invalidArgument(`--publish: port ${p.publishedPort} is published more than once`);
    seen.add(key);
  }
}

/** The ServiceSpec `service create IMAGE [COMMAND] [ARG...]` asks for. All checks happen here. */
export function createSpec(image: string, args: readonly string[], f: CreateFlags, ctx: FlagContext): ServiceSpec {
  if (image.trim() === '') throw invalidArgument('an image is required');
  const mode = f.mode !== undefined ? choice(Object.fromEntries(serviceModes.map((m) => [m, m])) as Record<string, ServiceModeName>, f.mode, '--mode') : 'replicated';
  checkModeFlags(mode, f);
  const replicas = f.replicas !== undefined ? uintFlag(f.replicas, '--replicas') : 1;
  const env = [...(f.envFile ?? []).flatMap((path) => parseEnvFile(readEnvFile(ctx, path), path, ctx.env)), ...envFlag(f.env ?? [], '--env', ctx.env)];
  const job = isJobMode(mode);
  const restartBase = { condition: job ? RestartCondition.ON_FAILURE : RestartCondition.ANY, delay: timestampFromMs(defaultRestartDelayMs), maxAttempts: 0 };
  const spec: ServiceSpec = {
    annotations: { name: f.name !== undefined ? checkServiceName(f.name) : '', labels: labelsFlag(f.label ?? [], '--label') },
    task: {
      container: {
        image: image.trim(),
        labels: labelsFlag(f.containerLabel ?? [], '--container-label'),
        command: f.entrypoint !== undefined ? splitArgs(f.entrypoint, '--entrypoint') : [],
        args: [...args],
        hostname: f.hostname ?? '',
        env,
        dir: f.workdir ?? '',
        user: f.user ?? '',
        groups: [...(f.group ?? [])],
        mounts: (f.mount ?? []).map(parseServiceMount),
        stopSignal: f.stopSignal ?? '',
        ...(f.stopGracePeriod !== undefined ? { stopGracePeriod: durationFlag(f.stopGracePeriod, '--stop-grace-period') } : {}),
        ...healthOf(healthConfigFromFlags(f)),
        secrets: (f.secret ?? []).map((x) => parseSecretFlag(x)),
        configs: (f.config ?? []).map((x) => parseConfigFlag(x)),
        tty: f.tty === true,
        openStdin: false,
        readOnly: f.readOnly === true,
        init: f.init === true,
        sysctls: sysctlFlag(f.sysctl ?? []),
        capabilityAdd: (f.capAdd ?? []).map((c) => capability(c, '--cap-add')),
        capabilityDrop: (f.capDrop ?? []).map((c) => capability(c, '--cap-drop')),
      },
      resources: {
        limits: resources(undefined, f.limitMemory, f.limitCpu, f.limitPids, '--limit'),
        reservations: resources(undefined, f.reserveMemory, f.reserveCpu, undefined, '--reserve'),
      },
      restart: restartPolicy(restartBase, f),
      placement: {
        constraints: (f.constraint ?? []).map((c) => constraintFlag(c, '--constraint')),
        preferences: (f.placementPref ?? []).map((p) => parsePlacementPref(p)),
        platforms: [],
        maxReplicas: f.replicasMaxPerNode !== undefined ? uintFlag(f.replicasMaxPerNode, '--replicas-max-per-node') : 0,
      },
      networks: (f.network ?? []).map((n) => parseNetworkFlag(n)),
      forceUpdate: 0,
    },
    ...modeSpec(mode, replicas, f.maxConcurrent !== undefined ? uintFlag(f.maxConcurrent, '--max-concurrent', 1) : replicas),
    ...(job ? {} : { update: updateConfig(updateFlagsOf(f, 'update'), '--update', defaultUpdateConfig()), rollback: updateConfig(updateFlagsOf(f, 'rollback'), '--rollback', defaultUpdateConfig()) }),
    ...rebalanceFlag(f.rebalance, mode),
    endpoint: {
      mode: f.endpointMode !== undefined ? choice(endpointModes, f.endpointMode, '--endpoint-mode') : EndpointMode.VIP,
      ports: (f.publish ?? []).flatMap((p) => parsePublish(p)),
    },
  };
  checkEndpoint(spec);
  return spec;
}

function sysctlFlag(entries: readonly string[], flag = '--sysctl'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    const eq = e.indexOf('=');
    if (eq <= 0) throw invalidArgument(`${flag}: invalid ${JSON.stringify(e)}: use NAME=VALUE`);
    out[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return out;
}

/** `--cap-add NET_ADMIN` / `CAP_NET_ADMIN` / `ALL`, as docker normalizes it. */
function capability(text: string, flag: string): string {
  const t = text.trim().toUpperCase();
  if (!/^[A-Z_]+$/.test(t)) throw invalidArgument(`${flag}: invalid capability ${JSON.stringify(text)}`);
  return t === 'ALL' || t.startsWith('CAP_') ? t : `CAP_${t}`;
}

function readEnvFile(ctx: FlagContext, path: string): string {
  try {
    return ctx.readFile(path);
  } catch (err) {
    throw invalidArgument(`--env-file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function modeSpec(mode: ServiceModeName, replicas: number, maxConcurrent: number): Pick<ServiceSpec, 'replicated' | 'global' | 'replicatedJob' | 'globalJob'> {
  switch (mode) {
    case 'replicated':
      return { replicated: { replicas } };
    case 'global':
      return { global: {} };
    case 'replicated-job':
      return { replicatedJob: { totalCompletions: replicas, maxConcurrent } };
    case 'global-job':
      return { globalJob: {} };
  }
}

function restartPolicy(base: { condition: RestartCondition; delay?: Duration; maxAttempts: number; window?: Duration }, f: CommonFlags): RestartPolicy {
  const delay = f.restartDelay !== undefined ? durationFlag(f.restartDelay, '--restart-delay') : base.delay;
  const window = f.restartWindow !== undefined ? durationFlag(f.restartWindow, '--restart-window') : base.window;
  return {
    condition: f.restartCondition !== undefined ? choice(restartConditions, f.restartCondition, '--restart-condition') : base.condition,
    ...(delay ? { delay } : {}),
    maxAttempts: f.restartMaxAttempts !== undefined ? uintFlag(f.restartMaxAttempts, '--restart-max-attempts') : base.maxAttempts,
    ...(window ? { window } : {}),
  };
}

/** The options commander collects for `service update`. */
export interface UpdateFlags extends CommonFlags {
  readonly image?: string;
  readonly args?: string;
  readonly envAdd?: readonly string[];
  readonly envRm?: readonly string[];
  readonly labelAdd?: readonly string[];
  readonly labelRm?: readonly string[];
  readonly containerLabelAdd?: readonly string[];
  readonly containerLabelRm?: readonly string[];
  readonly mountAdd?: readonly string[];
  readonly mountRm?: readonly string[];
  readonly constraintAdd?: readonly string[];
  readonly constraintRm?: readonly string[];
  readonly placementPrefAdd?: readonly string[];
  readonly placementPrefRm?: readonly string[];
  readonly networkAdd?: readonly string[];
  readonly networkRm?: readonly string[];
  readonly publishAdd?: readonly string[];
  readonly publishRm?: readonly string[];
  readonly groupAdd?: readonly string[];
  readonly groupRm?: readonly string[];
  readonly sysctlAdd?: readonly string[];
  readonly sysctlRm?: readonly string[];
  readonly capAdd?: readonly string[];
  readonly capDrop?: readonly string[];
  readonly secretAdd?: readonly string[];
  readonly secretRm?: readonly string[];
  readonly configAdd?: readonly string[];
  readonly configRm?: readonly string[];
  readonly init?: string | boolean;
  readonly readOnly?: string | boolean;
  readonly force?: boolean;
  readonly rollback?: boolean;
}

/**
 * An empty replicated spec: `updatedSpec(blankSpec(), flags, ctx, { syntaxOnly: true })` checks
 * every flag that can be wrong on its own, before the command reads the service.
 */
export function blankSpec(): ServiceSpec {
  return { annotations: { name: '', labels: {} }, task: { networks: [], forceUpdate: 0 }, replicated: { replicas: 1 }, endpoint: { mode: EndpointMode.VIP, ports: [] } };
}

/** Splits `--args "a 'b c'"` as a shell would (quotes and backslashes, no expansion). */
export function splitArgs(text: string, flag = '--args'): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur !== '') out.push(cur);
      cur = '';
      has = false;
    } else cur += c;
  }
  if (quote) throw invalidArgument(`${flag}: unterminated ${quote} quote in ${JSON.stringify(text)}`);
  if (has || cur !== '') out.push(cur);
  return out;
}

function boolFlag(v: string | boolean | undefined, flag: string): boolean | undefined {
  if (v === undefined || typeof v === 'boolean') return v;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalidArgument(`${flag}: invalid value ${JSON.stringify(v)}: use true or false`);
}

/** `--publish-rm`: a target port (`80`, `80/udp`) or the short spec it was published with (`8080:80`). */
function publishRemover(text: string): (p: PortConfig) => boolean {
  const slash = text.indexOf('/');
  const ports = slash < 0 ? text : text.slice(0, slash);
  const protocol = slash < 0 ? undefined : choice(protocols, text.slice(slash + 1).toLowerCase(), '--publish-rm protocol');
  const target = portNumber(ports.split(':').at(-1) ?? '', '--publish-rm', text, false);
  return (p) => p.targetPort === target && (protocol === undefined || p.protocol === protocol);
}

function envKey(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

/**
 * The spec `service update` sends: `current` with the flags applied (docker's semantics: `-add`
 * replaces an entry with the same key, `-rm` drops by key, `--force` bumps ForceUpdate).
 */
export function updatedSpec(current: ServiceSpec, f: UpdateFlags, ctx: FlagContext, opts: { readonly syntaxOnly?: boolean } = {}): ServiceSpec {
  if (f.rollback) {
    // `healthcheck` is true unless --no-healthcheck was given (commander's negated flag).
    const others = Object.entries(f).filter(([k, v]) => v !== undefined && !['rollback', 'detach', 'quiet'].includes(k) && !(k === 'healthcheck' && v === true) && !(Array.isArray(v) && v.length === 0));
    if (others.length > 0) throw invalidArgument('other flags may not be combined with --rollback');
    return current;
  }
  const mode = modeNameOf(current);
  if (!opts.syntaxOnly) checkModeFlags(mode, f);
  if (f.maxConcurrent !== undefined) uintFlag(f.maxConcurrent, '--max-concurrent', 1);
  const task = current.task ?? { networks: [], forceUpdate: 0 };
  const c = task.container ?? { image: '', labels: {}, command: [], args: [], hostname: '', env: [], dir: '', user: '', groups: [], mounts: [], stopSignal: '', secrets: [], configs: [], tty: false, openStdin: false, readOnly: false, init: false, sysctls: {}, capabilityAdd: [], capabilityDrop: [] };

  const envAdd = envFlag(f.envAdd ?? [], '--env-add', ctx.env);
  const envRm = new Set([...(f.envRm ?? []).map(envKey), ...envAdd.map(envKey)]);
  const env = [...c.env.filter((e) => !envRm.has(envKey(e))), ...envAdd];

  const labels = applyLabels(current.annotations?.labels ?? {}, f.labelAdd ?? [], f.labelRm ?? [], '--label');
  const containerLabels = applyLabels(c.labels, f.containerLabelAdd ?? [], f.containerLabelRm ?? [], '--container-label');

  const mountAdd = (f.mountAdd ?? []).map(parseServiceMount);
  const mountRm = new Set([...(f.mountRm ?? []), ...mountAdd.map((m) => m.target)]);
  const mounts = [...c.mounts.filter((m) => !mountRm.has(m.target)), ...mountAdd];

  const placement = task.placement ?? { constraints: [], preferences: [], platforms: [], maxReplicas: 0 };
  const constraintAdd = (f.constraintAdd ?? []).map((x) => constraintFlag(x, '--constraint-add'));
  const constraintRm = new Set((f.constraintRm ?? []).map((x) => x.replace(/\s+/g, '')));
  const constraints = [...placement.constraints.filter((x) => !constraintRm.has(x.replace(/\s+/g, ''))), ...constraintAdd.filter((x) => !placement.constraints.includes(x))];
  const prefAdd = (f.placementPrefAdd ?? []).map((p) => parsePlacementPref(p, '--placement-pref-add'));
  const prefRm = new Set((f.placementPrefRm ?? []).map((p) => parsePlacementPref(p, '--placement-pref-rm').spread?.spreadDescriptor));
  const preferences = [...placement.preferences.filter((p) => !prefRm.has(p.spread?.spreadDescriptor)), ...prefAdd];

  const networkAdd = (f.networkAdd ?? []).map((n) => parseNetworkFlag(n, '--network-add'));
  const networkRm = new Set(f.networkRm ?? []);
  const networks = [...task.networks.filter((n) => !networkRm.has(n.target)), ...networkAdd];

  const endpoint = current.endpoint ?? { mode: EndpointMode.VIP, ports: [] };
  const publishAdd = (f.publishAdd ?? []).flatMap((p) => parsePublish(p, '--publish-add'));
  const removers = (f.publishRm ?? []).map(publishRemover);
  const addedKeys = new Set(publishAdd.map((p) => `${p.publishedPort}/${p.protocol}`));
  const ports = [...endpoint.ports.filter((p) => !removers.some((r) => r(p)) && !(p.publishedPort !== 0 && addedKeys.has(`${p.publishedPort}/${p.protocol}`))), ...publishAdd];

  const { secrets, configs } = updatedSecretRefs(c, f);

  const groupRm = new Set(f.groupRm ?? []);
  const groups = [...c.groups.filter((g) => !groupRm.has(g)), ...(f.groupAdd ?? []).filter((g) => !c.groups.includes(g) || groupRm.has(g))];
  const sysctls = { ...c.sysctls };
  for (const k of f.sysctlRm ?? []) delete sysctls[k];
  Object.assign(sysctls, sysctlFlag(f.sysctlAdd ?? [], '--sysctl-add'));
  // docker: adding a capability takes it off the drop list, dropping one takes it off the add list.
  const capAdd = (f.capAdd ?? []).map((x) => capability(x, '--cap-add'));
  const capDrop = (f.capDrop ?? []).map((x) => capability(x, '--cap-drop'));
  const capabilityAdd = [...new Set([...c.capabilityAdd.filter((x) => !capDrop.includes(x)), ...capAdd])];
  const capabilityDrop = [...new Set([...c.capabilityDrop.filter((x) => !capAdd.includes(x)), ...capDrop])];

  const init = boolFlag(f.init, '--init');
  const readOnly = boolFlag(f.readOnly, '--read-only');
  const job = isJobMode(mode);
  const replicas = f.replicas !== undefined ? uintFlag(f.replicas, '--replicas') : undefined;
  const spec: ServiceSpec = {
    ...current,
    annotations: { name: current.annotations?.name ?? '', labels },
    task: {
      ...task,
      container: {
        ...c,
        image: f.image !== undefined ? nonEmpty(f.image, '--image') : c.image,
        labels: containerLabels,
        args: f.args !== undefined ? splitArgs(f.args) : c.args,
        hostname: f.hostname ?? c.hostname,
        env,
        dir: f.workdir ?? c.dir,
        user: f.user ?? c.user,
        mounts,
        stopSignal: f.stopSignal ?? c.stopSignal,
        ...(f.stopGracePeriod !== undefined ? { stopGracePeriod: durationFlag(f.stopGracePeriod, '--stop-grace-period') } : {}),
        ...healthOf(updatedHealthConfig(c.healthcheck, f)),
        init: init ?? c.init,
        readOnly: readOnly ?? c.readOnly,
        groups,
        sysctls,
        capabilityAdd,
        capabilityDrop,
        secrets,
        configs,
      },
      resources: {
        limits: resources(task.resources?.limits, f.limitMemory, f.limitCpu, f.limitPids, '--limit'),
        reservations: resources(task.resources?.reservations, f.reserveMemory, f.reserveCpu, undefined, '--reserve'),
      },
      restart: restartPolicy(
        strip({ condition: task.restart?.condition ?? (job ? RestartCondition.ON_FAILURE : RestartCondition.ANY), delay: task.restart?.delay, maxAttempts: task.restart?.maxAttempts ?? 0, window: task.restart?.window }),
        f,
      ),
      placement: {
        ...placement,
        constraints,
        preferences,
        maxReplicas: f.replicasMaxPerNode !== undefined ? uintFlag(f.replicasMaxPerNode, '--replicas-max-per-node') : placement.maxReplicas,
      },
      networks,
      forceUpdate: f.force ? task.forceUpdate + 1 : task.forceUpdate,
    },
    ...(current.replicated && replicas !== undefined ? { replicated: { replicas } } : {}),
    ...(current.replicatedJob && (replicas !== undefined || f.maxConcurrent !== undefined)
      ? {
          replicatedJob: {
            totalCompletions: replicas ?? current.replicatedJob.totalCompletions,
            maxConcurrent: f.maxConcurrent !== undefined ? uintFlag(f.maxConcurrent, '--max-concurrent', 1) : current.replicatedJob.maxConcurrent,
          },
        }
      : {}),
    ...(job
      ? {}
      : {
          update: updateConfig(updateFlagsOf(f, 'update'), '--update', current.update ?? defaultUpdateConfig()),
          rollback: updateConfig(updateFlagsOf(f, 'rollback'), '--rollback', current.rollback ?? defaultUpdateConfig()),
        }),
    ...rebalanceFlag(f.rebalance, mode),
    endpoint: { mode: f.endpointMode !== undefined ? choice(endpointModes, f.endpointMode, '--endpoint-mode') : endpoint.mode, ports },
  };
  checkEndpoint(spec);
  return spec;
}

/** The container spec's healthcheck field for a config (none when undefined). */
function healthOf(healthcheck: HealthConfig | undefined): { healthcheck?: HealthConfig } {
  return healthcheck !== undefined ? { healthcheck } : {};
}

function nonEmpty(text: string, flag: string): string {
  if (text.trim() === '') throw invalidArgument(`${flag}: the value is empty`);
  return text.trim();
}

function applyLabels(base: Readonly<Record<string, string>>, add: readonly string[], rm: readonly string[], flag: string): Record<string, string> {
  const out = { ...base };
  for (const k of rm) {
    if (k === '' || k.includes('=')) throw invalidArgument(`${flag}-rm: invalid key ${JSON.stringify(k)}: give the key alone`);
    delete out[k];
  }
  Object.assign(out, labelsFlag(add, `${flag}-add`));
  return out;
}

/** `service scale NAME=N ...`: the pairs, checked before anything is sent. */
export function parseScaleArgs(args: readonly string[]): [string, number][] {
  return args.map((arg) => {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw invalidArgument(`invalid scale specifier ${JSON.stringify(arg)}: use SERVICE=REPLICAS`);
    const n = arg.slice(eq + 1);
    if (!/^\d+$/.test(n) || !Number.isSafeInteger(Number(n))) throw invalidArgument(`invalid replicas value ${JSON.stringify(n)} for ${arg.slice(0, eq)}: want a whole number`);
    return [arg.slice(0, eq), Number(n)];
  });
}

/** Docker's default secret and config file mode. */
export const defaultSecretFileMode = 0o444;

/**
 * `--secret` / `--config`: `NAME` or `source=NAME[,target=PATH][,uid=N][,gid=N][,mode=0400]`. The
 * reference names the object; the command fills in its ID. The target defaults to the name (a
 * relative target goes under /run/secrets for secrets, under / for configs).
 */
function parseFileReference(text: string, flag: string): { source: string; file: { name: string; uid: string; gid: string; mode: number } } {
  const file = { name: '', uid: '0', gid: '0', mode: defaultSecretFileMode };
  let source = '';
  if (!text.includes('=')) source = text.trim();
  else {
    for (const part of text.split(',')) {
      const eq = part.indexOf('=');
      const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
      const value = eq < 0 ? '' : part.slice(eq + 1).trim();
      if (key === 'source' || key === 'src') source = value;
      else if (key === 'target') file.name = value;
      else if (key === 'uid' || key === 'gid') {
        if (!/^\d+$/.test(value)) throw invalidArgument(`${flag}: invalid ${key} ${JSON.stringify(value)} in ${JSON.stringify(text)}: use a numeric ID`);
        file[key] = value;
      } else if (key === 'mode') {
        if (!/^0?[0-7]{1,4}$/.test(value)) throw invalidArgument(`${flag}: invalid mode ${JSON.stringify(value)} in ${JSON.stringify(text)}: use octal, e.g. 0400`);
        file.mode = parseInt(value, 8);
      } else throw invalidArgument(`${flag}: unknown field ${JSON.stringify(key)} in ${JSON.stringify(text)}: use source, target, uid, gid or mode`);
    }
  }
  if (source === '') throw invalidArgument(`${flag}: ${JSON.stringify(text)} names no source (use NAME or source=NAME)`);
  if (file.name === '') file.name = source;
  if (file.name.split('/').includes('..')) throw invalidArgument(`${flag}: target ${JSON.stringify(file.name)} must not contain ".."`);
  return { source, file };
}

/** What `--secret` asks for; secretId is empty until the command resolves the name. */
export function parseSecretFlag(text: string, flag = '--secret'): SecretReference {
  const { source, file } = parseFileReference(text, flag);
  return { secretId: '', secretName: source, file };
}

/** What `--config` asks for; configId is empty until the command resolves the name. */
export function parseConfigFlag(text: string, flag = '--config'): ConfigReference {
  const { source, file } = parseFileReference(text, flag);
  return { configId: '', configName: source, file };
}

/**
 * The secret and config references after `--secret-add|rm` and `--config-add|rm`: `-rm` drops the
 * references to that name or ID; an added reference replaces one with the same target.
 */
function updatedSecretRefs(
  c: { readonly secrets: readonly SecretReference[]; readonly configs: readonly ConfigReference[] },
  f: UpdateFlags,
): { secrets: SecretReference[]; configs: ConfigReference[] } {
  const secretAdd = (f.secretAdd ?? []).map((x) => parseSecretFlag(x, '--secret-add'));
  const secretRm = new Set(f.secretRm ?? []);
  const secretTargets = new Set(secretAdd.map((r) => r.file?.name));
  const configAdd = (f.configAdd ?? []).map((x) => parseConfigFlag(x, '--config-add'));
  const configRm = new Set(f.configRm ?? []);
  const configTargets = new Set(configAdd.map((r) => r.file?.name));
  return {
    secrets: [...c.secrets.filter((r) => !secretRm.has(r.secretName) && !secretRm.has(r.secretId) && !secretTargets.has(r.file?.name)), ...secretAdd],
    configs: [...c.configs.filter((r) => !configRm.has(r.configName) && !configRm.has(r.configId) && !configTargets.has(r.file?.name)), ...configAdd],
  };
}
