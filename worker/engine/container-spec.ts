/**
 * `container run` request + image config → ContainerConfig, with docker's rules (pure):
 * --entrypoint replaces the image entrypoint and drops its cmd; a given command replaces the cmd;
 * environment entries override the image's by name; the rest falls back to the image, then to
 * defaults.
 */
import { invalidArgument } from '../../lib/errors.js';
import type { ContainerCreateRequest } from '../../proto/index.js';
import type { ContainerConfig, MountSpec } from '../executor/container-config.js';
import type { ImageRuntimeConfig } from '../images/image-config.js';
import { resolveHealthCheck } from './health.js';

/** Default grace period of `stop`, as docker's. */
export const defaultStopGraceMs = 10_000;

/** The process arguments: entrypoint and cmd merged as docker does. */
export function mergeArgs(request: Pick<ContainerCreateRequest, 'entrypoint' | 'entrypointSet' | 'cmd'>, image: ImageRuntimeConfig): string[] {
  const entrypoint = request.entrypointSet ? request.entrypoint : image.entrypoint;
  const cmd = request.cmd.length > 0 ? request.cmd : request.entrypointSet ? [] : image.cmd;
  return [...entrypoint, ...cmd];
}

/** Image environment with request entries layered on top (a later NAME wins, order kept). */
export function mergeEnv(imageEnv: readonly string[], requestEnv: readonly string[]): string[] {
  const out = new Map<string, string>();
  for (const entry of [...imageEnv, ...requestEnv]) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw invalidArgument(`invalid environment entry ${JSON.stringify(entry)} (want NAME=value)`);
    const name = entry.slice(0, eq);
    out.delete(name);
    out.set(name, entry);
  }
  return [...out.values()];
}

function toMount(m: ContainerCreateRequest['mounts'][number]): MountSpec {
  if (m.type !== 'bind' && m.type !== 'tmpfs' && m.type !== 'volume') throw invalidArgument(`unknown mount type ${JSON.stringify(m.type)}`);
  return {
    type: m.type,
    source: m.source,
    target: m.target,
    readOnly: m.readOnly,
    ...(m.tmpfsSizeBytes > 0 ? { tmpfsSizeBytes: m.tmpfsSizeBytes } : {}),
    ...(m.tmpfsMode > 0 ? { tmpfsMode: m.tmpfsMode } : {}),
    ...volumeFields(m),
  };
}

function volumeFields(m: ContainerCreateRequest['mounts'][number]): Partial<MountSpec> {
  const options = m.volumeDriverOptions ?? {};
  const labels = m.volumeLabels ?? {};
  const given = m.volumeNoCopy || m.volumeDriver !== '' || Object.keys(options).length > 0 || Object.keys(labels).length > 0;
  if (m.type !== 'volume') {
    if (given) throw invalidArgument(`volume options are only for volume mounts (mount at ${m.target})`);
    return {};
  }
  return {
    ...(m.volumeNoCopy ? { volumeNoCopy: true } : {}),
    ...(m.volumeDriver !== '' ? { volumeDriver: m.volumeDriver } : {}),
    ...(Object.keys(options).length > 0 ? { volumeOptions: { ...options } } : {}),
    ...(Object.keys(labels).length > 0 ? { volumeLabels: { ...labels } } : {}),
  };
}


/** The container config for a request, an image and a new ID and name. */
export function containerConfigFor(request: ContainerCreateRequest, image: ImageRuntimeConfig, id: string, name: string): ContainerConfig {
  const durationMs = request.stopTimeout ? request.stopTimeout.seconds * 1000 + request.stopTimeout.nanos / 1e6 : defaultStopGraceMs;
  const healthcheck = resolveHealthCheck(request.healthcheck, image.healthcheck);
  return {
    id,
    name,
    args: mergeArgs(request, image),
    env: mergeEnv(image.env, request.env),
    workingDir: request.workingDir || image.workingDir || '/',
    user: request.user || image.user,
    hostname: request.hostname || id.slice(0, 12),
    labels: { ...image.labels, ...request.labels },
    mounts: request.mounts.map(toMount),
    resources: {
      ...(request.memoryBytes > 0 ? { memoryBytes: request.memoryBytes } : {}),
      ...(request.nanoCpus > 0 ? { nanoCpus: request.nanoCpus } : {}),
      ...(request.cpuShares > 0 ? { cpuShares: request.cpuShares } : {}),
      ...(request.pidsLimit > 0 ? { pidsLimit: request.pidsLimit } : {}),
    },
    readOnlyRootfs: request.readOnly,
    stopSignal: request.stopSignal || image.stopSignal || 'SIGTERM',
    stopGracePeriodMs: request.stopTimeoutSet ? durationMs : defaultStopGraceMs,
    ...(healthcheck !== undefined ? { healthcheck } : {}),
  };
}

const namePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** Checks a user-given container name, as docker does. */
export function validateContainerName(name: string): void {
  if (!namePattern.test(name)) throw invalidArgument(`invalid container name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
}

const adjectives = ['brave', 'calm', 'eager', 'fancy', 'gentle', 'happy', 'jolly', 'keen', 'lucid', 'merry', 'nifty', 'proud', 'quiet', 'swift', 'tidy', 'witty'];
const nouns = ['ant', 'bee', 'crane', 'dingo', 'egret', 'finch', 'gecko', 'heron', 'ibis', 'koala', 'lynx', 'moth', 'newt', 'otter', 'puffin', 'wren'];

/** A readable name from an ID (deterministic), like docker's adjective_noun names. */
export function generatedName(id: string): string {
  const n = parseInt(id.slice(0, 6), 36);
  return `${adjectives[n % adjectives.length]}_${nouns[Math.floor(n / adjectives.length) % nouns.length]}_${id.slice(0, 4)}`;
}
