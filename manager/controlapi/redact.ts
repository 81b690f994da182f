/**
 * What leaves the managers: the cluster object without its root CA private key (as SwarmKit's
 * redactClusters). Every cluster the Control API returns goes through here.
 */
import type { Cluster } from '../../proto/index.js';

/** A copy of `cluster` with the root CA key emptied; the certificate, hash and join tokens stay. */
export function redactCluster(cluster: Cluster): Cluster {
  if (cluster.rootCa === undefined) return { ...cluster };
  return { ...cluster, rootCa: { ...cluster.rootCa, caKey: new Uint8Array(0) } };
}
