/** netd: the overlay network of one host. Pure plan from desired + observed state; thin apply; DNS. */
export * from './model.js';
export { desiredForHost, type ClusterEndpoint, type ClusterIngress, type ClusterService, type ClusterView } from './desired.js';
export { plan, type Operation, type Tool } from './plan.js';
export { nftRules, nftFingerprint, nftReplaceScript, nftDeleteScript, parseNftFingerprint } from './nft.js';
export { lbRules, lbScript, lbTable, lbFingerprint, noLbFingerprint } from './lb.js';
export { espSupported, refuseEncrypted, withoutNetworks, type RefusedNetwork } from './esp.js';
export { observe, parseLinks, parseFdb, parseNeighbours } from './observe.js';
export { apply, reconcile, toBatches, type Batch, type ReconcileReport } from './apply.js';
export {
  hostExecutor,
  namespaceWorkerScript,
  detectNamespaceTool,
  namespaceShellWorkers,
  netdCommandTimeoutMs,
  type NamespaceTool,
  type NetdExecutor,
  type NamespaceBatch,
  type HostPlace,
  type RunIn,
} from './executor.js';
export { DnsType, Rcode, DnsFormatError, parseQuery, encodeResponse, encodeError, encodeQuery, parseResponse, type DnsQuery } from './dns-message.js';
export { dnsZoneForHost, resolve, type DnsZone, type DnsDecision, type NetworkNames } from './dns-records.js';
export { DnsServer, parseResolvConf, dnsTtlSeconds, dnsForwardTimeoutMs, maxInflightForwards, type DnsServerOptions } from './dns-server.js';
export { clusterViewFor, localEndpointId, type HostSide, type HostClusterView, type LocalAttachment, type LocalAttachmentEndpoint } from './cluster-view.js';
export {
  HostAgent,
  startHostAgent,
  localOnlyView,
  localOnlyUnderlay,
  hostPlaceOf,
  netnsEnvVar,
  reconcileRetryInitialMs,
  reconcileRetryMaxMs,
  maxReconcileAttempts,
  resyncIntervalMs,
  attachTimeoutMs,
  type HostAgentOptions,
  type HostAgentStats,
  type StartHostAgentOptions,
} from './host-agent.js';
export { taskNetnsName, taskNetnsPrefix, netnsPath, existingTaskNamespaces, addNamespace, deleteNamespace, rootTaskNetnsPrefix, netnsRunDir } from './task-namespaces.js';
export { findUnderlay, deviceHolding, advertiseHost, type Underlay } from './underlay.js';
