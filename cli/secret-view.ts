/**
 * How the secret and config commands read their input and show their objects (pure): the spec
 * `secret create` / `config create` send (name and data checked first: nothing is sent for bad
 * input), SECRET / CONFIG references, the `ls` table and the docker-style inspect documents. A
 * secret's data never reaches this module from tsswarmd (the Control API redacts it); a config's
 * does, and `config inspect` shows it, as docker does.
 */
import { invalidArgument } from '../lib/errors.js';
import { maxSecretDataBytes, maxSecretNameChars, secretNamePattern } from '../manager/controlapi/secrets.js';
import type { Config, Secret } from '../proto/index.js';
import { millisOf } from '../proto/time.js';
import { parseLabels } from './container-flags.js';
import { humanDuration, renderTable } from './output.js';
import { resolveRef, type Named } from './service-view.js';

/** Which of the two object kinds a command works on. */
export type SecretKind = 'secret' | 'config';

/** A secret or config as the views see it. */
export type SecretLike = Secret | Config;

/** The spec of `KIND create NAME FILE|-` once the data is read. INVALID_ARGUMENT (exit 2) for a bad name, label or size. */
export function secretSpec(kind: SecretKind, name: string, data: Uint8Array, labels: readonly string[]): { annotations: { name: string; labels: Record<string, string> }; data: Uint8Array } {
  if (name.length > maxSecretNameChars || !secretNamePattern.test(name)) {
    throw invalidArgument(`invalid ${kind} name ${JSON.stringify(name.slice(0, 80))}: only ${maxSecretNameChars} [a-zA-Z0-9-_.] characters are allowed, and the first and last must be [a-zA-Z0-9]`);
  }
  if (data.length === 0) throw invalidArgument(`${kind} data is empty: give a file or - for standard input with at least one byte`);
  if (data.length > maxSecretDataBytes) throw invalidArgument(`${kind} data is ${data.length} bytes; it must be at most 500 KiB (${maxSecretDataBytes} bytes)`);
  let parsed: Record<string, string>;
  try {
    parsed = parseLabels(labels);
  } catch (err) {
    throw invalidArgument(`--label: ${(err as Error).message}`);
  }
  return { annotations: { name, labels: parsed }, data };
}

/** The ID and name of a secret or config, for resolveRef. */
export function secretNamed(o: SecretLike): Named {
  return { id: o.id, name: o.spec?.annotations?.name ?? '' };
}

/** The object `ref` names: exact ID, exact name, unique ID prefix. NOT_FOUND "KIND X not found". */
export function resolveSecretLike<T extends SecretLike>(kind: SecretKind, objects: readonly T[], ref: string): T {
  return resolveRef(objects, ref, kind, secretNamed);
}

/** One row of `secret ls` / `config ls`, with docker's field names. */
export interface SecretRow {
  readonly ID: string;
  readonly Name: string;
  readonly CreatedAt: string;
  readonly UpdatedAt: string;
  readonly Labels: string;
}

/** The `ls` row of a secret or config (the whole ID, as docker shows it); times as docker words them ("5 minutes ago"). */
export function secretRow(o: SecretLike, nowMs: number): SecretRow {
  const ago = (ms: number): string => `${humanDuration(nowMs - ms)} ago`;
  return {
    ID: o.id,
    Name: o.spec?.annotations?.name ?? '',
    CreatedAt: ago(millisOf(o.meta?.createdAt)),
    UpdatedAt: ago(millisOf(o.meta?.updatedAt ?? o.meta?.createdAt)),
    Labels: Object.entries(o.spec?.annotations?.labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  };
}

/** Secrets or configs in docker's order: by name. */
export function sortSecrets<T extends SecretLike>(objects: readonly T[]): T[] {
  return [...objects].sort((a, b) => secretNamed(a).name.localeCompare(secretNamed(b).name, 'en', { numeric: true }) || a.id.localeCompare(b.id));
}

/** The `ls` table: ID NAME CREATED UPDATED. */
export function secretTable(rows: readonly SecretRow[]): string {
  return renderTable(['ID', 'NAME', 'CREATED', 'UPDATED'], rows.map((r) => [r.ID, r.Name, r.CreatedAt, r.UpdatedAt]));
}

const filterKeys = ['id', 'name', 'label'] as const;
type FilterKey = (typeof filterKeys)[number];
/** Parsed `ls -f` filters. */
export type SecretFilter = ReadonlyMap<FilterKey, readonly string[]>;

/** Parses `ls -f` values (id=, name=, label=). */
export function parseSecretFilters(texts: readonly string[]): SecretFilter {
  const out = new Map<FilterKey, string[]>();
  for (const text of texts) {
    const eq = text.indexOf('=');
    const key = text.slice(0, Math.max(eq, 0));
    if (eq <= 0 || !(filterKeys as readonly string[]).includes(key)) throw invalidArgument(`invalid filter ${JSON.stringify(text)} (keys: ${filterKeys.join(', ')})`);
    out.set(key as FilterKey, [...(out.get(key as FilterKey) ?? []), text.slice(eq + 1)]);
  }
  return out;
}

/** The objects passing every filter key (any of its values). */
export function filterSecrets<T extends SecretLike>(objects: readonly T[], filter: SecretFilter): T[] {
  const match = (o: SecretLike, key: FilterKey, v: string): boolean => {
    switch (key) {
      case 'id':
        return o.id.startsWith(v);
      case 'name':
        return (o.spec?.annotations?.name ?? '').includes(v);
      case 'label': {
        const labels = o.spec?.annotations?.labels ?? {};
        const eq = v.indexOf('=');
        return eq < 0 ? Object.hasOwn(labels, v) : labels[v.slice(0, eq)] === v.slice(eq + 1);
      }
    }
  };
  return objects.filter((o) => [...filter].every(([key, values]) => values.some((v) => match(o, key, v))));
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * The inspect document, as docker's API shows it: ID, Version, CreatedAt, UpdatedAt, Spec (Name,
 * Labels; for configs also Data, base64 as docker's JSON). Never a secret's data.
 */
export function secretDocument(kind: SecretKind, o: SecretLike): Record<string, unknown> {
  const spec: Record<string, unknown> = { Name: o.spec?.annotations?.name ?? '', Labels: o.spec?.annotations?.labels ?? {} };
  if (kind === 'config') spec['Data'] = Buffer.from(o.spec?.data ?? new Uint8Array(0)).toString('base64');
  return {
    ID: o.id,
    Version: { Index: o.meta?.version?.index ?? 0 },
    CreatedAt: iso(millisOf(o.meta?.createdAt)),
    UpdatedAt: iso(millisOf(o.meta?.updatedAt ?? o.meta?.createdAt)),
    Spec: spec,
  };
}

/** `inspect --pretty`: docker's text form (configs with their data, secrets without). */
export function secretPretty(kind: SecretKind, o: SecretLike): string {
  const lines = [
    `ID:              ${o.id}`,
    `Name:            ${o.spec?.annotations?.name ?? ''}`,
  ];
  const labels = Object.entries(o.spec?.annotations?.labels ?? {});
  if (labels.length > 0) lines.push('Labels:', ...labels.map(([k, v]) => ` - ${k}=${v}`));
  if (kind === 'secret') lines.push('Driver:          ');
  lines.push(`Created at:      ${iso(millisOf(o.meta?.createdAt))}`, `Updated at:      ${iso(millisOf(o.meta?.updatedAt ?? o.meta?.createdAt))}`);
  if (kind === 'config') lines.push('Data:', Buffer.from(o.spec?.data ?? new Uint8Array(0)).toString('utf8'));
  return `${lines.join('\n')}\n`;
}
