/**
 * The flags of `container run` / `container create`, turned into an Engine request (pure apart
 * from reading the caller's environment for `-e NAME`).
 */
import { invalidArgument } from '../lib/errors.js';
import { parseBytes, parseNanoCpus } from '../lib/units.js';
import type { ContainerCreateRequest, ContainerMount, DeepPartial } from '../proto/index.js';

/** The options commander collects for run/create. */
export interface RunFlags {
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

/** `-v /host:/ctr[:ro|rw]` → a bind mount. */
export function parseVolume(text: string): ContainerMount {
  const parts = text.split(':');
  const [source = '', target = '', mode] = parts;
  if (parts.length < 2 || parts.length > 3 || target === '') throw invalidArgument(`invalid volume ${JSON.stringify(text)}: want SOURCE:TARGET[:ro]`);
  if (!source.startsWith('/')) throw invalidArgument(`named volumes are not supported yet (${JSON.stringify(source)}); give an absolute host path`);
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') throw invalidArgument(`invalid volume mode ${JSON.stringify(mode)}: use ro or rw`);
  return { type: 'bind', source, target, readOnly: mode === 'ro', tmpfsSizeBytes: 0, tmpfsMode: 0 };
}

/** `--mount type=bind|tmpfs,source=..,target=..,readonly,tmpfs-size=..,tmpfs-mode=..`. */
export function parseMount(text: string): ContainerMount {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    fields.set(key, eq < 0 ? 'true' : part.slice(eq + 1));
  }
  const known = new Set(['type', 'source', 'src', 'target', 'destination', 'dst', 'readonly', 'ro', 'tmpfs-size', 'tmpfs-mode']);
  for (const key of fields.keys()) if (!known.has(key)) throw invalidArgument(`unknown --mount field ${JSON.stringify(key)}`);
  const type = fields.get('type') ?? 'volume';
  if (type !== 'bind' && type !== 'tmpfs') throw invalidArgument(`--mount type=${type} is not supported yet (use bind or tmpfs)`);
  const target = fields.get('target') ?? fields.get('destination') ?? fields.get('dst') ?? '';
  if (!target.startsWith('/')) throw invalidArgument(`--mount needs an absolute target, got ${JSON.stringify(target)}`);
  const source = fields.get('source') ?? fields.get('src') ?? '';
  if (type === 'bind' && !source.startsWith('/')) throw invalidArgument(`--mount type=bind needs an absolute source, got ${JSON.stringify(source)}`);
  const ro = fields.get('readonly') ?? fields.get('ro');
  const mode = fields.get('tmpfs-mode');
  if (mode !== undefined && !/^[0-7]{3,4}$/.test(mode)) throw invalidArgument(`invalid tmpfs-mode ${JSON.stringify(mode)}: use octal such as 1777`);
  return {
    type,
    source,
    target,
    readOnly: ro === 'true' || ro === '1',
    tmpfsSizeBytes: fields.has('tmpfs-size') ? parseBytes(fields.get('tmpfs-size') ?? '', 'tmpfs-size') : 0,
    tmpfsMode: mode !== undefined ? parseInt(mode, 8) : 0,
  };
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
  };
}
