/**
 * How the service commands name and show services and their tasks (pure): SERVICE and NETWORK
 * references, the `service ls` and `service ps` tables with docker's columns, the docker-style
 * inspect document and `--pretty` text.
 */
import { ErrorCode, TsswarmError, invalidArgument } from '../lib/errors.js';
import { millisOf } from '../proto/time.js';
import {
  EndpointMode,
  MountType,
  NodeState,
  PortProtocol,
  PublishMode,
  RestartCondition,
  TaskState,
  UpdateFailureAction,
  UpdateOrder,
  UpdateState,
  RebalanceMode,
  enumKey,
  type Duration,
  type Node,
  type PortConfig,
  type Service,
  type ServiceSpec,
  type Task,
  type UpdateConfig,
} from '../proto/index.js';
import { modeNameOf } from './service-flags.js';
import { humanBytes, humanDuration, renderTable } from './output.js';

/** Most candidates an "ambiguous" error names. */
const maxAmbiguousShown = 10;
/** Longest ERROR cell of `service ps` before it is cut, as docker. */
const maxTaskErrorChars = 30;
/** Length of a shortened ID, as docker. */
export const shortIdChars = 12;

/** Something with an ID and a name that a user may refer to. */
export interface Named {
  readonly id: string;
  readonly name: string;
}

/**
 * The object `ref` names, as docker resolves it: an exact ID, then an exact name, then a unique ID
 * prefix. Ambiguous → INVALID_ARGUMENT naming the candidates; none → NOT_FOUND "KIND X not found".
 */
export function resolveRef<T>(items: readonly T[], ref: string, kind: string, named: (item: T) => Named): T {
  if (ref === '') throw invalidArgument(`a ${kind} name or ID is required`);
  const byId = items.find((i) => named(i).id === ref);
  if (byId !== undefined) return byId;
  const byName = items.filter((i) => named(i).name === ref);
  if (byName.length === 1 && byName[0] !== undefined) return byName[0];
  const byPrefix = byName.length > 1 ? byName : items.filter((i) => named(i).id.startsWith(ref));
  if (byPrefix.length === 1 && byPrefix[0] !== undefined) return byPrefix[0];
  if (byPrefix.length > 1) {
    const shown = byPrefix.slice(0, maxAmbiguousShown).map((i) => `${named(i).id} (${named(i).name})`);
    const more = byPrefix.length > shown.length ? `, and ${byPrefix.length - shown.length} more` : '';
    throw invalidArgument(`${kind} ${ref} is ambiguous (${byPrefix.length} matches: ${shown.join(', ')}${more}); use a longer ID`);
  }
  throw new TsswarmError(ErrorCode.NOT_FOUND, `${kind} ${ref} not found`);
}

/** A service's ID and name, for {@link resolveRef}. */
export function serviceNamed(s: Service): Named {
  return { id: s.id, name: s.spec?.annotations?.name ?? '' };
}

/** The service named `ref`. */
export function resolveService(services: readonly Service[], ref: string): Service {
  return resolveRef(services, ref, 'service', serviceNamed);
}

/** The service's name (its ID when it has none). */
export function serviceName(s: Service): string {
  return s.spec?.annotations?.name || s.id;
}

/** `replicated`, `global`, `replicated job`, `global job`: docker's MODE column. */
export function modeText(spec: ServiceSpec | undefined): string {
  return modeNameOf(spec).replace('-', ' ');
}

/** An image without its digest, as docker's tables show it. */
export function shortImage(image: string): string {
  return image.replace(/@sha256:[0-9a-f]+$/, '');
}

function protocolName(p: PortProtocol): string {
  return (enumKey(PortProtocol, p) ?? 'TCP').toLowerCase();
}

/**
 * `*:8080->80/tcp` cells, consecutive ports folded into ranges (`*:8000-8001->80-81/tcp`); only
 * ingress ports unless `all` (a task's own published ports).
 */
