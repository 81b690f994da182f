/**
 * Checking a ServiceSpec a user sends with CreateService or UpdateService, with docker's rules:
 * the name, labels, the mode (replicated, global, replicated-job, global-job), the task template
 * (task-spec.ts), the update and rollback configs, and the endpoint (endpoint-spec.ts). Every
 * problem is reported at once, in one INVALID_ARGUMENT error whose sentences name the fields.
 * Pure: references to networks, secrets and configs are checked against the store elsewhere
 * (service-references.ts).
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { UpdateFailureAction, UpdateOrder, type ServiceSpec, type UpdateConfig } from '../../proto/index.js';
import { endpointSpecProblems } from './endpoint-spec.js';
import { labelProblems } from './node-spec.js';
import { countProblem, enumProblem, nameProblem, nonNegativeDurationProblem } from './spec-checks.js';
import { taskSpecProblems } from './task-spec.js';

/** Most labels a service's spec may carry. */
export const maxServiceLabels = 256;

/** The modes of a service, as docker names them (`--mode`). */
export type ServiceMode = 'replicated' | 'global' | 'replicated-job' | 'global-job';

/** The mode a spec asks for; a spec that names none is replicated (docker's default). */
export function serviceModeOf(spec: ServiceSpec | undefined): ServiceMode {
  if (spec?.global !== undefined) return 'global';
  if (spec?.replicatedJob !== undefined) return 'replicated-job';
  if (spec?.globalJob !== undefined) return 'global-job';
  return 'replicated';
}

function modesGiven(spec: ServiceSpec): ServiceMode[] {
  const given: ServiceMode[] = [];
  if (spec.replicated !== undefined) given.push('replicated');
  if (spec.global !== undefined) given.push('global');
  if (spec.replicatedJob !== undefined) given.push('replicated-job');
  if (spec.globalJob !== undefined) given.push('global-job');
  return given;
}

/** What validateServiceSpec needs besides the spec. */
export interface ServiceSpecOptions {
  /** False on create (a missing name is generated) and on update (a missing name keeps the service's). */
  readonly nameRequired?: boolean;
}

/**
 * The spec to store: `spec` checked, with docker's defaults filled in (no mode → replicated with 1
 * replica; a replicated job's total completions default to its max concurrency, and that to the
 * completions; both to 1). Throws INVALID_ARGUMENT listing every problem.
 */
export function validateServiceSpec(spec: ServiceSpec | undefined, options: ServiceSpecOptions = {}): ServiceSpec {
  if (spec === undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'invalid service spec: a spec is required');
  const problems: string[] = [];
  const push = (p: string | undefined): void => {
    if (p !== undefined) problems.push(p);
  };
  const name = spec.annotations?.name ?? '';
  if (name === '') {
    if (options.nameRequired === true) problems.push('a service name is required (--name)');
  } else {
    push(nameProblem('service', name));
  }
  problems.push(...labelProblems(spec.annotations?.labels ?? {}, maxServiceLabels));

  const normalized = structuredClone(spec);
  const modes = modesGiven(spec);
  if (modes.length > 1) problems.push(`mode: a service has one mode, not ${modes.join(' and ')}`);
  if (modes.length === 0) normalized.replicated = { replicas: 1 };
  if (spec.replicated !== undefined) push(countProblem('mode.replicated.replicas (--replicas)', spec.replicated.replicas));
  if (spec.replicatedJob !== undefined && normalized.replicatedJob !== undefined) {
    const job = spec.replicatedJob;
    const completionsProblem = countProblem('mode.replicated_job.total_completions (--replicas)', job.totalCompletions);
    const concurrentProblem = countProblem('mode.replicated_job.max_concurrent (--max-concurrent)', job.maxConcurrent);
    push(completionsProblem);
    push(concurrentProblem);
    if (completionsProblem === undefined && concurrentProblem === undefined) {
      const total = job.totalCompletions || job.maxConcurrent || 1;
      normalized.replicatedJob = { totalCompletions: total, maxConcurrent: job.maxConcurrent || total };
    }
  }
  const mode = serviceModeOf(spec);
  if ((mode === 'global' || mode === 'global-job') && (spec.task?.placement?.maxReplicas ?? 0) > 0) {
    problems.push(`task.placement.max_replicas (--replicas-max-per-node) can only be used with replicated mode, not ${mode}`);
  }

  problems.push(...taskSpecProblems(spec.task));
  if (spec.update !== undefined) problems.push(...updateConfigProblems(spec.update, 'update'));
  if (spec.rollback !== undefined) problems.push(...updateConfigProblems(spec.rollback, 'rollback'));
  problems.push(...endpointSpecProblems(spec.endpoint));
  if (problems.length > 0) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `invalid service spec: ${problems.join('; ')}`);
  return normalized;
}

/** Every problem of an update or rollback config; a rollback cannot itself fail over to a rollback. */
export function updateConfigProblems(config: UpdateConfig, which: 'update' | 'rollback'): string[] {
  const problems: string[] = [];
  const push = (p: string | undefined): void => {
    if (p !== undefined) problems.push(p);
  };
  push(countProblem(`${which}.parallelism (--${which}-parallelism)`, config.parallelism));
  push(nonNegativeDurationProblem(`${which}.delay (--${which}-delay)`, config.delay));
  push(nonNegativeDurationProblem(`${which}.monitor (--${which}-monitor)`, config.monitor));
  push(enumProblem(`${which}.failure_action (--${which}-failure-action)`, config.failureAction, UpdateFailureAction));
  if (which === 'rollback' && config.failureAction === UpdateFailureAction.ROLLBACK) {
    problems.push('rollback.failure_action (--rollback-failure-action) must be pause or continue: a rollback cannot roll back');
  }
  if (!(config.maxFailureRatio >= 0 && config.maxFailureRatio <= 1)) {
    problems.push(`${which}.max_failure_ratio (--${which}-max-failure-ratio) must be from 0 to 1, not ${config.maxFailureRatio}`);
  }
  push(enumProblem(`${which}.order (--${which}-order)`, config.order, UpdateOrder));
  return problems;
}
