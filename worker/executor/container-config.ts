/**
 * What a container is asked to be: the executor's input, built from an image config and a task or
 * `container run` spec. Plain data, validated by validateContainerConfig.
 */
import { invalidArgument } from '../../lib/errors.js';
import { validateVolumeName } from '../volumes/names.js';
import type { JoinedEndpoint } from '../engine/container-networks.js';

/** A mount into the container. */
export interface MountSpec {
  readonly type: 'bind' | 'tmpfs' | 'volume';
  /**
   * Host path for bind mounts; the volume's name for volume mounts (empty: a new anonymous volume,
   * named when the container is created); ignored for tmpfs.
   */
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
  /** tmpfs size in bytes (tmpfs only). */
  readonly tmpfsSizeBytes?: number;
  /** tmpfs mode (tmpfs only). */
  readonly tmpfsMode?: number;
  /** Volume mounts: do not copy the image's content at the target into an empty volume. */
  readonly volumeNoCopy?: boolean;
  /** Volume mounts: the driver, options and labels of the volume when it has to be created. */
  readonly volumeDriver?: string;
  readonly volumeOptions?: Readonly<Record<string, string>>;
  readonly volumeLabels?: Readonly<Record<string, string>>;
}

/** cgroup limits. Absent fields mean "no limit". */
export interface ResourceLimits {
  readonly memoryBytes?: number;
  /** CPU quota as nano-CPUs (1e9 = one core). */
  readonly nanoCpus?: number;
  /** Relative CPU weight (docker's --cpu-shares, default 1024). */
  readonly cpuShares?: number;
  readonly pidsLimit?: number;
}

/** A container's health check with every field resolved (worker/engine/health.ts decides it). */
export interface HealthCheckSpec {
  /** `["CMD", args...]` or `["CMD-SHELL", command]`. */
  readonly test: readonly string[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly startPeriodMs: number;
  /** Probe period inside the start period, until the first success. */
  readonly startIntervalMs: number;
  readonly retries: number;
}

/** Everything needed to create one container. */
export interface ContainerConfig {
  readonly id: string;
  readonly name: string;
  /** The process: entrypoint and command already merged. */
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly workingDir: string;
  /** `uid[:gid]` numeric, or a user name to be resolved in the image's /etc/passwd. */
  readonly user: string;
  readonly hostname: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly mounts: readonly MountSpec[];
  readonly resources: ResourceLimits;
  readonly readOnlyRootfs: boolean;
  /** Signal sent by `stop` before the grace period runs out. */
  readonly stopSignal: string;
  readonly stopGracePeriodMs: number;
  /** A network namespace to join (path), or undefined for a new, empty one. */
  readonly netnsPath?: string;
  /**
   * Name servers for the container's resolv.conf (netd's DNS on the gateways of its networks);
   * the host's resolv.conf when left out.
   */
  readonly dnsServers?: readonly string[];
  /** The network attachment of a standalone container (`run --network`), given back on removal. */
  readonly networkAttachment?: string;
  /** Where that attachment put it (`container inspect` NetworkSettings). */
  readonly networkEndpoints?: readonly JoinedEndpoint[];
  /** The health check the engine runs while the container runs; none when absent. */
  readonly healthcheck?: HealthCheckSpec;
  /** Extra files bind-mounted read-only over the rootfs: /etc/hosts, /etc/resolv.conf, /etc/hostname. */
  readonly etcFiles?: { readonly hosts: string; readonly resolvConf: string; readonly hostname: string };
}

/** Limits on what a config may ask for. */
export const maxContainerArgs = 4096;
export const minMemoryBytes = 6 * 1024 * 1024;

const hostnamePattern = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const signalPattern = /^(SIG)?[A-Z0-9]+$|^\d+$/;

/** Throws INVALID_ARGUMENT for a config that runc would refuse or that makes no sense. */
export function validateContainerConfig(c: ContainerConfig): void {
  if (c.args.length === 0) throw invalidArgument('no command: the image has no entrypoint or cmd, and none was given');
  if (c.args.length > maxContainerArgs) throw invalidArgument(`too many arguments (at most ${maxContainerArgs})`);
  if (!hostnamePattern.test(c.hostname)) throw invalidArgument(`invalid hostname ${JSON.stringify(c.hostname)}`);
  if (!c.workingDir.startsWith('/')) throw invalidArgument(`working directory ${JSON.stringify(c.workingDir)} must be absolute`);
  for (const e of c.env) if (!e.includes('=') || e.startsWith('=')) throw invalidArgument(`invalid environment entry ${JSON.stringify(e)} (want NAME=value)`);
  for (const m of c.mounts) {
    if (!m.target.startsWith('/')) throw invalidArgument(`mount target ${JSON.stringify(m.target)} must be absolute`);
    if (m.type === 'bind' && !m.source.startsWith('/')) throw invalidArgument(`mount source ${JSON.stringify(m.source)} must be absolute`);
    if (m.type === 'volume' && m.source !== '') validateVolumeName(m.source);
  }
  const r = c.resources;
  if (r.memoryBytes !== undefined && r.memoryBytes < minMemoryBytes) {
    throw invalidArgument(`memory limit ${r.memoryBytes} bytes is below the minimum of 6MB`);
  }
  if (r.pidsLimit !== undefined && (!Number.isInteger(r.pidsLimit) || r.pidsLimit < 1)) throw invalidArgument('--pids-limit must be a positive integer');
  if (r.cpuShares !== undefined && (!Number.isInteger(r.cpuShares) || r.cpuShares < 2 || r.cpuShares > 262144)) {
    throw invalidArgument('--cpu-shares must be an integer from 2 to 262144');
  }
  if (!signalPattern.test(c.stopSignal)) throw invalidArgument(`invalid stop signal ${JSON.stringify(c.stopSignal)}`);
  if (!(c.stopGracePeriodMs >= 0)) throw invalidArgument('stop grace period must not be negative');
}
