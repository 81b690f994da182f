/**
 * The engine's view of the image store: an image's ID, runtime config and layer folders.
 */
import type { ImageService } from '../images/image-service.js';
import type { ImageResolver, ResolvedImage } from './engine.js';

/** An ImageResolver backed by the local image store. */
export function storeImageResolver(images: ImageService): ImageResolver {
  return {
    async resolve(reference: string): Promise<ResolvedImage> {
      const record = await images.resolve(reference);
      const [runtime, layerDirs] = await Promise.all([images.runtimeConfig(record.id), images.layerDirs(record.id)]);
      return { id: record.id, runtime, layerDirs };
    },
  };
}
