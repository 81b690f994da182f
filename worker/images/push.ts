/**
 * Pushing an image to a registry: layers and config that the repository lacks are uploaded (at
 * most maxConcurrentLayerTransfers at once, streamed from the store), then the manifest under the
 * tag; the digest the registry reports must be the one we hold.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { mapLimit } from './concurrency.js';
import type { ImageStore } from './image-store.js';
import { maxConcurrentLayerTransfers } from './ingest.js';
import type { ProgressListener } from './progress.js';
import type { ImageReference } from './reference.js';
import type { RegistryClient, RequestBody } from './registry-client.js';
import type { ImageRecord } from './store-state.js';

/** What a push did. */
export interface PushResult {
  readonly digest: string;
  /** Manifest size in bytes. */
  readonly size: number;
  /** Blobs uploaded (the rest were already there). */
  readonly uploaded: number;
}

/** Pushes `image` to `ref` (which carries the tag). */
export async function pushImage(
  store: ImageStore,
  client: RegistryClient,
  image: ImageRecord,
  ref: ImageReference,
  onProgress: ProgressListener,
): Promise<PushResult> {
  const blobs = [
    ...image.layers.map((l) => ({ digest: l.digest, size: l.size })),
    { digest: image.configDigest, size: await store.blobs.size(image.configDigest) },
  ];
  const uploaded = await mapLimit(blobs, maxConcurrentLayerTransfers, async (blob) => {
    if (await client.hasBlob(ref.path, blob.digest)) {
      onProgress({ digest: blob.digest, phase: 'exists', current: blob.size, total: blob.size });
      return 0;
    }
    const path = store.blobs.path(blob.digest);
    await client.uploadBlob(ref.path, blob.digest, blob.size, () => {
      let current = 0;
      const file = createReadStream(path, { highWaterMark: 1024 * 1024 });
      file.on('data', (chunk) => {
        current += chunk.length;
        onProgress({ digest: blob.digest, phase: 'uploading', current, total: blob.size });
      });
      return Readable.toWeb(file) as unknown as RequestBody;
    });
    onProgress({ digest: blob.digest, phase: 'done', current: blob.size, total: blob.size });
    return 1;
  });
  const manifest = await store.blobs.readBytes(image.manifestDigest, 'manifest');
  const reported = await client.putManifest(ref.path, ref.tag ?? 'latest', manifest, image.manifestMediaType);
  if (reported !== undefined && reported !== image.manifestDigest) {
    throw new TsswarmError(ErrorCode.CORRUPT, `${ref.domain} stored the manifest as ${reported}, not ${image.manifestDigest}`);
  }
  return { digest: image.manifestDigest, size: manifest.length, uploaded: uploaded.reduce<number>((a, b) => a + b, 0) };
}
