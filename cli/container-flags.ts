/**
 * The flags of `container run` / `container create`, turned into an Engine request (pure apart
 * from reading the caller's environment for `-e NAME`).
 */
import { invalidArgument } from '../lib/errors.js';
import { parseBytes, parseNanoCpus } from '../lib/units.js';
import { PublishMode, type ContainerCreateRequest, type ContainerMount, type DeepPartial, type PortConfig } from '../proto/index.js';
import { parsePublish } from './service-flags.js';
import { maxAliasesPerNetwork, networkAliasPattern } from '../manager/dispatcher/network-attachments.js';
import { healthConfigFromFlags, type HealthFlags } from './health-flags.js';
import { validateVolumeName } from '../worker/volumes/names.js';

/** The options commander collects for run/create. */
export interface RunFlags extends HealthFlags {
  readonly name?: string;
  readonly env?: readonly string[];
  readonly memory?: string;
  readonly cpus?: string;
  readonly cpuShares?: string;
  readonly pidsLimit?: string;
  readonly volume?: readonly string[];
  readonly mount?: readonly string[];
  readonly readOnly?: boolean;
  readonly workdir?: string;
  readonly user?: string;
  readonly hostname?: string;
  readonly entrypoint?: string;
  readonly stopSignal?: string;
  readonly stopTimeout?: string;
  readonly label?: readonly string[];
  readonly rm?: boolean;
  readonly network?: readonly string[];
  readonly networkAlias?: readonly string[];
  readonly publish?: readonly string[];
}

/** Commander helper: collects a repeatable option into a list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function positiveInt(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw invalidArgument(`${flag} must be a positive whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** `-e NAME=value`, or `-e NAME` to pass the caller's value (dropped when unset, as docker does). */
export function envEntries(entries: readonly string[], callerEnv: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (e.startsWith('=') || e === '') throw invalidArgument(`invalid environment entry ${JSON.stringify(e)} (want NAME=value)`);
    if (e.includes('=')) out.push(e);
    else if (callerEnv[e] !== undefined) out.push(`${e}=${callerEnv[e]}`);
  }
  return out;
}

/** A mount with nothing set beyond what is given. */
function mountOf(fields: Partial<ContainerMount> & Pick<ContainerMount, 'type' | 'target'>): ContainerMount {
  return {
    source: '',
    readOnly: false,
    tmpfsSizeBytes: 0,
    tmpfsMode: 0,
    volumeNoCopy: false,
    volumeDriver: '',
    volumeDriverOptions: {},
    volumeLabels: {},
    ...fields,
  };
}

function checkVolumeSource(source: string, what: string): void {
  try {
    validateVolumeName(source);
  } catch {
    throw invalidArgument(
      `${what}: ${JSON.stringify(source)} is not a valid volume name (use [a-zA-Z0-9][a-zA-Z0-9_.-]...); a host directory must be an absolute path`,
    );
  }
}

/**
 * `-v /host:/ctr[:ro|rw]` → a bind mount; `-v NAME:/ctr[:ro|rw|nocopy,...]` → a named volume
 * (created on first use); `-v /ctr` → a new anonymous volume.
 */
export function parseVolume(text: string): ContainerMount {
  const parts = text.split(':');
  if (parts.length === 1 && text.startsWith('/')) return mountOf({ type: 'volume', target: text });
  const [source = '', target = '', mode = ''] = parts;
  if (parts.length < 2 || parts.length > 3 || source === '' || target === '') throw invalidArgument(`invalid volume ${JSON.stringify(text)}: want SOURCE:TARGET[:ro]`);
  if (!target.startsWith('/')) throw invalidArgument(`invalid volume ${JSON.stringify(text)}: the target ${JSON.stringify(target)} must be an absolute path`);
  const flags = mode === '' ? [] : mode.split(',');
  const bind = source.startsWith('/');
  for (const f of flags) {
    if (f !== 'ro' && f !== 'rw' && (bind || f !== 'nocopy')) throw invalidArgument(`invalid volume mode ${JSON.stringify(f)}: use ro or rw${bind ? '' : ' (and nocopy)'}`);
  }
  if (flags.includes('ro') && flags.includes('rw')) throw invalidArgument(`invalid volume mode ${JSON.stringify(mode)}: ro or rw, not both`);
  if (bind) return mountOf({ type: 'bind', source, target, readOnly: flags.includes('ro') });
  checkVolumeSource(source, `-v ${text}`);
  return mountOf({ type: 'volume', source, target, readOnly: flags.includes('ro'), volumeNoCopy: flags.includes('nocopy') });
}

/** Splits a --mount value at commas, as docker's CSV reader does: "..." may hold commas. */
export function splitMountFields(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '"') {
      if (quoted && text[i + 1] === '"') {
        current += '"';
        i++;
      } else quoted = !quoted;
    } else if (ch === ',' && !quoted) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  if (quoted) throw invalidArgument(`--mount ${JSON.stringify(text)}: unterminated quote`);
  out.push(current);
  return out;
}

