/**
 * The cluster's root certificate authority: an ECDSA P-256 key and a self-signed certificate made
 * once at `swarm init`, kept in a folder (ca.crt, ca.key with mode 0600) and in the cluster object.
 * Its digest (SHA-256 of the certificate's DER) is what join tokens pin.
 */
import { createHash, createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import type { RootCA as RootCAMessage, JoinTokens } from '../../proto/index.js';
import { parseCertificate } from './identity.js';
import { ecdsaP256, generateP256Key, importP256Key, type P256Key, x509 } from './x509.js';

/** Subject common name of every tsswarm root CA certificate. */
export const rootCommonName = 'tsswarm-root-ca';
/** Lifetime of a root CA certificate: 20 years. */
export const rootValidityMs = 20 * 365 * 24 * 60 * 60 * 1000;
/** How far before "now" a new certificate's validity starts, so small clock skew between hosts does not matter. */
export const certBackdateMs = 5 * 60 * 1000;
/** File name of the root certificate (PEM) in a CA folder. */
export const rootCertFile = 'ca.crt';
/** File name of the root key (PKCS#8 PEM, mode 0600) in a CA folder. */
export const rootKeyFile = 'ca.key';

/** A root CA that can sign: its certificate and private key. */
export interface RootCa {
  /** The certificate, PEM. */
  readonly certPem: string;
  /** The certificate, parsed. */
  readonly cert: X509Certificate;
  /** The private key. */
  readonly key: P256Key;
  /** Lowercase hex SHA-256 of the certificate's DER: what join tokens pin. */
  readonly digestHex: string;
}

/** Options of createRootCa. */
export interface CreateRootCaOptions {
  /** The wall-clock time of creation; Date.now() when left out. */
  readonly nowMs?: number;
}

/** Makes a new root CA: P-256 key, self-signed, CN tsswarm-root-ca, CA:true, keyCertSign, 20 years. */
export async function createRootCa(options: CreateRootCaOptions = {}): Promise<RootCa> {
  const nowMs = options.nowMs ?? Date.now();
  const key = await generateP256Key();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: `CN=${rootCommonName}`,
    notBefore: new Date(nowMs - certBackdateMs),
    notAfter: new Date(nowMs + rootValidityMs),
    keys: { privateKey: key.privateKey, publicKey: key.publicKey },
    signingAlgorithm: ecdsaP256,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(key.publicKey),
    ],
  });
  return rootCaFromPem(cert.toString('pem') + '\n', key.pem);
}

/**
 * The root CA in `certPem` with its key `keyPem`, checked: the certificate must be a CA
 * certificate for an ECDSA P-256 key and the key must be its private half (CORRUPT otherwise).
 */
export async function rootCaFromPem(certPem: string, keyPem: string): Promise<RootCa> {
  const cert = parseRootCertificate(certPem);
  const key = await importP256Key(keyPem, 'root CA key');
  const spki = createPublicKey(key.pem).export({ type: 'spki', format: 'der' });
  const certSpki = cert.publicKey.export({ type: 'spki', format: 'der' });
  if (!spki.equals(certSpki)) {
    throw new TsswarmError(ErrorCode.CORRUPT, 'root CA key does not belong to the root CA certificate');
  }
  return { certPem, cert, key, digestHex: certificateDigestHex(cert) };
}

/**
 * A root CA certificate received from elsewhere (no key), checked to be a self-signed ECDSA P-256
 * CA certificate; CORRUPT otherwise.
 */
export function parseRootCertificate(certPem: string | Uint8Array): X509Certificate {
  const cert = parseCertificate(certPem, 'root CA certificate');
  if (!cert.ca) throw new TsswarmError(ErrorCode.CORRUPT, 'root CA certificate is not a CA certificate (basicConstraints CA:false)');
  const details = cert.publicKey.asymmetricKeyDetails;
  if (cert.publicKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'prime256v1') {
    throw new TsswarmError(ErrorCode.CORRUPT, 'root CA certificate does not carry an ECDSA P-256 key');
  }
  if (!cert.checkIssued(cert) || !cert.verify(cert.publicKey)) {
    throw new TsswarmError(ErrorCode.CORRUPT, 'root CA certificate is not self-signed');
  }
  return cert;
}

/** Lowercase hex SHA-256 of a certificate's DER encoding. */
export function certificateDigestHex(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

/** Writes `ca` to `dir` (made 0700 if missing): ca.crt 0644 and ca.key 0600, each by write-then-rename. */
export async function saveRootCa(ca: RootCa, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomically(join(dir, rootCertFile), ca.certPem, 0o644);
  await writeAtomically(join(dir, rootKeyFile), ca.key.pem, 0o600);
}

/** Reads the root CA saved by saveRootCa; NOT_FOUND when the folder has none, CORRUPT when it is damaged. */
export async function loadRootCa(dir: string): Promise<RootCa> {
  const certPem = await readText(join(dir, rootCertFile));
  const keyPem = await readText(join(dir, rootKeyFile));
  return rootCaFromPem(certPem, keyPem);
}

/** The cluster object's RootCA message for `ca` and the current join tokens. */
export function rootCaMessage(ca: RootCa, joinTokens: JoinTokens): RootCAMessage {
  return {
    caKey: new TextEncoder().encode(ca.key.pem),
    caCert: new TextEncoder().encode(ca.certPem),
    caCertHash: `sha256:${ca.digestHex}`,
    joinTokens,
    lastForcedRotation: 0,
  };
}

/** The root CA in a cluster object's RootCA message; CORRUPT when it lacks a key or does not check out. */
export async function rootCaFromMessage(message: RootCAMessage): Promise<RootCa> {
  if (message.caKey.length === 0) throw new TsswarmError(ErrorCode.CORRUPT, 'cluster RootCA has no CA key (external CAs are not supported)');
  const ca = await rootCaFromPem(new TextDecoder().decode(message.caCert), new TextDecoder().decode(message.caKey));
  if (message.caCertHash !== `sha256:${ca.digestHex}`) {
    throw new TsswarmError(ErrorCode.CORRUPT, `cluster RootCA hash ${message.caCertHash} does not match its certificate (sha256:${ca.digestHex})`);
  }
  return ca;
}

/** A positive 128-bit serial number in hex (the top bit clear so DER keeps it positive). */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f | 0x01;
  return bytes.toString('hex');
}

/** Writes `text` to `path` with `mode` through a temporary file and a rename, so a crash never leaves half a file. */
export async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const handle = await open(tmp, 'w', mode);
  try {
    await handle.writeFile(text);
    await handle.chmod(mode); // the umask may have narrowed or the file may have existed
    await handle.sync(); // on disk before the rename makes it the file: never an empty one after a crash
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

/** The text of `path`; NOT_FOUND when it does not exist, EXTERNAL on other read errors. */
export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TsswarmError(ErrorCode.NOT_FOUND, `${path} does not exist`, { cause: err });
    }
    throw new TsswarmError(ErrorCode.EXTERNAL, `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}
