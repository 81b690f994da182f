/**
 * Secret data at rest on the managers: SecretSpec.data is sealed before it is proposed through
 * raft, so the raft log, its snapshots and the store's memory hold only ciphertext; it is opened
 * only where the dispatcher hands the secret to a worker (over mutual TLS).
 *
 * The scheme (version 1):
 * - key: HKDF-SHA256 over the cluster root CA's private key (the PKCS#8 PEM the cluster object
 *   holds in `rootCa.caKey`, which every manager has), salt = the cluster ID, info =
 *   "tsswarm secret data v1"; 32 bytes for AES-256. Every manager derives the same key and no key
 *   is stored anywhere.
 * - data: `TSS1` (4 bytes) ‖ nonce (12 random bytes) ‖ AES-256-GCM ciphertext ‖ tag (16 bytes),
 *   with the secret's ID as additional data, so a sealed value moved to another secret fails to open.
 *
 * What it protects against: the plaintext showing up in the WAL, snapshots, backups of them, store
 * dumps and logs. What it does not: the CA key itself travels in the same raft log (in the cluster
 * object), so someone holding a whole copy of a manager's raft directory can derive the key. Closing
 * that needs a key-encrypting key kept off the raft log (docker's autolock), which tsswarm lacks.
 * A root CA rotation would have to re-seal every secret (root rotation is not implemented either).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import type { Cluster, Secret } from '../../proto/index.js';

/** Marks sealed data, and its scheme version. */
export const sealedDataMagic = new Uint8Array([0x54, 0x53, 0x53, 0x31]); // "TSS1"
/** AES-GCM nonce length. */
export const sealNonceBytes = 12;
/** AES-GCM tag length. */
export const sealTagBytes = 16;
const hkdfInfo = 'tsswarm secret data v1';

/** The 32-byte AES key of a cluster: HKDF-SHA256(caKey, salt = cluster ID). CLOSED without a CA key. */
export function secretKeyOf(cluster: Cluster | undefined): Uint8Array {
  const caKey = cluster?.rootCa?.caKey;
  if (cluster === undefined || caKey === undefined || caKey.length === 0) {
    throw new TsswarmError(ErrorCode.CLOSED, 'this manager does not have the cluster root CA key yet, which secrets are encrypted with; try again');
  }
  return new Uint8Array(hkdfSync('sha256', caKey, Buffer.from(cluster.id, 'utf8'), hkdfInfo, 32));
}

/** True when `data` carries the sealed-data header. */
export function isSealed(data: Uint8Array): boolean {
  if (data.length < sealedDataMagic.length + sealNonceBytes + sealTagBytes) return false;
  return sealedDataMagic.every((b, i) => data[i] === b);
}

/** Seals `plain` for the secret `secretId` under `key` (a fresh random nonce each time). */
export function sealSecretData(key: Uint8Array, secretId: string, plain: Uint8Array): Uint8Array {
  const nonce = randomBytes(sealNonceBytes);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(secretId, 'utf8'));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return new Uint8Array(Buffer.concat([sealedDataMagic, nonce, body, cipher.getAuthTag()]));
}

/** Opens data sealed by sealSecretData. CORRUPT when it is not sealed, or was sealed under another key or ID. */
export function openSecretData(key: Uint8Array, secretId: string, sealed: Uint8Array): Uint8Array {
  if (!isSealed(sealed)) throw new TsswarmError(ErrorCode.CORRUPT, `the data of secret ${secretId} is not encrypted as tsswarm stores it`);
  const nonceEnd = sealedDataMagic.length + sealNonceBytes;
  const tagStart = sealed.length - sealTagBytes;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(sealedDataMagic.length, nonceEnd));
    decipher.setAAD(Buffer.from(secretId, 'utf8'));
    decipher.setAuthTag(sealed.subarray(tagStart));
    return new Uint8Array(Buffer.concat([decipher.update(sealed.subarray(nonceEnd, tagStart)), decipher.final()]));
  } catch (err) {
    throw new TsswarmError(ErrorCode.CORRUPT, `the data of secret ${secretId} does not decrypt with this cluster's key`, { cause: err });
  }
}

/**
 * The secret with its data opened, for a worker. Data that is not sealed (secrets written straight
 * into the store by tests or older versions) passes as it is. CORRUPT when it does not open.
 */
export function revealSecret(secret: Secret, cluster: Cluster | undefined): Secret {
  const data = secret.spec?.data;
  if (secret.spec === undefined || data === undefined || !isSealed(data)) return secret;
  return { ...secret, spec: { ...secret.spec, data: openSecretData(secretKeyOf(cluster), secret.id, data) } };
}

/** The secret as the Control API returns it: everything but the data. */
export function redactSecret(secret: Secret): Secret {
  if (secret.spec === undefined) return secret;
  return { ...secret, spec: { ...secret.spec, data: new Uint8Array(0) } };
}
