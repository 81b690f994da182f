/**
 * How the node commands read their arguments and show nodes and tasks (pure; loaded with the
 * client): NODE references, `-f` filters, label flags, the `node ls` and `node ps` tables, the
 * docker-style inspect document and `--pretty` text.
 */
import { ErrorCode, TsswarmError, invalidArgument } from '../lib/errors.js';
import { resolveNode as resolveNodeRef } from '../manager/controlapi/resolve-node.js';
import { millisOf } from '../proto/time.js';
import {
  NodeAvailability,
  NodeRole,
  NodeState,
  Reachability,
  IssuanceState,
  TaskState,
  enumKey,
  type Node,
  type NodeSpec,
  type Task,
} from '../proto/index.js';
import { humanBytes, humanDuration, renderTable } from './output.js';

/** The reference `node ps` and friends use for the node the CLI talks to. */
export const selfRef = 'self';

/** Availability as users type it. */
export const availabilityNames = { active: NodeAvailability.ACTIVE, pause: NodeAvailability.PAUSE, drain: NodeAvailability.DRAIN } as const;
/** Roles as users type them. */
export const roleNames = { worker: NodeRole.WORKER, manager: NodeRole.MANAGER } as const;

/** Parses `--availability`. */
export function parseAvailability(text: string): NodeAvailability {
  const v = (availabilityNames as Readonly<Record<string, NodeAvailability>>)[text.toLowerCase()];
  if (v === undefined) throw invalidArgument(`invalid --availability ${JSON.stringify(text)}: use active, pause or drain`);
  return v;
}

/** Parses `--role`. */
export function parseRole(text: string): NodeRole {
  const v = (roleNames as Readonly<Record<string, NodeRole>>)[text.toLowerCase()];
  if (v === undefined) throw invalidArgument(`invalid --role ${JSON.stringify(text)}: use worker or manager`);
  return v;
}

function capitalize(s: string): string {
  return s.length === 0 ? s : s[0]?.toUpperCase() + s.slice(1).toLowerCase();
}

/** `ready`, `down`, `unknown`, `disconnected`. */
export function stateName(state: NodeState): string {
  return (enumKey(NodeState, state) ?? 'UNKNOWN').toLowerCase();
}
/** `active`, `pause`, `drain`. */
export function availabilityName(a: NodeAvailability): string {
  return (enumKey(NodeAvailability, a) ?? 'ACTIVE').toLowerCase();
}
/** `worker`, `manager`. */
export function roleName(r: NodeRole): string {
  return (enumKey(NodeRole, r) ?? 'WORKER').toLowerCase();
}

/** The MANAGER STATUS column: Leader, Reachable, Unreachable, Unknown; empty for workers. */
export function managerStatusText(node: Node): string {
  const m = node.managerStatus;
  if (!m) return '';
  if (m.leader) return 'Leader';
  return capitalize(enumKey(Reachability, m.reachability) ?? 'UNKNOWN');
}

/** The node's host name, falling back to the name in its spec. */
export function hostnameOf(node: Node): string {
  return node.description?.hostname || node.spec?.annotations?.name || '';
}

/** Whether the node's certificate was issued (`accepted`) or is still awaited (`pending`). */
export function membershipOf(node: Node): 'accepted' | 'pending' {
  return node.certificate?.status?.state === IssuanceState.PENDING ? 'pending' : 'accepted';
}

/** One row of `node ls`, with docker's field names (for `--format '{{.Hostname}}'`). */
export interface NodeRow {
  readonly ID: string;
  readonly Self: boolean;
  readonly Hostname: string;
  readonly Status: string;
  readonly Availability: string;
  readonly ManagerStatus: string;
  readonly EngineVersion: string;
}

/** The `node ls` row of a node. */
export function nodeRow(node: Node, selfId: string): NodeRow {
  return {
    ID: node.id,
    Self: node.id === selfId,
    Hostname: hostnameOf(node),
    Status: capitalize(stateName(node.status?.state ?? NodeState.UNKNOWN)),
    Availability: capitalize(availabilityName(node.spec?.availability ?? NodeAvailability.ACTIVE)),
    ManagerStatus: managerStatusText(node),
    EngineVersion: node.description?.engine?.engineVersion ?? '',
  };
}

/** Nodes in docker's order: by host name, then ID. */
export function sortNodes(nodes: readonly Node[]): Node[] {
  return [...nodes].sort((a, b) => hostnameOf(a).localeCompare(hostnameOf(b), 'en', { numeric: true }) || a.id.localeCompare(b.id));
}

