/**
 * How stacks are shown: `stack ls` (NAME SERVICES), stacks being the namespaces found on services.
 * Pure.
 */
import type { Service } from '../../proto/index.js';
import { renderTable } from '../output.js';
import { namespaceLabel } from './convert.js';

/** One row of `stack ls`. */
export interface StackRow {
  readonly Name: string;
  readonly Services: string;
}

/** One row per stack that has services, sorted by name. */
export function stackRows(services: readonly Service[]): StackRow[] {
  const counts = new Map<string, number>();
  for (const s of services) {
    const ns = s.spec?.annotations?.labels[namespaceLabel];
    if (ns !== undefined && ns !== '') counts.set(ns, (counts.get(ns) ?? 0) + 1);
  }
  return [...counts]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([Name, n]) => ({ Name, Services: String(n) }));
}

/** The `stack ls` table. */
export function stackTable(rows: readonly StackRow[]): string {
  return renderTable(['NAME', 'SERVICES'], rows.map((r) => [r.Name, r.Services]));
}
