/**
 * ContainerConfig → OCI runtime spec (config.json) for runc. Pure: same input, same spec.
 * Namespaces pid, net, ipc, uts, mnt; cgroup limits; docker's capability set, no-new-privileges,
 * the default seccomp profile, masked and read-only paths.
 */
import { assert } from '../../lib/assert.js';
import type { ContainerConfig, MountSpec, ResourceLimits } from './container-config.js';
import { defaultSeccompProfile, type SeccompProfile } from './seccomp-profile.js';
import { defaultCapabilities, defaultPath, maskedPaths, readonlyPaths, standardMounts, type OciMount } from './security-defaults.js';

/** The OCI runtime spec version we write. */
export const ociVersion = '1.0.2';
/** CFS period used to express --cpus as a quota. */
export const cpuPeriodUs = 100_000;

/** Where a container's pieces are on the host. */
export interface SpecPaths {
  /** The (already mounted) root filesystem. */
  readonly rootfs: string;
  /** The cgroup path, relative to each hierarchy's root. */
  readonly cgroupsPath: string;
  /** The data folder of each volume the config mounts, by volume name. */
  readonly volumePaths?: ReadonlyMap<string, string>;
}

/** The subset of the OCI spec we produce. */
export interface OciSpec {
  readonly ociVersion: string;
  readonly process: {
    readonly terminal: boolean;
    readonly user: { readonly uid: number; readonly gid: number; readonly additionalGids?: readonly number[] };
    readonly args: readonly string[];
    readonly env: readonly string[];
    readonly cwd: string;
    readonly capabilities: Readonly<Record<'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient', readonly string[]>>;
    readonly noNewPrivileges: boolean;
    readonly oomScoreAdj: number;
  };
  readonly root: { readonly path: string; readonly readonly: boolean };
  readonly hostname: string;
  readonly mounts: readonly OciMount[];
  readonly annotations: Readonly<Record<string, string>>;
  readonly linux: {
    readonly namespaces: readonly { readonly type: string; readonly path?: string }[];
    readonly cgroupsPath: string;
    readonly resources: OciResources;
    readonly maskedPaths: readonly string[];
    readonly readonlyPaths: readonly string[];
    readonly seccomp: SeccompProfile;
  };
}

/** OCI linux.resources. */
export interface OciResources {
  readonly devices: readonly { readonly allow: boolean; readonly access: string }[];
  readonly memory?: { readonly limit: number };
  readonly cpu?: { readonly shares?: number; readonly quota?: number; readonly period?: number };
  readonly pids?: { readonly limit: number };
}

/** The numeric user a config names; names must be resolved before (see resolveUser). */
export interface NumericUser {
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids?: readonly number[];
}

/** Builds the runc spec for a validated config. */
export function buildOciSpec(config: ContainerConfig, user: NumericUser, paths: SpecPaths): OciSpec {
  const caps = [...defaultCapabilities];
  return {
    ociVersion,
    process: {
      terminal: false,
      user: user.additionalGids ? { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids } : { uid: user.uid, gid: user.gid },
      args: config.args,
      env: withDefaultPath(config.env, config.hostname),
      cwd: config.workingDir,
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      noNewPrivileges: true,
      oomScoreAdj: 0,
    },
    root: { path: paths.rootfs, readonly: config.readOnlyRootfs },
    hostname: config.hostname,
    mounts: [...standardMounts, ...etcMounts(config), ...config.mounts.map((m) => toOciMount(m, paths.volumePaths))],
    annotations: { 'io.tsswarm.container.name': config.name, ...prefixed(config.labels) },
    linux: {
      namespaces: [
        { type: 'pid' },
        config.netnsPath !== undefined ? { type: 'network', path: config.netnsPath } : { type: 'network' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
      ],
      cgroupsPath: paths.cgroupsPath,
      resources: toOciResources(config.resources),
      maskedPaths,
      readonlyPaths,
      seccomp: defaultSeccompProfile(),
    },
  };
}

function withDefaultPath(env: readonly string[], hostname: string): string[] {
  const out = env.some((e) => e.startsWith('PATH=')) ? [...env] : [defaultPath, ...env];
  if (!out.some((e) => e.startsWith('HOSTNAME='))) out.push(`HOSTNAME=${hostname}`);
  return out;
}

function etcMounts(config: ContainerConfig): OciMount[] {
  const f = config.etcFiles;
  if (!f) return [];
  const bind = (source: string, destination: string): OciMount => ({ destination, type: 'bind', source, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] });
  return [bind(f.hosts, '/etc/hosts'), bind(f.resolvConf, '/etc/resolv.conf'), bind(f.hostname, '/etc/hostname')];
}

function toOciMount(m: MountSpec, volumePaths: ReadonlyMap<string, string> | undefined): OciMount {
  if (m.type === 'tmpfs') {
    const options = ['nosuid', 'nodev', 'noexec'];
    if (m.tmpfsSizeBytes !== undefined) options.push(`size=${m.tmpfsSizeBytes}`);
    if (m.tmpfsMode !== undefined) options.push(`mode=${m.tmpfsMode.toString(8)}`);
    if (m.readOnly) options.push('ro');
    return { destination: m.target, type: 'tmpfs', source: 'tmpfs', options };
  }
  let source = m.source;
  if (m.type === 'volume') {
    const path = volumePaths?.get(m.source);
    assert(path !== undefined, `volume ${m.source} at ${m.target} was not prepared`);
    source = path;
  }
  return { destination: m.target, type: 'bind', source, options: ['rbind', m.readOnly ? 'ro' : 'rw'] };
}

/** OCI resources from limits (pure; exported for tests). */
export function toOciResources(r: ResourceLimits): OciResources {
  const cpu =
    r.nanoCpus !== undefined || r.cpuShares !== undefined
      ? {
          ...(r.cpuShares !== undefined ? { shares: r.cpuShares } : {}),
          ...(r.nanoCpus !== undefined ? { quota: Math.round((r.nanoCpus * cpuPeriodUs) / 1e9), period: cpuPeriodUs } : {}),
        }
      : undefined;
  return {
    devices: [{ allow: false, access: 'rwm' }],
    ...(r.memoryBytes !== undefined ? { memory: { limit: r.memoryBytes } } : {}),
    ...(cpu ? { cpu } : {}),
    ...(r.pidsLimit !== undefined ? { pids: { limit: r.pidsLimit } } : {}),
  };
}

function prefixed(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) out[`io.tsswarm.label.${k}`] = v;
  return out;
}
