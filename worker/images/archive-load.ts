/**
 * `image load`: docker-save tarballs (manifest.json with Config/RepoTags/Layers) and OCI-layout
 * tarballs (oci-layout, index.json, blobs/sha256/...). The tarball is unpacked by the system tar
 * into a temp dir of the store; every blob is verified on its way into the store.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { runCommand } from '../../lib/run-command.js';
import { digestHex, sha256Digest, verifyBytes } from './digest.js';
import { parseImageConfig } from './image-config.js';
import type { ImageStore } from './image-store.js';
import { ingestManifest, type BlobSource } from './ingest.js';
import { buildOciManifest, parseManifest, selectPlatform, type Descriptor } from './manifest.js';
import { MediaType } from './media-types.js';
import type { ProgressListener } from './progress.js';
import { parseReference, type ImageReference } from './reference.js';
import type { ImageRecord } from './store-state.js';
import { fileCompression } from './unpack.js';

/** Longest time the system tar may take to unpack an archive, in milliseconds. */
export const archiveUnpackTimeoutMs = 10 * 60_000;

/** One image found in an archive. */
export interface LoadedImage {
  readonly record: ImageRecord;
  /** The names it carried (may be empty: then it is loaded untagged). */
  readonly names: readonly ImageReference[];
}

/** Annotation docker and containerd put on OCI index entries with the full image name. */
export const containerdNameAnnotation = 'io.containerd.image.name';
/** The OCI annotation naming an index entry (a tag, or a full reference). */
export const ociRefNameAnnotation = 'org.opencontainers.image.ref.name';

/** The name an OCI index entry carries, if any (pure). */
export function ociEntryName(annotations: Readonly<Record<string, string>> | undefined): ImageReference | undefined {
  const full = annotations?.[containerdNameAnnotation];
  if (full !== undefined) return parseReference(full);
  const ref = annotations?.[ociRefNameAnnotation];
  if (ref !== undefined && (ref.includes(':') || ref.includes('/'))) return parseReference(ref);
  return undefined;
}

function corrupt(file: string, why: string): TsswarmError {
  return new TsswarmError(ErrorCode.CORRUPT, `${file}: ${why}`);
}

/** A path inside the unpacked archive; refuses names that climb out of it. */
function inside(dir: string, name: string, file: string): string {
  const n = normalize(name);
  if (n.startsWith('..') || n.startsWith('/')) throw corrupt(file, `entry ${JSON.stringify(name)} points outside the archive`);
  return join(dir, n);
}

async function readJson(path: string, file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw corrupt(file, `${what} is missing`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw corrupt(file, `${what} is not valid JSON`);
  }
}

/** Blobs of an unpacked OCI layout. */
class LayoutSource implements BlobSource {
  constructor(
    private readonly dir: string,
    private readonly file: string,
  ) {}

  blobPath(digest: string): string {
    return join(this.dir, 'blobs', 'sha256', digestHex(digest));
  }

  async readBlob(desc: Descriptor): Promise<Uint8Array> {
    try {
      return await readFile(this.blobPath(desc.digest));
    } catch {
      throw corrupt(this.file, `blob ${desc.digest} is missing`);
    }
  }

  async openBlob(desc: Descriptor): Promise<AsyncIterable<Uint8Array>> {
    const path = this.blobPath(desc.digest);
    await stat(path).catch(() => {
      throw corrupt(this.file, `blob ${desc.digest} is missing`);
    });
    return createReadStream(path, { highWaterMark: 1024 * 1024 });
  }

  async copyBlob(desc: Descriptor, store: ImageStore, onProgress: ProgressListener): Promise<void> {
    const path = this.blobPath(desc.digest);
    await stat(path).catch(() => {
      throw corrupt(this.file, `blob ${desc.digest} is missing`);
    });
    let current = 0;
    await store.blobs.putFile(path, {
      expectedDigest: desc.digest,
      expectedSize: desc.size,
      what: `${this.file}: blob`,
      onBytes: (n) => {
        current += n;
        onProgress({ digest: desc.digest, phase: 'downloading', current, total: desc.size });
      },
    });
  }
}

/**
 * Loads every image of the archive at `file` into the store (lock held by the caller). Returns
 * the image records to commit; on failure the caller garbage-collects what was copied.
 */
