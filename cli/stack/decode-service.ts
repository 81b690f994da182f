/**
 * One entry of `services:` read into a {@link ComposeService}: every key checked for its type and
 * range, env_file files read, relative paths made absolute against the project folder. Keys swarm
 * ignores are reported through the context; unknown keys fail.
 */
import { isAbsolute, resolve } from 'node:path';
import { TsswarmError } from '../../lib/errors.js';
import { PortProtocol, PublishMode } from '../../proto/index.js';
import { parsePublish, splitArgs } from '../service-flags.js';
import { fail, type Pos } from './compose-error.js';
import type { ComposeFileRef, ComposeHealthcheck, ComposeMount, ComposeNetworkRef, ComposePort, ComposeService } from './compose-model.js';
import { decodeDeploy } from './decode-deploy.js';
import { parseDotEnv } from './dotenv.js';
import { ignoredServiceKeys } from './ignored-keys.js';
import type { Lookup } from './interpolate.js';
import { bool, bytes, child, duration, eachKey, int, keyValues, labels, list, map, oneOf, optionalMap, str, strList, strOrList, text } from './read-values.js';
import type { YNode } from './yaml-tree.js';

/** What decoding needs from outside: the project folder, files, variables, and where ignored keys go. */
export interface DecodeContext {
  /** The folder of the first compose file; relative paths start there. */
  readonly projectDir: string;
  /** Reads a file by absolute path (throws a Node error with a code when it cannot). */
  readonly readFile: (path: string) => Uint8Array;
  /** The variables of the environment and `.env`. */
  readonly lookup: Lookup;
  /** Called with each ignored key (`build`, `deploy.resources.reservations.devices`). */
  readonly ignored: (key: string) => void;
}

type Mutable<T> = { -readonly [K in keyof T]?: T[K] };

/** Longest service key, so that STACK_key stays a usable name. */
const maxServiceKeyChars = 63;

/** Reads `services.NAME`. */
export function decodeService(name: string, keyPos: Pos, node: YNode, path: string, ctx: DecodeContext): ComposeService {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name) || name.length > maxServiceKeyChars) {
    fail(keyPos, path, `invalid service name ${JSON.stringify(name)}: use letters, digits, '_', '.' and '-', starting with a letter or digit`);
  }
  const m = optionalMap(node, path);
  const s: Mutable<ComposeService> = {};
  let envFiles: Map<string, string | undefined> | undefined;
  let environment: Map<string, string | undefined> | undefined;
  eachKey(
    m,
    path,
    {
      image: (v, p) => {
        const image = str(v, p).trim();
        if (image === '') fail(v.pos, p, 'the image is empty');
        s.image = image;
      },
      command: (v, p) => (s.command = commandLine(v, p)),
      entrypoint: (v, p) => (s.entrypoint = commandLine(v, p)),
      environment: (v, p) => (environment = keyValues(v, p)),
      env_file: (v, p) => (envFiles = readEnvFiles(v, p, ctx)),
      ports: (v, p) => (s.ports = list(v, p).flatMap((item, i) => port(item, child(p, i)))),
      networks: (v, p) => (s.networks = networkRefs(v, p)),
      volumes: (v, p) => (s.volumes = list(v, p).map((item, i) => mount(item, child(p, i), ctx))),
      secrets: (v, p) => (s.secrets = list(v, p).map((item, i) => fileRef(item, child(p, i)))),
      configs: (v, p) => (s.configs = list(v, p).map((item, i) => fileRef(item, child(p, i)))),
      healthcheck: (v, p) => (s.healthcheck = healthcheck(v, p)),
      hostname: (v, p) => (s.hostname = str(v, p)),
      user: (v, p) => (s.user = str(v, p)),
      working_dir: (v, p) => (s.workingDir = str(v, p)),
      stop_grace_period: (v, p) => (s.stopGracePeriodMs = duration(v, p)),
      stop_signal: (v, p) => (s.stopSignal = str(v, p)),
      labels: (v, p) => (s.labels = labels(v, p)),
      deploy: (v, p) => (s.deploy = decodeDeploy(v, p, ctx.ignored)),
      init: (v, p) => (s.init = bool(v, p)),
      read_only: (v, p) => (s.readOnly = bool(v, p)),
      tty: (v, p) => (s.tty = bool(v, p)),
      stdin_open: (v, p) => (s.stdinOpen = bool(v, p)),
      cap_add: (v, p) => (s.capAdd = strList(v, p)),
      cap_drop: (v, p) => (s.capDrop = strList(v, p)),
      sysctls: (v, p) => (s.sysctls = labels(v, p)),
      group_add: (v, p) => (s.groupAdd = list(v, p).map((g, i) => text(g, child(p, i)))),
    },
    ignoredServiceKeys,
    ctx.ignored,
  );
  if (envFiles !== undefined || environment !== undefined) {
    const merged = new Map([...(envFiles ?? []), ...(environment ?? [])]);
    const env: Record<string, string> = {};
    for (const [k, v] of merged) {
      const value = v ?? ctx.lookup(k);
      if (value !== undefined) env[k] = value;
    }
    s.environment = env;
  }
  return { ...(s as Omit<ComposeService, 'name' | 'pos'>), name, pos: keyPos };
}

