/**
 * Rotating the cluster's join tokens (`tsswarm swarm join-token --rotate worker|manager`): a new
 * secret pinning the same root CA, written into the cluster object's RootCA. The CA refuses the
 * old token once the daemon hands it the new tokens from the store (see README.md).
 */
import { randomBytes } from 'node:crypto';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import type { KeyRotation, RootCA } from '../../proto/index.js';
import { certificateDigestHex, newJoinToken, parseRootCertificate } from '../ca/index.js';

/** Supplies random bytes for token secrets (injected in tests). */
export type RandomBytes = (n: number) => Uint8Array;

/**
 * The lowercase hex digest of the root CA certificate in `rootCa`, which join tokens pin. CONFLICT
 * when the cluster has no root certificate; CORRUPT when the certificate is malformed or does not
 * match the stored hash.
 */
export function rootCaDigestHex(rootCa: RootCA | undefined): string {
  if (rootCa === undefined || rootCa.caCert.length === 0) throw noRootCa();
  const digest = certificateDigestHex(parseRootCertificate(rootCa.caCert));
  if (rootCa.caCertHash !== '' && rootCa.caCertHash !== `sha256:${digest}`) {
    throw new TsswarmError(ErrorCode.CORRUPT, `the cluster's root CA hash ${rootCa.caCertHash} does not match its certificate (sha256:${digest})`);
  }
  return digest;
}

/**
 * `rootCa` with new worker and/or manager join tokens, as `rotation` asks (unchanged when it asks for
 * neither). UNSUPPORTED when it asks for a new unlock key: tsswarm has no autolock.
 */
export function rotateJoinTokens(rootCa: RootCA | undefined, rotation: KeyRotation | undefined, random: RandomBytes = randomBytes): RootCA | undefined {
  if (rotation?.managerUnlockKey === true) {
    throw new TsswarmError(ErrorCode.UNSUPPORTED, 'there is no unlock key to rotate: autolock is not supported by tsswarm');
  }
  if (rotation === undefined || (!rotation.workerJoinToken && !rotation.managerJoinToken)) return rootCa;
  if (rootCa === undefined) throw noRootCa();
  const digest = rootCaDigestHex(rootCa);
  const current = rootCa.joinTokens ?? { worker: '', manager: '' };
  const joinTokens = {
    worker: rotation.workerJoinToken ? newJoinToken(digest, random) : current.worker,
    manager: rotation.managerJoinToken ? newJoinToken(digest, random) : current.manager,
  };
  return { ...rootCa, joinTokens };
}

function noRootCa(): TsswarmError {
  return new TsswarmError(ErrorCode.CONFLICT, 'the cluster has no root CA certificate, so no join token can be made');
}