export function portsText(ports: readonly PortConfig[], all = false): string {
  const chosen = all ? ports : ports.filter((p) => p.publishMode === PublishMode.INGRESS);
  const sorted = [...chosen].sort((a, b) => a.protocol - b.protocol || a.publishedPort - b.publishedPort || a.targetPort - b.targetPort);
  const out: string[] = [];
  let run: { pub: number; tgt: number; n: number; proto: PortProtocol } | undefined;
  const flush = (): void => {
    if (!run) return;
    const range = (start: number): string => (run && run.n > 1 ? `${start}-${start + run.n - 1}` : `${start}`);
    out.push(`*:${range(run.pub)}->${range(run.tgt)}/${protocolName(run.proto)}`);
    run = undefined;
  };
  for (const p of sorted) {
    if (run && p.protocol === run.proto && run.pub !== 0 && p.publishedPort === run.pub + run.n && p.targetPort === run.tgt + run.n) run.n++;
    else {
      flush();
      run = { pub: p.publishedPort, tgt: p.targetPort, n: 1, proto: p.protocol };
    }
  }
  flush();
  return out.join(',');
}

/** The ports a service publishes: as allocated when the manager did, else as asked. */
export function servicePorts(s: Service): PortConfig[] {
  const allocated = s.endpoint?.ports ?? [];
  return allocated.length > 0 ? allocated : (s.spec?.endpoint?.ports ?? []);
}

/** Running, desired and completed task counts of a service, as docker's ServiceStatus. */
export interface ServiceCounts {
  readonly running: number;
  readonly desired: number;
  readonly completed: number;
}

/**
 * Counts as docker's `service ls` does: running tasks that should run, on nodes that are not
 * down; desired is the replica count (replicated), the tasks that should run (global), or the
 * tasks still to complete (jobs).
 */
export function serviceCounts(s: Service, tasks: readonly Task[], nodes: readonly Node[]): ServiceCounts {
  const down = new Set(nodes.filter((n) => n.status?.state === NodeState.DOWN).map((n) => n.id));
  const mine = tasks.filter((t) => t.serviceId === s.id);
  const wanted = mine.filter((t) => t.desiredState <= TaskState.RUNNING);
  const running = wanted.filter((t) => t.status?.state === TaskState.RUNNING && !down.has(t.nodeId)).length;
  const completed = mine.filter((t) => t.status?.state === TaskState.COMPLETE).length;
  const mode = modeNameOf(s.spec);
  if (mode === 'replicated') return { running, desired: s.spec?.replicated?.replicas ?? 0, completed };
  if (mode === 'global') return { running, desired: wanted.length, completed };
  return { running, desired: wanted.filter((t) => (t.status?.state ?? TaskState.NEW) < TaskState.COMPLETE).length, completed };
}

/** docker's REPLICAS cell: `3/3`, `1/3 (max 1 per node)`, `0/1 (2/3 completed)` for jobs. */
export function replicasText(s: Service, c: ServiceCounts): string {
  const mode = modeNameOf(s.spec);
  if (mode === 'replicated-job') return `${c.running}/${c.desired} (${c.completed}/${s.spec?.replicatedJob?.totalCompletions ?? 0} completed)`;
  if (mode === 'global-job') return `${c.running}/${c.desired} (${c.completed}/${c.desired + c.completed} completed)`;
  const max = s.spec?.task?.placement?.maxReplicas ?? 0;
  return max > 0 ? `${c.running}/${c.desired} (max ${max} per node)` : `${c.running}/${c.desired}`;
}

/** One row of `service ls`, with docker's field names. */
export interface ServiceRow {
  readonly ID: string;
  readonly Name: string;
  readonly Mode: string;
  readonly Replicas: string;
  readonly Image: string;
  readonly Ports: string;
}

/** The `service ls` row of a service. */
export function serviceRow(s: Service, tasks: readonly Task[], nodes: readonly Node[], noTrunc = false): ServiceRow {
  const image = s.spec?.task?.container?.image ?? '';
  return {
    ID: noTrunc ? s.id : s.id.slice(0, shortIdChars),
    Name: serviceName(s),
    Mode: modeText(s.spec),
    Replicas: replicasText(s, serviceCounts(s, tasks, nodes)),
    Image: noTrunc ? image : shortImage(image),
    Ports: portsText(servicePorts(s)),
  };
}

/** Services in docker's order: by name. */
export function sortServices(services: readonly Service[]): Service[] {
  return [...services].sort((a, b) => serviceName(a).localeCompare(serviceName(b), 'en', { numeric: true }) || a.id.localeCompare(b.id));
}

