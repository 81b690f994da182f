/**
 * A compose file's YAML as a small tree that remembers the line of every key and value, so later
 * steps can name the place of a problem. Anchors and aliases are resolved, `<<` merge keys applied
 * (keys written in the map win), duplicate keys refused. YAML 1.1, as docker reads compose files
 * (`mode: 0440` is octal); a plain scalar keeps its source text (`raw`).
 */
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { fail, type Pos } from './compose-error.js';

/** A scalar: string, number, boolean or null (`key:` with nothing after it). */
export interface YScalar {
  readonly kind: 'scalar';
  readonly pos: Pos;
  readonly value: string | number | boolean | null;
  /** The text as written, for plain (unquoted) scalars. */
  readonly raw?: string;
}

/** One `key: value` of a map. */
export interface YEntry {
  readonly key: string;
  readonly keyPos: Pos;
  readonly value: YNode;
}

/** A mapping, in the order written. */
export interface YMap {
  readonly kind: 'map';
  readonly pos: Pos;
  readonly entries: readonly YEntry[];
}

/** A sequence. */
export interface YSeq {
  readonly kind: 'seq';
  readonly pos: Pos;
  readonly items: readonly YNode[];
}

/** Any node of the tree. */
export type YNode = YScalar | YMap | YSeq;

/** Deepest nesting accepted (aliases included). */
const maxDepth = 64;
/** Most nodes a file may expand to (aliases included): a bound against alias bombs. */
export const maxTreeNodes = 200_000;

/** Parses `text` (the file `file`) into a tree; broken YAML fails with the line of the problem. */
export function parseYamlTree(text: string, file: string): YNode {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, version: '1.1', prettyErrors: false, uniqueKeys: true });
  const posAt = (offset: number | undefined): Pos => ({ file, line: offset === undefined ? 1 : lines.linePos(offset).line });
  const [err] = doc.errors;
  if (err !== undefined) {
    // An unclosed bracket or quote is found at the end of the text: point at the last written line.
    const textLines = text.split('\n');
    let line = posAt(err.pos[0]).line;
    while (line > 1 && (textLines[line - 1] ?? '').trim() === '') line--;
    fail({ file, line }, '', `invalid YAML: ${err.message.split('\n')[0] ?? ''}`);
  }
  if (doc.contents === null) return { kind: 'map', pos: posAt(0), entries: [] };
  return convert(doc, doc.contents, posAt, 0, { nodes: 0 });
}

function convert(doc: Document, node: YamlNode, posAt: (offset: number | undefined) => Pos, depth: number, count: { nodes: number }): YNode {
  const pos = posAt(node.range?.[0]);
  if (depth > maxDepth) fail(pos, '', `the document nests deeper than ${maxDepth} levels`);
  if (++count.nodes > maxTreeNodes) fail(pos, '', `the document expands to more than ${maxTreeNodes} values (aliases included)`);
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (target === undefined) fail(pos, '', `invalid YAML: unknown alias *${node.source}`);
    return convert(doc, target, posAt, depth + 1, count);
  }
  if (isScalar(node)) {
    const v = node.value;
    const value = v === null || v === undefined ? null : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : String(v);
    const raw = node.type === 'PLAIN' ? node.source : undefined;
    return typeof raw === 'string' ? { kind: 'scalar', pos, value, raw } : { kind: 'scalar', pos, value };
  }
  if (isSeq(node)) {
    return { kind: 'seq', pos, items: node.items.map((item) => convert(doc, item as YamlNode, posAt, depth + 1, count)) };
  }
  if (isMap(node)) {
    const entries: YEntry[] = [];
    const merged: YEntry[] = [];
    for (const pair of node.items) {
      const keyNode = pair.key as YamlNode | null;
      const keyPos = posAt(keyNode?.range?.[0]);
      // Plain keys keep their text: YAML 1.1 would read `n:` or `on:` as booleans.
      const keyValue = keyNode !== null && isScalar(keyNode) ? (keyNode.type === 'PLAIN' && typeof keyNode.source === 'string' && typeof keyNode.value !== 'symbol' ? keyNode.source : keyNode.value) : undefined;
      const value: YNode = pair.value === null ? { kind: 'scalar', pos: keyPos, value: null } : convert(doc, pair.value as YamlNode, posAt, depth + 1, count);
      if (typeof keyValue === 'symbol' || keyValue === '<<') {
        const sources = value.kind === 'seq' ? value.items : [value];
        for (const source of sources) {
          if (source.kind !== 'map') fail(source.pos, '', 'a merge key (<<) takes a map or a list of maps');
          merged.push(...source.entries);
        }
        continue;
      }
      if (keyValue === null || keyValue === undefined || typeof keyValue === 'object') fail(keyPos, '', 'a map key must be a string');
      entries.push({ key: String(keyValue), keyPos, value });
    }
    for (const e of merged) if (!entries.some((x) => x.key === e.key)) entries.push(e);
    return { kind: 'map', pos, entries };
  }
  return fail(pos, '', 'unsupported YAML node');
}
