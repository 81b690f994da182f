/**
 * Variable substitution in compose values, as docker does before it reads a file: `$VAR`,
 * `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset), `${VAR:?message}` and
 * `${VAR?message}` (required), `${VAR:+other}` and `${VAR+other}` (replacement when set), `$$` for
 * a literal `$`. Defaults may hold further substitutions. Keys are never substituted. Pure: the
 * caller hands in the variables.
 */
import { fail } from './compose-error.js';
import type { YNode } from './yaml-tree.js';

/** The variables a compose file sees: the environment over the `.env` file. */
export type Lookup = (name: string) => string | undefined;

/** Why a text could not be substituted (the caller adds the place). */
export class InterpolationError extends Error {}

const nameStart = /[A-Za-z_]/;
const nameChar = /[A-Za-z0-9_]/;

/** `text` with every substitution done; throws {@link InterpolationError}. */
export function interpolate(text: string, lookup: Lookup): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '{') {
      const end = closingBrace(text, i + 2);
      if (end < 0) throw new InterpolationError(`invalid interpolation format in ${JSON.stringify(text)}: unclosed \${ (write $$ for a literal $)`);
      out += braced(text.slice(i + 2, end), text, lookup);
      i = end + 1;
    } else if (next !== undefined && nameStart.test(next)) {
      let j = i + 1;
      while (j < text.length && nameChar.test(text[j] ?? '')) j++;
      out += lookup(text.slice(i + 1, j)) ?? '';
      i = j;
    } else {
      throw new InterpolationError(`invalid interpolation format in ${JSON.stringify(text)}: a $ must start a variable (write $$ for a literal $)`);
    }
  }
  return out;
}

/** The index of the `}` that closes a `${` whose body starts at `from`, or -1. */
function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '$' && text[i + 1] === '$') i++;
    else if (c === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

function braced(body: string, whole: string, lookup: Lookup): string {
  let j = 0;
  while (j < body.length && nameChar.test(body[j] ?? '')) j++;
  const name = body.slice(0, j);
  if (name === '' || !nameStart.test(name[0] ?? '')) throw new InterpolationError(`invalid interpolation format in ${JSON.stringify(whole)}: \${${body}} names no variable`);
  const rest = body.slice(j);
  const value = lookup(name);
  if (rest === '') return value ?? '';
  const colon = rest.startsWith(':');
  const op = rest[colon ? 1 : 0];
  const arg = rest.slice(colon ? 2 : 1);
  const missing = colon ? value === undefined || value === '' : value === undefined;
  switch (op) {
    case '-':
      return missing ? interpolate(arg, lookup) : (value ?? '');
    case '?':
      if (missing) throw new InterpolationError(`required variable ${name} is missing a value${arg === '' ? '' : `: ${interpolate(arg, lookup)}`}`);
      return value ?? '';
    case '+':
      return missing ? '' : interpolate(arg, lookup);
    default:
      throw new InterpolationError(`invalid interpolation format in ${JSON.stringify(whole)}: unknown operator in \${${body}}`);
  }
}

/** `node` with every string value substituted; `path` names it in errors (`services.web.image`). */
export function interpolateTree(node: YNode, lookup: Lookup, path = ''): YNode {
  switch (node.kind) {
    case 'scalar': {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return node;
      try {
        const value = interpolate(node.value, lookup);
        return { kind: 'scalar', pos: node.pos, value };
      } catch (err) {
        if (err instanceof InterpolationError) fail(node.pos, path, err.message);
        throw err;
      }
    }
    case 'seq':
      return { ...node, items: node.items.map((item, i) => interpolateTree(item, lookup, `${path}[${i}]`)) };
    case 'map':
      return { ...node, entries: node.entries.map((e) => ({ ...e, value: interpolateTree(e.value, lookup, path === '' ? e.key : `${path}.${e.key}`) })) };
  }
}
