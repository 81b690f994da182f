/**
 * How volume commands show volumes (pure): `volume create` flags → request, `ls` filters, rows and
 * table, the docker-shaped inspect document, and prune's report.
 */
import { invalidArgument } from '../lib/errors.js';
import type { DeepPartial, Volume, VolumeCreateRequest } from '../proto/index.js';
import { parseLabels } from './container-flags.js';
import { renderTable } from './output.js';

/** The flags of `volume create`. */
export interface VolumeCreateFlags {
  readonly driver?: string;
  readonly opt?: readonly string[];
  readonly label?: readonly string[];
}

/** `-o key=value` driver options: a key is required, a later one wins. */
export function parseDriverOptions(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    const eq = e.indexOf('=');
    if (eq <= 0) throw invalidArgument(`invalid --opt ${JSON.stringify(e)}: want KEY=VALUE`);
    out[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return out;
}

/** The Engine request of `volume create [NAME]`. */
export function volumeCreateRequest(name: string | undefined, flags: VolumeCreateFlags): DeepPartial<VolumeCreateRequest> {
  return { name: name ?? '', driver: flags.driver ?? 'local', driverOptions: parseDriverOptions(flags.opt ?? []), labels: parseLabels(flags.label ?? []) };
}

/** A row of `volume ls`, with docker's field names for templates. */
export interface VolumeRow {
  readonly Driver: string;
  readonly Name: string;
  readonly Scope: string;
  readonly Mountpoint: string;
  readonly Labels: string;
  /** How many containers use it. */
  readonly Links: string;
}

/** The row of a volume. */
export function volumeRow(v: Volume): VolumeRow {
  const labels = Object.entries(v.labels).sort(([a], [b]) => a.localeCompare(b));
  return { Driver: v.driver, Name: v.name, Scope: v.scope, Mountpoint: v.mountpoint, Labels: labels.map(([k, val]) => `${k}=${val}`).join(','), Links: String(v.usedBy.length) };
}

/** The `ls` table: DRIVER, VOLUME NAME. */
export function volumeTable(rows: readonly VolumeRow[]): string {
  return renderTable(['DRIVER', 'VOLUME NAME'], rows.map((r) => [r.Driver, r.Name]));
}

/** docker's time format: RFC 3339 to the second. */
function dockerTime(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z');
}

/** The docker-shaped `volume inspect` document (empty maps are null, as docker prints them). */
export function volumeDocument(v: Volume): Record<string, unknown> {
  return {
    CreatedAt: dockerTime(v.createdAt),
    Driver: v.driver,
    Labels: Object.keys(v.labels).length > 0 ? v.labels : null,
    Mountpoint: v.mountpoint,
    Name: v.name,
    Options: Object.keys(v.options).length > 0 ? v.options : null,
    Scope: v.scope,
  };
}

/** Keys `volume ls -f` takes. */
const filterKeys = ['name', 'label', 'driver', 'dangling'] as const;
type FilterKey = (typeof filterKeys)[number];
/** Parsed `-f key=value` filters: values of one key are ORed, keys ANDed. */
export type VolumeFilter = ReadonlyMap<FilterKey, readonly string[]>;

/** Parses `-f key=value` entries. */
export function parseVolumeFilters(texts: readonly string[]): VolumeFilter {
  const out = new Map<FilterKey, string[]>();
  for (const text of texts) {
    const eq = text.indexOf('=');
    const key = text.slice(0, Math.max(eq, 0)) as FilterKey;
    if (eq <= 0 || !filterKeys.includes(key)) throw invalidArgument(`invalid filter ${JSON.stringify(text)}: use ${filterKeys.map((k) => `${k}=...`).join(', ')}`);
    const value = text.slice(eq + 1);
    if (key === 'dangling' && !['true', 'false', '1', '0'].includes(value)) throw invalidArgument(`invalid filter ${JSON.stringify(text)}: dangling is true or false`);
    out.set(key, [...(out.get(key) ?? []), value]);
  }
  return out;
}

function labelMatches(labels: Readonly<Record<string, string>>, want: string): boolean {
  const eq = want.indexOf('=');
  return eq < 0 ? labels[want] !== undefined : labels[want.slice(0, eq)] === want.slice(eq + 1);
}

/** The volumes that pass every filter, by name. */
export function filterVolumes(volumes: readonly Volume[], filter: VolumeFilter): Volume[] {
  const pass = (v: Volume): boolean =>
    [...filter].every(([key, values]) =>
      values.some((value) => {
        if (key === 'name') return v.name.includes(value);
        if (key === 'driver') return v.driver === value;
        if (key === 'label') return labelMatches(v.labels, value);
        return (v.usedBy.length === 0) === (value === 'true' || value === '1');
      }),
    );
  return volumes.filter(pass).sort((a, b) => a.name.localeCompare(b.name));
}

/** What `volume prune` prints, as docker (`size` formats the reclaimed bytes). */
export function pruneReport(deleted: readonly string[], reclaimedBytes: number, size: (bytes: number) => string): string {
  const list = deleted.length > 0 ? `Deleted Volumes:\n${deleted.map((d) => `${d}\n`).join('')}\n` : '';
  return `${list}Total reclaimed space: ${size(reclaimedBytes)}\n`;
}