/** `command:` / `entrypoint:`: a list as is, a string split as a shell would. */
function commandLine(v: YNode, path: string): string[] {
  if (v.kind === 'seq') return v.items.map((item, i) => text(item, child(path, i)));
  const line = str(v, path);
  try {
    return splitArgs(line, path);
  } catch (err) {
    return fail(v.pos, path, stripPrefix(err, path));
  }
}

function stripPrefix(err: unknown, path: string): string {
  if (!(err instanceof TsswarmError)) throw err;
  return err.message.startsWith(`${path}: `) ? err.message.slice(path.length + 2) : err.message;
}

function readEnvFiles(v: YNode, path: string, ctx: DecodeContext): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  const entries = v.kind === 'seq' ? v.items : [v];
  entries.forEach((entry, i) => {
    const p = v.kind === 'seq' ? child(path, i) : path;
    let file: string;
    let required = true;
    if (entry.kind === 'map') {
      file = '';
      eachKey(entry, p, { path: (x, q) => (file = str(x, q)), required: (x, q) => (required = bool(x, q)) });
      if (file === '') fail(entry.pos, child(p, 'path'), 'an env file needs a path');
    } else file = str(entry, p);
    const abs = resolve(ctx.projectDir, file);
    let content: string;
    try {
      content = new TextDecoder().decode(ctx.readFile(abs));
    } catch (err) {
      if (!required) return;
      return fail(entry.pos, p, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    for (const [k, value] of parseDotEnv(content, file)) out.set(k, value);
  });
  return out;
}

const protocolNames = { [PortProtocol.TCP]: 'tcp', [PortProtocol.UDP]: 'udp', [PortProtocol.SCTP]: 'sctp' } as const;

function port(v: YNode, path: string): ComposePort[] {
  if (v.kind === 'map') {
    let target = 0;
    let published = 0;
    let protocol: ComposePort['protocol'] = 'tcp';
    let mode: ComposePort['mode'] = 'ingress';
    eachKey(v, path, {
      target: (x, p) => (target = portNumber(x, p, 1)),
      published: (x, p) => (published = portNumber(x, p, 0)),
      protocol: (x, p) => (protocol = oneOf(x, p, ['tcp', 'udp', 'sctp'] as const)),
      mode: (x, p) => (mode = oneOf(x, p, ['ingress', 'host'] as const)),
      host_ip: (x, p) => fail(x.pos, p, 'a host IP cannot be given for services (a published port listens on every node)'),
      name: (x, p) => str(x, p),
      app_protocol: (x, p) => str(x, p),
    });
    if (target === 0) fail(v.pos, child(path, 'target'), 'a port needs a target');
    return [{ target, published, protocol, mode, pos: v.pos }];
  }
  const spec = text(v, path);
  let configs;
  try {
    configs = parsePublish(spec, path);
  } catch (err) {
    return fail(v.pos, path, stripPrefix(err, path));
  }
  return configs.map((c) => ({
    target: c.targetPort,
    published: c.publishedPort,
    protocol: protocolNames[c.protocol as keyof typeof protocolNames] ?? 'tcp',
    mode: c.publishMode === PublishMode.HOST ? 'host' : 'ingress',
    pos: v.pos,
  }));
}

function portNumber(v: YNode, path: string, min: number): number {
  const n = int(v, path, min);
  if (n > 65535) fail(v.pos, path, `invalid port ${n}: use 1 to 65535`);
  return n;
}

function networkRefs(v: YNode, path: string): ComposeNetworkRef[] {
  if (v.kind === 'seq') return v.items.map((item, i) => ({ name: str(item, child(path, i)), aliases: [], pos: item.pos }));
  return map(v, path).entries.map((e) => {
    const p = child(path, e.key);
    let aliases: string[] = [];
    eachKey(optionalMap(e.value, p), p, {
      aliases: (x, q) => (aliases = strList(x, q)),
      ipv4_address: (x, q) => fail(x.pos, q, 'static addresses are not supported for services'),
      ipv6_address: (x, q) => fail(x.pos, q, 'static addresses are not supported for services'),
      priority: (x, q) => int(x, q),
      driver_opts: (x, q) => labels(x, q),
    });
    return { name: e.key, aliases, pos: e.keyPos };
  });
}

const mountModes = ['ro', 'rw', 'z', 'Z', 'nocopy', 'rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave', 'cached', 'delegated', 'consistent'];

function mount(v: YNode, path: string, ctx: DecodeContext): ComposeMount {
  const base = { readOnly: false, noCopy: false, tmpfsSizeBytes: 0, tmpfsMode: 0, pos: v.pos };
  if (v.kind === 'map') {
    let type: ComposeMount['type'] | undefined;
    let source = '';
    let target = '';
    let readOnly = false;
    let noCopy = false;
    let tmpfsSizeBytes = 0;
    let tmpfsMode = 0;
    eachKey(v, path, {
      type: (x, p) => (type = oneOf(x, p, ['volume', 'bind', 'tmpfs'] as const)),
      source: (x, p) => (source = str(x, p)),
      target: (x, p) => (target = str(x, p)),
      read_only: (x, p) => (readOnly = bool(x, p)),
      consistency: (x, p) => str(x, p),
      volume: (x, p) => eachKey(optionalMap(x, p), p, { nocopy: (y, q) => (noCopy = bool(y, q)) }),
      bind: (x, p) => eachKey(optionalMap(x, p), p, { propagation: (y, q) => oneOf(y, q, ['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave'] as const), create_host_path: (y, q) => bool(y, q), selinux: (y, q) => str(y, q) }),
      tmpfs: (x, p) =>
        eachKey(optionalMap(x, p), p, {
          size: (y, q) => (tmpfsSizeBytes = bytes(y, q)),
          mode: (y, q) => (tmpfsMode = fileMode(y, q)),
        }),
    });
    if (type === undefined) fail(v.pos, child(path, 'type'), 'a mount needs a type: volume, bind or tmpfs');
    if (target === '' || !target.startsWith('/')) fail(v.pos, child(path, 'target'), 'a mount needs an absolute target path');
    if (type === 'bind') {
      if (source === '') fail(v.pos, child(path, 'source'), 'a bind mount needs a source path');
      source = hostPath(source, ctx);
    }
    if (type === 'tmpfs' && source !== '') fail(v.pos, child(path, 'source'), 'a tmpfs mount has no source');
    return { ...base, type, source, target, readOnly, noCopy, tmpfsSizeBytes, tmpfsMode };
  }
  const spec = str(v, path);
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((x) => x === '')) fail(v.pos, path, `invalid volume ${JSON.stringify(spec)}: use [SOURCE:]TARGET[:MODE]`);
  const [first = '', second, third] = parts;
  const target = second ?? first;
  if (!target.startsWith('/')) fail(v.pos, path, `invalid volume ${JSON.stringify(spec)}: the target ${JSON.stringify(target)} must be an absolute path`);
  const modes = (third ?? '').split(',').filter((x) => x !== '');
  const bad = modes.find((x) => !mountModes.includes(x));
  if (bad !== undefined) fail(v.pos, path, `invalid volume ${JSON.stringify(spec)}: unknown mode ${JSON.stringify(bad)} (use ro, rw, nocopy)`);
  const readOnly = modes.includes('ro');
  if (second === undefined) return { ...base, type: 'volume', source: '', target, readOnly };
  const isPath = first.startsWith('/') || first.startsWith('.') || first.startsWith('~');
  if (isPath) return { ...base, type: 'bind', source: hostPath(first, ctx), target, readOnly };
  return { ...base, type: 'volume', source: first, target, readOnly, noCopy: modes.includes('nocopy') };
}