function mountBool(key: string, value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw invalidArgument(`invalid --mount ${key}=${JSON.stringify(value)}: use true or false`);
}

function keyValue(entry: string, field: string): [string, string] {
  const eq = entry.indexOf('=');
  const key = eq < 0 ? entry : entry.slice(0, eq);
  if (key === '') throw invalidArgument(`invalid --mount ${field}=${JSON.stringify(entry)}: want KEY=VALUE`);
  return [key, eq < 0 ? '' : entry.slice(eq + 1)];
}

/**
 * `--mount type=bind|volume|tmpfs,source=..,target=..[,readonly][,volume-nocopy][,volume-driver=..]
 * [,volume-opt=k=v]...[,volume-label=k=v]...[,tmpfs-size=..][,tmpfs-mode=..]`; the type is volume
 * when not given, and a volume mount without a source gets a new anonymous volume.
 */
export function parseMount(text: string): ContainerMount {
  const fields = new Map<string, string | undefined>();
  const volumeOptions: Record<string, string> = {};
  const volumeLabels: Record<string, string> = {};
  for (const part of splitMountFields(text)) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : part.slice(eq + 1);
    if (key === 'volume-opt' || key === 'volume-label') {
      const [k, v] = keyValue(value ?? '', key);
      (key === 'volume-opt' ? volumeOptions : volumeLabels)[k] = v;
    }
    fields.set(key, value);
  }
  const known = new Set(['type', 'source', 'src', 'target', 'destination', 'dst', 'readonly', 'ro', 'tmpfs-size', 'tmpfs-mode', 'volume-nocopy', 'volume-driver', 'volume-opt', 'volume-label']);
  for (const key of fields.keys()) if (!known.has(key)) throw invalidArgument(`unknown --mount field ${JSON.stringify(key)}`);
  const type = fields.get('type') ?? 'volume';
  if (type !== 'bind' && type !== 'tmpfs' && type !== 'volume') throw invalidArgument(`--mount type=${type} is not supported (use bind, volume or tmpfs)`);
  const used = [...fields.keys()];
  const volumeKeys = used.filter((k) => k.startsWith('volume-'));
  const tmpfsKeys = used.filter((k) => k.startsWith('tmpfs-'));
  if (type !== 'volume' && volumeKeys.length > 0) throw invalidArgument(`--mount ${volumeKeys[0] ?? ''} is only for type=volume, not type=${type}`);
  if (type !== 'tmpfs' && tmpfsKeys.length > 0) throw invalidArgument(`--mount ${tmpfsKeys[0] ?? ''} is only for type=tmpfs, not type=${type}`);
  const target = fields.get('target') ?? fields.get('destination') ?? fields.get('dst') ?? '';
  if (!target.startsWith('/')) throw invalidArgument(`--mount needs an absolute target, got ${JSON.stringify(target)}`);
  const source = fields.get('source') ?? fields.get('src') ?? '';
  if (type === 'bind' && !source.startsWith('/')) throw invalidArgument(`--mount type=bind needs an absolute source, got ${JSON.stringify(source)}`);
  if (type === 'tmpfs' && source !== '') throw invalidArgument('--mount type=tmpfs takes no source');
  if (type === 'volume' && source !== '') checkVolumeSource(source, '--mount source');
  const roKey = fields.has('readonly') ? 'readonly' : fields.has('ro') ? 'ro' : undefined;
  const mode = fields.get('tmpfs-mode');
  if (mode !== undefined && !/^[0-7]{3,4}$/.test(mode)) throw invalidArgument(`invalid tmpfs-mode ${JSON.stringify(mode)}: use octal such as 1777`);
  return mountOf({
    type,
    source,
    target,
    readOnly: roKey !== undefined && mountBool(roKey, fields.get(roKey)),
    tmpfsSizeBytes: fields.has('tmpfs-size') ? parseBytes(fields.get('tmpfs-size') ?? '', 'tmpfs-size') : 0,
    tmpfsMode: mode !== undefined ? parseInt(mode, 8) : 0,
    volumeNoCopy: fields.has('volume-nocopy') && mountBool('volume-nocopy', fields.get('volume-nocopy')),
    volumeDriver: fields.get('volume-driver') ?? '',
    volumeDriverOptions: volumeOptions,
    volumeLabels,
  });
}

/** `-l key=value` labels. */
export function parseLabels(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    const eq = e.indexOf('=');
    const key = eq < 0 ? e : e.slice(0, eq);
    if (key === '') throw invalidArgument(`invalid label ${JSON.stringify(e)}`);
    out[key] = eq < 0 ? '' : e.slice(eq + 1);
  }
  return out;
}

