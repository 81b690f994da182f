/**
 * Checking the task template of a ServiceSpec as docker does (SwarmKit's controlapi plus the
 * daemon's own checks): the container (image reference, env, mounts, stop grace period, health
 * check, secret and config references), resources, restart policy and placement. Pure; every
 * problem is returned as a sentence that names the field (and the docker flag that sets it).
 */
import { errorMessage } from '../../lib/errors.js';
import { parseConstraint, validateSpreadKey } from '../scheduler/index.js';
import { parseReference } from '../../worker/images/reference.js';
import {
  MountPropagation,
  MountType,
  RestartCondition,
  type ContainerSpec,
  type HealthConfig,
  type Mount,
  type Placement,
  type ResourceRequirements,
  type Resources,
  type RestartPolicy,
  type TaskSpec,
} from '../../proto/index.js';
import { countProblem, durationNanos, enumProblem, formatBytes, formatCpus, nonNegativeDurationProblem } from './spec-checks.js';

/** Smallest memory limit or reservation docker accepts, in bytes (6 MiB). */
export const minMemoryBytes = 6 * 1024 * 1024;
/** Smallest CPU limit or reservation, in nano-CPUs (0.001 CPU, as SwarmKit). */
export const minNanoCpus = 1_000_000;
/** Smallest non-zero health check interval, timeout or start period, in nanoseconds (1 ms, as docker). */
export const minHealthDurationNanos = 1_000_000;
/** Most environment entries, mounts, constraints, secrets or configs one task may list. */
export const maxTaskListEntries = 1024;

/** Docker's volume names: at least two characters. */
const volumeNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Every problem of a task template (empty when it is valid). */
export function taskSpecProblems(task: TaskSpec | undefined): string[] {
  const problems: string[] = [];
  const push = (p: string | undefined): void => {
    if (p !== undefined) problems.push(p);
  };
  if (task?.container === undefined) {
    problems.push('task.container is required: a service runs a container');
  } else {
    containerProblems(task.container, push);
  }
  if (task === undefined) return problems;
  resourceProblems(task.resources, push);
  restartProblems(task.restart, push);
  placementProblems(task.placement, push);
  push(countProblem('task.force_update', task.forceUpdate));
  if (task.networks.length > maxTaskListEntries) problems.push(`task.networks lists ${task.networks.length} networks; at most ${maxTaskListEntries} are allowed`);
  task.networks.forEach((n, i) => {
    if (n.target === '') problems.push(`task.networks[${i}].target is required: a network ID or name`);
  });
  return problems;
}

type Push = (problem: string | undefined) => void;

function containerProblems(c: ContainerSpec, push: Push): void {
  if (c.image === '') push('task.container.image is required: an image reference such as nginx:1.27');
  else {
    try {
      parseReference(c.image);
    } catch (err) {
      push(`task.container.image ${JSON.stringify(c.image)} is not a valid image reference (${errorMessage(err)})`);
    }
  }
  if (c.env.length > maxTaskListEntries) push(`task.container.env has ${c.env.length} entries; at most ${maxTaskListEntries} are allowed`);
  c.env.forEach((entry, i) => {
    const key = entry.split('=', 1)[0] ?? '';
    if (key.trim() === '') push(`task.container.env[${i}] ${JSON.stringify(entry)} is invalid (--env): want KEY=VALUE or KEY, with a non-empty KEY`);
  });
  mountProblems(c.mounts, push);
  if (durationNanos(c.stopGracePeriod) < 0) push('task.container.stop_grace_period (--stop-grace-period) must not be negative');
  healthProblems(c.healthcheck, push);
  referenceProblems(
    'secret',
    c.secrets.map((s) => ({ id: s.secretId, name: s.secretName, target: s.file?.name })),
    push,
  );
  referenceProblems(
    'config',
    c.configs.map((s) => ({ id: s.configId, name: s.configName, target: s.file?.name })),
    push,
  );
}