/** The `service ls` table. */
export function serviceTable(rows: readonly ServiceRow[]): string {
  return renderTable(
    ['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'],
    rows.map((r) => [r.ID, r.Name, r.Mode, r.Replicas, r.Image, r.Ports]),
  );
}

/** `service ls -f` keys. */
const serviceFilterKeys = ['id', 'name', 'label', 'mode'] as const;
type ServiceFilterKey = (typeof serviceFilterKeys)[number];
/** Parsed `-f` filters of `service ls`. */
export type ServiceFilter = ReadonlyMap<ServiceFilterKey, readonly string[]>;

/** `ps -f` keys. */
const taskFilterKeys = ['id', 'name', 'node', 'desired-state'] as const;
type TaskFilterKey = (typeof taskFilterKeys)[number];
/** Parsed `-f` filters of `service ps`. */
export type TaskFilter = ReadonlyMap<TaskFilterKey, readonly string[]>;

function parseFilters<K extends string>(texts: readonly string[], keys: readonly K[], check: (key: K, value: string) => void): Map<K, string[]> {
  const out = new Map<K, string[]>();
  for (const text of texts) {
    const eq = text.indexOf('=');
    if (eq <= 0) throw invalidArgument(`bad filter ${JSON.stringify(text)}: use key=value (keys: ${keys.join(', ')})`);
    const key = text.slice(0, eq);
    if (!(keys as readonly string[]).includes(key)) throw invalidArgument(`invalid filter '${key}' (keys: ${keys.join(', ')})`);
    const value = text.slice(eq + 1);
    check(key as K, value);
    out.set(key as K, [...(out.get(key as K) ?? []), value]);
  }
  return out;
}

/** Parses `service ls -f` values. */
export function parseServiceFilters(texts: readonly string[]): ServiceFilter {
  return parseFilters(texts, serviceFilterKeys, (key, value) => {
    if (key === 'mode' && !['replicated', 'global', 'replicated-job', 'global-job'].includes(value)) {
      throw invalidArgument(`invalid filter 'mode=${value}': use replicated, global, replicated-job or global-job`);
    }
  });
}

/** Parses `service ps -f` values. */
export function parseTaskFilters(texts: readonly string[]): TaskFilter {
  return parseFilters(texts, taskFilterKeys, (key, value) => {
    if (key === 'desired-state' && !['running', 'shutdown', 'accepted'].includes(value.toLowerCase())) {
      throw invalidArgument(`invalid filter 'desired-state=${value}': use running, shutdown or accepted`);
    }
  });
}

function labelMatches(labels: Readonly<Record<string, string>>, want: string): boolean {
  const eq = want.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, want);
  const key = want.slice(0, eq);
  return Object.hasOwn(labels, key) && labels[key] === want.slice(eq + 1);
}

/** The services that pass every filter key (any of its values). */
export function filterServices(services: readonly Service[], filter: ServiceFilter): Service[] {
  const match = (s: Service, key: ServiceFilterKey, v: string): boolean => {
    switch (key) {
      case 'id':
        return s.id.startsWith(v);
      case 'name':
        return serviceName(s).startsWith(v);
      case 'label':
        return labelMatches(s.spec?.annotations?.labels ?? {}, v);
      case 'mode':
        return modeNameOf(s.spec) === v;
    }
  };
  return services.filter((s) => [...filter].every(([key, values]) => values.some((v) => match(s, key, v))));
}

/** A task state as docker words it: `Running`, `Shutdown`. */
export function taskStateText(state: TaskState): string {
  const k = (enumKey(TaskState, state) ?? 'UNKNOWN').toLowerCase();
  return k[0]?.toUpperCase() + k.slice(1);
}

/** `web.1` for a replicated task, `web.NODEID` for a global one (the service's ID with --no-resolve). */
export function taskName(task: Task, service: string): string {
  return `${service}.${task.slot > 0 ? task.slot : task.nodeId}`;
}