function hostPath(source: string, ctx: DecodeContext): string {
  if (source.startsWith('~')) {
    const home = ctx.lookup('HOME') ?? '';
    return resolve(home, `.${source.slice(1)}`);
  }
  return isAbsolute(source) ? source : resolve(ctx.projectDir, source);
}

/** Permission bits: a YAML number (`0440` is octal in YAML 1.1) or an octal string ("0440"). */
function fileMode(v: YNode, path: string): number {
  if (v.kind === 'scalar' && typeof v.value === 'string') {
    if (!/^0?[0-7]{1,4}$/.test(v.value.trim())) fail(v.pos, path, `invalid mode ${JSON.stringify(v.value)}: use octal permission bits such as 0440`);
    return parseInt(v.value.trim(), 8);
  }
  const n = int(v, path);
  if (n > 0o7777) fail(v.pos, path, `invalid mode ${n}: use octal permission bits such as 0440`);
  return n;
}

function fileRef(v: YNode, path: string): ComposeFileRef {
  if (v.kind !== 'map') return { source: str(v, path), target: '', uid: '0', gid: '0', mode: undefined, pos: v.pos };
  let source = '';
  let target = '';
  let uid = '0';
  let gid = '0';
  let mode: number | undefined;
  eachKey(v, path, {
    source: (x, p) => (source = str(x, p)),
    target: (x, p) => (target = str(x, p)),
    uid: (x, p) => (uid = text(x, p)),
    gid: (x, p) => (gid = text(x, p)),
    mode: (x, p) => (mode = fileMode(x, p)),
  });
  if (source === '') fail(v.pos, child(path, 'source'), 'a source is required');
  return { source, target, uid, gid, mode, pos: v.pos };
}

function healthcheck(v: YNode, path: string): ComposeHealthcheck {
  const h: Mutable<ComposeHealthcheck> = {};
  let disable = false;
  eachKey(map(v, path), path, {
    test: (x, p) => {
      if (x.kind === 'seq') {
        const test = strList(x, p);
        if (!['NONE', 'CMD', 'CMD-SHELL'].includes(test[0] ?? '')) fail(x.pos, p, 'a test list starts with CMD, CMD-SHELL or NONE');
        h.test = test;
      } else h.test = ['CMD-SHELL', str(x, p)];
    },
    interval: (x, p) => (h.intervalMs = duration(x, p)),
    timeout: (x, p) => (h.timeoutMs = duration(x, p)),
    retries: (x, p) => (h.retries = int(x, p)),
    start_period: (x, p) => (h.startPeriodMs = duration(x, p)),
    start_interval: (x, p) => (h.startIntervalMs = duration(x, p)),
    disable: (x, p) => (disable = bool(x, p)),
  });
  if (disable) {
    if (h.test !== undefined && h.test[0] !== 'NONE') fail(v.pos, child(path, 'disable'), 'disable: true cannot be combined with a test');
    return { test: ['NONE'] };
  }
  return h;
}
