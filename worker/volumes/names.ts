/**
 * Volume names (pure): docker's rule for local volumes, and the names of anonymous volumes.
 */
import { randomBytes } from 'node:crypto';
import { invalidArgument } from '../../lib/errors.js';

/** Docker's local volume names: two or more of [a-zA-Z0-9_.-], starting with a letter or digit. */
export const volumeNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** A volume name is a folder name on the host: at most this many bytes. */
export const maxVolumeNameBytes = 255;
/** The label docker puts on anonymous volumes (`volume prune` removes these by default). */
export const anonymousVolumeLabel = 'com.docker.volume.anonymous';

/** Throws INVALID_ARGUMENT for a name that is not a valid local volume name. */
export function validateVolumeName(name: string): void {
  if (!volumeNamePattern.test(name) || Buffer.byteLength(name) > maxVolumeNameBytes) {
    throw invalidArgument(
      `invalid volume name ${JSON.stringify(name)}: use two to ${maxVolumeNameBytes} of [a-zA-Z0-9_.-], starting with a letter or digit`,
    );
  }
}

/** A new name for an anonymous or unnamed volume: 64 hex digits, as docker's. */
export function generatedVolumeName(): string {
  return randomBytes(32).toString('hex');
}
