/**
 * Typed readers of compose values: each takes a node and its key path and returns the value in its
 * type, or fails with `FILE:LINE: PATH: expected ...`. Numbers given as strings (the result of
 * `${VAR}`) are accepted where a number is expected, as docker does after interpolation.
 */
import { parseBytes, parseDurationMs } from '../../lib/units.js';
import { fail } from './compose-error.js';
import type { YEntry, YMap, YNode, YScalar } from './yaml-tree.js';

/** What a node holds, for messages ("got a list"). */
function got(node: YNode): string {
  if (node.kind === 'map') return 'a map';
  if (node.kind === 'seq') return 'a list';
  if (node.value === null) return 'nothing';
  if (typeof node.value === 'string') return `${JSON.stringify(node.value)}`;
  return String(node.value);
}

/** `path.key`, or `key` at the top. */
export function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** The node as a map. */
export function map(node: YNode, path: string): YMap {
  if (node.kind !== 'map') fail(node.pos, path, `expected a map, got ${got(node)}`);
  return node;
}

/** The node as a map, or an empty one for `key:` with no value. */
export function optionalMap(node: YNode, path: string): YMap {
  if (node.kind === 'scalar' && node.value === null) return { kind: 'map', pos: node.pos, entries: [] };
  return map(node, path);
}

/** The node as a list. */
export function list(node: YNode, path: string): readonly YNode[] {
  if (node.kind !== 'seq') fail(node.pos, path, `expected a list, got ${got(node)}`);
  return node.items;
}

function scalar(node: YNode, path: string, want: string): YScalar {
  if (node.kind !== 'scalar' || node.value === null) fail(node.pos, path, `expected ${want}, got ${got(node)}`);
  return node;
}

/** A string; numbers are taken as written (`image: 1.0` stays "1.0"). */
export function str(node: YNode, path: string): string {
  const s = scalar(node, path, 'a string');
  if (typeof s.value === 'string') return s.value;
  if (typeof s.value === 'number') return s.raw ?? String(s.value);
  return fail(node.pos, path, `expected a string, got ${got(node)}`);
}

/** Any scalar as text (environment and label values: `true`, `3`), '' for null. */
export function text(node: YNode, path: string): string {
  if (node.kind !== 'scalar') fail(node.pos, path, `expected a string, number or boolean, got ${got(node)}`);
  if (node.value === null) return '';
  return typeof node.value === 'string' ? node.value : (node.raw ?? String(node.value));
}

/** A whole number ≥ min. */
export function int(node: YNode, path: string, min = 0): number {
  const s = scalar(node, path, 'an integer');
  const n = typeof s.value === 'number' ? s.value : typeof s.value === 'string' && /^\s*-?\d+\s*$/.test(s.value) ? Number(s.value) : Number.NaN;
  if (!Number.isSafeInteger(n)) fail(node.pos, path, `expected an integer, got ${got(node)}`);
  if (n < min) fail(node.pos, path, `expected an integer of at least ${min}, got ${n}`);
  return n;
}

/** A number (float) in [min, max]. */
export function num(node: YNode, path: string, min: number, max: number): number {
  const s = scalar(node, path, 'a number');
  const n = typeof s.value === 'number' ? s.value : typeof s.value === 'string' && /^\s*\d*\.?\d+\s*$/.test(s.value) ? Number(s.value) : Number.NaN;
  if (!Number.isFinite(n)) fail(node.pos, path, `expected a number, got ${got(node)}`);
  if (n < min || n > max) fail(node.pos, path, `expected a number from ${min} to ${max}, got ${n}`);
  return n;
}

/** true or false ("true"/"false" strings too). */
export function bool(node: YNode, path: string): boolean {
  const s = scalar(node, path, 'a boolean (true or false)');
  if (typeof s.value === 'boolean') return s.value;
  if (s.value === 'true' || s.value === 'false') return s.value === 'true';
  return fail(node.pos, path, `expected a boolean (true or false), got ${got(node)}`);
}

/** A Go-style duration (`10s`, `1m30s`) in milliseconds. */
export function duration(node: YNode, path: string): number {
  const s = scalar(node, path, 'a duration such as 10s');
  const t = typeof s.value === 'string' ? s.value : String(s.value);
  try {
    if (typeof s.value !== 'string') throw new Error('not a string');
    return parseDurationMs(t);
  } catch {
    return fail(node.pos, path, `invalid duration ${JSON.stringify(t)}: use a duration such as 10s, 1m30s or 500ms`);
  }
}

