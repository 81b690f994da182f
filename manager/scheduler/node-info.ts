/**
 * The scheduler's view of nodes and tasks: plain data derived from the store, so the scheduler core
 * stays pure.
 */

/** A node as the scheduler sees it. */
export interface NodeInfo {
  readonly id: string;
  readonly hostname: string;
  readonly role: 'manager' | 'worker';
  readonly ready: boolean;
  readonly availability: 'active' | 'pause' | 'drain';
  readonly labels: Readonly<Record<string, string>>;
  readonly engineLabels: Readonly<Record<string, string>>;
  readonly platform: { readonly os: string; readonly architecture: string };
  /** What is left after the reservations of the tasks it runs. */
  readonly available: { readonly nanoCpus: number; readonly memoryBytes: number };
  /** Tasks it runs (not finished), all services. */
  readonly taskCount: number;
  /** Tasks it runs, by service ID. */
  readonly tasksByService: Readonly<Record<string, number>>;
  /** Host-mode published ports in use, as "tcp/8080". */
  readonly hostPorts: ReadonlySet<string>;
}

/** What a group of identical tasks (same service, same spec) asks of a node. */
export interface TaskGroup {
  readonly serviceId: string;
  /** IDs of the tasks to place, all alike. */
  readonly taskIds: readonly string[];
  readonly reservations: { readonly nanoCpus: number; readonly memoryBytes: number };
  /** Constraint expressions, e.g. "node.labels.zone==b". */
  readonly constraints: readonly string[];
  /** Spread preferences, outermost first: label keys such as "node.labels.zone". */
  readonly spreadOver: readonly string[];
  /** 0 means no limit. */
  readonly maxReplicasPerNode: number;
  /** Host-mode published ports, as "tcp/8080". */
  readonly hostPorts: readonly string[];
  /** Accepted platforms; empty means any. */
  readonly platforms: readonly { readonly os: string; readonly architecture: string }[];
}

/** Where the scheduler put a task. */
export interface Placement {
  readonly taskId: string;
  readonly nodeId: string;
  /** Why this node: the spread branches and the node ranking that chose it. */
  readonly reason: string;
}

/** A task the scheduler could not place, and why. */
export interface Unplaced {
  readonly taskId: string;
  readonly reason: string;
}
