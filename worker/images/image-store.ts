/**
 * The image store on disk, under `<dataDir>/images`:
 *
 *     blobs/sha256/<hex>     content-addressed blobs (manifests, configs, layer tarballs)
 *     layers/sha256/<hex>    unpacked layers by diff ID, each an overlayfs lowerdir
 *     tmp/                   partial writes (cleared under the lock)
 *     state.json             the index (images, tags), written atomically
 *     lock                   pid of the process changing the store
 *
 * Unpacked layers are shared between images and counted by reference (from the index); `gc()`
 * removes blobs and layers no image refers to.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { BlobStore } from './blob-store.js';
import { digestHex, digestMismatch } from './digest.js';
import { emptyState, layerRefCounts, referencedBlobs, validateState, type StoreState } from './store-state.js';
import { withStoreLock } from './store-lock.js';
import { sniffCompression, unpackLayer, unpackStream, type UnpackResult } from './unpack.js';

/** Bytes gathered before one write to a blob's temp file. */
export const fileWriteBatchBytes = 1024 * 1024;
/** Bytes buffered between a download and the unpacker before the download waits. */
export const unpackBufferBytes = 4 * 1024 * 1024;

/** What putAndUnpack needs to know about the layer. */
export interface LayerArrival {
  /** The blob digest the bytes must hash to. */
  readonly digest: string;
  /** The blob size in bytes. */
  readonly size: number;
  /** The diff ID the uncompressed tar must hash to (from the image config). */
  readonly diffId: string;
  /** What the blob is, for messages. */
  readonly what: string;
  /** Called with each chunk's length (progress). */
  readonly onBytes?: (n: number) => void;
}

/** The data dir used when neither --data-dir nor TSSWARM_DATA_DIR says otherwise. */
export const defaultDataDir = '/var/lib/tsswarm';

/** What a garbage collection removed. */
export interface GcReport {
  readonly blobs: number;
  readonly layers: number;
  readonly bytes: number;
}

/** The data dir from an explicit option, else TSSWARM_DATA_DIR, else the default. */
export function resolveDataDir(option?: string): string {
  const dir = option ?? process.env['TSSWARM_DATA_DIR'] ?? defaultDataDir;
  if (dir === '') throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'data dir must not be empty');
  return dir;
}

/** Blobs, unpacked layers and the index of one data dir. */
export class ImageStore {
  readonly root: string;
  readonly blobs: BlobStore;
  private readonly layerRoot: string;
  private readonly statePath: string;
  private readonly lockPath: string;
  private initialised = false;

  constructor(readonly dataDir: string) {
    this.root = join(dataDir, 'images');
    this.blobs = new BlobStore(this.root);
    this.layerRoot = join(this.root, 'layers', 'sha256');
    this.statePath = join(this.root, 'state.json');
    this.lockPath = join(this.root, 'lock');
  }

  /** Creates the directory tree (idempotent). */
  async init(): Promise<void> {
    if (this.initialised) return;
    try {
      await mkdir(this.layerRoot, { recursive: true });
      await this.blobs.init();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new TsswarmError(e.code === 'EACCES' ? ErrorCode.PERMISSION : ErrorCode.EXTERNAL, `cannot create image store in ${this.root}: ${e.message}`);
    }
    this.initialised = true;
  }