/** The `node ls` table; the node the CLI talks to is marked `ID *`. */
export function nodeTable(rows: readonly NodeRow[]): string {
  return renderTable(
    ['ID', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'ENGINE VERSION'],
    rows.map((r) => [r.Self ? `${r.ID} *` : r.ID, r.Hostname, r.Status, r.Availability, r.ManagerStatus, r.EngineVersion]),
  );
}

/** `node ls -f` keys (role is the role the node's certificate grants, as the Control API filters). */
const nodeFilterKeys = ['id', 'name', 'label', 'node.label', 'role', 'membership'] as const;
type NodeFilterKey = (typeof nodeFilterKeys)[number];

/** Parsed `-f key=value` filters: values of one key are alternatives, keys must all match. */
export type NodeFilter = ReadonlyMap<NodeFilterKey, readonly string[]>;

/** Parses `-f` values; unknown keys and bad values are INVALID_ARGUMENT. */
export function parseNodeFilters(texts: readonly string[]): NodeFilter {
  const out = new Map<NodeFilterKey, string[]>();
  for (const text of texts) {
    const eq = text.indexOf('=');
    if (eq <= 0) throw invalidArgument(`bad filter ${JSON.stringify(text)}: use key=value (keys: ${nodeFilterKeys.join(', ')})`);
    const key = text.slice(0, eq);
    const value = text.slice(eq + 1);
    if (!(nodeFilterKeys as readonly string[]).includes(key)) throw invalidArgument(`invalid filter '${key}' (keys: ${nodeFilterKeys.join(', ')})`);
    const k = key as NodeFilterKey;
    if (k === 'role' && !['manager', 'worker'].includes(value.toLowerCase())) throw invalidArgument(`invalid filter 'role=${value}': use manager or worker`);
    if (k === 'membership' && !['accepted', 'pending'].includes(value.toLowerCase())) {
      throw invalidArgument(`invalid filter 'membership=${value}': use accepted or pending`);
    }
    if ((k === 'label' || k === 'node.label') && value.startsWith('=')) throw invalidArgument(`invalid filter '${text}': the label key is empty`);
    out.set(k, [...(out.get(k) ?? []), value]);
  }
  return out;
}

function labelMatches(labels: Readonly<Record<string, string>>, want: string): boolean {
  const eq = want.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, want);
  const key = want.slice(0, eq);
  return Object.hasOwn(labels, key) && labels[key] === want.slice(eq + 1);
}

function nodeMatches(node: Node, key: NodeFilterKey, value: string): boolean {
  switch (key) {
    case 'id':
      return node.id.startsWith(value);
    case 'name':
      return hostnameOf(node).startsWith(value) || (node.spec?.annotations?.name ?? '').startsWith(value);
    case 'label':
      return labelMatches(node.description?.engine?.labels ?? {}, value);
    case 'node.label':
      return labelMatches(node.spec?.annotations?.labels ?? {}, value);
    case 'role':
      return roleName(node.role) === value.toLowerCase();
    case 'membership':
      return membershipOf(node) === value.toLowerCase();
  }
}

/** The nodes that pass every filter key (any of its values). */
export function filterNodes(nodes: readonly Node[], filter: NodeFilter): Node[] {
  return nodes.filter((n) => [...filter].every(([key, values]) => values.some((v) => nodeMatches(n, key, v))));
}

/**
 * The node `ref` names: `self` (the node the CLI talks to), else as the Control API resolves it
 * (exact ID, exact host name, unique ID prefix; ambiguous → INVALID_ARGUMENT naming the candidates,
 * unknown → NOT_FOUND "node X not found").
 */
export function resolveNode(nodes: readonly Node[], ref: string, selfId: string): Node {
  if (ref !== selfRef) return resolveNodeRef(nodes, ref);
  if (selfId === '') throw new TsswarmError(ErrorCode.NOT_FOUND, 'this node is not part of a swarm, so "self" names no node');
  const self = nodes.find((n) => n.id === selfId);
  if (!self) throw new TsswarmError(ErrorCode.NOT_FOUND, `node ${selfId} (self) not found`);
  return self;
}

/** What `node update` changes. */
export interface NodeChange {
  readonly availability?: NodeAvailability;
  readonly role?: NodeRole;
  readonly labelAdd: readonly (readonly [string, string])[];
  readonly labelRm: readonly string[];
}

