/**
 * Brings one image into the store from any blob source (a registry, an OCI layout on disk): the
 * config and every layer are copied with digest verification, layers are unpacked (diff IDs
 * checked against the config) as soon as each arrives, with at most `maxConcurrentLayerTransfers`
 * in flight. Returns the image record; the caller commits it to the index, or garbage-collects
 * what was copied when anything failed.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { mapLimit } from './concurrency.js';
import { parseImageConfig, type ImageConfig } from './image-config.js';
import type { ImageStore } from './image-store.js';
import { parseManifest, type Descriptor, type ImageManifest } from './manifest.js';
import type { ProgressListener } from './progress.js';
import type { ImageRecord, LayerRecord } from './store-state.js';

/** Most layer blobs moved at once by one pull, push or load. */
export const maxConcurrentLayerTransfers = 4;

/** Where blobs come from. */
export interface BlobSource {
  /** Fetches a small blob whole (manifests, configs); the caller verifies it. */
  readBlob(desc: Descriptor): Promise<Uint8Array>;
  /** Copies a blob into the store, verified against `desc.digest` and `desc.size`. */
  copyBlob(desc: Descriptor, store: ImageStore, onProgress: ProgressListener): Promise<void>;
  /** Opens a blob as a stream, when the source can (then layers are unpacked as they arrive). */
  openBlob?(desc: Descriptor): Promise<AsyncIterable<Uint8Array>>;
}

/** What ingestManifest brought in. */
export interface IngestResult {
  readonly record: ImageRecord;
  readonly config: ImageConfig;
}

/**
 * Ingests the image manifest `manifestBytes` (already verified to hash to `manifestDigest`).
 * Call with the store lock held.
 */
export async function ingestManifest(
  store: ImageStore,
  source: BlobSource,
  manifestBytes: Uint8Array,
  manifestDigest: string,
  options: { readonly headerType?: string; readonly onProgress: ProgressListener; readonly repoDigests: readonly string[]; readonly now: Date },
): Promise<IngestResult> {
  const doc = parseManifest(manifestBytes, options.headerType);
  if (doc.kind !== 'manifest') throw new TsswarmError(ErrorCode.CORRUPT, `${manifestDigest} is an index where an image manifest was expected`);
  const manifest: ImageManifest = doc;
  let configBytes: Uint8Array;
  if (await store.blobs.has(manifest.config.digest)) {
    configBytes = await store.blobs.readBytes(manifest.config.digest, 'image config');
  } else {
    configBytes = await source.readBlob(manifest.config);
    await store.blobs.putBytes(configBytes, manifest.config.digest, 'image config');
  }
  const config = parseImageConfig(configBytes);
  if (config.diffIds.length !== manifest.layers.length) {
    throw new TsswarmError(ErrorCode.CORRUPT, `image ${manifestDigest}: manifest has ${manifest.layers.length} layers but config lists ${config.diffIds.length}`);
  }
  const layers = await mapLimit(manifest.layers, maxConcurrentLayerTransfers, async (desc, i): Promise<LayerRecord> => {
    const diffId = config.diffIds[i] as string;
    const haveBlob = await store.blobs.has(desc.digest);
    if (!haveBlob && source.openBlob && !(await store.hasLayer(diffId))) {
      // The common case of a pull: download and unpack in one pass.
      options.onProgress({ digest: desc.digest, phase: 'downloading', current: 0, total: desc.size });
      let current = 0;
      const { size: unpackedSize } = await store.putAndUnpack(await source.openBlob(desc), {
        digest: desc.digest,
        size: desc.size,
        diffId,
        what: `blob ${desc.digest}`,
        onBytes: (n) => {
          current += n;
          options.onProgress({ digest: desc.digest, phase: 'downloading', current, total: desc.size });
        },
      });
      options.onProgress({ digest: desc.digest, phase: 'done', current: desc.size, total: desc.size });
      return { digest: desc.digest, mediaType: desc.mediaType, size: desc.size, diffId, unpackedSize };
    }
    if (!haveBlob) {
      await source.copyBlob(desc, store, options.onProgress);
    } else {
      options.onProgress({ digest: desc.digest, phase: 'exists', current: desc.size, total: desc.size });
    }
    let unpackedSize: number;
    if (await store.hasLayer(diffId)) {
      unpackedSize = await knownUnpackedSize(store, diffId);
    } else {
      options.onProgress({ digest: desc.digest, phase: 'extracting', current: 0, total: desc.size });
      unpackedSize = (await store.unpack(desc.digest, diffId)).size;
    }
    options.onProgress({ digest: desc.digest, phase: 'done', current: desc.size, total: desc.size });
    return { digest: desc.digest, mediaType: desc.mediaType, size: desc.size, diffId, unpackedSize };
  });
  await store.blobs.putBytes(manifestBytes, manifestDigest, 'manifest');
  const record: ImageRecord = {
    id: manifest.config.digest,
    manifestDigest,
    manifestMediaType: manifest.mediaType,
    configDigest: manifest.config.digest,
    layers,
    ...(config.created !== undefined ? { created: config.created } : {}),
    repoDigests: options.repoDigests,
    addedAt: options.now.toISOString(),
  };
  return { record, config };
}

/** The uncompressed size of a layer another image already recorded (0 when none did). */
async function knownUnpackedSize(store: ImageStore, diffId: string): Promise<number> {
  const state = await store.readState();
  for (const image of Object.values(state.images)) {
    const layer = image.layers.find((l) => l.diffId === diffId);
    if (layer) return layer.unpackedSize;
  }
  return 0;
}
