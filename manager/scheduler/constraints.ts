/**
 * Placement constraints as docker writes them (`node.labels.zone==b`, `node.role!=manager`),
 * parsed once and matched against nodes (pure).
 */
import { invalidArgument } from '../../lib/errors.js';
import type { NodeInfo } from './node-info.js';

/** A parsed constraint. */
export interface Constraint {
  readonly text: string;
  readonly key: string;
  readonly equal: boolean;
  readonly value: string;
}

const fixedKeys = new Set(['node.id', 'node.hostname', 'node.role', 'node.platform.os', 'node.platform.arch']);
const pattern = /^\s*([a-zA-Z0-9_.-]+)\s*(==|!=)\s*(.+?)\s*$/;

/** Parses one constraint; INVALID_ARGUMENT names what is wrong. */
export function parseConstraint(text: string): Constraint {
  const m = pattern.exec(text);
  if (!m) throw invalidArgument(`invalid constraint ${JSON.stringify(text)}: want KEY==VALUE or KEY!=VALUE`);
  const [, key = '', op, value = ''] = m;
  const known = fixedKeys.has(key) || /^(node|engine)\.labels\.[^.\s].*$/.test(key);
  if (!known) {
    throw invalidArgument(
      `invalid constraint key ${JSON.stringify(key)}: use node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.KEY or engine.labels.KEY`,
    );
  }
  if (key === 'node.role' && !['manager', 'worker'].includes(value.toLowerCase())) {
    throw invalidArgument(`invalid constraint ${JSON.stringify(text)}: node.role is manager or worker`);
  }
  return { text: text.trim(), key, equal: op === '==', value };
}

function nodeValue(node: NodeInfo, key: string): string | undefined {
  switch (key) {
    case 'node.id':
      return node.id;
    case 'node.hostname':
      return node.hostname;
    case 'node.role':
      return node.role;
    case 'node.platform.os':
      return node.platform.os;
    case 'node.platform.arch':
      return node.platform.architecture;
  }
  if (key.startsWith('node.labels.')) return node.labels[key.slice('node.labels.'.length)];
  if (key.startsWith('engine.labels.')) return node.engineLabels[key.slice('engine.labels.'.length)];
  return undefined;
}

const caseless = new Set(['node.hostname', 'node.role', 'node.platform.os', 'node.platform.arch']);

/** True when the node satisfies the constraint (a missing label never equals anything). */
export function matches(c: Constraint, node: NodeInfo): boolean {
  const actual = nodeValue(node, c.key);
  const same = actual !== undefined && (caseless.has(c.key) ? actual.toLowerCase() === c.value.toLowerCase() : actual === c.value);
  return c.equal ? same : !same;
}

/** The value a spread preference reads from a node ("" when the node lacks the label). */
export function spreadValue(node: NodeInfo, key: string): string {
  return nodeValue(node, key) ?? '';
}

/** Checks a spread preference key. */
export function validateSpreadKey(key: string): void {
  if (!(fixedKeys.has(key) || /^(node|engine)\.labels\.[^.\s].*$/.test(key))) {
    throw invalidArgument(`invalid placement preference spread=${key}: use node.labels.KEY (or another node attribute)`);
  }
}