/** Parses `--label-add k=v|k` values (an empty key is INVALID_ARGUMENT). */
export function parseLabelAdds(texts: readonly string[]): [string, string][] {
  return texts.map((text) => {
    const eq = text.indexOf('=');
    const key = eq < 0 ? text : text.slice(0, eq);
    if (key.trim() === '') throw invalidArgument(`invalid --label-add ${JSON.stringify(text)}: the key is empty (use key=value or key)`);
    if (/\s/.test(key)) throw invalidArgument(`invalid --label-add ${JSON.stringify(text)}: the key contains white space`);
    return [key, eq < 0 ? '' : text.slice(eq + 1)];
  });
}

/** Parses `--label-rm k` values: a key alone. */
export function parseLabelRms(texts: readonly string[]): string[] {
  return texts.map((text) => {
    if (text.trim() === '') throw invalidArgument('invalid --label-rm "": the key is empty');
    if (text.includes('=')) throw invalidArgument(`invalid --label-rm ${JSON.stringify(text)}: give the key alone`);
    return text;
  });
}

/** The spec `change` makes of `spec`; removing a label the node lacks is INVALID_ARGUMENT, as docker. */
export function changedSpec(spec: NodeSpec | undefined, change: NodeChange): NodeSpec {
  const labels: Record<string, string> = { ...(spec?.annotations?.labels ?? {}) };
  for (const [k, v] of change.labelAdd) labels[k] = v;
  for (const k of change.labelRm) {
    if (!Object.hasOwn(labels, k)) throw invalidArgument(`key ${k} doesn't exist in node's labels`);
    delete labels[k];
  }
  return {
    annotations: { name: spec?.annotations?.name ?? '', labels },
    role: change.role ?? spec?.role ?? NodeRole.WORKER,
    availability: change.availability ?? spec?.availability ?? NodeAvailability.ACTIVE,
  };
}

function isoOf(t: Parameters<typeof millisOf>[0]): string {
  return new Date(millisOf(t)).toISOString();
}

/** A node as docker's API shows it (`node inspect`, `--format '{{.Spec.Role}}'`). */
export function nodeDocument(node: Node): Record<string, unknown> {
  const spec = node.spec;
  const d = node.description;
  return {
    ID: node.id,
    Version: { Index: node.meta?.version?.index ?? 0 },
    CreatedAt: isoOf(node.meta?.createdAt),
    UpdatedAt: isoOf(node.meta?.updatedAt),
    Spec: {
      ...(spec?.annotations?.name ? { Name: spec.annotations.name } : {}),
      Labels: spec?.annotations?.labels ?? {},
      Role: roleName(spec?.role ?? NodeRole.WORKER),
      Availability: availabilityName(spec?.availability ?? NodeAvailability.ACTIVE),
    },
    Description: {
      Hostname: d?.hostname ?? '',
      Platform: { Architecture: d?.platform?.architecture ?? '', OS: d?.platform?.os ?? '' },
      Resources: { NanoCPUs: d?.resources?.nanoCpus ?? 0, MemoryBytes: d?.resources?.memoryBytes ?? 0 },
      Engine: { EngineVersion: d?.engine?.engineVersion ?? '', Labels: d?.engine?.labels ?? {} },
    },
    Status: {
      State: stateName(node.status?.state ?? NodeState.UNKNOWN),
      ...(node.status?.message ? { Message: node.status.message } : {}),
      Addr: node.status?.addr ?? '',
    },
    ...(node.managerStatus
      ? {
          ManagerStatus: {
            Leader: node.managerStatus.leader,
            Reachability: (enumKey(Reachability, node.managerStatus.reachability) ?? 'UNKNOWN').toLowerCase(),
            Addr: node.managerStatus.addr,
          },
        }
      : {}),
  };
}

