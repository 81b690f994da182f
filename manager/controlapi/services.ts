/**
 * What CreateService, UpdateService and RemoveService decide, as pure functions of the store's
 * contents, with SwarmKit's rules: a checked spec with docker's defaults and network names
 * resolved to IDs; a free name (a generated one when none is given); no published port another
 * service holds; on update the version the caller read, no renaming, no change of mode, and the
 * old spec kept as previous_spec (a rollback swaps them back). Tasks are not made here: the
 * orchestrator makes them from the stored service.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import type { Rng } from '../../lib/rng.js';
import { RebalanceMode, Service, ServiceRollback, TaskState, UpdateState, type ServiceSpec, type Task, type UpdateServiceRequest } from '../../proto/index.js';
import { timestampFromMs } from '../../proto/time.js';
import { maxActionsPerBatch } from '../store/index.js';
import { portConflict } from './endpoint-spec.js';
import { freeRandomName } from './name-generator.js';
import { resolveServiceReferences } from './service-references.js';
import { serviceModeOf, validateServiceSpec } from './service-spec.js';
import { enumProblem } from './spec-checks.js';
import { checkVersion, requireVersion, type StoreView } from './store-access.js';

/** The update status message of a rollback the user asked for (SwarmKit's words). */
export const manualRollbackMessage = 'manually requested rollback';

/** INVALID_ARGUMENT for a rebalance mode that is not one of RebalanceMode (the spec checks predate it). */
function checkRebalance(spec: ServiceSpec | undefined): void {
  if (spec?.rebalance === undefined) return;
  const problem = enumProblem('rebalance', spec.rebalance, RebalanceMode);
  if (problem !== undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, problem);
  if (spec.rebalance !== RebalanceMode.DEFAULT && spec.replicated === undefined) {
    throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'rebalance: only replicated services are rebalanced (--rebalance)');
  }
}

/** Where new service IDs and generated names come from. */
export interface ServiceIdSource {
  readonly newId: () => string;
  readonly rng: Rng;
}

/** How a service is named in messages. */
export function serviceLabel(service: Service): string {
  return service.spec?.annotations?.name || service.id;
}

/** The service with exactly this ID; INVALID_ARGUMENT without one, NOT_FOUND "service X not found". */
export function findService(view: StoreView, serviceId: string): Service {
  if (serviceId === '') throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'a service ID is required');
  const service = view.get('service', serviceId);
  if (service === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, `service ${serviceId} not found`);
  return service;
}

function throwIfPortsTaken(view: StoreView, spec: ServiceSpec, selfId: string): void {
  const conflict = portConflict(spec, view.list('service'), selfId);
  if (conflict !== undefined) throw conflict;
}

/**
 * The service CreateService stores for `spec` (without tasks). INVALID_ARGUMENT for a bad spec or
 * reference, NOT_FOUND for an unknown network, ALREADY_EXISTS "service X already exists", CONFLICT
 * for a published port another service holds or a routing-mesh port without an ingress network.
 */
export function planServiceCreate(view: StoreView, spec: ServiceSpec | undefined, ids: ServiceIdSource): Service {
  const checked = validateServiceSpec(spec, { nameRequired: false });
  checkRebalance(checked);
  const given = checked.annotations?.name ?? '';
  if (given !== '' && view.byName('service', given) !== undefined) throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `service ${given} already exists`);
  const resolved = resolveServiceReferences(checked, view);
  throwIfPortsTaken(view, resolved, '');
  if (given === '') {
    const name = freeRandomName(ids.rng, (n) => view.byName('service', n) !== undefined);
    if (name === undefined) throw new TsswarmError(ErrorCode.CONFLICT, 'no free random service name was found; give one with --name');
    resolved.annotations = { name, labels: checked.annotations?.labels ?? {} };
  }
  return Service.create({ id: ids.newId(), spec: resolved, specVersion: { index: 0 } });
}

/**
 * The service UpdateService stores: the new spec (or, with rollback PREVIOUS, the previous one,
 * the current becoming previous), `previousSpec` the spec it replaces, `specVersion` the version
 * the caller read, and meta at that version for the store's sequence check. INVALID_ARGUMENT for a
 * bad request or spec, a rename or a mode change; NOT_FOUND for an unknown service or network;
 * CONFLICT "update out of sequence" for a stale version, for a rollback without a previous spec, a
 * published port another service holds, or a service being removed. The update status is the
 * orchestrator's, except that a rollback sets ROLLBACK_STARTED ("manually requested rollback") and
 * any other update clears it (a paused update then resumes with the new spec).
 */
