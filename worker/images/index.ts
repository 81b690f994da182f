/**
 * worker/images: the image store of a worker (content-addressed blobs, unpacked layers, tags),
 * the registry v2 client, and the ImageService the CLI and the daemon use. See README.md.
 */
export { ImageService, type ImageServiceOptions, type ImageSummary, type RemoveReport, type ProgressOptions } from './image-service.js';
export { ImageStore, defaultDataDir, resolveDataDir, type GcReport } from './image-store.js';
export { BlobStore, type StoredBlob } from './blob-store.js';
export { parseImageConfig, type ImageConfig, type ImageRuntimeConfig, type ImageHealthcheck } from './image-config.js';
export { parseManifest, selectPlatform, hostPlatform, type Descriptor, type ImageManifest, type ImageIndex, type Platform } from './manifest.js';
export { MediaType } from './media-types.js';
export {
  parseReference,
  formatReference,
  familiarReference,
  familiarRepository,
  repositoryName,
  type ImageReference,
} from './reference.js';
export { isDigest, sha256Digest } from './digest.js';
export { RegistryClient, type FetchFn } from './registry-client.js';
export { validateInsecureRegistries, isLoopbackHost, isLabHost } from './registry-policy.js';
export { whiteoutAction, opaqueXattr, type WhiteoutAction } from './whiteout.js';
export { maxConcurrentLayerTransfers } from './ingest.js';
export type { ProgressEvent, ProgressListener, TransferPhase } from './progress.js';
