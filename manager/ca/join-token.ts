/**
 * Join tokens in Docker Swarm's format: `SWMTKN-1-<digest>-<secret>`. The digest is the SHA-256 of
 * the root CA certificate in base36 (50 characters), so a joining node can check the CA it is shown
 * before it trusts it; the secret (128 random bits in base36, 25 characters) decides the role.
 * Tokens are secrets: no error message here ever quotes one.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { certificateDigestHex, parseRootCertificate } from './root-ca.js';

/** The first field of every join token. */
export const joinTokenPrefix = 'SWMTKN';
/** The token format version this code writes and reads. */
export const joinTokenVersion = '1';
/** Length of the base36 CA digest field. */
export const tokenDigestLength = 50;
/** Length of the base36 secret field. */
export const tokenSecretLength = 25;
/** Random bytes behind a secret (128 bits). */
export const tokenSecretBytes = 16;

const base36 = /^[0-9a-z]+$/;
const maxDigest = (1n << 256n) - 1n;

/** The fields of a well-formed join token. */
export interface ParsedJoinToken {
  /** Lowercase hex SHA-256 of the root CA certificate the token pins. */
  readonly caDigestHex: string;
  /** The secret, base36. */
  readonly secret: string;
}

/** A new join token for the CA with digest `caDigestHex`; `random` supplies the secret's bytes. */
export function newJoinToken(caDigestHex: string, random: (n: number) => Uint8Array = randomBytes): string {
  const bytes = random(tokenSecretBytes);
  if (bytes.length !== tokenSecretBytes) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `join token secret needs ${tokenSecretBytes} random bytes`);
  const secret = BigInt(`0x${Buffer.from(bytes).toString('hex')}`).toString(36).padStart(tokenSecretLength, '0');
  return formatJoinToken({ caDigestHex, secret });
}

/** The token text for `parsed`. */
export function formatJoinToken(parsed: ParsedJoinToken): string {
  if (!/^[0-9a-f]{64}$/.test(parsed.caDigestHex)) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'CA digest must be 64 lowercase hex digits');
  if (parsed.secret.length !== tokenSecretLength || !base36.test(parsed.secret)) {
    throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `join token secret must be ${tokenSecretLength} base36 characters`);
  }
  const digest = BigInt(`0x${parsed.caDigestHex}`).toString(36).padStart(tokenDigestLength, '0');
  return `${joinTokenPrefix}-${joinTokenVersion}-${digest}-${parsed.secret}`;
}

/** The fields of `token`; INVALID_ARGUMENT, saying which part is wrong, when it is malformed. */
export function parseJoinToken(token: string): ParsedJoinToken {
  const parts = token.trim().split('-');
  if (parts[0] !== joinTokenPrefix) throw invalidToken(`it must start with "${joinTokenPrefix}-"`);
  if (parts.length !== 4) throw invalidToken(`it must have 4 dash-separated fields (${joinTokenPrefix}-1-<digest>-<secret>), not ${parts.length}`);
  const [, version, digest = '', secret = ''] = parts;
  if (version !== joinTokenVersion) throw invalidToken(`version ${JSON.stringify(version)} is not supported (only ${joinTokenVersion})`);
  if (digest.length !== tokenDigestLength || !base36.test(digest)) {
    throw invalidToken(`the CA digest field must be ${tokenDigestLength} characters of 0-9 and a-z`);
  }
  if (secret.length !== tokenSecretLength || !base36.test(secret)) {
    throw invalidToken(`the secret field must be ${tokenSecretLength} characters of 0-9 and a-z`);
  }
  const value = parseBase36(digest);
  if (value > maxDigest) throw invalidToken('the CA digest field is out of range for SHA-256');
  return { caDigestHex: value.toString(16).padStart(64, '0'), secret };
}

/**
 * Checks that the root CA certificate a manager presented is the one `token` pins, before the token's
 * secret is sent anywhere. INVALID_ARGUMENT for a malformed token, CORRUPT for a malformed
 * certificate, PERMISSION when the digests differ (a different cluster or an impostor).
 */
export function verifyRootForToken(token: string, rootCertPem: string | Uint8Array): void {
  const parsed = parseJoinToken(token);
  const actual = certificateDigestHex(parseRootCertificate(rootCertPem));
  if (!timingSafeEqual(Buffer.from(actual, 'hex'), Buffer.from(parsed.caDigestHex, 'hex'))) {
    throw new TsswarmError(
      ErrorCode.PERMISSION,
      `the manager's root CA (sha256:${actual}) is not the one the join token pins (sha256:${parsed.caDigestHex}); refusing to join`,
    );
  }
}

/** True when the two tokens are equal, in time that does not depend on where they differ or on their lengths. */
export function joinTokensEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

function parseBase36(text: string): bigint {
  let value = 0n;
  for (const ch of text) value = value * 36n + BigInt(parseInt(ch, 36));
  return value;
}

function invalidToken(why: string): TsswarmError {
  return new TsswarmError(ErrorCode.INVALID_ARGUMENT, `invalid join token: ${why}`);
}