/** The Engine request for `run IMAGE [CMD...]` with these flags. All checks happen before any call. */
export function createRequest(image: string, command: readonly string[], flags: RunFlags, callerEnv: NodeJS.ProcessEnv): DeepPartial<ContainerCreateRequest> {
  if (image === '') throw invalidArgument('an image is required');
  const stopSeconds = flags.stopTimeout !== undefined ? Number(flags.stopTimeout) : undefined;
  if (stopSeconds !== undefined && (!Number.isInteger(stopSeconds) || stopSeconds < 0)) {
    throw invalidArgument(`--stop-timeout must be a whole number of seconds, got ${JSON.stringify(flags.stopTimeout)}`);
  }
  const healthcheck = healthConfigFromFlags(flags);
  return {
    image,
    name: flags.name ?? '',
    cmd: [...command],
    ...(flags.entrypoint !== undefined ? { entrypoint: flags.entrypoint === '' ? [] : [flags.entrypoint], entrypointSet: true } : {}),
    env: envEntries(flags.env ?? [], callerEnv),
    workingDir: flags.workdir ?? '',
    user: flags.user ?? '',
    hostname: flags.hostname ?? '',
    labels: parseLabels(flags.label ?? []),
    mounts: [...(flags.volume ?? []).map(parseVolume), ...(flags.mount ?? []).map(parseMount)],
    memoryBytes: flags.memory !== undefined ? parseBytes(flags.memory, '--memory') : 0,
    nanoCpus: flags.cpus !== undefined ? parseNanoCpus(flags.cpus) : 0,
    cpuShares: flags.cpuShares !== undefined ? positiveInt(flags.cpuShares, '--cpu-shares') : 0,
    pidsLimit: flags.pidsLimit !== undefined ? positiveInt(flags.pidsLimit, '--pids-limit') : 0,
    readOnly: flags.readOnly === true,
    stopSignal: flags.stopSignal ?? '',
    ...(stopSeconds !== undefined ? { stopTimeout: { seconds: stopSeconds, nanos: 0 }, stopTimeoutSet: true } : {}),
    autoRemove: flags.rm === true,
    ...(healthcheck !== undefined ? { healthcheck } : {}),
    networks: networkConfigs(flags.network ?? [], flags.networkAlias ?? []),
    ports: containerPorts(flags.publish ?? []),
  };
}

/**
 * `-p HOST:CONTAINER[/PROTOCOL]` (repeatable, ranges as `8000-8001:80-81`): ports of this host sent
 * to the container on its bridge network. The host port is required (no random ones) and a host
 * address cannot be given: the port answers on every address of the host.
 */
export function containerPorts(texts: readonly string[]): PortConfig[] {
  const out: PortConfig[] = [];
  for (const text of texts) {
    if (text.includes('=')) throw invalidArgument(`-p: ${JSON.stringify(text)}: use HOST:CONTAINER[/PROTOCOL] for a container`);
    if (text.split(':').length > 2) throw invalidArgument(`-p: ${JSON.stringify(text)}: a host address cannot be given; the port answers on every address of the host`);
    for (const p of parsePublish(text, '-p')) {
      if (p.publishedPort === 0) throw invalidArgument(`-p: ${JSON.stringify(text)} needs the host port too (HOST:CONTAINER)`);
      if (out.some((o) => o.protocol === p.protocol && o.publishedPort === p.publishedPort)) throw invalidArgument(`-p: host port ${p.publishedPort} is published twice`);
      out.push({ ...p, publishMode: PublishMode.HOST });
    }
  }
  return out;
}

/** Most `--network-alias` values (the managers take as many per network). */
export const maxNetworkAliases = maxAliasesPerNetwork;

/**
 * `--network NET` (repeatable) with `--network-alias` names (given on every network): attachable
 * swarm networks by name or ID; `none` is the default (a namespace with loopback only).
 */
export function networkConfigs(networks: readonly string[], aliases: readonly string[]): Array<{ target: string; aliases: string[] }> {
  const wanted = networks.filter((n) => n !== 'none');
  if (wanted.length !== networks.length && wanted.length > 0) throw invalidArgument('--network none cannot be combined with other networks');
  for (const n of wanted) {
    if (n === '') throw invalidArgument('--network needs a network name or ID');
    if (n === 'host' || n === 'bridge' || n === 'default') {
      throw invalidArgument(`--network ${n} is not supported: use an attachable swarm network (tsswarm network create --attachable NAME) or leave --network out`);
    }
  }
  if (new Set(wanted).size !== wanted.length) throw invalidArgument('a network is named twice in --network');
  if (aliases.length > 0 && wanted.length === 0) throw invalidArgument('--network-alias needs --network');
  if (aliases.length > maxNetworkAliases) throw invalidArgument(`at most ${maxNetworkAliases} --network-alias values, not ${aliases.length}`);
  for (const a of aliases) {
    if (!networkAliasPattern.test(a)) throw invalidArgument(`--network-alias ${JSON.stringify(a)} is not a valid DNS name`);
  }
  return wanted.map((target) => ({ target, aliases: [...aliases] }));
}
