/**
 * Pulling an image from a registry: the manifest by tag or digest (verified: against the digest
 * asked for, and against the registry's Docker-Content-Digest header), the linux/amd64 entry of a
 * manifest list, then config and layers through ingestManifest (every blob verified, nothing
 * unverified ever stored).
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { digestMismatch, sha256Digest } from './digest.js';
import type { ImageStore } from './image-store.js';
import { ingestManifest, type BlobSource, type IngestResult } from './ingest.js';
import { parseManifest, selectPlatform, type Descriptor } from './manifest.js';
import type { ProgressListener } from './progress.js';
import { familiarReference, formatReference, repositoryName, type ImageReference } from './reference.js';
import type { FetchedManifest, RegistryClient } from './registry-client.js';
import { maxInMemoryBlobBytes } from './blob-store.js';

/** What a pull brought in. */
export interface PullResult extends IngestResult {
  /** Digest of the manifest (or list) the reference named: what `repo@digest` pulls again. */
  readonly digest: string;
}

/** Fetches a manifest and checks its bytes against the digest asked for and the header. */
async function fetchVerifiedManifest(client: RegistryClient, ref: ImageReference, reference: string): Promise<FetchedManifest & { digest: string }> {
  let m: FetchedManifest;
  try {
    m = await client.getManifest(ref.path, reference);
  } catch (err) {
    if (err instanceof TsswarmError && err.code === ErrorCode.NOT_FOUND) {
      throw new TsswarmError(ErrorCode.NOT_FOUND, `${familiarReference(ref)}: not found in registry ${ref.domain} (${err.message})`);
    }
    throw err;
  }
  const digest = sha256Digest(m.bytes);
  if (reference.startsWith('sha256:') && digest !== reference) throw digestMismatch(`manifest ${formatReference(ref)}`, reference, digest);
  if (m.headerDigest !== undefined && m.headerDigest.startsWith('sha256:') && m.headerDigest !== digest) {
    throw digestMismatch(`manifest ${formatReference(ref)} (Docker-Content-Digest)`, m.headerDigest, digest);
  }
  return { ...m, digest };
}

/** Blobs of one repository of a registry. */
export class RegistrySource implements BlobSource {
  constructor(
    private readonly client: RegistryClient,
    private readonly repo: string,
  ) {}

  readBlob(desc: Descriptor): Promise<Uint8Array> {
    return this.client.getBlobBytes(this.repo, desc.digest, Math.min(desc.size, maxInMemoryBlobBytes));
  }

  openBlob(desc: Descriptor): Promise<AsyncIterable<Uint8Array>> {
    return this.client.getBlobStream(this.repo, desc.digest);
  }

  async copyBlob(desc: Descriptor, store: ImageStore, onProgress: ProgressListener): Promise<void> {
    onProgress({ digest: desc.digest, phase: 'downloading', current: 0, total: desc.size });
    const stream = await this.client.getBlobStream(this.repo, desc.digest);
    let current = 0;
    await store.blobs.putStream(stream, {
      expectedDigest: desc.digest,
      expectedSize: desc.size,
      what: `blob ${desc.digest} from ${this.repo}`,
      onBytes: (n) => {
        current += n;
        onProgress({ digest: desc.digest, phase: 'downloading', current, total: desc.size });
      },
    });
  }
}

/** Pulls `ref` into the store (lock held by the caller, who commits the record and tags). */
export async function pullImage(
  store: ImageStore,
  client: RegistryClient,
  ref: ImageReference,
  options: { readonly onProgress: ProgressListener; readonly now: Date },
): Promise<PullResult> {
  const top = await fetchVerifiedManifest(client, ref, ref.digest ?? ref.tag ?? 'latest');
  let manifest = top;
  const doc = parseManifest(top.bytes, top.mediaType, `manifest ${familiarReference(ref)}`);
  if (doc.kind === 'index') {
    const entry = selectPlatform(doc, undefined, familiarReference(ref));
    manifest = await fetchVerifiedManifest(client, ref, entry.digest);
  }
  const result = await ingestManifest(store, new RegistrySource(client, ref.path), manifest.bytes, manifest.digest, {
    headerType: manifest.mediaType,
    onProgress: options.onProgress,
    repoDigests: [`${repositoryName(ref)}@${top.digest}`],
    now: options.now,
  });
  return { ...result, digest: top.digest };
}
