/**
 * Which containers use an image, read from the container records on disk, so `image rm` and
 * `image prune` (in any process) keep images that containers still need.
 */
import { listContainerRecords } from '../executor/container-store.js';

/** A `usedBy` hook for ImageService: names of the containers created from image `id`. */
export function containersUsing(dataDir: string): (imageId: string) => Promise<readonly string[]> {
  return async (imageId) => (await listContainerRecords({ dataDir, runDir: '' })).filter((r) => r.imageId === imageId).map((r) => r.config.name);
}