/** The host-mode ports a running task holds: as its worker reported them, else as its endpoint asks. */
export function taskHostPorts(task: Task): PortConfig[] {
  if (task.status?.state !== TaskState.RUNNING) return [];
  const reported = task.status.portStatus?.ports ?? [];
  if (reported.length > 0) return [...reported];
  return (task.endpoint?.ports ?? []).filter((p) => p.publishMode === PublishMode.HOST && p.publishedPort > 0);
}

/** One row of `service ps`, with docker's field names. */
export interface ServiceTaskRow {
  readonly ID: string;
  readonly Name: string;
  readonly Image: string;
  readonly Node: string;
  readonly DesiredState: string;
  readonly CurrentState: string;
  readonly Error: string;
  readonly Ports: string;
  /** Why the task runs on its node (the scheduler's ranking, or "rebalanced from node X"); JSON and templates only. */
  readonly Placement: string;
}

/** What `service ps` needs beside the tasks. */
export interface TaskContext {
  /** Service ID → name shown (the ID itself with --no-resolve). */
  readonly serviceNames: ReadonlyMap<string, string>;
  /** Node ID → host name (empty with --no-resolve). */
  readonly hostnames: ReadonlyMap<string, string>;
  readonly nowMs: number;
  readonly noTrunc: boolean;
}

/** The tasks that pass every filter key; `node` matches a node ID (prefix) or host name. */
export function filterTasks(tasks: readonly Task[], filter: TaskFilter, ctx: TaskContext): Task[] {
  const match = (t: Task, key: TaskFilterKey, v: string): boolean => {
    switch (key) {
      case 'id':
        return t.id.startsWith(v);
      case 'name':
        return taskName(t, ctx.serviceNames.get(t.serviceId) ?? t.serviceId).startsWith(v);
      case 'node':
        return t.nodeId !== '' && (t.nodeId.startsWith(v) || ctx.hostnames.get(t.nodeId) === v);
      case 'desired-state': {
        const want = v.toLowerCase();
        if (want === 'running') return t.desiredState === TaskState.RUNNING;
        if (want === 'shutdown') return t.desiredState === TaskState.SHUTDOWN;
        return t.desiredState === TaskState.ACCEPTED;
      }
    }
  };
  return tasks.filter((t) => [...filter].every(([key, values]) => values.some((v) => match(t, key, v))));
}

/**
 * The `service ps` rows: tasks by name (slot), newest first; the older tasks of a slot are shown as
 * ` \_ web.1`, as docker does.
 */
export function serviceTaskRows(tasks: readonly Task[], ctx: TaskContext): ServiceTaskRow[] {
  const nameOf = (t: Task): string => taskName(t, ctx.serviceNames.get(t.serviceId) ?? t.serviceId);
  const created = (t: Task): number => millisOf(t.meta?.createdAt) || millisOf(t.status?.timestamp);
  const sorted = [...tasks].sort(
    (a, b) =>
      nameOf(a).localeCompare(nameOf(b), 'en', { numeric: true }) ||
      created(b) - created(a) ||
      (b.meta?.version?.index ?? 0) - (a.meta?.version?.index ?? 0) ||
      a.id.localeCompare(b.id),
  );
  let previous = '';
  return sorted.map((task) => {
    const name = nameOf(task);
    const history = name === previous;
    previous = name;
    const image = task.spec?.container?.image ?? '';
    const err = task.status?.err ?? '';
    const state = task.status?.state ?? TaskState.NEW;
    return {
      ID: ctx.noTrunc ? task.id : task.id.slice(0, shortIdChars),
      Name: history ? ` \\_ ${name}` : name,
      Image: ctx.noTrunc ? image : shortImage(image),
      Node: ctx.hostnames.get(task.nodeId) || task.nodeId,
      DesiredState: taskStateText(task.desiredState),
      CurrentState: `${taskStateText(state)} ${humanDuration(ctx.nowMs - millisOf(task.status?.timestamp)).toLowerCase()} ago`,
      Error: err === '' ? '' : `"${!ctx.noTrunc && err.length > maxTaskErrorChars ? `${err.slice(0, maxTaskErrorChars - 1)}…` : err}"`,
      Ports: portsText(taskHostPorts(task), true),
      Placement: task.placementReason ?? '',
    };
  });
}

