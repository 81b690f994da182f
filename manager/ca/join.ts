/**
 * The joining and renewing node's side of the CA service. Joining: fetch the root certificate over
 * an unverified TLS channel, check it against the digest in the join token, and only then, over a
 * channel that trusts just that root, send the CSR with the token; poll until the certificate is
 * issued. Renewing: the same request over the node's mTLS channel, with no token.
 */
import { Client, status, type ServiceError } from '@grpc/grpc-js';
import type { Clock } from '../../lib/clock.js';
import { RealClock } from '../../lib/clock.js';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { errorCodeKey } from '../../lib/rpc-errors.js';
import { CAService, IssuanceState, NodeAvailability, type GrpcMethod } from '../../proto/index.js';
import { parseJoinToken, verifyRootForToken } from './join-token.js';
import { createNodeKeyAndCsr, nodeTlsMaterial, type NodeTlsMaterial } from './node-cert.js';
import { joinChannelCredentials, mtlsChannelCredentials, unverifiedChannelCredentials } from './tls.js';

/** Time limit of each call to the CA. */
export const caCallTimeoutMs = 10_000;
/** Most NodeCertificateStatus polls before giving up. */
export const maxStatusPolls = 50;
/** Pause between NodeCertificateStatus polls. */
export const statusPollIntervalMs = 100;

/** Options of joinCluster. */
export interface JoinClusterOptions {
  /** A manager's address, host:port. */
  readonly address: string;
  readonly token: string;
  readonly availability?: NodeAvailability;
  /** For the pauses between polls; the real clock when left out. */
  readonly clock?: Clock;
}

/**
 * Gets a node certificate from the manager at `address` with a join token. Refuses (PERMISSION)
 * without sending the token when the manager's root CA is not the one the token pins.
 */
export async function joinCluster(options: JoinClusterOptions): Promise<NodeTlsMaterial> {
  parseJoinToken(options.token);
  const rootCertPem = await fetchRootCertificate(options.address);
  verifyRootForToken(options.token, rootCertPem);
  const { keyPem, csrPem } = await createNodeKeyAndCsr();
  const client = new Client(options.address, joinChannelCredentials(rootCertPem));
  try {
    const { nodeId } = await unary(client, options.address, CAService.issueNodeCertificate, {
      csr: new TextEncoder().encode(csrPem),
      token: options.token.trim(),
      availability: options.availability ?? NodeAvailability.ACTIVE,
    });
    const certPem = await pollCertificate(client, options.address, nodeId, options.clock ?? new RealClock());
    const material = await nodeTlsMaterial(rootCertPem, certPem, keyPem);
    if (material.identity.nodeId !== nodeId) {
      throw new TsswarmError(ErrorCode.PERMISSION, `the CA announced node ID ${nodeId} but issued a certificate for ${material.identity.nodeId}`);
    }
    return material;
  } finally {
    client.close();
  }
}

/** Gets a new certificate (new key) for the same node ID and role from the manager at `address`. */
export async function renewCertificate(address: string, current: NodeTlsMaterial, clock: Clock = new RealClock()): Promise<NodeTlsMaterial> {
  const { keyPem, csrPem } = await createNodeKeyAndCsr();
  const client = new Client(address, mtlsChannelCredentials(current, { clusterId: current.identity.clusterId }));
  try {
    const { nodeId } = await unary(client, address, CAService.issueNodeCertificate, {
      csr: new TextEncoder().encode(csrPem),
      token: '',
      availability: NodeAvailability.ACTIVE,
    });
    const certPem = await pollCertificate(client, address, nodeId, clock);
    const material = await nodeTlsMaterial(current.rootCertPem, certPem, keyPem, current.identity.clusterId);
    if (material.identity.nodeId !== current.identity.nodeId) {
      throw new TsswarmError(ErrorCode.PERMISSION, `renewal returned a certificate for ${material.identity.nodeId}, not ${current.identity.nodeId}`);
    }
    return material;
  } finally {
    client.close();
  }
}

/** The root CA certificate the manager at `address` presents, unverified: check it against a token before use. */
export async function fetchRootCertificate(address: string): Promise<string> {
  const client = new Client(address, unverifiedChannelCredentials());
  try {
    const response = await unary(client, address, CAService.getRootCACertificate, {});
    return new TextDecoder().decode(response.certificate);
  } finally {
    client.close();
  }
}

async function pollCertificate(client: Client, address: string, nodeId: string, clock: Clock): Promise<string> {
  for (let attempt = 0; attempt < maxStatusPolls; attempt++) {
    const response = await unary(client, address, CAService.nodeCertificateStatus, { nodeId });
    const state = response.status?.state ?? IssuanceState.UNKNOWN;
    if (state === IssuanceState.ISSUED && response.certificate !== undefined) {
      return new TextDecoder().decode(response.certificate.certificate);
    }
    if (state === IssuanceState.FAILED) {
      throw new TsswarmError(ErrorCode.PERMISSION, `the CA refused the certificate: ${response.status?.err ?? 'no reason given'}`);
    }
    await clock.sleep(statusPollIntervalMs);
  }
  throw new TsswarmError(ErrorCode.TIMEOUT, `the CA at ${address} did not issue a certificate after ${maxStatusPolls} polls`);
}

/** One unary call with a deadline; failures become TsswarmErrors (the server's code when it sent one). */
export function unary<Req, Res>(client: Client, address: string, method: GrpcMethod<Req, Res>, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      { deadline: Date.now() + caCallTimeoutMs },
      (err: ServiceError | null, response?: Res) => {
        if (err) reject(callError(err, address));
        else if (response === undefined) reject(new TsswarmError(ErrorCode.CORRUPT, `${method.path} returned no response`));
        else resolve(response);
      },
    );
  });
}

function callError(err: ServiceError, address: string): TsswarmError {
  const code = err.metadata?.get(errorCodeKey)[0];
  const known = Object.values(ErrorCode) as string[];
  if (typeof code === 'string' && known.includes(code)) return new TsswarmError(code as ErrorCode, err.details, { cause: err });
  if (err.code === status.UNAVAILABLE) return new TsswarmError(ErrorCode.CLOSED, `cannot reach manager at ${address}: ${err.details}`, { cause: err });
  if (err.code === status.DEADLINE_EXCEEDED) return new TsswarmError(ErrorCode.TIMEOUT, `manager at ${address} did not answer within ${caCallTimeoutMs} ms`, { cause: err });
  if (err.code === status.PERMISSION_DENIED) return new TsswarmError(ErrorCode.PERMISSION, err.details, { cause: err });
  return new TsswarmError(ErrorCode.EXTERNAL, `${address}: ${err.details || err.message}`, { cause: err });
}