/** `node inspect --pretty`: docker's human layout. */
export function prettyNode(node: Node): string {
  const d = node.description;
  const lines = [`ID:\t\t\t${node.id}`];
  if (node.spec?.annotations?.name) lines.push(`Name:\t\t\t${node.spec.annotations.name}`);
  const labels = Object.entries(node.spec?.annotations?.labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (labels.length > 0) lines.push('Labels:', ...labels.map(([k, v]) => ` - ${k}${v === '' ? '' : `=${v}`}`));
  lines.push(`Hostname:\t\t${d?.hostname ?? ''}`);
  lines.push(`Joined at:\t\t${isoOf(node.meta?.createdAt)}`);
  lines.push('Status:');
  lines.push(` State:\t\t\t${capitalize(stateName(node.status?.state ?? NodeState.UNKNOWN))}`);
  if (node.status?.message) lines.push(` Message:\t\t${node.status.message}`);
  lines.push(` Availability:\t\t${capitalize(availabilityName(node.spec?.availability ?? NodeAvailability.ACTIVE))}`);
  lines.push(` Address:\t\t${node.status?.addr ?? ''}`);
  if (node.managerStatus) {
    lines.push('Manager Status:');
    lines.push(` Address:\t\t${node.managerStatus.addr}`);
    lines.push(` Raft Status:\t\t${capitalize(enumKey(Reachability, node.managerStatus.reachability) ?? 'UNKNOWN')}`);
    lines.push(` Leader:\t\t${node.managerStatus.leader ? 'Yes' : 'No'}`);
  }
  lines.push('Platform:');
  lines.push(` Operating System:\t${d?.platform?.os ?? ''}`);
  lines.push(` Architecture:\t\t${d?.platform?.architecture ?? ''}`);
  lines.push('Resources:');
  lines.push(` CPUs:\t\t\t${(d?.resources?.nanoCpus ?? 0) / 1e9}`);
  lines.push(` Memory:\t\t${humanBytes(d?.resources?.memoryBytes ?? 0)}`);
  const engineLabels = Object.entries(d?.engine?.labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (engineLabels.length > 0) lines.push('Engine Labels:', ...engineLabels.map(([k, v]) => ` - ${k}=${v}`));
  lines.push(`Engine Version:\t\t${d?.engine?.engineVersion ?? ''}`);
  return `${lines.join('\n')}\n`;
}

/** Longest ERROR cell of `node ps` before it is cut, as docker. */
const maxTaskErrorChars = 30;

/** A task state as docker words it: `Running`, `Shutdown`. */
export function taskStateText(state: TaskState): string {
  return capitalize(enumKey(TaskState, state) ?? 'UNKNOWN');
}

/** One row of `node ps`, with docker's field names. */
export interface TaskRow {
  readonly ID: string;
  readonly Name: string;
  readonly Image: string;
  readonly Node: string;
  readonly DesiredState: string;
  readonly CurrentState: string;
  readonly Error: string;
}

function taskName(task: Task): string {
  if (task.annotations?.name) return task.annotations.name;
  const service = task.serviceAnnotations?.name || task.serviceId;
  return `${service}.${task.slot > 0 ? task.slot : task.nodeId}`;
}

/**
 * The `node ps` rows: tasks grouped by slot, newest first; older tasks of a slot are shown as
 * ` \_ name`, as docker does.
 */
export function taskRows(tasks: readonly Task[], hostnames: ReadonlyMap<string, string>, nowMs: number, noTrunc: boolean): TaskRow[] {
  const sorted = [...tasks].sort(
    (a, b) => taskName(a).localeCompare(taskName(b), 'en', { numeric: true }) || millisOf(b.status?.timestamp) - millisOf(a.status?.timestamp) || a.id.localeCompare(b.id),
  );
  let previous = '';
  return sorted.map((task) => {
    const name = taskName(task);
    const history = name === previous;
    previous = name;
    const image = task.spec?.container?.image ?? '';
    const err = task.status?.err ?? '';
    const state = task.status?.state ?? TaskState.NEW;
    return {
      ID: noTrunc ? task.id : task.id.slice(0, 12),
      Name: history ? ` \\_ ${name}` : name,
      Image: noTrunc ? image : image.replace(/@sha256:[0-9a-f]+$/, ''),
      Node: hostnames.get(task.nodeId) ?? task.nodeId,
      DesiredState: taskStateText(task.desiredState),
      CurrentState: `${taskStateText(state)} ${humanDuration(nowMs - millisOf(task.status?.timestamp)).toLowerCase()} ago`,
      Error: err === '' ? '' : `"${!noTrunc && err.length > maxTaskErrorChars ? `${err.slice(0, maxTaskErrorChars - 1)}…` : err}"`,
    };
  });
}

/** The `node ps` table. */
export function taskTable(rows: readonly TaskRow[]): string {
  return renderTable(
    ['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR'],
    rows.map((r) => [r.ID, r.Name, r.Image, r.Node, r.DesiredState, r.CurrentState, r.Error]),
  );
}
