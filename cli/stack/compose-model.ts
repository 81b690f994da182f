/**
 * A compose project as read from its files, before it becomes specs: every value checked and in
 * its final type (durations in ms, sizes in bytes), names not yet prefixed with the stack, paths
 * absolute. A field left out of the file is `undefined`, so override files can be merged field by
 * field. Each element keeps the place it was written for the errors of later checks.
 */
import type { Pos } from './compose-error.js';

/** Service modes as compose writes them. */
export type ComposeMode = 'replicated' | 'global' | 'replicated-job' | 'global-job';

/** A published port (`8080:80/udp` or the long syntax). `published` 0: none, or the manager picks. */
export interface ComposePort {
  readonly target: number;
  readonly published: number;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  readonly mode: 'ingress' | 'host';
  readonly pos: Pos;
}

/** A service's attachment to a network of the file. */
export interface ComposeNetworkRef {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly pos: Pos;
}

/** A mount of a service: named (or anonymous) volume, bind mount or tmpfs. */
export interface ComposeMount {
  readonly type: 'volume' | 'bind' | 'tmpfs';
  /** A volume key of the file (volume), an absolute path (bind), '' (anonymous volume, tmpfs). */
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
  readonly noCopy: boolean;
  readonly tmpfsSizeBytes: number;
  readonly tmpfsMode: number;
  readonly pos: Pos;
}

/** A service's use of a secret or config of the file. */
export interface ComposeFileRef {
  readonly source: string;
  /** The path in the container ('' for the default). */
  readonly target: string;
  readonly uid: string;
  readonly gid: string;
  /** Permission bits; undefined for the default (0444). */
  readonly mode: number | undefined;
  readonly pos: Pos;
}

/** A health check; `test` ['NONE'] when disabled. */
export interface ComposeHealthcheck {
  readonly test?: readonly string[];
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  readonly retries?: number;
  readonly startPeriodMs?: number;
  readonly startIntervalMs?: number;
}

/** Compute a task may use or reserves. */
export interface ComposeResources {
  readonly nanoCpus?: number;
  readonly memoryBytes?: number;
  readonly pids?: number;
}

/** `deploy.restart_policy`. */
export interface ComposeRestartPolicy {
  readonly condition?: 'none' | 'on-failure' | 'any';
  readonly delayMs?: number;
  readonly maxAttempts?: number;
  readonly windowMs?: number;
}

/** `deploy.update_config` and `deploy.rollback_config`. */
export interface ComposeUpdateConfig {
  readonly parallelism?: number;
  readonly delayMs?: number;
  readonly failureAction?: 'pause' | 'continue' | 'rollback';
  readonly monitorMs?: number;
  readonly maxFailureRatio?: number;
  readonly order?: 'stop-first' | 'start-first';
}

/** `deploy.placement`. */
export interface ComposePlacement {
  readonly constraints?: readonly string[];
  readonly preferences?: readonly string[];
  readonly maxReplicasPerNode?: number;
}

/** `deploy`. */
export interface ComposeDeploy {
  readonly mode?: ComposeMode;
  readonly replicas?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly limits?: ComposeResources;
  readonly reservations?: ComposeResources;
  readonly restartPolicy?: ComposeRestartPolicy;
  readonly updateConfig?: ComposeUpdateConfig;
  readonly rollbackConfig?: ComposeUpdateConfig;
  readonly placement?: ComposePlacement;
  readonly endpointMode?: 'vip' | 'dnsrr';
}

/** One service of the file. */
export interface ComposeService {
  readonly name: string;
  readonly pos: Pos;
  readonly image?: string;
  readonly command?: readonly string[];
  readonly entrypoint?: readonly string[];
  /** Variables; env_file entries already folded in (environment wins). */
  readonly environment?: Readonly<Record<string, string>>;
  readonly ports?: readonly ComposePort[];
  /** Undefined: the stack's default network. */
  readonly networks?: readonly ComposeNetworkRef[];
  readonly volumes?: readonly ComposeMount[];
  readonly secrets?: readonly ComposeFileRef[];
  readonly configs?: readonly ComposeFileRef[];
  readonly healthcheck?: ComposeHealthcheck;
  readonly hostname?: string;
  readonly user?: string;
  readonly workingDir?: string;
  readonly stopGracePeriodMs?: number;
  readonly stopSignal?: string;
  /** Container labels. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly deploy?: ComposeDeploy;
  readonly init?: boolean;
  readonly readOnly?: boolean;
  readonly tty?: boolean;
  readonly stdinOpen?: boolean;
  readonly capAdd?: readonly string[];
  readonly capDrop?: readonly string[];
  readonly sysctls?: Readonly<Record<string, string>>;
  readonly groupAdd?: readonly string[];
}

/** A top-level network. */
export interface ComposeNetwork {
  readonly key: string;
  readonly pos: Pos;
  /** Set for `external`: the name of the existing network. */
  readonly externalName?: string;
  /** `name:`: used as is instead of STACK_key. */
  readonly name?: string;
  readonly driverOpts?: Readonly<Record<string, string>>;
  readonly attachable?: boolean;
  readonly internal?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
  readonly ipam?: readonly { readonly subnet: string; readonly ipRange?: string; readonly gateway?: string }[];
}

/** A top-level volume. */
export interface ComposeVolume {
  readonly key: string;
  readonly pos: Pos;
  readonly externalName?: string;
  readonly name?: string;
  readonly driver?: string;
  readonly driverOpts?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
}

/** A top-level secret or config: from a file (read at load), inline content (configs) or external. */
export interface ComposeFileObject {
  readonly key: string;
  readonly pos: Pos;
  readonly externalName?: string;
  readonly name?: string;
  readonly data?: Uint8Array;
  readonly labels?: Readonly<Record<string, string>>;
}

/** Everything the files declare. */
export interface ComposeProject {
  readonly services: ReadonlyMap<string, ComposeService>;
  readonly networks: ReadonlyMap<string, ComposeNetwork>;
  readonly volumes: ReadonlyMap<string, ComposeVolume>;
  readonly secrets: ReadonlyMap<string, ComposeFileObject>;
  readonly configs: ReadonlyMap<string, ComposeFileObject>;
}
