/**
 * One compose file (already interpolated) read into a {@link ComposeProject}: the top-level keys,
 * each service, and the networks, volumes, secrets and configs it declares. Secret and config files
 * are read here, so nothing is left to fail once requests start.
 */
import { resolve } from 'node:path';
import { TsswarmError } from '../../lib/errors.js';
import { networkSpec } from '../network-view.js';
import { fail, type Pos } from './compose-error.js';
import type { ComposeFileObject, ComposeNetwork, ComposeProject, ComposeService, ComposeVolume } from './compose-model.js';
import { decodeService, type DecodeContext } from './decode-service.js';
import { bool, child, eachKey, labels, list, map, oneOf, optionalMap, str } from './read-values.js';
import type { YEntry, YMap, YNode } from './yaml-tree.js';

type Mutable<T> = { -readonly [K in keyof T]?: T[K] };

/** The top-level keys of a compose file. */
export const topLevelKeys: readonly string[] = ['version', 'name', 'services', 'networks', 'volumes', 'secrets', 'configs'];
/** Largest secret or config, as the manager accepts (500 KiB). */
export const maxFileObjectBytes = 500 * 1024;

/** Reads the whole of one file. */
export function decodeFile(tree: YNode, ctx: DecodeContext): ComposeProject {
  if (tree.kind !== 'map') fail(tree.pos, '', 'a compose file is a map with a services key');
  const services = new Map<string, ComposeService>();
  const networks = new Map<string, ComposeNetwork>();
  const volumes = new Map<string, ComposeVolume>();
  const secrets = new Map<string, ComposeFileObject>();
  const configs = new Map<string, ComposeFileObject>();
  for (const e of tree.entries) {
    const v = e.value;
    switch (e.key) {
      case 'version':
        checkVersion(v);
        break;
      case 'name':
        str(v, 'name');
        break;
      case 'services':
        for (const s of entriesOf(v, 'services')) services.set(s.key, decodeService(s.key, s.keyPos, s.value, child('services', s.key), ctx));
        break;
      case 'networks':
        for (const n of entriesOf(v, 'networks')) networks.set(n.key, network(n, child('networks', n.key)));
        break;
      case 'volumes':
        for (const n of entriesOf(v, 'volumes')) volumes.set(n.key, volume(n, child('volumes', n.key)));
        break;
      case 'secrets':
        for (const n of entriesOf(v, 'secrets')) secrets.set(n.key, fileObject(n, child('secrets', n.key), ctx, 'secret'));
        break;
      case 'configs':
        for (const n of entriesOf(v, 'configs')) configs.set(n.key, fileObject(n, child('configs', n.key), ctx, 'config'));
        break;
      default:
        if (!e.key.startsWith('x-')) fail(e.keyPos, e.key, `unknown top-level key (allowed: ${topLevelKeys.join(', ')}, x-*)`);
    }
  }
  return { services, networks, volumes, secrets, configs };
}

function entriesOf(v: YNode, path: string): readonly YEntry[] {
  return optionalMap(v, path).entries;
}

function checkVersion(v: YNode): void {
  const version = v.kind === 'scalar' && typeof v.value === 'number' ? (v.raw ?? String(v.value)) : str(v, 'version');
  if (!/^3(\.\d+)?$/.test(version.trim())) {
    fail(v.pos, 'version', `unsupported compose file version ${JSON.stringify(version)}: stacks take version 3.x or the compose specification (no version)`);
  }
}

/** `external: true` or `external: {name: N}`: the name of the existing object, or undefined. */
function external(v: YNode, path: string, key: string): string | undefined {
  if (v.kind === 'map') {
    let name = key;
    eachKey(v, path, { name: (x, p) => (name = str(x, p)) });
    return name;
  }
  return bool(v, path) ? key : undefined;
}

function checkExternalAlone(m: YMap, path: string, allowed: readonly string[]): void {
  const other = m.entries.find((e) => !['external', 'name', ...allowed].includes(e.key) && !e.key.startsWith('x-'));
  if (other !== undefined) fail(other.keyPos, child(path, other.key), 'an external object is only referred to: it takes no other settings than name');
}

