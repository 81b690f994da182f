/**
 * Reads a host's network state for plan: links, FDB, neighbours, netd's nft table. Parsing the
 * tools' JSON is pure (and tested on its own); `observe` only runs four commands side by side.
 */
import { ErrorCode, TsswarmError, isTsswarmError } from '../lib/errors.js';
import type { NetdExecutor } from './executor.js';
import { type ObservedFdb, type ObservedHostState, type ObservedLink, type ObservedNeighbour, devicePrefix, nftTable } from './model.js';
import { parseNftFingerprint } from './nft.js';

function parseJsonArray(text: string, what: string): Record<string, unknown>[] {
  let value: unknown;
  try {
    value = JSON.parse(text.trim() === '' ? '[]' : text);
  } catch (err) {
    throw new TsswarmError(ErrorCode.EXTERNAL, `cannot parse ${what} output as JSON`, { cause: err });
  }
  if (!Array.isArray(value)) throw new TsswarmError(ErrorCode.EXTERNAL, `${what} output is not a JSON array`);
  return value.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Links from `ip -j -d link show`. */
export function parseLinks(json: string): ObservedLink[] {
  return parseJsonArray(json, 'ip link').map((l) => {
    const info = l['linkinfo'];
    const kind = typeof info === 'object' && info !== null ? (str((info as Record<string, unknown>)['info_kind']) ?? '') : '';
    const master = str(l['master']);
    const alias = str(l['ifalias']);
    // `link` names the peer only when it is in this namespace (else link_netnsid is set).
    const peer = l['link_netnsid'] === undefined ? str(l['link']) : undefined;
    const groupText = str(l['group']) ?? 'default';
    return {
      name: str(l['ifname']) ?? '',
      kind,
      up: strings(l['flags']).includes('UP'),
      group: groupText === 'default' ? 0 : Number(groupText),
      ...(master === undefined ? {} : { master }),
      ...(alias === undefined ? {} : { alias }),
      ...(peer === undefined ? {} : { peer }),
    };
  });
}

/** FDB entries of netd's VXLAN devices from `bridge -j fdb show`. */
export function parseFdb(json: string): ObservedFdb[] {
  return parseJsonArray(json, 'bridge fdb')
    .filter((f) => (str(f['ifname']) ?? '').startsWith(devicePrefix.vxlan))
    .map((f) => {
      const dst = str(f['dst']);
      return {
        mac: str(f['mac']) ?? '',
        dev: str(f['ifname']) ?? '',
        self: strings(f['flags']).includes('self'),
        state: str(f['state']) ?? '',
        ...(dst === undefined ? {} : { dst }),
      };
    });
}

/** Neighbour entries on netd's bridges from `ip -j neigh show`. */
export function parseNeighbours(json: string): ObservedNeighbour[] {
  return parseJsonArray(json, 'ip neigh')
    .filter((n) => (str(n['dev']) ?? '').startsWith(devicePrefix.bridge))
    .map((n) => {
      const mac = str(n['lladdr']);
      return {
        address: str(n['dst']) ?? '',
        dev: str(n['dev']) ?? '',
        permanent: strings(n['state']).includes('PERMANENT'),
        ...(mac === undefined ? {} : { mac }),
      };
    });
}

/** Reads the host's state (five commands, run side by side). */
export async function observe(exec: NetdExecutor): Promise<ObservedHostState> {
  const [links, fdb, neighbours, nft, forward] = await Promise.all([
    exec.run('ip', ['-j', '-d', 'link', 'show']),
    exec.run('bridge', ['-j', 'fdb', 'show']),
    exec.run('ip', ['-j', 'neigh', 'show']),
    exec.run('nft', ['list', 'table', 'inet', nftTable]).catch((err: unknown) => {
      if (isTsswarmError(err, ErrorCode.EXTERNAL) && /No such file or directory/.test(err.message)) return undefined;
      throw err;
    }),
    exec.run('sysctl', ['-n', 'net.ipv4.ip_forward']),
  ]);
  return {
    links: parseLinks(links),
    fdb: parseFdb(fdb),
    neighbours: parseNeighbours(neighbours),
    // A table without a fingerprint (made by hand, or by a crashed run) must still be replaced.
    nftFingerprint: nft === undefined ? undefined : (parseNftFingerprint(nft) ?? ''),
    ipForward: forward.trim() === '1',
  };
}
