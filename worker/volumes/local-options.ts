/**
 * The options of the `local` volume driver (pure), as docker's: none (a folder in the data dir),
 * `type=tmpfs device=tmpfs o=size=64m,uid=1000`, or `type=none o=bind device=/abs/path`.
 * Keys depend on each other as docker's do: device needs type, type needs device, o needs both.
 */
import { isAbsolute, normalize } from 'node:path';
import { ErrorCode, TsswarmError, invalidArgument } from '../../lib/errors.js';

/** The only driver this node has. */
export const localDriver = 'local';

/** How a local volume's data folder is made available. */
export type LocalMount =
  | { readonly kind: 'directory' }
  | { readonly kind: 'tmpfs'; readonly device: string; readonly options: readonly string[] }
  | { readonly kind: 'bind'; readonly device: string; readonly recursive: boolean; readonly readOnly: boolean };

const knownKeys: ReadonlySet<string> = new Set(['type', 'o', 'device']);
/** Keys each key needs beside it. */
const requiredWith: Readonly<Record<string, readonly string[]>> = { device: ['type'], type: ['device'], o: ['device', 'type'] };
/** tmpfs `o` entries that take a value, and what the value must look like. */
const tmpfsValued: Readonly<Record<string, RegExp>> = {
  size: /^\d+[kKmMgG%]?$/,
  nr_blocks: /^\d+[kKmMgG%]?$/,
  nr_inodes: /^\d+[kKmMgG%]?$/,
  mode: /^[0-7]{3,4}$/,
  uid: /^\d+$/,
  gid: /^\d+$/,
};
const tmpfsFlags: ReadonlySet<string> = new Set(['ro', 'rw', 'nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec', 'noatime', 'relatime']);
const bindFlags: ReadonlySet<string> = new Set(['bind', 'rbind', 'ro', 'rw']);
const devicePattern = /^[A-Za-z0-9_.\/-]+$/;

/** Throws INVALID_ARGUMENT unless `driver` is the local driver (empty means local). */
export function checkDriver(driver: string): void {
  if (driver !== '' && driver !== localDriver) {
    throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `unknown volume driver ${JSON.stringify(driver)}: this node has only the "local" driver`);
  }
}

/** The mount a set of local driver options asks for; INVALID_ARGUMENT (or UNSUPPORTED) otherwise. */
export function parseLocalOptions(options: Readonly<Record<string, string>>): LocalMount {
  const keys = Object.keys(options);
  if (keys.length === 0) return { kind: 'directory' };
  for (const key of keys) {
    if (key === 'size') throw invalidArgument('invalid option "size": quotas are not supported; use --opt type=tmpfs --opt device=tmpfs --opt o=size=64m');
    if (!knownKeys.has(key)) throw invalidArgument(`invalid option ${JSON.stringify(key)}: the local driver takes type, device and o`);
  }
  for (const key of keys) {
    for (const needed of requiredWith[key] ?? []) {
      if (options[needed] === undefined) throw invalidArgument(`missing required option ${JSON.stringify(needed)} (given with ${JSON.stringify(key)})`);
    }
  }
  const type = options['type'] ?? '';
  const device = options['device'] ?? '';
  const o = options['o'] ?? '';
  const entries = o === '' ? [] : o.split(',');
  if (entries.some((e) => e === '')) throw invalidArgument(`invalid option o=${JSON.stringify(o)}: empty entry`);
  if (type !== 'tmpfs' && type !== 'none') {
    throw new TsswarmError(ErrorCode.UNSUPPORTED, `volume type ${JSON.stringify(type)} is not supported by the local driver here (use tmpfs, or none with o=bind)`);
  }
  if (device === '') throw invalidArgument('option "device" must not be empty');
  if (!devicePattern.test(device)) throw invalidArgument(`invalid option device=${JSON.stringify(device)}`);
  if (type === 'tmpfs') {
    for (const e of entries) {
      const eq = e.indexOf('=');
      const key = eq < 0 ? e : e.slice(0, eq);
      const pattern = tmpfsValued[key];
      if (pattern !== undefined) {
        if (eq < 0 || !pattern.test(e.slice(eq + 1))) throw invalidArgument(`invalid tmpfs option ${JSON.stringify(e)}`);
      } else if (eq >= 0 || !tmpfsFlags.has(key)) {
        throw invalidArgument(`unknown tmpfs option ${JSON.stringify(e)} (size, mode, uid, gid, nr_inodes, nr_blocks, ro, noexec, ...)`);
      }
    }
    return { kind: 'tmpfs', device, options: entries };
  }
  for (const e of entries) if (!bindFlags.has(e)) throw invalidArgument(`unknown bind option ${JSON.stringify(e)} (bind, rbind, ro, rw)`);
  if (!entries.includes('bind') && !entries.includes('rbind')) throw invalidArgument('type=none needs o=bind (or o=rbind)');
  if (!isAbsolute(device)) throw invalidArgument(`bind device ${JSON.stringify(device)} must be an absolute path`);
  return { kind: 'bind', device: normalize(device).replace(/(.)\/+$/, '$1'), recursive: entries.includes('rbind'), readOnly: entries.includes('ro') };
}
