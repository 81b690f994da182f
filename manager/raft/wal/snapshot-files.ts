/**
 * Snapshot files: the application's state at a log index, with the membership at that point.
 *
 *     DIR/<term:16 hex>-<index:16 hex>.snap  =  u32 CRC-32C of the rest | u32 metadata length |
 *                                               metadata JSON | data
 *
 * Written to a temporary file, fsynced, then renamed; the newest valid file wins on load, damaged
 * ones are reported and skipped, and only the newest few are kept.
 */
import { readFileSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, TsswarmError } from '../../../lib/errors.js';
import type { Snapshot, SnapshotMetadata } from '../types.js';
import { crc32c } from './crc32c.js';

/**
 * How many snapshot files are kept. One: once a newer snapshot is saved, the WAL segments before it
 * are released, so an older snapshot could not be replayed forward anyway.
 */
export const keptSnapshots = 1;

const snapPattern = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

function fileName(meta: SnapshotMetadata): string {
  return `${meta.term.toString(16).padStart(16, '0')}-${meta.index.toString(16).padStart(16, '0')}.snap`;
}

/**
 * The head of a snapshot file (checksum, metadata length, metadata) for data made of `parts` laid
 * end to end; the parts follow it unchanged. Built apart so that saving does not first copy the data
 * (as large as the application's whole state) into one file image (pure).
 */
export function encodeSnapshotHead(metadata: SnapshotMetadata, parts: readonly Uint8Array[]): Uint8Array {
  const meta = new TextEncoder().encode(JSON.stringify(metadata));
  const head = new Uint8Array(8 + meta.length);
  const view = new DataView(head.buffer);
  view.setUint32(4, meta.length, true);
  head.set(meta, 8);
  let crc = crc32c(head.subarray(4));
  for (const part of parts) crc = crc32c(part, crc);
  view.setUint32(0, crc, true);
  return head;
}

/** The bytes of a snapshot file (pure). */
export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  const head = encodeSnapshotHead(snapshot.metadata, [snapshot.data]);
  const out = new Uint8Array(head.length + snapshot.data.length);
  out.set(head, 0);
  out.set(snapshot.data, head.length);
  return out;
}

/**
 * The snapshot in a file's bytes; CORRUPT when they fail their checksum (pure). The data is a view
 * of `bytes`, not a copy.
 */
export function decodeSnapshot(bytes: Uint8Array, name: string): Snapshot {
  if (bytes.length < 8) throw new TsswarmError(ErrorCode.CORRUPT, `snapshot ${name} is cut short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (crc32c(bytes.subarray(4)) !== view.getUint32(0, true)) throw new TsswarmError(ErrorCode.CORRUPT, `snapshot ${name} fails its checksum`);
  const metaLength = view.getUint32(4, true);
  if (8 + metaLength > bytes.length) throw new TsswarmError(ErrorCode.CORRUPT, `snapshot ${name} has a bad metadata length`);
  const metadata = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + metaLength))) as SnapshotMetadata;
  return { metadata, data: bytes.subarray(8 + metaLength) };
}

/** Writes `parts` one after the other, whatever short writes the file system makes. */
async function writeAll(handle: FileHandle, parts: readonly Uint8Array[]): Promise<void> {
  let rest = parts.filter((p) => p.length > 0);
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest);
    const left: Uint8Array[] = [];
    for (const p of rest) {
      if (bytesWritten >= p.length) bytesWritten -= p.length;
      else {
        left.push(p.subarray(bytesWritten));
        bytesWritten = 0;
      }
    }
    rest = left;
  }
}

/** The snapshot files of one member. */
export class SnapshotFiles {
  constructor(readonly dir: string) {}

  /** Writes a snapshot durably and removes all but the newest few. */
  save(snapshot: Snapshot): Promise<void> {
    return this.saveParts(snapshot.metadata, [snapshot.data]);
  }

  /**
   * Writes a snapshot whose data is `parts` laid end to end (never joined in memory), durably, and
   * removes all but the newest few.
   */
  async saveParts(metadata: SnapshotMetadata, parts: readonly Uint8Array[]): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const name = fileName(metadata);
    const tmp = join(this.dir, `${name}.tmp`);
    const handle = await open(tmp, 'w', 0o600);
    try {
      await writeAll(handle, [encodeSnapshotHead(metadata, parts), ...parts]);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, join(this.dir, name));
    const dirHandle = await open(this.dir, 'r');
    await dirHandle.sync().finally(() => dirHandle.close());
    const names = await this.names();
    for (const old of names.slice(keptSnapshots)) await rm(join(this.dir, old), { force: true });
  }

  /**
   * The data of the snapshot file saved for `metadata`, read back synchronously (raft's storage
   * interface is synchronous; the leader needs it only to catch up a follower). CORRUPT when it fails
   * its checksum or is another snapshot, NOT_FOUND when the file is gone.
   */
  loadSync(metadata: SnapshotMetadata): Uint8Array {
    const name = fileName(metadata);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(join(this.dir, name));
    } catch (err) {
      throw new TsswarmError(ErrorCode.NOT_FOUND, `snapshot ${name} in ${this.dir} cannot be read: ${(err as Error).message}`, { cause: err });
    }
    let snapshot: Snapshot;
    try {
      snapshot = decodeSnapshot(bytes, name);
    } catch (err) {
      if (err instanceof TsswarmError) throw err;
      throw new TsswarmError(ErrorCode.CORRUPT, `snapshot ${name} has unreadable metadata`, { cause: err });
    }
    if (snapshot.metadata.index !== metadata.index || snapshot.metadata.term !== metadata.term) {
      throw new TsswarmError(ErrorCode.CORRUPT, `snapshot ${name} holds index ${snapshot.metadata.index} term ${snapshot.metadata.term}`);
    }
    return snapshot.data;
  }

  /** File names, newest (highest index) first. */
  private async names(): Promise<string[]> {
    const all = await readdir(this.dir).catch(() => [] as string[]);
    return all.filter((n) => snapPattern.test(n)).sort((a, b) => b.slice(17).localeCompare(a.slice(17)));
  }

  /** The newest snapshot that reads back whole, and the names of damaged ones skipped on the way. */
  async loadNewest(): Promise<{ snapshot: Snapshot | undefined; damaged: string[] }> {
    const damaged: string[] = [];
    for (const name of await this.names()) {
      try {
        return { snapshot: decodeSnapshot(await readFile(join(this.dir, name)), name), damaged };
      } catch (err) {
        if (!(err instanceof TsswarmError) && !(err instanceof SyntaxError)) throw err;
        damaged.push(name);
      }
    }
    return { snapshot: undefined, damaged };
  }
}
