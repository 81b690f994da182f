/**
 * What the runtime needs from the node's volumes (the engine provides it from worker/volumes): the
 * data folders of a config's volume mounts before the container is made, copy-up into the mounted
 * rootfs, and a word when containers that used volumes are gone.
 */
import type { MountSpec } from './container-config.js';

/** The volumes of one container being made. */
export interface PreparedVolumes {
  /** The config's mounts, with every volume named (anonymous ones got a name). */
  readonly mounts: readonly MountSpec[];
  /** Data folder of each volume, by name. */
  readonly paths: ReadonlyMap<string, string>;
  /** Copies the image's content into empty volumes (docker's copy-up); `rootfs` is mounted. */
  populate(rootfs: string): Promise<void>;
  /** The container exists now (its record names the volumes), or, with `failed`, it was not made. */
  settle(failed: boolean): Promise<void>;
}

/** The node's volumes as the runtime sees them. */
export interface VolumeMounter {
  /** Finds or creates the volumes of `mounts` and makes their data folders ready; all or none. */
  prepare(mounts: readonly MountSpec[]): Promise<PreparedVolumes>;
  /** A container with these mounts was removed (`autoRemove`: it ran with `--rm`). */
  released(mounts: readonly MountSpec[], autoRemove: boolean): Promise<void>;
}
