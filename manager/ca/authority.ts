/**
 * The certificate authority on managers: it holds the root key and the current join tokens, checks
 * a joining node's token (the role comes from which token matched), and signs the node's CSR into a
 * certificate with subject CN=<node ID>, OU=<swarm-manager|swarm-worker>, O=<cluster ID>. Renewal
 * takes no token: the caller's current, authenticated certificate keeps its node ID and role.
 */
import { createHash } from 'node:crypto';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { isId, newId } from '../../lib/ids.js';
import type { JoinTokens } from '../../proto/index.js';
import { roleOrgUnit, type CertRole, type NodeIdentity } from './identity.js';
import { joinTokensEqual, newJoinToken, parseJoinToken } from './join-token.js';
import { certBackdateMs, randomSerialHex, type RootCa } from './root-ca.js';
import { ecdsaP256, x509 } from './x509.js';

/** Default lifetime of a node certificate: 90 days (`swarm update --cert-expiry`). */
export const defaultCertExpiryMs = 90 * 24 * 60 * 60 * 1000;
/** Shortest node certificate lifetime accepted (as Docker: one hour). */
export const minCertExpiryMs = 60 * 60 * 1000;
/** Largest CSR accepted, PEM bytes. */
export const maxCsrBytes = 16 * 1024;
/** Most extra DNS names one certificate may carry. */
export const maxDnsNames = 16;
/** How many rotated-out tokens are remembered, so that using one gets a clear error. */
export const maxRetiredTokens = 16;

/** Options of a CertificateAuthority. */
export interface CertificateAuthorityOptions {
  /** The root CA (with its key). */
  readonly root: RootCa;
  /** The cluster ID every certificate carries as O. */
  readonly clusterId: string;
  /** Tokens restored from the cluster object; new ones are made when left out. */
  readonly joinTokens?: JoinTokens;
  /** Lifetime of issued certificates; defaultCertExpiryMs when left out. */
  readonly certExpiryMs?: number;
  /** Wall-clock time in ms since the epoch (certificates carry wall time); Date.now when left out. */
  readonly wallNowMs?: () => number;
  /** Makes the ID of a joining node; lib/ids newId when left out. */
  readonly newNodeId?: () => string;
}

/** A certificate the CA issued. */
export interface IssuedCertificate {
  readonly identity: NodeIdentity;
  /** The certificate, PEM. */
  readonly certPem: string;
  /** Wall-clock ms of the end of its validity. */
  readonly notAfterMs: number;
}

/** What a joining node sends: its CSR, its join token and any DNS names its certificate should carry. */
export interface JoinRequest {
  readonly csrPem: string;
  readonly token: string;
  readonly dnsNames?: readonly string[];
}

/** What a node renewing its certificate sends; `peer` is the identity of its current, verified certificate. */
export interface RenewRequest {
  readonly csrPem: string;
  readonly peer: NodeIdentity;
  readonly dnsNames?: readonly string[];
}

/** The cluster's certificate authority (see the file comment). */
export class CertificateAuthority {
  readonly root: RootCa;
  readonly clusterId: string;
  private tokens: { worker: string; manager: string };
  private retired: string[] = [];
  private expiryMs: number;
  private readonly wallNowMs: () => number;
  private readonly newNodeId: () => string;

