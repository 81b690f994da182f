/**
 * The node's side of its TLS identity: it makes its own P-256 key and a CSR (the key never leaves
 * the node), checks the certificate the CA sends back (signed by the root, for its key, a node
 * certificate of the expected cluster), and keeps key and certificate in its data folder.
 */
import { createPublicKey, type X509Certificate } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { identityOf, parseCertificate, type NodeIdentity } from './identity.js';
import { parseRootCertificate, readText, rootCertFile, writeAtomically } from './root-ca.js';
import { ecdsaP256, generateP256Key, importP256Key, x509 } from './x509.js';

/** File name of a node's certificate (PEM) in its certificate folder. */
export const nodeCertFile = 'node.crt';
/** File name of a node's private key (PKCS#8 PEM, mode 0600) in its certificate folder. */
export const nodeKeyFile = 'node.key';
/** Subject of a node's CSR; the CA ignores it and writes the real subject. */
export const csrSubject = 'CN=tsswarm-node';

/** A node's new key and the CSR for it. */
export interface NodeKeyAndCsr {
  /** The private key, PKCS#8 PEM. */
  readonly keyPem: string;
  /** The certificate signing request, PEM. */
  readonly csrPem: string;
}

/** A node's TLS identity: what mTLS needs, checked against each other. */
export interface NodeTlsMaterial {
  readonly rootCertPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly identity: NodeIdentity;
  /** Wall-clock validity of the certificate, ms since the epoch. */
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
}

/** Makes a new P-256 key and a CSR signed with it. */
export async function createNodeKeyAndCsr(): Promise<NodeKeyAndCsr> {
  const key = await generateP256Key();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: csrSubject,
    keys: { privateKey: key.privateKey, publicKey: key.publicKey },
    signingAlgorithm: ecdsaP256,
  });
  return { keyPem: key.pem, csrPem: csr.toString('pem') + '\n' };
}

/**
 * Checks a node certificate against the root and the node's key, and returns the material for mTLS.
 * CORRUPT when a piece does not parse; PERMISSION when the certificate is not signed by the root,
 * is not for this key, is not a node certificate, or is of another cluster than `expectedClusterId`.
 */
export async function nodeTlsMaterial(
  rootCertPem: string,
  certPem: string,
  keyPem: string,
  expectedClusterId?: string,
): Promise<NodeTlsMaterial> {
  const root = parseRootCertificate(rootCertPem);
  const cert = parseCertificate(certPem, 'node certificate');
  if (!cert.checkIssued(root) || !cert.verify(root.publicKey)) {
    throw new TsswarmError(ErrorCode.PERMISSION, 'node certificate is not signed by the cluster root CA');
  }
  const key = await importP256Key(keyPem, 'node key');
  const keySpki = createPublicKey(key.pem).export({ type: 'spki', format: 'der' });
  if (!keySpki.equals(cert.publicKey.export({ type: 'spki', format: 'der' }))) {
    throw new TsswarmError(ErrorCode.PERMISSION, 'node certificate is not for this node key');
  }
  const identity = identityOf(cert);
  if (expectedClusterId !== undefined && identity.clusterId !== expectedClusterId) {
    throw new TsswarmError(ErrorCode.PERMISSION, `node certificate is of cluster ${identity.clusterId}, not ${expectedClusterId}`);
  }
  return { rootCertPem, certPem, keyPem: key.pem, identity, ...validityOf(cert) };
}

/** The wall-clock validity of `cert` in ms since the epoch. */
export function validityOf(cert: X509Certificate): { notBeforeMs: number; notAfterMs: number } {
  return { notBeforeMs: Date.parse(cert.validFrom), notAfterMs: Date.parse(cert.validTo) };
}

/**
 * The three files change together (a renewal brings a new key with its certificate): they are
 * first written as one file, which a crash leaves either absent or whole; load finishes the job.
 */
const pendingFile = 'node.pending.json';

/** Saves a node's root certificate, certificate and key (0600) in `dir` (made 0700 if missing). */
export async function saveNodeTlsMaterial(material: NodeTlsMaterial, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pending = join(dir, pendingFile);
  await writeAtomically(pending, JSON.stringify({ rootCertPem: material.rootCertPem, certPem: material.certPem, keyPem: material.keyPem }), 0o600);
  await writeFiles(dir, material);
  await rm(pending, { force: true });
}

async function writeFiles(dir: string, material: { rootCertPem: string; certPem: string; keyPem: string }): Promise<void> {
  await writeAtomically(join(dir, nodeKeyFile), material.keyPem, 0o600);
  await writeAtomically(join(dir, nodeCertFile), material.certPem, 0o644);
  await writeAtomically(join(dir, rootCertFile), material.rootCertPem, 0o644);
}

/**
 * Reads and checks what saveNodeTlsMaterial wrote; NOT_FOUND when a file is missing. A save that a
 * crash interrupted is finished first (its pending file is whole, so it wins).
 */
export async function loadNodeTlsMaterial(dir: string, expectedClusterId?: string): Promise<NodeTlsMaterial> {
  const pending = await readText(join(dir, pendingFile)).catch((err: unknown) => {
    if (err instanceof TsswarmError && err.code === ErrorCode.NOT_FOUND) return undefined;
    throw err;
  });
  if (pending !== undefined) {
    const files = JSON.parse(pending) as { rootCertPem: string; certPem: string; keyPem: string };
    const material = await nodeTlsMaterial(files.rootCertPem, files.certPem, files.keyPem, expectedClusterId);
    await writeFiles(dir, files);
    await rm(join(dir, pendingFile), { force: true });
    return material;
  }
  const rootCertPem = await readText(join(dir, rootCertFile));
  const certPem = await readText(join(dir, nodeCertFile));
  const keyPem = await readText(join(dir, nodeKeyFile));
  return nodeTlsMaterial(rootCertPem, certPem, keyPem, expectedClusterId);
}
