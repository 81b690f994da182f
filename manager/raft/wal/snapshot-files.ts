/**
 * Snapshot files: the application's state at a log index, with the membership at that point.
 *
 *     DIR/<term:16 hex>-<index:16 hex>.snap  =  u32 CRC-32C of the rest | u32 metadata length |
 *                                               metadata JSON | data
 *
 * Written to a temporary file, fsynced, then renamed; the newest valid file wins on load, damaged
 * ones are reported and skipped, and only the newest few are kept.
 */
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
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

/** The bytes of a snapshot file (pure). */
export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  const meta = new TextEncoder().encode(JSON.stringify(snapshot.metadata));
  const out = new Uint8Array(8 + meta.length + snapshot.data.length);
  const view = new DataView(out.buffer);
  view.setUint32(4, meta.length, true);
  out.set(meta, 8);
  out.set(snapshot.data, 8 + meta.length);
  view.setUint32(0, crc32c(out.subarray(4)), true);
  return out;
}

/** The snapshot in a file's bytes; CORRUPT when they fail their checksum (pure). */
export function decodeSnapshot(bytes: Uint8Array, name: string): Snapshot {
  if (bytes.length < 8) throw new TsswarmError(ErrorCode.CORRUPT, `snapshot ${name} is cut short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (crc32c(bytes.subarray(4)) !== view.getUint32(0, true)) throw new TsswarmError(ErrorCode.CORRUPT, `snapshot ${name} fails its checksum`);
  const metaLength = view.getUint32(4, true);
  if (8 + metaLength > bytes.length) throw new TsswarmError(ErrorCode.CORRUPT, `snapshot ${name} has a bad metadata length`);
  const metadata = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + metaLength))) as SnapshotMetadata;
  return { metadata, data: bytes.slice(8 + metaLength) };
}

/** The snapshot files of one member. */
export class SnapshotFiles {
  constructor(readonly dir: string) {}

  /** Writes a snapshot durably and removes all but the newest few. */
  async save(snapshot: Snapshot): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const name = fileName(snapshot.metadata);
    const tmp = join(this.dir, `${name}.tmp`);
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.write(encodeSnapshot(snapshot));
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
        return { snapshot: decodeSnapshot(new Uint8Array(await readFile(join(this.dir, name))), name), damaged };
      } catch (err) {
        if (!(err instanceof TsswarmError) && !(err instanceof SyntaxError)) throw err;
        damaged.push(name);
      }
    }
    return { snapshot: undefined, damaged };
  }
}
