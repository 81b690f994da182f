/**
 * The Control API: the node and cluster calls (request → response over the store, manager status
 * from the raft group, the manager-safety rules, spec validation, join token rotation) and the
 * service, task and network calls (spec validation with docker's rules, name resolution, filters),
 * each with its grpc-js handlers. See README.md.
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
export { ServiceControlApi, type ServiceControlApiOptions } from './service-control-api.js';
export { serviceControlHandlers, type ServiceTaskNetworkControlServer } from './service-handlers.js';
export { planServiceCreate, planServiceUpdate, planServiceRemoval, findService, serviceLabel, taskIsLive, type ServiceIdSource, type ServiceRemoval } from './services.js';
export { validateServiceSpec, updateConfigProblems, serviceModeOf, maxServiceLabels, type ServiceMode, type ServiceSpecOptions } from './service-spec.js';
export { taskSpecProblems, minMemoryBytes, minNanoCpus, minHealthDurationNanos, maxTaskListEntries } from './task-spec.js';
export { endpointSpecProblems, portConflict, needsIngress, portLabel, maxPort, maxEndpointPorts } from './endpoint-spec.js';
export { resolveServiceReferences, ingressNetworkOf } from './service-references.js';
export { planNetworkCreate, planNetworkRemoval, networkLabel, subnetsOf } from './networks.js';
export { validateNetworkSpec, requestedSubnet, overlayDriver, defaultIpamDriver, predefinedNetworkNames, maxNetworkLabels, maxIpamConfigs } from './network-spec.js';
export { resolveService, resolveNetwork, resolveNamed } from './resolve-named.js';
export { filterObjects, objectMatches, type NamedObject } from './object-filters.js';
export { filterTasks, taskMatches, taskName } from './task-filters.js';
export { randomName, freeRandomName, maxGeneratedNameAttempts } from './name-generator.js';
export { nameProblem, enumProblem, countProblem, objectNamePattern, maxObjectNameChars, formatBytes, formatCpus } from './spec-checks.js';
export { requireVersion, checkVersion, writtenObject, type StoreView } from './store-access.js';
export { SecretControlApi, type SecretControlApiOptions } from './secrets-control-api.js';
export { planSecretCreate, planSecretUpdate, planSecretRemoval, findSecret, validateSecretSpec, servicesReferencing, maxSecretDataBytes, maxSecretNameChars, secretNamePattern } from './secrets.js';
export { planConfigCreate, planConfigUpdate, planConfigRemoval, findConfig, validateConfigSpec } from './configs.js';
export { secretKeyOf, sealSecretData, openSecretData, revealSecret, redactSecret, isSealed } from './secrets-encryption.js';