export async function loadArchive(store: ImageStore, file: string, options: { readonly onProgress: ProgressListener; readonly now: Date }): Promise<LoadedImage[]> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new Error('not a file');
  } catch {
    throw new TsswarmError(ErrorCode.NOT_FOUND, `${file}: no such archive file`);
  }
  const dir = store.blobs.tempPath('load');
  await mkdir(dir);
  try {
    await runCommand('tar', ['-xf', file, '-C', dir, '--no-same-owner', '--no-same-permissions'], { timeoutMs: archiveUnpackTimeoutMs }).catch((err: unknown) => {
      throw corrupt(file, `not a tar archive (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
    });
    const hasDockerManifest = await stat(join(dir, 'manifest.json')).then(() => true, () => false);
    const hasLayout = await stat(join(dir, 'oci-layout')).then(() => true, () => false);
    if (hasDockerManifest) return await loadDockerSave(store, dir, file, options);
    if (hasLayout) return await loadOciLayout(store, dir, file, options);
    throw corrupt(file, 'neither a docker-save archive (manifest.json) nor an OCI layout (oci-layout, index.json)');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function loadOciLayout(store: ImageStore, dir: string, file: string, options: { readonly onProgress: ProgressListener; readonly now: Date }): Promise<LoadedImage[]> {
  const layout = (await readJson(join(dir, 'oci-layout'), file, 'oci-layout')) as { imageLayoutVersion?: unknown } | null;
  if (typeof layout !== 'object' || layout === null || typeof layout.imageLayoutVersion !== 'string') throw corrupt(file, 'oci-layout has no imageLayoutVersion');
  const indexBytes = await readFile(join(dir, 'index.json')).catch(() => {
    throw corrupt(file, 'index.json is missing');
  });
  const index = parseManifest(indexBytes, MediaType.ociIndex, `${file}: index.json`);
  if (index.kind !== 'index') throw corrupt(file, 'index.json is not an index');
  if (index.manifests.length === 0) throw corrupt(file, 'index.json lists no images');
  const source = new LayoutSource(dir, file);
  const out: LoadedImage[] = [];
  for (const entry of index.manifests) {
    const name = ociEntryName(entry.annotations);
    let desc = entry;
    let bytes = await source.readBlob(desc);
    verifyBytes(bytes, desc.digest, `${file}: manifest`);
    // Nested indexes (multi-platform images) are resolved to their linux/amd64 manifest.
    for (let depth = 0; ; depth++) {
      const doc = parseManifest(bytes, desc.mediaType, `${file}: manifest ${desc.digest}`);
      if (doc.kind === 'manifest') break;
      if (depth >= 2) throw corrupt(file, 'indexes nested too deep');
      desc = selectPlatform(doc, undefined, file);
      bytes = await source.readBlob(desc);
      verifyBytes(bytes, desc.digest, `${file}: manifest`);
    }
    const { record } = await ingestManifest(store, source, bytes, desc.digest, {
      headerType: desc.mediaType,
      onProgress: options.onProgress,
      repoDigests: [],
      now: options.now,
    });
    out.push({ record, names: name ? [name] : [] });
  }
  return out;
}

interface DockerSaveEntry {
  readonly Config: string;
  readonly RepoTags: readonly string[];
  readonly Layers: readonly string[];
}

function parseDockerSaveManifest(value: unknown, file: string): DockerSaveEntry[] {
  if (!Array.isArray(value) || value.length === 0) throw corrupt(file, 'manifest.json is not a non-empty list');
  return value.map((e: unknown, i) => {
    const r = e as Partial<Record<keyof DockerSaveEntry, unknown>> | null;
    if (typeof r !== 'object' || r === null || typeof r.Config !== 'string' || !Array.isArray(r.Layers) || !r.Layers.every((l) => typeof l === 'string')) {
      throw corrupt(file, `manifest.json entry ${i} needs Config and Layers`);
    }
    const tags = Array.isArray(r.RepoTags) ? r.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    return { Config: r.Config, RepoTags: tags, Layers: r.Layers as string[] };
  });
}

async function loadDockerSave(store: ImageStore, dir: string, file: string, options: { readonly onProgress: ProgressListener; readonly now: Date }): Promise<LoadedImage[]> {
  const entries = parseDockerSaveManifest(await readJson(join(dir, 'manifest.json'), file, 'manifest.json'), file);
  const out: LoadedImage[] = [];
  for (const entry of entries) {
    const configPath = inside(dir, entry.Config, file);
    const configBytes = await readFile(configPath).catch(() => {
      throw corrupt(file, `config ${entry.Config} is missing`);
    });
    const configDigest = sha256Digest(configBytes);
    const named = /([a-f0-9]{64})(?:\.json)?$/.exec(entry.Config);
    if (named && `sha256:${named[1]}` !== configDigest) throw corrupt(file, `config ${entry.Config} does not match its name (digest ${configDigest})`);
    const config = parseImageConfig(configBytes);
    if (config.diffIds.length !== entry.Layers.length) throw corrupt(file, `image has ${entry.Layers.length} layers but its config lists ${config.diffIds.length}`);
    // Layers go into the store as they are (plain or compressed); the digests make the manifest.
    const layers: Descriptor[] = [];
    for (const layer of entry.Layers) {
      const path = inside(dir, layer, file);
      const compression = await fileCompression(path).catch(() => {
        throw corrupt(file, `layer ${layer} is missing`);
      });
      const stored = await store.blobs.putFile(path, { what: `${file}: layer` });
      const mediaType = compression === 'gzip' ? MediaType.ociLayerGzip : compression === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer;
      layers.push({ mediaType, digest: stored.digest, size: stored.size });
    }
    const configDesc: Descriptor = { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length };
    const manifestBytes = Buffer.from(buildOciManifest(configDesc, layers), 'utf8');
    const source: BlobSource = {
      readBlob: () => Promise.resolve(configBytes),
      copyBlob: (desc) => Promise.reject(new TsswarmError(ErrorCode.CORRUPT, `${file}: blob ${desc.digest} vanished while loading`)),
    };
    const { record } = await ingestManifest(store, source, manifestBytes, sha256Digest(manifestBytes), {
      onProgress: options.onProgress,
      repoDigests: [],
      now: options.now,
    });
    out.push({ record, names: entry.RepoTags.map((t) => parseReference(t)) });
  }
  return out;
}
