/**
 * cli/stack/yaml-tree.ts: lines of keys and values, anchors, aliases and merge keys, YAML 1.1
 * scalars as docker reads them, and broken YAML pointing at a line.
 */
import t from 'tap';
import { parseYamlTree, type YMap, type YNode } from '../../../cli/stack/yaml-tree.js';

function get(node: YNode, ...keys: string[]): YNode | undefined {
  let cur: YNode | undefined = node;
  for (const k of keys) cur = cur?.kind === 'map' ? cur.entries.find((e) => e.key === k)?.value : undefined;
  return cur;
}

t.test('lines of keys and values', async (t) => {
  const tree = parseYamlTree('a:\n  b: 1\n  c:\n    - x\n    - y\n', 'f.yml');
  t.equal(tree.kind, 'map');
  const a = (tree as YMap).entries[0];
  t.same(a?.keyPos, { file: 'f.yml', line: 1 });
  t.same(get(tree, 'a', 'b')?.pos, { file: 'f.yml', line: 2 });
  const c = get(tree, 'a', 'c');
  t.same(c?.kind === 'seq' ? c.items.map((i) => i.pos.line) : [], [4, 5]);
});

t.test('anchors, aliases and merge keys (keys written in the map win)', async (t) => {
  const tree = parseYamlTree('base: &b\n  x: 1\n  y: 2\nother: &o\n  y: 20\n  z: 30\nm:\n  <<: [*b, *o]\n  x: 10\nref: *b\n', 'f.yml');
  const m = get(tree, 'm');
  t.same(m?.kind === 'map' ? m.entries.map((e) => [e.key, e.value.kind === 'scalar' ? e.value.value : null]) : [], [['x', 10], ['y', 2], ['z', 30]]);
  t.same(get(tree, 'ref', 'y')?.kind === 'scalar' ? (get(tree, 'ref', 'y') as { value: unknown }).value : undefined, 2);
});

t.test('YAML 1.1 as docker: octal modes, plain keys kept as written, raw text of plain scalars', async (t) => {
  const tree = parseYamlTree('mode: 0440\nn: no\non: 1.10\n', 'f.yml');
  t.same((get(tree, 'mode') as { value: unknown }).value, 0o440);
  t.same((tree as YMap).entries.map((e) => e.key), ['mode', 'n', 'on'], 'keys n and on stay strings');
  t.same(get(tree, 'on'), { kind: 'scalar', pos: { file: 'f.yml', line: 3 }, value: 1.1, raw: '1.10' });
});

t.test('broken YAML: a one-line error with the line', async (t) => {
  t.throws(() => parseYamlTree('a: 1\nb: [1, 2\n', 'f.yml'), { message: /^f\.yml:2: invalid YAML: / });
  t.throws(() => parseYamlTree('a:\n  b: 1\n c: 2\n', 'f.yml'), { message: /^f\.yml:3: invalid YAML: / });
  t.throws(() => parseYamlTree('a: 1\na: 2\n', 'f.yml'), { message: /^f\.yml:2: invalid YAML: Map keys must be unique/ });
  t.throws(() => parseYamlTree('a: *nope\n', 'f.yml'), { message: /^f\.yml:1: invalid YAML: / });
  t.same(parseYamlTree('', 'f.yml'), { kind: 'map', pos: { file: 'f.yml', line: 1 }, entries: [] }, 'an empty file is an empty map');
});

t.test('an alias bomb is refused', async (t) => {
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 8; i++) lines.push(`l${i}: &l${i} [${Array.from({ length: 10 }, () => (i === 1 ? '*a' : `*l${i - 1}`)).join(', ')}]`);
  t.throws(() => parseYamlTree(lines.join('\n'), 'bomb.yml'), { message: /^bomb\.yml:\d+: the document expands to more than 200000 values/ });
});
