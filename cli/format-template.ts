/**
 * `--format` for every command: `table` (the default), `json`, or a Go-template-like text such as
 * `{{.ID}}`, `{{.Spec.Role}}`, `{{json .}}`, `{{index .Spec.Labels "zone"}}`, `{{.Hostname | upper}}`.
 * A template that starts with `table ` prints aligned columns (cells split on `\t`) under headers
 * named after the fields. `\t` and `\n` typed literally become a tab and a newline, as docker does.
 *
 * Supported: fields and dotted paths (exact name first, then case-insensitive), string and number
 * literals, pipes, and the functions json, upper, lower, title, join, split, index, len, truncate.
 * Not supported (a clear error): if, range, with, variables. Parsing is done before any request is
 * sent, so a bad template costs nothing. Pure: no I/O.
 */
import { invalidArgument, type TsswarmError } from '../lib/errors.js';
import { parseFormat, renderJson, renderTable } from './output.js';

/** A term inside an action: a field path (`.` is the empty path), a literal, or a function name. */
type Arg =
  | { readonly kind: 'field'; readonly path: readonly string[] }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'func'; readonly name: FunctionName };

/** One command of a pipeline: a function and its arguments, or a single term. */
type Cmd = readonly Arg[];

type Piece = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'action'; readonly pipeline: readonly Cmd[]; readonly source: string };

/** What `{{...}}` prints for a missing value, as Go's text/template does. */
export const noValue = '<no value>';

/** Longest template text accepted, in characters. */
const maxTemplateChars = 4096;

const functions = {
  json: (args: readonly unknown[]) => JSON.stringify(one(args, 'json')) ?? 'null',
  upper: (args: readonly unknown[]) => printValue(one(args, 'upper')).toUpperCase(),
  lower: (args: readonly unknown[]) => printValue(one(args, 'lower')).toLowerCase(),
  title: (args: readonly unknown[]) => printValue(one(args, 'title')).replace(/(^|[^\p{L}\p{N}])(\p{L})/gu, (_m, pre: string, c: string) => pre + c.toUpperCase()),
  len: (args: readonly unknown[]) => {
    const v = one(args, 'len');
    if (typeof v === 'string' || Array.isArray(v)) return v.length;
    if (isObject(v)) return Object.keys(v).length;
    throw templateError(`len of ${describe(v)}`);
  },
  join: (args: readonly unknown[]) => {
    const [list, sep] = two(args, 'join');
    if (!Array.isArray(list) || typeof sep !== 'string') throw templateError('join needs a list and a separator string');
    return list.map(printValue).join(sep);
  },
  split: (args: readonly unknown[]) => {
    const [text, sep] = two(args, 'split');
    if (typeof text !== 'string' || typeof sep !== 'string') throw templateError('split needs a string and a separator string');
    return text.split(sep);
  },
  index: (args: readonly unknown[]) => {
    if (args.length < 2) throw templateError('index needs a value and at least one key');
    let v = args[0];
    for (const key of args.slice(1)) {
      if (Array.isArray(v) && typeof key === 'number') v = v[key];
      else if (isObject(v) && (typeof key === 'string' || typeof key === 'number')) v = v[String(key)];
      else throw templateError(`cannot index ${describe(v)} with ${JSON.stringify(key)}`);
    }
    return v ?? '';
  },
  truncate: (args: readonly unknown[]) => {
    const [text, n] = two(args, 'truncate');
    if (typeof n !== 'number') throw templateError('truncate needs a string and a length');
    return printValue(text).slice(0, n);
  },
} as const satisfies Readonly<Record<string, (args: readonly unknown[]) => unknown>>;

type FunctionName = keyof typeof functions;

function isFunctionName(name: string): name is FunctionName {
  return Object.hasOwn(functions, name);
}

function templateError(message: string): TsswarmError {
  return invalidArgument(`invalid --format template: ${message}`);
}

function one(args: readonly unknown[], name: string): unknown {
  if (args.length !== 1) throw templateError(`${name} takes 1 argument, got ${args.length}`);
  return args[0];
}