function mountProblems(mounts: readonly Mount[], push: Push): void {
  if (mounts.length > maxTaskListEntries) push(`task.container.mounts has ${mounts.length} entries; at most ${maxTaskListEntries} are allowed`);
  const targets = new Set<string>();
  mounts.forEach((m, i) => {
    const field = `task.container.mounts[${i}]`;
    const typeProblem = enumProblem(`${field}.type`, m.type, MountType);
    if (typeProblem !== undefined) {
      push(typeProblem);
      return;
    }
    if (m.target === '') push(`${field}.target is required (--mount target=PATH)`);
    else if (!m.target.startsWith('/')) push(`${field}.target ${JSON.stringify(m.target)} must be an absolute path`);
    else if (m.target.replace(/\/+$/, '') === '') push(`${field}.target must not be /`);
    else if (targets.has(m.target)) push(`${field}.target: duplicate mount point ${m.target}`);
    targets.add(m.target);
    if (m.type === MountType.BIND) {
      if (m.source === '') push(`${field}: a bind mount needs a source (--mount type=bind,source=PATH)`);
      else if (!m.source.startsWith('/')) push(`${field}.source ${JSON.stringify(m.source)} must be an absolute path for a bind mount`);
      if (m.bindOptions !== undefined) push(enumProblem(`${field}.bind_options.propagation`, m.bindOptions.propagation, MountPropagation));
    } else if (m.bindOptions !== undefined) {
      push(`${field}: bind options are only for bind mounts`);
    }
    if (m.type === MountType.VOLUME) {
      if (m.source !== '' && !volumeNamePattern.test(m.source)) {
        push(`${field}.source ${JSON.stringify(m.source)} is not a valid volume name: at least two letters, digits, _ . or -, starting with a letter or digit`);
      }
    } else if (m.volumeOptions !== undefined) {
      push(`${field}: volume options are only for volume mounts`);
    }
    if (m.type === MountType.TMPFS) {
      if (m.source !== '') push(`${field}: a tmpfs mount has no source`);
      if (m.tmpfsOptions !== undefined) {
        push(countProblem(`${field}.tmpfs_options.size_bytes`, m.tmpfsOptions.sizeBytes));
        if (!Number.isInteger(m.tmpfsOptions.mode) || m.tmpfsOptions.mode < 0 || m.tmpfsOptions.mode > 0o7777) {
          push(`${field}.tmpfs_options.mode ${m.tmpfsOptions.mode} is not a file mode (0 to 0o7777)`);
        }
      }
    } else if (m.tmpfsOptions !== undefined) {
      push(`${field}: tmpfs options are only for tmpfs mounts`);
    }
  });
}

function healthProblems(h: HealthConfig | undefined, push: Push): void {
  if (h === undefined) return;
  const durations: [string, string, HealthConfig['interval']][] = [
    ['interval', '--health-interval', h.interval],
    ['timeout', '--health-timeout', h.timeout],
    ['start_period', '--health-start-period', h.startPeriod],
    ['start_interval', '--health-start-interval', h.startInterval],
  ];
  for (const [name, flag, d] of durations) {
    const ns = durationNanos(d);
    if (ns !== 0 && ns < minHealthDurationNanos) push(`task.container.healthcheck.${name} (${flag}) must be 0 (the default) or at least 1ms`);
  }
  push(countProblem('task.container.healthcheck.retries (--health-retries)', h.retries));
}

interface Reference {
  readonly id: string;
  readonly name: string;
  readonly target: string | undefined;
}

/** Secret and config references: ID and name given, a file target, no two on the same target. */
function referenceProblems(kind: 'secret' | 'config', refs: readonly Reference[], push: Push): void {
  if (refs.length > maxTaskListEntries) push(`task.container.${kind}s lists ${refs.length} ${kind}s; at most ${maxTaskListEntries} are allowed`);
  const targets = new Map<string, string>();
  refs.forEach((r, i) => {
    const field = `task.container.${kind}s[${i}]`;
    if (r.id === '' || r.name === '') push(`${field}: malformed ${kind} reference: both the ${kind} ID and name are required`);
    if (r.target === undefined || r.target === '') {
      push(`${field}: malformed ${kind} reference: a target file name is required`);
      return;
    }
    const previous = targets.get(r.target);
    if (previous !== undefined) push(`${kind} references ${JSON.stringify(previous)} and ${JSON.stringify(r.name)} have a conflicting target: ${JSON.stringify(r.target)}`);
    targets.set(r.target, r.name);
  });
}