/** A size in bytes: a number of bytes, or `64m`, `1.5g`. */
export function bytes(node: YNode, path: string): number {
  const s = scalar(node, path, 'a size such as 64M');
  if (typeof s.value === 'number' && Number.isSafeInteger(s.value) && s.value >= 0) return s.value;
  try {
    if (typeof s.value !== 'string') throw new Error('not a string');
    return parseBytes(s.value);
  } catch {
    return fail(node.pos, path, `invalid size ${JSON.stringify(String(s.value))}: use a number of bytes or a number with a unit b, k, m, g (e.g. 64M)`);
  }
}

/** A CPU count (`0.5`, "2") in nano-CPUs. */
export function cpus(node: YNode, path: string): number {
  const s = scalar(node, path, 'a number of CPUs');
  const n = typeof s.value === 'number' ? s.value : typeof s.value === 'string' && /^\s*\d*\.?\d+\s*$/.test(s.value) ? Number(s.value) : Number.NaN;
  if (!Number.isFinite(n) || n < 0) fail(node.pos, path, `expected a number of CPUs such as 0.5 or 2, got ${got(node)}`);
  return Math.round(n * 1e9);
}

/** One of `choices`. */
export function oneOf<T extends string>(node: YNode, path: string, choices: readonly T[]): T {
  const v = str(node, path);
  const found = choices.find((c) => c === v);
  if (found === undefined) fail(node.pos, path, `invalid value ${JSON.stringify(v)}: use ${choices.join(', ')}`);
  return found;
}

/** A list of strings. */
export function strList(node: YNode, path: string): string[] {
  return list(node, path).map((item, i) => str(item, child(path, i)));
}

/** A string or a list of strings; a single string becomes a one-element list. */
export function strOrList(node: YNode, path: string): string[] {
  return node.kind === 'seq' ? strList(node, path) : [str(node, path)];
}

/**
 * A `KEY: value` map or a `KEY=value` list (environment, labels, sysctls). Map values may be any
 * scalar; a null one (or a list entry without `=`) is `undefined`.
 */
export function keyValues(node: YNode, path: string): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  if (node.kind === 'map') {
    for (const e of node.entries) {
      const v = e.value;
      out.set(e.key, v.kind === 'scalar' && v.value === null ? undefined : text(v, child(path, e.key)));
    }
    return out;
  }
  if (node.kind !== 'seq') fail(node.pos, path, `expected a map or a list of KEY=VALUE, got ${got(node)}`);
  node.items.forEach((item, i) => {
    const entry = str(item, child(path, i));
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (key === '') fail(item.pos, child(path, i), `invalid entry ${JSON.stringify(entry)}: use KEY=VALUE`);
    out.set(key, eq < 0 ? undefined : entry.slice(eq + 1));
  });
  return out;
}

/** {@link keyValues} with `undefined` values as ''. */
export function labels(node: YNode, path: string): Record<string, string> {
  return Object.fromEntries([...keyValues(node, path)].map(([k, v]) => [k, v ?? '']));
}

/** The handler of each allowed key; `ignore` lists keys accepted but not used (reported). */
export interface KeyHandlers {
  readonly [key: string]: (value: YNode, path: string, entry: YEntry) => void;
}

/**
 * Runs the handler of each key of `m`. Keys in `ignored` are passed to `onIgnored`; `x-*` keys are
 * extensions and skipped; any other key fails as unknown (with a suggestion when one is close).
 */
export function eachKey(m: YMap, path: string, handlers: KeyHandlers, ignored: readonly string[] = [], onIgnored: (key: string) => void = () => undefined): void {
  for (const e of m.entries) {
    const p = child(path, e.key);
    const h = Object.hasOwn(handlers, e.key) ? handlers[e.key] : undefined;
    if (h !== undefined) h(e.value, p, e);
    else if (ignored.includes(e.key)) onIgnored(e.key);
    else if (!e.key.startsWith('x-')) fail(e.keyPos, p, unknownKey(e.key, Object.keys(handlers)));
  }
}

/** "unknown key", with the closest allowed key when it is near. */
export function unknownKey(key: string, allowed: readonly string[]): string {
  const near = allowed.map((a) => [a, editDistance(a, key)] as const).filter(([, d]) => d <= 2).sort((a, b) => a[1] - b[1])[0];
  return near ? `unknown key (did you mean ${near[0]}?)` : `unknown key (allowed: ${allowed.join(', ')})`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_v, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