function two(args: readonly unknown[], name: string): [unknown, unknown] {
  if (args.length !== 2) throw templateError(`${name} takes 2 arguments, got ${args.length}`);
  return [args[0], args[1]];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function describe(v: unknown): string {
  if (v === undefined || v === null) return 'a missing value';
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v}`;
}

/** How Go's fmt prints a value: lists as `[a b]`, objects as `map[k:v]` with sorted keys. */
export function printValue(v: unknown): string {
  if (v === undefined || v === null) return noValue;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(printValue).join(' ')}]`;
  if (isObject(v)) {
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${printValue(v[k])}`)
      .join(' ')}]`;
  }
  return JSON.stringify(v) ?? '';
}

/**
 * The field `name` of `v`: the exact key, else the one key equal ignoring case. A name missing from
 * a struct-like object (every key starts with a capital, as in inspect documents and table rows) is
 * an error naming the fields there; missing from a map (labels) it is `<no value>`, as in Go.
 */
function field(v: unknown, name: string, path: readonly string[]): unknown {
  if (!isObject(v)) {
    if (v === undefined || v === null) return undefined;
    throw templateError(`.${path.join('.')}: ${describe(v)} has no field ${name}`);
  }
  if (Object.hasOwn(v, name)) return v[name];
  const lower = name.toLowerCase();
  const keys = Object.keys(v);
  const match = keys.find((k) => k.toLowerCase() === lower);
  if (match !== undefined) return v[match];
  if (keys.length > 0 && keys.every((k) => /^[A-Z]/.test(k))) {
    const parent = path.slice(0, -1);
    throw templateError(`no field "${name}"${parent.length > 0 ? ` in .${parent.join('.')}` : ''} (fields: ${keys.join(', ')})`);
  }
  return undefined;
}