function resourceProblems(r: ResourceRequirements | undefined, push: Push): void {
  if (r === undefined) return;
  const checkOne = (res: Resources | undefined, kind: 'limits' | 'reservations', flag: 'limit' | 'reserve'): void => {
    if (res === undefined) return;
    const field = `task.resources.${kind}`;
    if (!Number.isSafeInteger(res.nanoCpus) || res.nanoCpus < 0) push(`${field}.nano_cpus (--${flag}-cpu) must be a positive number of CPUs, not ${res.nanoCpus / 1e9}`);
    else if (res.nanoCpus > 0 && res.nanoCpus < minNanoCpus) push(`${field}.nano_cpus (--${flag}-cpu) must be at least ${formatCpus(minNanoCpus)}, not ${formatCpus(res.nanoCpus)}`);
    if (!Number.isSafeInteger(res.memoryBytes) || res.memoryBytes < 0) push(`${field}.memory_bytes (--${flag}-memory) must not be negative`);
    else if (res.memoryBytes > 0 && res.memoryBytes < minMemoryBytes) {
      push(`${field}.memory_bytes (--${flag}-memory) must be at least ${formatBytes(minMemoryBytes)}, not ${formatBytes(res.memoryBytes)}`);
    }
    push(countProblem(`${field}.pids${flag === 'limit' ? ' (--limit-pids)' : ''}`, res.pids));
  };
  checkOne(r.limits, 'limits', 'limit');
  checkOne(r.reservations, 'reservations', 'reserve');
  const limits = r.limits;
  const reservations = r.reservations;
  if (limits === undefined || reservations === undefined) return;
  if (limits.nanoCpus > 0 && reservations.nanoCpus > limits.nanoCpus) {
    push(`task.resources: the CPU reservation (--reserve-cpu ${formatCpus(reservations.nanoCpus)}) is more than the CPU limit (--limit-cpu ${formatCpus(limits.nanoCpus)})`);
  }
  if (limits.memoryBytes > 0 && reservations.memoryBytes > limits.memoryBytes) {
    push(
      `task.resources: the memory reservation (--reserve-memory ${formatBytes(reservations.memoryBytes)}) is more than the memory limit (--limit-memory ${formatBytes(limits.memoryBytes)})`,
    );
  }
  if (limits.pids > 0 && reservations.pids > limits.pids) {
    push(`task.resources: the pids reservation (${reservations.pids}) is more than the pids limit (--limit-pids ${limits.pids})`);
  }
}

function restartProblems(r: RestartPolicy | undefined, push: Push): void {
  if (r === undefined) return;
  push(enumProblem('task.restart.condition (--restart-condition)', r.condition, RestartCondition));
  push(nonNegativeDurationProblem('task.restart.delay (--restart-delay)', r.delay));
  push(nonNegativeDurationProblem('task.restart.window (--restart-window)', r.window));
  push(countProblem('task.restart.max_attempts (--restart-max-attempts)', r.maxAttempts));
}

function placementProblems(p: Placement | undefined, push: Push): void {
  if (p === undefined) return;
  if (p.constraints.length > maxTaskListEntries) push(`task.placement.constraints lists ${p.constraints.length}; at most ${maxTaskListEntries} are allowed`);
  p.constraints.forEach((c, i) => {
    try {
      parseConstraint(c);
    } catch (err) {
      push(`task.placement.constraints[${i}] (--constraint): ${errorMessage(err)}`);
    }
  });
  p.preferences.forEach((pref, i) => {
    const descriptor = pref.spread?.spreadDescriptor;
    if (descriptor === undefined || descriptor === '') {
      push(`task.placement.preferences[${i}] (--placement-pref) names no spread descriptor: want spread=node.labels.KEY`);
      return;
    }
    try {
      validateSpreadKey(descriptor);
    } catch (err) {
      push(`task.placement.preferences[${i}] (--placement-pref): ${errorMessage(err)}`);
    }
  });
  push(countProblem('task.placement.max_replicas (--replicas-max-per-node)', p.maxReplicas));
}