/** The `service ps` table. */
export function serviceTaskTable(rows: readonly ServiceTaskRow[]): string {
  return renderTable(
    ['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR', 'PORTS'],
    rows.map((r) => [r.ID, r.Name, r.Image, r.Node, r.DesiredState, r.CurrentState, r.Error, r.Ports]),
  );
}

function ns(d: Duration | undefined): number {
  return d ? d.seconds * 1e9 + d.nanos : 0;
}

function isoOf(t: Parameters<typeof millisOf>[0]): string {
  return new Date(millisOf(t)).toISOString();
}

/** An update state as docker's API spells it: updating, paused, completed, rollback_started, ... */
export function updateStateText(state: UpdateState): string {
  return (enumKey(UpdateState, state) ?? 'unknown').toLowerCase();
}

function lowerKey<T extends Readonly<Record<string, number>>>(table: T, v: number, fallback: string): string {
  return (enumKey(table, v as T[keyof T]) ?? fallback).toLowerCase().replace(/_/g, '-');
}

function nonEmpty<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => !(v === undefined || v === '' || v === 0 || v === false || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0))),
  ) as Partial<T>;
}

function updateConfigDocument(u: UpdateConfig | undefined): Record<string, unknown> | undefined {
  if (!u) return undefined;
  return {
    Parallelism: u.parallelism,
    ...(ns(u.delay) ? { Delay: ns(u.delay) } : {}),
    FailureAction: lowerKey(UpdateFailureAction, u.failureAction, 'pause'),
    Monitor: ns(u.monitor),
    MaxFailureRatio: u.maxFailureRatio,
    Order: lowerKey(UpdateOrder, u.order, 'stop_first'),
  };
}

function portDocument(p: PortConfig): Record<string, unknown> {
  return {
    ...(p.name ? { Name: p.name } : {}),
    Protocol: protocolName(p.protocol),
    TargetPort: p.targetPort,
    PublishedPort: p.publishedPort,
    PublishMode: lowerKey(PublishMode, p.publishMode, 'ingress'),
    ...(p.localOnly === true ? { Mesh: 'local' } : {}),
  };
}

