/**
 * The Control API's node and cluster calls: request → response over the store, manager status from
 * the raft group, the manager-safety rules, spec validation, join token rotation, and the grpc-js
 * handlers. See README.md.
 */
export { ControlApi, noLeaderMessage, type ControlApiOptions } from './control-api.js';
export { controlHandlers, type NodeClusterControlServer } from './handlers.js';
export { withManagerStatus, managerStatusOf, memberOfNode, type RaftMember, type RaftMembership } from './raft-membership.js';
export { filterNodes, nodeMatches, labelsMatch } from './node-filters.js';
export { resolveNode, maxAmbiguousCandidatesShown } from './resolve-node.js';
export { validateNodeSpec, labelProblems, maxNodeLabels, maxLabelKeyChars, maxLabelValueChars, maxNodeNameChars } from './node-spec.js';
export { checkDemotion, checkRemoval, desiredRole, isSteadyManager, quorumOf } from './manager-safety.js';
export { validateClusterSpec, minHeartbeatPeriodMs, maxHeartbeatPeriodMs, maxRaftTicks, maxClusterLabels } from './cluster-spec.js';
export { rotateJoinTokens, rootCaDigestHex, type RandomBytes } from './join-token-rotation.js';
export { redactCluster } from './redact.js';
