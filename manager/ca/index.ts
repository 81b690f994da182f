/**
 * The cluster's certificate authority and mutual TLS: root CA, join tokens, node certificates by
 * CSR, renewal timing, gRPC credentials and per-call authorization. See README.md.
 */
export {
  createRootCa,
  rootCaFromPem,
  parseRootCertificate,
  certificateDigestHex,
  saveRootCa,
  loadRootCa,
  rootCaMessage,
  rootCaFromMessage,
  rootCommonName,
  rootValidityMs,
  rootCertFile,
  rootKeyFile,
  type RootCa,
  type CreateRootCaOptions,
} from './root-ca.js';
export {
  newJoinToken,
  formatJoinToken,
  parseJoinToken,
  verifyRootForToken,
  joinTokensEqual,
  joinTokenPrefix,
  type ParsedJoinToken,
} from './join-token.js';
export {
  CertificateAuthority,
  parseCsr,
  defaultCertExpiryMs,
  minCertExpiryMs,
  type CertificateAuthorityOptions,
  type IssuedCertificate,
  type JoinRequest,
  type RenewRequest,
} from './authority.js';
export {
  identityOf,
  parseCertificate,
  nodeRoleOf,
  certRoleOf,
  roleOrgUnit,
  type CertRole,
  type NodeIdentity,
} from './identity.js';
export {
  createNodeKeyAndCsr,
  nodeTlsMaterial,
  validityOf,
  saveNodeTlsMaterial,
  loadNodeTlsMaterial,
  type NodeKeyAndCsr,
  type NodeTlsMaterial,
} from './node-cert.js';
export { renewalTimeMs, renewalDelayMs, scheduleRenewal, renewalWindowStart, renewalWindowEnd, type Validity } from './renewal.js';
export {
  mtlsServerCredentials,
  mtlsChannelCredentials,
  joinChannelCredentials,
  unverifiedChannelCredentials,
  tlsVersion,
  type TlsKeyMaterial,
  type ServerTlsOptions,
  type ServerExpectation,
} from './tls.js';
export {
  peerIdentity,
  authorize,
  requiredRole,
  authorizationInterceptor,
  anonymousMethods,
  workerServices,
  type AuthorizationOptions,
} from './authz.js';
export { caService, maxIssuedCertificatesKept, type CAServiceOptions, type IssuedEvent } from './ca-service.js';
export { joinCluster, renewCertificate, fetchRootCertificate, type JoinClusterOptions } from './join.js';