/** A ServiceSpec as docker's API shows it. */
export function specDocument(spec: ServiceSpec): Record<string, unknown> {
  const t = spec.task;
  const c = t?.container;
  const mode = modeNameOf(spec);
  return {
    Name: spec.annotations?.name ?? '',
    Labels: spec.annotations?.labels ?? {},
    TaskTemplate: {
      ContainerSpec: {
        Image: c?.image ?? '',
        ...nonEmpty({
          Labels: c?.labels ?? {},
          Command: c?.command ?? [],
          Args: c?.args ?? [],
          Hostname: c?.hostname ?? '',
          Env: c?.env ?? [],
          Dir: c?.dir ?? '',
          User: c?.user ?? '',
          Mounts: (c?.mounts ?? []).map((m) => ({
            Type: lowerKey(MountType, m.type, 'bind'),
            Source: m.source,
            Target: m.target,
            ...(m.readOnly ? { ReadOnly: true } : {}),
            ...(m.tmpfsOptions ? { TmpfsOptions: nonEmpty({ SizeBytes: m.tmpfsOptions.sizeBytes, Mode: m.tmpfsOptions.mode }) } : {}),
          })),
          StopSignal: c?.stopSignal ?? '',
          StopGracePeriod: ns(c?.stopGracePeriod),
          ReadOnly: c?.readOnly ?? false,
          Secrets: (c?.secrets ?? []).map((r) => ({ File: fileTargetDoc(r.file), SecretID: r.secretId, SecretName: r.secretName })),
          Configs: (c?.configs ?? []).map((r) => ({ File: fileTargetDoc(r.file), ConfigID: r.configId, ConfigName: r.configName })),
        }),
        ...(c?.healthcheck
          ? {
              Healthcheck: nonEmpty({
                Test: c.healthcheck.test,
                Interval: ns(c.healthcheck.interval),
                Timeout: ns(c.healthcheck.timeout),
                StartPeriod: ns(c.healthcheck.startPeriod),
                StartInterval: ns(c.healthcheck.startInterval),
                Retries: c.healthcheck.retries,
              }),
            }
          : {}),
        Init: c?.init ?? false,
      },
      Resources: {
        Limits: nonEmpty({ NanoCPUs: t?.resources?.limits?.nanoCpus ?? 0, MemoryBytes: t?.resources?.limits?.memoryBytes ?? 0, Pids: t?.resources?.limits?.pids ?? 0 }),
        Reservations: nonEmpty({ NanoCPUs: t?.resources?.reservations?.nanoCpus ?? 0, MemoryBytes: t?.resources?.reservations?.memoryBytes ?? 0 }),
      },
      ...(t?.restart
        ? {
            RestartPolicy: {
              Condition: lowerKey(RestartCondition, t.restart.condition, 'any'),
              Delay: ns(t.restart.delay),
              MaxAttempts: t.restart.maxAttempts,
              ...(ns(t.restart.window) ? { Window: ns(t.restart.window) } : {}),
            },
          }
        : {}),
      Placement: nonEmpty({
        Constraints: t?.placement?.constraints ?? [],
        Preferences: (t?.placement?.preferences ?? []).map((p) => ({ Spread: { SpreadDescriptor: p.spread?.spreadDescriptor ?? '' } })),
        MaxReplicas: t?.placement?.maxReplicas ?? 0,
      }),
      ...((t?.networks.length ?? 0) > 0
        ? { Networks: t?.networks.map((n) => ({ Target: n.target, ...nonEmpty({ Aliases: n.aliases, DriverOpts: n.driverAttachmentOpts }) })) }
        : {}),
      ForceUpdate: t?.forceUpdate ?? 0,
      Runtime: 'container',
    },
    Mode:
      mode === 'replicated'
        ? { Replicated: { Replicas: spec.replicated?.replicas ?? 0 } }
        : mode === 'global'
          ? { Global: {} }
          : mode === 'replicated-job'
            ? { ReplicatedJob: { MaxConcurrent: spec.replicatedJob?.maxConcurrent ?? 0, TotalCompletions: spec.replicatedJob?.totalCompletions ?? 0 } }
            : { GlobalJob: {} },
    ...(spec.update ? { UpdateConfig: updateConfigDocument(spec.update) } : {}),
    ...(spec.rollback ? { RollbackConfig: updateConfigDocument(spec.rollback) } : {}),
    EndpointSpec: { Mode: lowerKey(EndpointMode, spec.endpoint?.mode ?? EndpointMode.VIP, 'vip'), ...((spec.endpoint?.ports.length ?? 0) > 0 ? { Ports: spec.endpoint?.ports.map(portDocument) } : {}) },
    ...(spec.rebalance !== undefined && spec.rebalance !== RebalanceMode.DEFAULT ? { Rebalance: lowerKey(RebalanceMode, spec.rebalance, 'default') } : {}),
  };
}

/** A service as docker's API shows it (`service inspect`, `--format '{{.Spec.Name}}'`). */
export function serviceDocument(s: Service): Record<string, unknown> {
  const u = s.updateStatus;
  return {
    ID: s.id,
    Version: { Index: s.meta?.version?.index ?? 0 },
    CreatedAt: isoOf(s.meta?.createdAt),
    UpdatedAt: isoOf(s.meta?.updatedAt),
    Spec: specDocument(s.spec ?? {}),
    ...(s.previousSpec ? { PreviousSpec: specDocument(s.previousSpec) } : {}),
    Endpoint: {
      Spec: { Mode: lowerKey(EndpointMode, s.endpoint?.spec?.mode ?? s.spec?.endpoint?.mode ?? EndpointMode.VIP, 'vip'), ...((s.endpoint?.spec?.ports.length ?? 0) > 0 ? { Ports: s.endpoint?.spec?.ports.map(portDocument) } : {}) },
      ...((s.endpoint?.ports.length ?? 0) > 0 ? { Ports: s.endpoint?.ports.map(portDocument) } : {}),
      ...((s.endpoint?.virtualIps.length ?? 0) > 0 ? { VirtualIPs: s.endpoint?.virtualIps.map((v) => ({ NetworkID: v.networkId, Addr: v.addr })) } : {}),
    },
    ...(u && u.state !== UpdateState.UNKNOWN
      ? { UpdateStatus: { State: updateStateText(u.state), ...(u.startedAt ? { StartedAt: isoOf(u.startedAt) } : {}), ...(u.completedAt ? { CompletedAt: isoOf(u.completedAt) } : {}), Message: u.message } }
      : {}),
  };
}