function tokenize(source: string): Arg[][] {
  const commands: Arg[][] = [[]];
  let i = 0;
  const current = (): Arg[] => commands[commands.length - 1] ?? [];
  while (i < source.length) {
    const rest = source.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    if (rest[0] === '|') {
      if (current().length === 0) throw templateError(`missing command before "|" in {{${source}}}`);
      commands.push([]);
      i++;
      continue;
    }
    const fieldPath = /^\.(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?/.exec(rest);
    if (fieldPath) {
      const text = fieldPath[0];
      current().push({ kind: 'field', path: text === '.' ? [] : text.slice(1).split('.') });
      i += text.length;
      continue;
    }
    const str = /^"(?:[^"\\]|\\.)*"/.exec(rest);
    if (str) {
      let value: unknown;
      try {
        value = JSON.parse(str[0]);
      } catch {
        throw templateError(`bad string ${str[0]}`);
      }
      current().push({ kind: 'string', value: String(value) });
      i += str[0].length;
      continue;
    }
    const raw = /^`[^`]*`/.exec(rest);
    if (raw) {
      current().push({ kind: 'string', value: raw[0].slice(1, -1) });
      i += raw[0].length;
      continue;
    }
    const num = /^-?\d+(?![A-Za-z_.])/.exec(rest);
    if (num) {
      current().push({ kind: 'number', value: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (ident) {
      const name = ident[0];
      if (['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue'].includes(name)) {
        throw templateError(`{{${name}}} is not supported (only fields and the functions ${Object.keys(functions).join(', ')})`);
      }
      if (!isFunctionName(name)) throw templateError(`function "${name}" not defined (known: ${Object.keys(functions).join(', ')})`);
      if (current().length > 0) throw templateError(`function "${name}" must come first in a command: {{${source}}}`);
      current().push({ kind: 'func', name });
      i += name.length;
      continue;
    }
    throw templateError(`unexpected ${JSON.stringify(rest[0])} in {{${source}}}`);
  }
  if (current().length === 0) throw templateError(source.trim() === '' ? 'empty action {{}}' : `missing command after "|" in {{${source}}}`);
  for (const cmd of commands) {
    const [first, ...rest] = cmd;
    if (first?.kind !== 'func' && rest.length > 0) throw templateError(`{{${source}}}: only a function takes arguments`);
  }
  return commands;
}

function parsePieces(text: string): Piece[] {
  const pieces: Piece[] = [];
  let rest = text;
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    if (open < 0) {
      pieces.push({ kind: 'text', text: rest });
      break;
    }
    let before = rest.slice(0, open);
    const close = rest.indexOf('}}', open + 2);
    if (close < 0) throw templateError(`unclosed action: ${JSON.stringify(rest.slice(open))}`);
    let inner = rest.slice(open + 2, close);
    rest = rest.slice(close + 2);
    if (inner.startsWith('- ')) {
      before = before.trimEnd();
      inner = inner.slice(1);
    }
    if (inner.endsWith(' -')) {
      rest = rest.trimStart();
      inner = inner.slice(0, -1);
    }
    if (before.length > 0) pieces.push({ kind: 'text', text: before });
    if (/^\s*\/\*[\s\S]*\*\/\s*$/.test(inner)) continue;
    pieces.push({ kind: 'action', pipeline: tokenize(inner), source: inner });
  }
  return pieces;
}

function evalArg(arg: Arg, dot: unknown): unknown {
  switch (arg.kind) {
    case 'field': {
      let v = dot;
      arg.path.forEach((name, i) => {
        v = field(v, name, arg.path.slice(0, i + 1));
      });
      return v;
    }
    case 'string':
    case 'number':
      return arg.value;
    case 'func':
      throw templateError(`function "${arg.name}" used as a value`);
  }
}

function evalPipeline(pipeline: readonly Cmd[], dot: unknown): unknown {
  let piped: { value: unknown } | undefined;
  for (const cmd of pipeline) {
    const [first, ...rest] = cmd;
    if (first === undefined) throw templateError('empty command');
    if (first.kind === 'func') {
      const args = rest.map((a) => evalArg(a, dot));
      if (piped) args.push(piped.value);
      piped = { value: functions[first.name](args) };
    } else {
      if (piped) throw templateError('only a function can follow "|"');
      piped = { value: evalArg(first, dot) };
    }
  }
  return piped?.value;
}

/** The column header for a field name: `ManagerStatus` → `MANAGER STATUS`, `ID` → `ID`. */
export function headerFor(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toUpperCase();
}

function headerOfPipeline(pipeline: readonly Cmd[]): string {
  for (const cmd of pipeline) {
    for (const arg of cmd) {
      if (arg.kind === 'field') return headerFor(arg.path[arg.path.length - 1] ?? '');
    }
  }
  return '';
}

/** A parsed `--format` template. */
export interface Template {
  /** True for `table ...` templates: aligned columns under headers. */
  readonly table: boolean;
  /** The text for one value. */
  render(value: unknown): string;
  /** The header line of a table template: each action replaced by the header of its field. */
  header(): string;
}

/** Parses a Go-like template; errors are INVALID_ARGUMENT and say what is wrong. */
export function parseTemplate(text: string): Template {
  if (text.length > maxTemplateChars) throw templateError(`longer than ${maxTemplateChars} characters`);
  const table = /^table(\s|$)/.test(text);
  const body = (table ? text.slice('table'.length) : text).replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  const pieces = parsePieces(table ? body.trim() : body);
  return {
    table,
    render: (value) => pieces.map((p) => (p.kind === 'text' ? p.text : printValue(evalPipeline(p.pipeline, value)))).join(''),
    header: () => pieces.map((p) => (p.kind === 'text' ? p.text : headerOfPipeline(p.pipeline))).join(''),
  };
}

/** What `--format` asked for. */
export type OutputChoice = { readonly kind: 'table' } | { readonly kind: 'json' } | { readonly kind: 'template'; readonly template: Template };

/** Parses a `--format` value: table (default), json, or a template containing `{{`. */
export function parseOutput(format: string | undefined): OutputChoice {
  if (format === undefined || format === 'table' || format === 'json') return { kind: parseFormat(format) };
  if (format.includes('{{') || /^table\s/.test(format)) return { kind: 'template', template: parseTemplate(format) };
  throw invalidArgument(`unknown --format ${JSON.stringify(format)}: use table, json or a template such as '{{.ID}}'`);
}

/** Renders `rows` through a template: one line each, or aligned columns with headers for `table`. */
export function renderTemplateRows(template: Template, rows: readonly unknown[]): string {
  if (!template.table) return rows.map((r) => `${template.render(r)}\n`).join('');
  const split = (line: string): string[] => line.split('\t');
  return renderTable(split(template.header()), rows.map((r) => split(template.render(r))));
}

/** Renders values for an inspect-like command: JSON (an array) or one template line per value. */
export function renderDocuments(choice: OutputChoice, docs: readonly unknown[]): string {
  return choice.kind === 'template' ? renderTemplateRows(choice.template, docs) : renderJson(docs);
}
