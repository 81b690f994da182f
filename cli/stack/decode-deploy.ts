/**
 * A service's `deploy:` section read into a {@link ComposeDeploy}: mode and replicas, labels,
 * resources, restart policy, update and rollback configs, placement and endpoint mode.
 */
import { parseConstraint } from '../../manager/scheduler/constraints.js';
import { fail } from './compose-error.js';
import type { ComposeDeploy, ComposePlacement, ComposeResources, ComposeRestartPolicy, ComposeUpdateConfig } from './compose-model.js';
import { ignoredReservationKeys } from './ignored-keys.js';
import { bytes, child, cpus, duration, eachKey, int, labels, list, map, num, oneOf, optionalMap, str } from './read-values.js';
import type { YNode } from './yaml-tree.js';

type Mutable<T> = { -readonly [K in keyof T]?: T[K] };

/** Reads `services.NAME.deploy`; `ignored` gets keys swarm does not use. */
export function decodeDeploy(node: YNode, path: string, ignored: (key: string) => void): ComposeDeploy {
  const d: Mutable<ComposeDeploy> = {};
  let replicasNode: YNode | undefined;
  eachKey(optionalMap(node, path), path, {
    mode: (v, p) => (d.mode = oneOf(v, p, ['replicated', 'global', 'replicated-job', 'global-job'] as const)),
    replicas: (v, p) => {
      d.replicas = int(v, p);
      replicasNode = v;
    },
    labels: (v, p) => (d.labels = labels(v, p)),
    resources: (v, p) =>
      eachKey(optionalMap(v, p), p, {
        limits: (x, q) => (d.limits = resources(x, q, [], ignored)),
        reservations: (x, q) => (d.reservations = resources(x, q, ignoredReservationKeys, ignored)),
      }),
    restart_policy: (v, p) => (d.restartPolicy = restartPolicy(v, p)),
    update_config: (v, p) => (d.updateConfig = updateConfig(v, p, ['pause', 'continue', 'rollback'])),
    rollback_config: (v, p) => (d.rollbackConfig = updateConfig(v, p, ['pause', 'continue'])),
    placement: (v, p) => (d.placement = placement(v, p)),
    endpoint_mode: (v, p) => (d.endpointMode = oneOf(v, p, ['vip', 'dnsrr'] as const)),
  });
  if (replicasNode !== undefined && (d.mode === 'global' || d.mode === 'global-job')) {
    fail(replicasNode.pos, child(path, 'replicas'), `replicas cannot be used with mode ${d.mode}`);
  }
  return d;
}

function resources(node: YNode, path: string, ignoredKeys: readonly string[], ignored: (key: string) => void): ComposeResources {
  const r: Mutable<ComposeResources> = {};
  eachKey(
    optionalMap(node, path),
    path,
    {
      cpus: (v, p) => (r.nanoCpus = cpus(v, p)),
      memory: (v, p) => (r.memoryBytes = bytes(v, p)),
      pids: (v, p) => (r.pids = int(v, p)),
    },
    ignoredKeys,
    (key) => ignored(`${path.replace(/^services\.[^.]+\./, '')}.${key}`),
  );
  return r;
}

function restartPolicy(node: YNode, path: string): ComposeRestartPolicy {
  const r: Mutable<ComposeRestartPolicy> = {};
  eachKey(optionalMap(node, path), path, {
    condition: (v, p) => (r.condition = oneOf(v, p, ['none', 'on-failure', 'any'] as const)),
    delay: (v, p) => (r.delayMs = duration(v, p)),
    max_attempts: (v, p) => (r.maxAttempts = int(v, p)),
    window: (v, p) => (r.windowMs = duration(v, p)),
  });
  return r;
}

function updateConfig(node: YNode, path: string, actions: readonly ('pause' | 'continue' | 'rollback')[]): ComposeUpdateConfig {
  const u: Mutable<ComposeUpdateConfig> = {};
  eachKey(optionalMap(node, path), path, {
    parallelism: (v, p) => (u.parallelism = int(v, p)),
    delay: (v, p) => (u.delayMs = duration(v, p)),
    failure_action: (v, p) => (u.failureAction = oneOf(v, p, actions)),
    monitor: (v, p) => (u.monitorMs = duration(v, p)),
    max_failure_ratio: (v, p) => (u.maxFailureRatio = num(v, p, 0, 1)),
    order: (v, p) => (u.order = oneOf(v, p, ['stop-first', 'start-first'] as const)),
  });
  return u;
}

function placement(node: YNode, path: string): ComposePlacement {
  const pl: Mutable<ComposePlacement> = {};
  eachKey(optionalMap(node, path), path, {
    constraints: (v, p) =>
      (pl.constraints = list(v, p).map((item, i) => {
        const q = child(p, i);
        try {
          return parseConstraint(str(item, q)).text;
        } catch (err) {
          if (!(err instanceof Error) || err.name !== 'TsswarmError') throw err;
          return fail(item.pos, q, err.message);
        }
      })),
    preferences: (v, p) =>
      (pl.preferences = list(v, p).map((item, i) => {
        const q = child(p, i);
        let spread = '';
        eachKey(map(item, q), q, { spread: (x, r) => (spread = str(x, r)) });
        if (spread === '') fail(item.pos, q, 'a preference needs spread: node.labels.KEY');
        return spread;
      })),
    max_replicas_per_node: (v, p) => (pl.maxReplicasPerNode = int(v, p)),
  });
  return pl;
}
