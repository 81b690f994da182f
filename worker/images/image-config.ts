/**
 * Image configs (the JSON a manifest's config descriptor points at): parsing into what the
 * executor needs to start a container, and building one for `image import`. Pure.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { isDigest } from './digest.js';

/** A container health check as the image declares it (durations in nanoseconds, as in the JSON). */
export interface ImageHealthcheck {
  /** `["NONE"]`, `["CMD", args...]` or `["CMD-SHELL", command]`. */
  readonly test: readonly string[];
  readonly intervalNs?: number;
  readonly timeoutNs?: number;
  readonly startPeriodNs?: number;
  readonly retries?: number;
}

/** What the executor takes from an image to start a container. */
export interface ImageRuntimeConfig {
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  /** `NAME=value` entries, in image order. */
  readonly env: readonly string[];
  /** Empty means `/`. */
  readonly workingDir: string;
  /** Empty means root; otherwise `user`, `uid`, `user:group` or `uid:gid`. */
  readonly user: string;
  /** `80/tcp`, `53/udp`, sorted. */
  readonly exposedPorts: readonly string[];
  readonly healthcheck?: ImageHealthcheck;
  /** A signal name like `SIGTERM`, or a number as text; absent means SIGTERM. */
  readonly stopSignal?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly volumes: readonly string[];
}

/** A parsed image config. */
export interface ImageConfig {
  readonly architecture: string;
  readonly os: string;
  /** RFC 3339 time the image was made, when it says. */
  readonly created?: string;
  readonly author?: string;
  readonly runtime: ImageRuntimeConfig;
  /** Digests of the uncompressed layers, lowest first. */
  readonly diffIds: readonly string[];
}

function corrupt(why: string): TsswarmError {
  return new TsswarmError(ErrorCode.CORRUPT, `image config: ${why}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw corrupt(`${field} is not a list of strings`);
  return v as string[];
}

function optionalString(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw corrupt(`${field} is not a string`);
  return v;
}

function optionalNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Parses config bytes; throws CORRUPT with the field at fault. */
export function parseImageConfig(bytes: Uint8Array | string): ImageConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch {
    throw corrupt('not valid JSON');
  }
  if (!isRecord(doc)) throw corrupt('not a JSON object');
  const rootfs = doc['rootfs'];
  if (!isRecord(rootfs) || rootfs['type'] !== 'layers') throw corrupt('rootfs.type is not "layers"');
  const diffIds = stringList(rootfs['diff_ids'], 'rootfs.diff_ids');
  for (const d of diffIds) if (!isDigest(d)) throw corrupt(`rootfs.diff_ids entry ${JSON.stringify(d)} is not sha256:<64 hex>`);
  const c = isRecord(doc['config']) ? doc['config'] : {};
  const labels: Record<string, string> = {};
  if (isRecord(c['Labels'])) for (const [k, v] of Object.entries(c['Labels'])) if (typeof v === 'string') labels[k] = v;
  let healthcheck: ImageHealthcheck | undefined;
  if (isRecord(c['Healthcheck'])) {
    const h = c['Healthcheck'];
    const interval = optionalNumber(h['Interval']);
    const timeout = optionalNumber(h['Timeout']);
    const startPeriod = optionalNumber(h['StartPeriod']);
    const retries = optionalNumber(h['Retries']);
    healthcheck = {
      test: stringList(h['Test'], 'config.Healthcheck.Test'),
      ...(interval !== undefined ? { intervalNs: interval } : {}),
      ...(timeout !== undefined ? { timeoutNs: timeout } : {}),
      ...(startPeriod !== undefined ? { startPeriodNs: startPeriod } : {}),
      ...(retries !== undefined ? { retries } : {}),
    };
  }
  const stopSignal = optionalString(c['StopSignal'], 'config.StopSignal');
  const runtime: ImageRuntimeConfig = {
    entrypoint: stringList(c['Entrypoint'], 'config.Entrypoint'),
    cmd: stringList(c['Cmd'], 'config.Cmd'),
    env: stringList(c['Env'], 'config.Env'),
    workingDir: optionalString(c['WorkingDir'], 'config.WorkingDir'),
    user: optionalString(c['User'], 'config.User'),
    exposedPorts: isRecord(c['ExposedPorts']) ? Object.keys(c['ExposedPorts']).sort() : [],
    ...(healthcheck ? { healthcheck } : {}),
    ...(stopSignal !== '' ? { stopSignal } : {}),
    labels,
    volumes: isRecord(c['Volumes']) ? Object.keys(c['Volumes']).sort() : [],
  };
  const created = typeof doc['created'] === 'string' ? doc['created'] : undefined;
  const author = typeof doc['author'] === 'string' ? doc['author'] : undefined;
  return {
    architecture: optionalString(doc['architecture'], 'architecture'),
    os: optionalString(doc['os'], 'os'),
    ...(created !== undefined ? { created } : {}),
    ...(author !== undefined ? { author } : {}),
    runtime,
    diffIds,
  };
}

/** Builds the config of a one-layer image (`image import`, the test image) with Docker's field names. */
export function buildImageConfig(options: {
  readonly diffIds: readonly string[];
  readonly created: string;
  readonly createdBy: string;
  readonly cmd?: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly env?: readonly string[];
  readonly workingDir?: string;
  readonly exposedPorts?: readonly string[];
}): string {
  const config: Record<string, unknown> = {};
  if (options.env) config['Env'] = options.env;
  if (options.entrypoint) config['Entrypoint'] = options.entrypoint;
  if (options.cmd) config['Cmd'] = options.cmd;
  if (options.workingDir !== undefined) config['WorkingDir'] = options.workingDir;
  if (options.exposedPorts) config['ExposedPorts'] = Object.fromEntries(options.exposedPorts.map((p) => [p, {}]));
  return JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    created: options.created,
    config,
    rootfs: { type: 'layers', diff_ids: options.diffIds },
    history: [{ created: options.created, created_by: options.createdBy }],
  });
}
