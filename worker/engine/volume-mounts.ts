/**
 * The runtime's VolumeMounter over the node's VolumeStore: volume mounts of a container config
 * become held volumes (created on first use, as docker does, with the mount's driver options and
 * labels), copy-up fills empty ones from the image, and removed containers release theirs.
 */
import type { MountSpec } from '../executor/container-config.js';
import type { PreparedVolumes, VolumeMounter } from '../executor/volume-mounter.js';
import { copyUp } from '../volumes/copy-up.js';
import type { VolumeRequest, VolumeStore } from '../volumes/volume-store.js';

/** The volume a mount asks for (pure). */
export function volumeRequestOf(m: MountSpec): VolumeRequest {
  return {
    name: m.source,
    driver: m.volumeDriver ?? '',
    options: m.volumeOptions ?? {},
    labels: m.volumeLabels ?? {},
    anonymous: m.source === '',
  };
}

/** A VolumeMounter backed by `store`. */
export function volumeMounter(store: VolumeStore): VolumeMounter {
  return {
    async prepare(mounts: readonly MountSpec[]): Promise<PreparedVolumes> {
      const wanted = mounts.filter((m) => m.type === 'volume');
      const held = await store.hold(wanted.map(volumeRequestOf));
      let next = 0;
      const named = mounts.map((m) => {
        if (m.type !== 'volume') return m;
        const h = held[next++];
        return h === undefined ? m : { ...m, source: h.name };
      });
      const paths = new Map(held.map((h) => [h.name, h.path]));
      return {
        mounts: named,
        paths,
        async populate(rootfs: string): Promise<void> {
          for (const m of named) {
            const path = paths.get(m.source);
            if (m.type === 'volume' && m.volumeNoCopy !== true && path !== undefined) await copyUp(rootfs, m.target, path);
          }
        },
        settle: (failed: boolean) => store.unhold(held, failed),
      };
    },
    async released(mounts: readonly MountSpec[], autoRemove: boolean): Promise<void> {
      await store.released(mounts.filter((m) => m.type === 'volume').map((m) => m.source), autoRemove);
    },
  };
}
