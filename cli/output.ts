/**
 * Output formatting shared by all commands: docker-style aligned tables and `--format json`.
 */
import { invalidArgument } from '../lib/errors.js';

/** Output formats every listing command accepts. */
export type OutputFormat = 'table' | 'json';

/** Parses a --format value. */
export function parseFormat(text: string | undefined): OutputFormat {
  if (text === undefined || text === 'table') return 'table';
  if (text === 'json') return 'json';
  throw invalidArgument(`unknown --format ${JSON.stringify(text)} (use table or json)`);
}

/** Column gap used between table columns, as docker does. */
const columnGap = '   ';

/** Renders rows under upper-case headers, columns padded to their widest cell (pure). */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join(columnGap)
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** Renders a value as indented JSON, as `docker inspect` does. */
export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
