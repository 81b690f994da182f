/**
 * Content-addressed blob storage: `<root>/blobs/sha256/<hex>`. Every write goes to a temp file in
 * `<root>/tmp`, is hashed on the way, fsynced, checked against the digest it claims and only then
 * renamed into place; a blob whose content does not match its digest is never stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { digestHex, digestMismatch, isDigest, sha256Digest } from './digest.js';

/** Largest blob read whole into memory (manifests and configs), in bytes. */
export const maxInMemoryBlobBytes = 16 * 1024 * 1024;

/** What a stored blob is: its digest and size in bytes. */
export interface StoredBlob {
  readonly digest: string;
  readonly size: number;
}

/** Options of a streamed write. */
export interface PutOptions {
  /** The digest the content must have; a mismatch throws CORRUPT and stores nothing. */
  readonly expectedDigest?: string;
  /** The size the content must have, in bytes. */
  readonly expectedSize?: number;
  /** Called with each chunk's length as it is written (progress). */
  readonly onBytes?: (n: number) => void;
  /** What the blob is, for error messages. */
  readonly what?: string;
}

/** Content-addressed blobs under one root directory. */
export class BlobStore {
  readonly blobDir: string;
  readonly tmpDir: string;

  constructor(readonly root: string) {
    this.blobDir = join(root, 'blobs', 'sha256');
    this.tmpDir = join(root, 'tmp');
  }

  /** Creates the directories. */
  async init(): Promise<void> {
    await mkdir(this.blobDir, { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
  }

  /** Path of a blob's file (whether or not it exists). */
  path(digest: string): string {
    return join(this.blobDir, digestHex(digest));
  }

  /** A fresh path in the temp directory (same filesystem as the blobs, so rename is atomic). */
  tempPath(label: string): string {
    return join(this.tmpDir, `${label}-${randomBytes(8).toString('hex')}`);
  }

  /** True when the blob is stored. */
  async has(digest: string): Promise<boolean> {
    try {
      await stat(this.path(digest));
      return true;
    } catch {
      return false;
    }
  }

  /** Size of a stored blob in bytes; NOT_FOUND when missing. */
  async size(digest: string): Promise<number> {
    try {
      return (await stat(this.path(digest))).size;
    } catch {
      throw new TsswarmError(ErrorCode.NOT_FOUND, `blob ${digest} is not in the store`);
    }
  }

  /** Reads a small blob whole, verifying its digest (CORRUPT when the file changed on disk). */
  async readBytes(digest: string, what = 'blob'): Promise<Buffer> {
    let bytes: Buffer;
    try {
      const s = await stat(this.path(digest));
      if (s.size > maxInMemoryBlobBytes) throw new TsswarmError(ErrorCode.CORRUPT, `${what} ${digest} is larger than ${maxInMemoryBlobBytes} bytes`);
      bytes = await readFile(this.path(digest));
    } catch (err) {
      if (err instanceof TsswarmError) throw err;
      throw new TsswarmError(ErrorCode.NOT_FOUND, `${what} ${digest} is not in the store`);
    }
    const actual = sha256Digest(bytes);
    if (actual !== digest) throw digestMismatch(`stored ${what}`, digest, actual);
    return bytes;
  }

  /** Stores bytes (verified against `expectedDigest` when given); returns the digest. */
  async putBytes(bytes: Uint8Array | string, expectedDigest?: string, what = 'blob'): Promise<StoredBlob> {
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    const digest = sha256Digest(data);
    if (expectedDigest !== undefined && digest !== expectedDigest) throw digestMismatch(what, expectedDigest, digest);
    if (await this.has(digest)) return { digest, size: data.length };
    const tmp = this.tempPath('put');
    try {
      const fh = await open(tmp, 'wx', 0o644);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path(digest));
    } finally {
      await rm(tmp, { force: true });
    }
    return { digest, size: data.length };
  }

  /**
   * Streams content into the store. The digest is computed on the way; with `expectedDigest` a
   * mismatch throws CORRUPT and nothing is stored.
   */
  async putStream(source: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<StoredBlob> {
    const what = options.what ?? 'blob';
    if (options.expectedDigest !== undefined && !isDigest(options.expectedDigest)) {
      throw new TsswarmError(ErrorCode.CORRUPT, `${what}: malformed digest ${JSON.stringify(options.expectedDigest)}`);
    }
    const tmp = this.tempPath('stream');
    try {
      const hash = createHash('sha256');
      let size = 0;
      const fh = await open(tmp, 'wx', 0o644);
      try {
        for await (const chunk of source) {
          hash.update(chunk);
          size += chunk.length;
          if (options.expectedSize !== undefined && size > options.expectedSize) {
            throw new TsswarmError(ErrorCode.CORRUPT, `${what}: more than the ${options.expectedSize} bytes its descriptor says`);
          }
          await fh.write(chunk);
          options.onBytes?.(chunk.length);
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      const digest = `sha256:${hash.digest('hex')}`;
      if (options.expectedDigest !== undefined && digest !== options.expectedDigest) throw digestMismatch(what, options.expectedDigest, digest);
      if (options.expectedSize !== undefined && size !== options.expectedSize) {
        throw new TsswarmError(ErrorCode.CORRUPT, `${what}: ${size} bytes where its descriptor says ${options.expectedSize}`);
      }
      await rename(tmp, this.path(digest));
      return { digest, size };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Copies a file into the store (verified against `expectedDigest` when given). */
  async putFile(file: string, options: PutOptions = {}): Promise<StoredBlob> {
    return this.putStream(createReadStream(file, { highWaterMark: 1024 * 1024 }), options);
  }

  /** Every stored digest. */
  async list(): Promise<string[]> {
    const names = await readdir(this.blobDir).catch(() => [] as string[]);
    return names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  /** Removes a blob; true when it existed. */
  async remove(digest: string): Promise<boolean> {
    const existed = await this.has(digest);
    await rm(this.path(digest), { force: true });
    return existed;
  }

  /** Removes leftover temp files (from a crash mid-write); call with the store lock held. */
  async clearTemp(): Promise<void> {
    for (const name of await readdir(this.tmpDir).catch(() => [] as string[])) {
      await rm(join(this.tmpDir, name), { recursive: true, force: true });
    }
  }
}