export function planServiceUpdate(view: StoreView, request: UpdateServiceRequest, nowMs: number = Date.now()): Service {
  if (request.serviceId === '') throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'a service ID is required');
  const read = requireVersion(request.serviceVersion, 'service');
  const rollbackProblem = enumProblem('rollback', request.rollback, ServiceRollback);
  if (rollbackProblem !== undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, rollbackProblem);
  const service = findService(view, request.serviceId);
  const label = serviceLabel(service);
  if (service.pendingDelete) throw new TsswarmError(ErrorCode.CONFLICT, `service ${label} is being removed`);
  const current = service.spec;
  if (current === undefined) throw new TsswarmError(ErrorCode.CONFLICT, `service ${label} has no spec to update`);
  let next: ServiceSpec;
  if (request.rollback === ServiceRollback.PREVIOUS) {
    checkVersion('service', service.id, service.meta?.version, read);
    if (service.previousSpec === undefined) throw new TsswarmError(ErrorCode.CONFLICT, `service ${label} does not have a previous spec`);
    next = resolveServiceReferences(service.previousSpec, view);
  } else {
    const checked = validateServiceSpec(request.spec, { nameRequired: false });
    checkRebalance(checked);
    checkVersion('service', service.id, service.meta?.version, read);
    const name = current.annotations?.name ?? '';
    const asked = checked.annotations?.name ?? '';
    if (asked === '') checked.annotations = { name, labels: checked.annotations?.labels ?? {} };
    else if (asked !== name) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `renaming services is not supported: service ${name} cannot become ${asked}`);
    const from = serviceModeOf(current);
    const to = serviceModeOf(checked);
    if (from !== to) {
      throw new TsswarmError(
        ErrorCode.INVALID_ARGUMENT,
        `service mode change is not allowed: service ${name} is ${from}, not ${to}; remove it and create it again in the new mode`,
      );
    }
    next = resolveServiceReferences(checked, view);
  }
  throwIfPortsTaken(view, next, service.id);
  const { updateStatus: _replaced, ...rest } = service;
  // A rollback starts at once (the orchestrator paces it with the rollback config); any other
  // update clears the status, so a paused update resumes with the new spec (as SwarmKit does).
  const rollback = request.rollback === ServiceRollback.PREVIOUS;
  return {
    ...rest,
    spec: next,
    previousSpec: current,
    specVersion: { index: read },
    meta: { ...service.meta, version: { index: read } },
    ...(rollback ? { updateStatus: { state: UpdateState.ROLLBACK_STARTED, startedAt: timestampFromMs(nowMs), message: manualRollbackMessage } } : {}),
  };
}

/** True while a task's container may still run (its observed state is not final). */
export function taskIsLive(task: Task): boolean {
  return (task.status?.state ?? TaskState.NEW) < TaskState.COMPLETE;
}

/** What RemoveService does to a service. */
export type ServiceRemoval =
  /** No task of it is live (and its finished tasks fit in one batch): remove it and them now. */
  | { readonly kind: 'remove'; readonly service: Service; readonly taskIds: readonly string[] }
  /** Tasks still run: mark it pending delete; the orchestrator shuts them down and removes it. */
  | { readonly kind: 'mark'; readonly service: Service }
  /** Already marked: nothing to write. */
  | { readonly kind: 'none'; readonly service: Service };

/** What RemoveService does (see ServiceRemoval). INVALID_ARGUMENT without an ID, NOT_FOUND "service X not found". */
export function planServiceRemoval(view: StoreView, serviceId: string): ServiceRemoval {
  const service = findService(view, serviceId);
  const tasks = view.tasksOfService(service.id);
  // More finished tasks than one batch holds: let the orchestrator remove them (and the service) in steps.
  if (!tasks.some(taskIsLive) && tasks.length < maxActionsPerBatch) return { kind: 'remove', service, taskIds: tasks.map((t) => t.id) };
  if (service.pendingDelete) return { kind: 'none', service };
  return { kind: 'mark', service: { ...service, pendingDelete: true } };
}