function network(e: YEntry, path: string): ComposeNetwork {
  const m = optionalMap(e.value, path);
  const n: Mutable<ComposeNetwork> = {};
  let externalName: string | undefined;
  let name: string | undefined;
  let ipamPos: Pos = m.pos;
  eachKey(m, path, {
    driver: (v, p) => oneOf(v, p, ['overlay'] as const),
    driver_opts: (v, p) => (n.driverOpts = labels(v, p)),
    attachable: (v, p) => (n.attachable = bool(v, p)),
    internal: (v, p) => (n.internal = bool(v, p)),
    external: (v, p) => (externalName = external(v, p, e.key)),
    name: (v, p) => (name = str(v, p)),
    labels: (v, p) => (n.labels = labels(v, p)),
    enable_ipv6: (v, p) => {
      if (bool(v, p)) fail(v.pos, p, 'IPv6 is not supported on overlay networks yet');
    },
    ipam: (v, p, entry) => {
      ipamPos = entry.keyPos;
      eachKey(map(v, p), p, {
        driver: (x, q) => oneOf(x, q, ['default'] as const),
        options: (x, q) => labels(x, q),
        config: (x, q) =>
          (n.ipam = list(x, q).map((item, i) => {
            const r = child(q, i);
            const c: { subnet?: string; ipRange?: string; gateway?: string } = {};
            eachKey(map(item, r), r, {
              subnet: (y, s) => (c.subnet = str(y, s)),
              ip_range: (y, s) => (c.ipRange = str(y, s)),
              gateway: (y, s) => (c.gateway = str(y, s)),
              aux_addresses: (y, s) => labels(y, s),
            });
            if (c.subnet === undefined) fail(item.pos, child(r, 'subnet'), 'an IPAM config needs a subnet');
            return { subnet: c.subnet, ...(c.ipRange !== undefined ? { ipRange: c.ipRange } : {}), ...(c.gateway !== undefined ? { gateway: c.gateway } : {}) };
          })),
      });
    },
  });
  if (externalName !== undefined) {
    checkExternalAlone(m, path, []);
    return { key: e.key, pos: e.keyPos, externalName: name ?? externalName };
  }
  if (n.ipam !== undefined) {
    try {
      networkSpec('check', { subnet: n.ipam.map((c) => c.subnet), gateway: n.ipam.flatMap((c) => (c.gateway ? [c.gateway] : [])), ipRange: n.ipam.flatMap((c) => (c.ipRange ? [c.ipRange] : [])) });
    } catch (err) {
      if (!(err instanceof TsswarmError)) throw err;
      fail(ipamPos, child(path, 'ipam'), err.message.replace(/--(subnet|gateway|ip-range)/g, (_m, f: string) => f.replace('-', '_')));
    }
  }
  return { ...n, key: e.key, pos: e.keyPos, ...(name !== undefined ? { name } : {}) };
}

function volume(e: YEntry, path: string): ComposeVolume {
  const m = optionalMap(e.value, path);
  const vol: Mutable<ComposeVolume> = {};
  let externalName: string | undefined;
  let name: string | undefined;
  eachKey(m, path, {
    driver: (v, p) => (vol.driver = str(v, p)),
    driver_opts: (v, p) => (vol.driverOpts = labels(v, p)),
    external: (v, p) => (externalName = external(v, p, e.key)),
    name: (v, p) => (name = str(v, p)),
    labels: (v, p) => (vol.labels = labels(v, p)),
  });
  if (externalName !== undefined) {
    checkExternalAlone(m, path, []);
    return { key: e.key, pos: e.keyPos, externalName: name ?? externalName };
  }
  return { ...vol, key: e.key, pos: e.keyPos, ...(name !== undefined ? { name } : {}) };
}

function fileObject(e: YEntry, path: string, ctx: DecodeContext, kind: 'secret' | 'config'): ComposeFileObject {
  const m = optionalMap(e.value, path);
  const o: Mutable<ComposeFileObject> = {};
  let externalName: string | undefined;
  let name: string | undefined;
  const sources: string[] = [];
  const setData = (data: Uint8Array, v: YNode, p: string, what: string): void => {
    if (data.byteLength > maxFileObjectBytes) fail(v.pos, p, `${what} is ${data.byteLength} bytes; a ${kind} is at most ${maxFileObjectBytes / 1024} KiB`);
    o.data = data;
  };
  eachKey(m, path, {
    file: (v, p) => {
      sources.push('file');
      const file = str(v, p);
      let data: Uint8Array;
      try {
        data = ctx.readFile(resolve(ctx.projectDir, file));
      } catch (err) {
        return fail(v.pos, p, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      setData(data, v, p, file);
    },
    ...(kind === 'config'
      ? {
          content: (v: YNode, p: string) => {
            sources.push('content');
            setData(new TextEncoder().encode(str(v, p)), v, p, 'the content');
          },
        }
      : {}),
    environment: (v, p) => {
      sources.push('environment');
      const variable = str(v, p);
      const value = ctx.lookup(variable);
      if (value === undefined) fail(v.pos, p, `variable ${variable} is not set`);
      setData(new TextEncoder().encode(value), v, p, `variable ${variable}`);
    },
    external: (v, p) => (externalName = external(v, p, e.key)),
    name: (v, p) => (name = str(v, p)),
    labels: (v, p) => (o.labels = labels(v, p)),
    template_driver: (v, p) => str(v, p),
  });
  if (externalName !== undefined) {
    checkExternalAlone(m, path, []);
    return { key: e.key, pos: e.keyPos, externalName: name ?? externalName };
  }
  if (sources.length !== 1) {
    const how = kind === 'config' ? 'file, content or environment' : 'file or environment';
    fail(e.keyPos, path, sources.length === 0 ? `a ${kind} needs ${how} (or external: true)` : `a ${kind} takes one of ${how}, not several`);
  }
  return { ...o, key: e.key, pos: e.keyPos, ...(name !== undefined ? { name } : {}) };
}