function goDuration(d: Duration | undefined): string {
  const ms = millisOf(d);
  if (ms === 0) return '0s';
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

/** `service inspect --pretty`: docker's human layout. `networkNames` maps IDs to names. */
export function prettyService(s: Service, networkNames: ReadonlyMap<string, string>): string {
  const spec = s.spec;
  const c = spec?.task?.container;
  const lines = [`ID:\t\t${s.id}`, `Name:\t\t${spec?.annotations?.name ?? ''}`];
  const labels = Object.entries(spec?.annotations?.labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (labels.length > 0) lines.push('Labels:', ...labels.map(([k, v]) => ` ${k}=${v}`));
  const mode = modeNameOf(spec);
  if (mode === 'replicated') lines.push('Service Mode:\tReplicated', ` Replicas:\t${spec?.replicated?.replicas ?? 0}`);
  else if (mode === 'global') lines.push('Service Mode:\tGlobal');
  else if (mode === 'replicated-job') lines.push('Service Mode:\tReplicatedJob', ` Max Concurrent:\t${spec?.replicatedJob?.maxConcurrent ?? 0}`, ` Total Completions:\t${spec?.replicatedJob?.totalCompletions ?? 0}`);
  else lines.push('Service Mode:\tGlobalJob');
  const u = s.updateStatus;
  if (u && u.state !== UpdateState.UNKNOWN) {
    lines.push('UpdateStatus:', ` State:\t\t${updateStateText(u.state)}`);
    if (u.startedAt) lines.push(` Started:\t${humanDuration(Date.now() - millisOf(u.startedAt))} ago`);
    if (u.completedAt) lines.push(` Completed:\t${humanDuration(Date.now() - millisOf(u.completedAt))} ago`);
    lines.push(` Message:\t${u.message}`);
  }
  const placement = spec?.task?.placement;
  if (placement && (placement.constraints.length > 0 || placement.preferences.length > 0 || placement.maxReplicas > 0)) {
    lines.push('Placement:');
    if (placement.constraints.length > 0) lines.push(` Constraints:\t[${placement.constraints.join(' ')}]`);
    if (placement.preferences.length > 0) lines.push(` Preferences:\t[${placement.preferences.map((p) => `{Spread=${p.spread?.spreadDescriptor ?? ''}}`).join(' ')}]`);
    if (placement.maxReplicas > 0) lines.push(` Max Replicas Per Node:\t${placement.maxReplicas}`);
  }
  const updateLines = (title: string, u2: UpdateConfig | undefined, orderWord: string): void => {
    if (!u2) return;
    lines.push(`${title}:`, ` Parallelism:\t${u2.parallelism}`);
    if (ns(u2.delay)) lines.push(` Delay:\t\t${goDuration(u2.delay)}`);
    lines.push(` On failure:\t${lowerKey(UpdateFailureAction, u2.failureAction, 'pause')}`);
    lines.push(` Monitoring Period: ${goDuration(u2.monitor)}`);
    lines.push(` Max failure ratio: ${u2.maxFailureRatio}`);
    lines.push(` ${orderWord} order:      ${lowerKey(UpdateOrder, u2.order, 'stop_first')}`);
  };
  updateLines('UpdateConfig', spec?.update, 'Update');
  updateLines('RollbackConfig', spec?.rollback, 'Rollback');
  if (mode === 'replicated') {
    const r = spec?.rebalance ?? RebalanceMode.DEFAULT;
    lines.push(`Rebalance:	${r === RebalanceMode.DEFAULT ? 'default (the cluster setting)' : lowerKey(RebalanceMode, r, 'default')}`);
  }
  lines.push('ContainerSpec:', ` Image:\t\t${c?.image ?? ''}`);
  if ((c?.args.length ?? 0) > 0) lines.push(` Args:\t\t${c?.args.join(' ')}`);
  if ((c?.env.length ?? 0) > 0) lines.push(` Env:\t\t${c?.env.join(' ')}`);
  if (c?.dir) lines.push(` Dir:\t\t${c.dir}`);
  if (c?.user) lines.push(` User: ${c.user}`);
  lines.push(` Init:\t\t${c?.init ? 'true' : 'false'}`);
  if (c?.stopGracePeriod) lines.push(` StopGracePeriod: ${goDuration(c.stopGracePeriod)}`);
  if (c?.stopSignal) lines.push(` StopSignal:\t${c.stopSignal}`);
  const h = c?.healthcheck;
  if (h && h.test.length > 0) {
    if (h.test[0] === 'NONE') lines.push(' Healthcheck:\tnone');
    else {
      lines.push(' Healthcheck:');
      if (h.test.length > 1) lines.push(`  Test:\t\t${h.test.slice(1).join(' ')}`);
      if (h.interval) lines.push(`  Interval:\t${goDuration(h.interval)}`);
      if (h.timeout) lines.push(`  Timeout:\t${goDuration(h.timeout)}`);
      if (h.startPeriod) lines.push(`  StartPeriod:\t${goDuration(h.startPeriod)}`);
      if (h.retries) lines.push(`  Retries:\t${h.retries}`);
    }
  }
  if ((c?.secrets.length ?? 0) > 0) {
    lines.push('Secrets:');
    for (const r of c?.secrets ?? []) lines.push(` Target:\t${r.file?.name ?? ''}`, `  Source:\t${r.secretName}`);
  }
  if ((c?.configs.length ?? 0) > 0) {
    lines.push('Configs:');
    for (const r of c?.configs ?? []) lines.push(` Target:\t${r.file?.name ?? ''}`, `  Source:\t${r.configName}`);
  }
  if ((c?.mounts.length ?? 0) > 0) {
    lines.push('Mounts:');
    for (const m of c?.mounts ?? []) lines.push(` Target:\t${m.target}`, `  Source:\t${m.source}`, `  ReadOnly:\t${m.readOnly}`, `  Type:\t\t${lowerKey(MountType, m.type, 'bind')}`);
  }
  const r = spec?.task?.resources;
  const res = (title: string, x: { nanoCpus: number; memoryBytes: number; pids: number } | undefined): void => {
    if (!x || (x.nanoCpus === 0 && x.memoryBytes === 0 && x.pids === 0)) return;
    lines.push(` ${title}:`);
    if (x.nanoCpus) lines.push(`  CPU:\t\t${x.nanoCpus / 1e9}`);
    if (x.memoryBytes) lines.push(`  Memory:\t${humanBytes(x.memoryBytes)}`);
    if (x.pids) lines.push(`  PIDs:\t\t${x.pids}`);
  };
  if (r && [r.limits, r.reservations].some((x) => x && (x.nanoCpus || x.memoryBytes || x.pids))) {
    lines.push('Resources:');
    res('Reservations', r.reservations);
    res('Limits', r.limits);
  }
  const nets = spec?.task?.networks ?? [];
  if (nets.length > 0) lines.push(`Networks:\t${nets.map((n) => networkNames.get(n.target) ?? n.target).join(' ')}`);
  lines.push(`Endpoint Mode:\t${lowerKey(EndpointMode, spec?.endpoint?.mode ?? EndpointMode.VIP, 'vip')}`);
  const ports = servicePorts(s);
  if (ports.length > 0) {
    lines.push('Ports:');
    for (const p of ports) {
      lines.push(` PublishedPort = ${p.publishedPort}`, `  Protocol = ${protocolName(p.protocol)}`, `  TargetPort = ${p.targetPort}`, `  PublishMode = ${lowerKey(PublishMode, p.publishMode, 'ingress')}`);
      if (p.localOnly === true) lines.push('  Mesh = local (this host\'s tasks only; client address kept)');
    }
  }
  return `${lines.join('\n')}\n`;
}

/** A secret's or config's file target as docker's JSON shows it (Mode as a number, e.g. 292 for 0444). */
function fileTargetDoc(f: { readonly name: string; readonly uid: string; readonly gid: string; readonly mode: number } | undefined): Record<string, unknown> {
  return { Name: f?.name ?? '', UID: f?.uid ?? '0', GID: f?.gid ?? '0', Mode: f?.mode ?? 0o444 };
}
