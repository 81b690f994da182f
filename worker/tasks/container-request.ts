/**
 * A task → the engine's ContainerCreateRequest, as Docker's swarm container adapter does it (pure):
 * the container name `<service>.<slot>.<taskId>` (`<service>.<nodeId>.<taskId>` for global
 * services), the com.docker.swarm.* labels, command/args as entrypoint/cmd, env, dir, user,
 * hostname, bind, volume and tmpfs mounts (a volume is created on this node on first use), limits,
 * stop signal and grace period, read-only rootfs.

 * What the engine cannot do yet is refused with a typed error (the task is then REJECTED) or, when
 * it is harmless to run without, listed as ignored.
 */
import { invalidArgument, ErrorCode, TsswarmError } from '../../lib/errors.js';
import { MountType, type ContainerCreateRequest, type ContainerMount, type Mount, type Task } from '../../proto/index.js';

/** Labels Docker puts on every swarm task container; the task-id one is how containers are found again. */
export const taskIdLabel = 'com.docker.swarm.task.id';
export const taskNameLabel = 'com.docker.swarm.task.name';
export const taskLabel = 'com.docker.swarm.task';
export const serviceIdLabel = 'com.docker.swarm.service.id';
export const serviceNameLabel = 'com.docker.swarm.service.name';
export const nodeIdLabel = 'com.docker.swarm.node.id';

/** A container request and the spec fields that were ignored because the engine lacks them. */
export interface TaskContainerRequest {
  readonly request: ContainerCreateRequest;
  /** Spec fields the container runs without (logged by the executor), e.g. "init". */
  readonly ignored: readonly string[];
}

/** The name of a task's container (and its task.name label), as docker's naming.Task. */
export function taskContainerName(task: Task): string {
  const service = task.serviceAnnotations?.name || task.serviceId;
  const given = task.annotations?.name ?? '';
  // The orchestrator already names tasks `<service>.<slot|node>.<id>`; accept that, build it otherwise.
  if (given.endsWith(`.${task.id}`)) return given;
  return `${service}.${task.slot > 0 ? String(task.slot) : task.nodeId}.${task.id}`;
}

const noVolume = { volumeNoCopy: false, volumeDriver: '', volumeDriverOptions: {}, volumeLabels: {} } as const;

function toMount(m: Mount): ContainerMount {

  switch (m.type) {
    case MountType.BIND:
      return { ...noVolume, type: 'bind', source: m.source, target: m.target, readOnly: m.readOnly, tmpfsSizeBytes: 0, tmpfsMode: 0 };
    case MountType.TMPFS:
      return { ...noVolume, type: 'tmpfs', source: '', target: m.target, readOnly: m.readOnly, tmpfsSizeBytes: m.tmpfsOptions?.sizeBytes ?? 0, tmpfsMode: m.tmpfsOptions?.mode ?? 0 };
    case MountType.VOLUME: {
      // The volume is made on this node on first use, with the driver and labels the spec gives.
      const v = m.volumeOptions;
      return {
        type: 'volume',
        source: m.source,
        target: m.target,
        readOnly: m.readOnly,
        tmpfsSizeBytes: 0,
        tmpfsMode: 0,
        volumeNoCopy: v?.noCopy ?? false,
        volumeDriver: v?.driverConfig?.name ?? '',
        volumeDriverOptions: { ...(v?.driverConfig?.options ?? {}) },
        volumeLabels: { ...(v?.labels ?? {}) },
      };
    }
    default:
      throw invalidArgument(`unknown mount type ${String(m.type)} at ${m.target}`);
  }
}

/** The create request of a task's container; UNSUPPORTED or INVALID_ARGUMENT for a spec it cannot run. */
export function containerRequestFor(task: Task): TaskContainerRequest {
  const c = task.spec?.container;
  if (c === undefined) throw invalidArgument(`task ${task.id} has no container spec`);
  if (c.image === '') throw invalidArgument(`task ${task.id} names no image`);
  const unsupported: string[] = [];
  // Secrets and configs are files the controller mounts from a tmpfs (secret-mounts.ts).
  if (c.capabilityAdd.length > 0 || c.capabilityDrop.length > 0) unsupported.push('capability changes');
  if (Object.keys(c.sysctls).length > 0) unsupported.push('sysctls');
  if (c.groups.length > 0) unsupported.push('extra groups');
  if (unsupported.length > 0) throw new TsswarmError(ErrorCode.UNSUPPORTED, `this worker cannot run tasks with ${unsupported.join(', ')} yet`);
  const ignored: string[] = [];
  if (c.init) ignored.push('init');
  if (c.tty) ignored.push('tty');
  if (c.openStdin) ignored.push('open stdin');

  const name = taskContainerName(task);
  const limits = task.spec?.resources?.limits;
  const grace = c.stopGracePeriod;
  const request: ContainerCreateRequest = {
    image: c.image,
    name,
    // Docker: a command replaces the entrypoint (args become its cmd); args alone replace the image's cmd.
    entrypoint: c.command.length > 0 ? [...c.command] : [],
    entrypointSet: c.command.length > 0,
    cmd: [...c.args],
    env: [...c.env],
    workingDir: c.dir,
    user: c.user,
    hostname: c.hostname,
    labels: {
      ...c.labels,
      [taskLabel]: '',
      [taskIdLabel]: task.id,
      [taskNameLabel]: name,
      [serviceIdLabel]: task.serviceId,
      [serviceNameLabel]: task.serviceAnnotations?.name ?? '',
      [nodeIdLabel]: task.nodeId,
    },
    mounts: c.mounts.map(toMount),
    memoryBytes: limits?.memoryBytes ?? 0,
    nanoCpus: limits?.nanoCpus ?? 0,
    cpuShares: 0,
    pidsLimit: limits?.pids ?? 0,
    readOnly: c.readOnly,
    stopSignal: c.stopSignal,
    ...(grace !== undefined ? { stopTimeout: grace } : {}),
    stopTimeoutSet: grace !== undefined,
    autoRemove: false,
    ...(c.healthcheck !== undefined ? { healthcheck: c.healthcheck } : {}),
    // A task's networks are joined through netd's task hook, not the engine's.
    networks: [],
    ports: [],
  };
  return { request, ignored };
}