  constructor(options: CertificateAuthorityOptions) {
    if (!isId(options.clusterId)) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `cluster ID ${JSON.stringify(options.clusterId)} is not an ID`);
    this.root = options.root;
    this.clusterId = options.clusterId;
    this.wallNowMs = options.wallNowMs ?? Date.now;
    this.newNodeId = options.newNodeId ?? newId;
    this.expiryMs = checkExpiry(options.certExpiryMs ?? defaultCertExpiryMs);
    if (options.joinTokens !== undefined) {
      for (const role of ['worker', 'manager'] as const) {
        if (parseJoinToken(options.joinTokens[role]).caDigestHex !== this.root.digestHex) {
          throw new TsswarmError(ErrorCode.CORRUPT, `the stored ${role} join token pins a different root CA`);
        }
      }
      this.tokens = { worker: options.joinTokens.worker, manager: options.joinTokens.manager };
    } else {
      this.tokens = { worker: newJoinToken(this.root.digestHex), manager: newJoinToken(this.root.digestHex) };
    }
  }

  /** The current join tokens (for `swarm join-token` and the cluster object). */
  joinTokens(): JoinTokens {
    return { worker: this.tokens.worker, manager: this.tokens.manager };
  }

  /** Replaces the token of `role` with a new one; the old one stops working at once. Returns the new token. */
  rotateJoinToken(role: CertRole): string {
    this.retired.push(tokenFingerprint(this.tokens[role]));
    if (this.retired.length > maxRetiredTokens) this.retired.shift();
    const token = newJoinToken(this.root.digestHex);
    this.tokens[role] = token;
    return token;
  }

  /**
   * Takes the tokens the cluster object holds now (another manager may have rotated them): a token
   * that changed is retired, so using it gets the "rotated" error. PERMISSION-free: CORRUPT when a
   * token pins another CA.
   */
  adoptJoinTokens(tokens: JoinTokens): void {
    for (const role of ['worker', 'manager'] as const) {
      if (tokens[role] === this.tokens[role]) continue;
      if (parseJoinToken(tokens[role]).caDigestHex !== this.root.digestHex) {
        throw new TsswarmError(ErrorCode.CORRUPT, `the stored ${role} join token pins a different root CA`);
      }
      this.retired.push(tokenFingerprint(this.tokens[role]));
      if (this.retired.length > maxRetiredTokens) this.retired.shift();
      this.tokens[role] = tokens[role];
    }
  }

  /** Lifetime of the certificates issued from now on. */
  certExpiryMs(): number {
    return this.expiryMs;
  }

  /** Sets the lifetime of certificates issued from now on (INVALID_ARGUMENT below one hour). */
  setCertExpiryMs(ms: number): void {
    this.expiryMs = checkExpiry(ms);
  }

  /**
   * The role `token` grants. INVALID_ARGUMENT when it is malformed; PERMISSION when it pins another
   * CA, was rotated, or matches neither token. Both tokens are always compared, in constant time.
   */
  roleForToken(token: string): CertRole {
    const parsed = parseJoinToken(token);
    if (parsed.caDigestHex !== this.root.digestHex) {
      throw new TsswarmError(ErrorCode.PERMISSION, 'join token is for a different swarm: the CA digest in it does not match this CA');
    }
    const canonical = token.trim();
    const worker = joinTokensEqual(canonical, this.tokens.worker);
    const manager = joinTokensEqual(canonical, this.tokens.manager);
    if (manager) return 'manager';
    if (worker) return 'worker';
    const fingerprint = tokenFingerprint(canonical);
    if (this.retired.includes(fingerprint)) {
      throw new TsswarmError(ErrorCode.PERMISSION, 'join token has been rotated; get the current one with `tsswarm swarm join-token` on a manager');
    }
    throw new TsswarmError(ErrorCode.PERMISSION, 'join token is not valid for this swarm (wrong secret)');
  }

  /** Issues a certificate to a new node: checks the token, gives it a new node ID and the token's role. */
  async issueForJoin(request: JoinRequest): Promise<IssuedCertificate> {
    const role = this.roleForToken(request.token);
    const identity: NodeIdentity = { nodeId: this.newNodeId(), role, clusterId: this.clusterId };
    return this.sign(request.csrPem, identity, request.dnsNames ?? []);
  }

  /** Issues a new certificate for the same node ID and role as the caller's current certificate. */
  async renew(request: RenewRequest): Promise<IssuedCertificate> {
    if (request.peer.clusterId !== this.clusterId) {
      throw new TsswarmError(ErrorCode.PERMISSION, `certificate belongs to cluster ${request.peer.clusterId}, not ${this.clusterId}`);
    }
    return this.sign(request.csrPem, request.peer, request.dnsNames ?? []);
  }

  /** Issues a certificate for `identity` with the role given (for role changes by promote/demote). */
  async issueFor(identity: NodeIdentity, csrPem: string, dnsNames: readonly string[] = []): Promise<IssuedCertificate> {
    if (identity.clusterId !== this.clusterId) {
      throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `node ${identity.nodeId} is of cluster ${identity.clusterId}, not ${this.clusterId}`);
    }
    return this.sign(csrPem, identity, dnsNames);
  }

  private async sign(csrPem: string, identity: NodeIdentity, dnsNames: readonly string[]): Promise<IssuedCertificate> {
    if (!isId(identity.nodeId)) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `node ID ${JSON.stringify(identity.nodeId)} is not an ID`);
    checkDnsNames(dnsNames);
    const csr = await parseCsr(csrPem);
    const nowMs = this.wallNowMs();
    const rootNotAfterMs = Date.parse(this.root.cert.validTo);
    if (nowMs >= rootNotAfterMs) throw new TsswarmError(ErrorCode.CONFLICT, `the root CA expired on ${this.root.cert.validTo}`);
    const notAfterMs = Math.min(nowMs + this.expiryMs, rootNotAfterMs);
    const rootCert = new x509.X509Certificate(this.root.certPem);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerialHex(),
      subject: `CN=${identity.nodeId},OU=${roleOrgUnit[identity.role]},O=${identity.clusterId}`,
      issuer: rootCert.subject,
      notBefore: new Date(nowMs - certBackdateMs),
      notAfter: new Date(notAfterMs),
      publicKey: csr.publicKey,
      signingKey: this.root.key.privateKey,
      signingAlgorithm: ecdsaP256,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
        new x509.SubjectAlternativeNameExtension([identity.nodeId, ...dnsNames].map((value) => ({ type: 'dns' as const, value })), false),
        await x509.AuthorityKeyIdentifierExtension.create(this.root.key.publicKey),
        await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
      ],
    });
    return { identity, certPem: cert.toString('pem') + '\n', notAfterMs };
  }
}

/** The CSR in `csrPem`, checked: it parses, its signature verifies, and its key is ECDSA P-256 (INVALID_ARGUMENT otherwise). */
export async function parseCsr(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
  if (csrPem.length > maxCsrBytes) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `certificate signing request is larger than ${maxCsrBytes} bytes`);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `not a PEM certificate signing request: ${(err as Error).message}`, { cause: err });
  }
  const algorithm = csr.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') {
    throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `certificate signing request must be for an ECDSA P-256 key, not ${algorithm.name ?? 'unknown'} ${algorithm.namedCurve ?? ''}`.trim());
  }
  let verified = false;
  try {
    verified = await csr.verify();
  } catch (err) {
    throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `certificate signing request signature cannot be checked: ${(err as Error).message}`, { cause: err });
  }
  if (!verified) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'certificate signing request signature does not verify');
  return csr;
}

const dnsLabel = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

function checkDnsNames(names: readonly string[]): void {
  if (names.length > maxDnsNames) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `a certificate carries at most ${maxDnsNames} DNS names, not ${names.length}`);
  for (const name of names) {
    if (name.length > 253 || !name.split('.').every((label) => dnsLabel.test(label))) {
      throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `${JSON.stringify(name)} is not a valid DNS name`);
    }
  }
}

function checkExpiry(ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < minCertExpiryMs) {
    throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `certificate expiry must be a whole number of ms, at least one hour; got ${ms}`);
  }
  return ms;
}

function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
