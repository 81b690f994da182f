/**
 * Who a node certificate says its holder is: node ID (subject CN), role (subject OU) and cluster
 * ID (subject O). Read from PEM, DER or a TLS peer certificate with Node's own X.509 parser.
 */
import { X509Certificate } from 'node:crypto';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { isId } from '../../lib/ids.js';
import { NodeRole } from '../../proto/index.js';

/** The role a node certificate grants. */
export type CertRole = 'manager' | 'worker';

/** The subject OU of each role, as Docker Swarm writes it. */
export const roleOrgUnit = {
  manager: 'swarm-manager',
  worker: 'swarm-worker',
} as const satisfies Record<CertRole, string>;

/** The identity a node certificate carries. */
export interface NodeIdentity {
  readonly nodeId: string;
  readonly role: CertRole;
  readonly clusterId: string;
}

/** The proto NodeRole of a certificate role. */
export function nodeRoleOf(role: CertRole): NodeRole {
  return role === 'manager' ? NodeRole.MANAGER : NodeRole.WORKER;
}

/** The certificate role of a proto NodeRole. */
export function certRoleOf(role: NodeRole): CertRole {
  return role === NodeRole.MANAGER ? 'manager' : 'worker';
}

/** Node's parsed certificate from PEM text or DER bytes; CORRUPT when it does not parse. */
export function parseCertificate(data: string | Uint8Array, what: string): X509Certificate {
  try {
    return new X509Certificate(typeof data === 'string' ? data : Buffer.from(data));
  } catch (err) {
    throw new TsswarmError(ErrorCode.CORRUPT, `${what}: not a valid X.509 certificate: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The subject attributes of `cert` as one value per key. A key that appears twice, or a value
 * that would need escaping, is refused: node certificates never carry either.
 */
export function subjectAttributes(cert: X509Certificate): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of cert.subject.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new TsswarmError(ErrorCode.PERMISSION, `certificate subject has a malformed attribute ${JSON.stringify(line)}`);
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (out.has(key)) throw new TsswarmError(ErrorCode.PERMISSION, `certificate subject has more than one ${key}`);
    out.set(key, value);
  }
  return out;
}

/**
 * The node identity in a node certificate. PERMISSION when the subject is not that of a tsswarm
 * node certificate (missing or malformed CN, OU or O).
 */
export function identityOf(cert: X509Certificate): NodeIdentity {
  const subject = subjectAttributes(cert);
  const nodeId = subject.get('CN') ?? '';
  const ou = subject.get('OU') ?? '';
  const clusterId = subject.get('O') ?? '';
  if (!isId(nodeId)) throw new TsswarmError(ErrorCode.PERMISSION, `certificate CN ${JSON.stringify(nodeId)} is not a node ID`);
  if (!isId(clusterId)) throw new TsswarmError(ErrorCode.PERMISSION, `certificate O ${JSON.stringify(clusterId)} is not a cluster ID`);
  let role: CertRole;
  if (ou === roleOrgUnit.manager) role = 'manager';
  else if (ou === roleOrgUnit.worker) role = 'worker';
  else throw new TsswarmError(ErrorCode.PERMISSION, `certificate OU ${JSON.stringify(ou)} is not a node role (swarm-manager or swarm-worker)`);
  return { nodeId, role, clusterId };
}
