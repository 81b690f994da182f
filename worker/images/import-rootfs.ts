/**
 * `image import`: a root filesystem tarball (plain, gzip or zstd) becomes a one-layer image, as
 * `docker import` does. The layer is stored gzip-compressed; its diff ID is the digest of the
 * uncompressed tar.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { sha256Digest } from './digest.js';
import { buildImageConfig } from './image-config.js';
import type { ImageStore } from './image-store.js';
import { ingestManifest, type IngestResult } from './ingest.js';
import { buildOciManifest, type Descriptor } from './manifest.js';
import { MediaType } from './media-types.js';
import type { ProgressListener } from './progress.js';
import { fileCompression } from './unpack.js';

/** gzip level of imported layers. */
export const importGzipLevel = 6;

/** Imports `file` as a one-layer image (lock held by the caller, who commits and tags). */
export async function importRootfs(
  store: ImageStore,
  file: string,
  options: { readonly onProgress: ProgressListener; readonly now: Date; readonly cmd?: readonly string[] },
): Promise<IngestResult> {
  try {
    if (!(await stat(file)).isFile()) throw new Error('not a file');
  } catch {
    throw new TsswarmError(ErrorCode.NOT_FOUND, `${file}: no such file`);
  }
  const compression = await fileCompression(file);
  let plain: Readable = createReadStream(file, { highWaterMark: 1024 * 1024 });
  if (compression === 'gzip') plain = plain.pipe(createGunzip());
  if (compression === 'zstd') {
    const child = spawn('zstd', ['-d', '-c', '-q', file], { stdio: ['ignore', 'pipe', 'ignore'] });
    plain = child.stdout;
  }
  const diffHash = createHash('sha256');
  const tap = new PassThrough();
  tap.on('data', (chunk: Buffer) => diffHash.update(chunk));
  plain.on('error', (err) => tap.destroy(err));
  const gzip = createGzip({ level: importGzipLevel });
  tap.on('error', (err) => gzip.destroy(err));
  plain.pipe(tap).pipe(gzip);
  let stored;
  try {
    stored = await store.blobs.putStream(gzip, { what: `${file}: layer` });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw new TsswarmError(ErrorCode.CORRUPT, `${file}: bad compressed data`);
    throw err;
  }
  const diffId = `sha256:${diffHash.digest('hex')}`;
  const created = options.now.toISOString();
  const configBytes = Buffer.from(
    buildImageConfig({ diffIds: [diffId], created, createdBy: 'tsswarm image import', ...(options.cmd ? { cmd: options.cmd } : {}) }),
    'utf8',
  );
  const config = await store.blobs.putBytes(configBytes, undefined, 'image config');
  const layer: Descriptor = { mediaType: MediaType.ociLayerGzip, digest: stored.digest, size: stored.size };
  const manifest = Buffer.from(buildOciManifest({ mediaType: MediaType.ociConfig, digest: config.digest, size: config.size }, [layer]), 'utf8');
  return ingestManifest(
    store,
    {
      readBlob: () => Promise.resolve(configBytes),
      copyBlob: (desc) => Promise.reject(new TsswarmError(ErrorCode.CORRUPT, `blob ${desc.digest} vanished during import`)),
    },
    manifest,
    sha256Digest(manifest),
    { onProgress: options.onProgress, repoDigests: [], now: options.now },
  );
}
