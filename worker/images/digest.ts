/**
 * Content digests (`sha256:<64 hex>`): validation and computation. Only sha256 is supported, as
 * every registry and runtime we talk to uses it.
 */
import { createHash } from 'node:crypto';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';

/** The one digest algorithm we accept. */
export const digestAlgorithm = 'sha256';
const digestRe = /^sha256:[a-f0-9]{64}$/;

/** True when `text` is a well-formed sha256 digest. */
export function isDigest(text: string): boolean {
  return digestRe.test(text);
}

/** The digest of `bytes`. */
export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The 64 hex characters of a digest (throws CORRUPT for a malformed one). */
export function digestHex(digest: string): string {
  if (!isDigest(digest)) throw new TsswarmError(ErrorCode.CORRUPT, `malformed digest ${JSON.stringify(digest)} (want sha256:<64 hex>)`);
  return digest.slice('sha256:'.length);
}

/** Throws CORRUPT unless `bytes` hash to `expected`; `what` names the object in the message. */
export function verifyBytes(bytes: Uint8Array | string, expected: string, what: string): void {
  const actual = sha256Digest(bytes);
  if (actual !== expected) throw digestMismatch(what, expected, actual);
}

/** The CORRUPT error for content whose digest is not the expected one. */
export function digestMismatch(what: string, expected: string, actual: string): TsswarmError {
  return new TsswarmError(ErrorCode.CORRUPT, `${what}: digest mismatch (expected ${expected}, got ${actual})`);
}