  /** Runs `fn` as the only writer of this store. */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    await this.init();
    return withStoreLock(this.lockPath, fn);
  }

  /** Reads the index (an empty one when the store is new). */
  async readState(): Promise<StoreState> {
    let text: string;
    try {
      text = await readFile(this.statePath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
      throw err;
    }
    try {
      return validateState(JSON.parse(text));
    } catch (err) {
      if (err instanceof TsswarmError) throw err;
      throw new TsswarmError(ErrorCode.CORRUPT, `image store index ${this.statePath} is not valid JSON`);
    }
  }

  /** Replaces the index atomically (temp file, fsync, rename). Call with the lock held. */
  async writeState(state: StoreState): Promise<void> {
    const tmp = this.blobs.tempPath('state');
    try {
      const fh = await open(tmp, 'wx', 0o644);
      try {
        await fh.writeFile(`${JSON.stringify(state, null, 1)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.statePath);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Directory of an unpacked layer (whether or not it exists). */
  layerPath(diffId: string): string {
    return join(this.layerRoot, digestHex(diffId));
  }

  /** True when the layer with this diff ID is unpacked. */
  async hasLayer(diffId: string): Promise<boolean> {
    return stat(this.layerPath(diffId)).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }

  /**
   * Unpacks a stored layer blob once: into a temp directory, then renamed into place, so a layer
   * directory either is complete or does not exist. `expectedDiffId` (from the image config) is
   * checked. Call with the lock held.
   */
  async unpack(blobDigest: string, expectedDiffId: string): Promise<UnpackResult> {
    const final = this.layerPath(expectedDiffId);
    const tmp = join(this.root, 'layers', `tmp-${randomBytes(8).toString('hex')}`);
    await mkdir(tmp, { mode: 0o755 });
    try {
      const result = await unpackLayer(this.blobs.path(blobDigest), tmp, expectedDiffId);
      if (await this.hasLayer(expectedDiffId)) return result;
      await rename(tmp, final);
      return result;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Stores a layer blob and unpacks it in the same pass, as it arrives (a download or a file):
   * the bytes go to a temp file and to the unpacker at once. Only when the blob digest, size and
   * diff ID all check out are the blob and the layer directory renamed into place; otherwise
   * both are discarded. Call with the lock held.
   */
  async putAndUnpack(source: AsyncIterable<Uint8Array>, layer: LayerArrival): Promise<UnpackResult> {
    const tmpBlob = this.blobs.tempPath('layer');
    const tmpDir = join(this.root, 'layers', `tmp-${randomBytes(8).toString('hex')}`);
    await mkdir(tmpDir, { mode: 0o755 });
    const feed = new PassThrough({ highWaterMark: unpackBufferBytes });
    let unpacking: Promise<UnpackResult> | undefined;
    const head: Uint8Array[] = [];
    let headBytes = 0;
    const start = (): void => {
      unpacking = unpackStream(feed, sniffCompression(Buffer.concat(head)), tmpDir, layer.diffId, layer.what);
      unpacking.catch(() => undefined);
    };
    // When the unpacker fails part-way, the download still runs to its end: a wrong blob digest is
    // the better explanation, and only the whole blob can tell.
    let unpackError: unknown;
    const send = async (chunk: Uint8Array): Promise<void> => {
      if (unpackError !== undefined) return;
      try {
        if (!feed.write(chunk)) await Promise.race([once(feed, 'drain'), unpacking]);
      } catch (err) {
        unpackError = err;
      }
    };
    try {
      const hash = createHash('sha256');
      let size = 0;
      const fh = await open(tmpBlob, 'wx', 0o644);
      try {
        // File writes are batched (one writev per fileWriteBatchBytes); the unpacker gets every chunk.
        let batch: Uint8Array[] = [];
        let batchBytes = 0;
        const flush = (): Promise<unknown> => {
          const parts = batch;
          batch = [];
          batchBytes = 0;
          return parts.length > 0 ? fh.writev(parts) : Promise.resolve();
        };
        for await (const chunk of source) {
          hash.update(chunk);
          size += chunk.length;
          if (size > layer.size) throw new TsswarmError(ErrorCode.CORRUPT, `${layer.what}: more than the ${layer.size} bytes its descriptor says`);
          layer.onBytes?.(chunk.length);
          batch.push(chunk);
          batchBytes += chunk.length;
          const writing = batchBytes >= fileWriteBatchBytes ? flush() : undefined;
          if (unpacking) {
            await Promise.all([writing, send(chunk)]);
            continue;
          }
          await writing;
          head.push(chunk);
          headBytes += chunk.length;
          if (headBytes >= 4) {
            start();
            for (const h of head.splice(0)) await send(h);
          }
        }
        await flush();
        await fh.sync();
      } finally {
        await fh.close();
      }
      const digest = `sha256:${hash.digest('hex')}`;
      if (digest !== layer.digest) throw digestMismatch(layer.what, layer.digest, digest);
      if (size !== layer.size) throw new TsswarmError(ErrorCode.CORRUPT, `${layer.what}: ${size} bytes where its descriptor says ${layer.size}`);
      if (!unpacking) {
        start();
        for (const h of head.splice(0)) await send(h);
      }
      if (unpackError !== undefined) throw unpackError;
      feed.end();
      const result = await (unpacking as unknown as Promise<UnpackResult>);
      await rename(tmpBlob, this.blobs.path(digest));
      if (!(await this.hasLayer(layer.diffId))) await rename(tmpDir, this.layerPath(layer.diffId));
      return result;
    } catch (err) {
      feed.destroy();
      await unpacking?.catch(() => undefined);
      throw err;
    } finally {
      await rm(tmpBlob, { force: true });
      await rm(tmpDir, { recursive: true, force: true });
    }
  }

  /** Reference counts of unpacked layers, by diff ID. */
  async layerRefCounts(): Promise<Map<string, number>> {
    return layerRefCounts(await this.readState());
  }

  /** Removes every blob and unpacked layer the index does not refer to, and temp files. Lock held. */
  async gc(state: StoreState): Promise<GcReport> {
    const keepBlobs = referencedBlobs(state);
    const keepLayers = new Set([...layerRefCounts(state).keys()].map((d) => digestHex(d)));
    let blobs = 0;
    let layers = 0;
    let bytes = 0;
    for (const digest of await this.blobs.list()) {
      if (keepBlobs.has(digest)) continue;
      bytes += await this.blobs.size(digest).catch(() => 0);
      if (await this.blobs.remove(digest)) blobs++;
    }
    for (const name of await readdir(this.layerRoot).catch(() => [] as string[])) {
      if (keepLayers.has(name)) continue;
      await rm(join(this.layerRoot, name), { recursive: true, force: true });
      layers++;
    }
    await this.clearPartial();
    return { blobs, layers, bytes };
  }

  /** Removes partial writes and unpacks left by a process that died mid-way. Lock held. */
  async clearPartial(): Promise<void> {
    for (const name of await readdir(join(this.root, 'layers')).catch(() => [] as string[])) {
      if (name.startsWith('tmp-')) await rm(join(this.root, 'layers', name), { recursive: true, force: true });
    }
    await this.blobs.clearTemp();
  }
}
