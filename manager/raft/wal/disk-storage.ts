/**
 * Raft storage on disk: a MemoryStorage in front (what raft reads), the WAL and snapshot files
 * behind (what survives a crash). Everything is made durable before the memory copy changes, as
 * raft requires: a Ready's hard state and entries are persisted before its messages are sent.
 *
 * The memory copy holds a snapshot's metadata only. Its data is as large as the application's whole
 * state and raft needs it only to catch up a follower that fell behind the log, so `snapshot()` reads
 * it back from the snapshot file then (kept while someone still holds it, see `snapshotData`).
 */
import { join } from 'node:path';
import { assert } from '../../../lib/assert.js';
import { ErrorCode, TsswarmError } from '../../../lib/errors.js';
import { RaftError } from '../errors.js';
import { MemoryStorage, emptySnapshot, type InitialState, type Storage } from '../storage.js';
import type { ConfState, Entry, HardState, Snapshot, SnapshotMetadata } from '../types.js';
import { SnapshotFiles } from './snapshot-files.js';
import { Wal, entriesAfterSnapshot, type WalOptions } from './wal.js';
import type { WalRecord } from './record.js';

/** What a Ready asks to persist. */
export interface PersistRequest {
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader. */
  readonly snapshot?: Snapshot;
}

/** A member's durable raft storage. */
export class DiskStorage implements Storage {
  /** The data of the newest snapshot while something else (a message being sent) still holds it. */
  private snapshotData: { readonly index: number; readonly data: WeakRef<Uint8Array> } | undefined;
  /** Why reading the newest snapshot back failed: the storage can no longer serve raft (fail-stop). */
  failure: Error | undefined;

  private constructor(
    private readonly mem: MemoryStorage,
    private readonly wal: Wal,
    private readonly snaps: SnapshotFiles,
    /** Bytes of a torn write cut off during recovery. */
    readonly truncatedBytes: number,
  ) {}

  /** Opens the storage in `dir` (wal/ and snap/ below it), recovering what a previous run wrote. */
  static async open(dir: string, options: WalOptions = {}): Promise<DiskStorage> {
    const snaps = new SnapshotFiles(join(dir, 'snap'));
    const { snapshot } = await snaps.loadNewest();
    const { wal, recovered } = await Wal.open(join(dir, 'wal'), options);
    const mark = recovered.snapshot;
    if (mark && (!snapshot || snapshot.metadata.index < mark.index)) {
      await wal.close();
      throw new TsswarmError(
        ErrorCode.CORRUPT,
        `raft storage in ${dir}: the log was compacted to index ${mark.index} but no readable snapshot covers it; refusing to start`,
      );
    }
    const mem = new MemoryStorage(snapshot ? metadataOnly(snapshot) : emptySnapshot());
    // The snapshot file is saved before its WAL mark: a crash between the two leaves only the file,
    // and the log entries it replaced are still in the WAL.
    mem.append(snapshot ? entriesAfterSnapshot(recovered.entries, snapshot.metadata.index, snapshot.metadata.term) : recovered.entries);
    if (snapshot && snapshot.metadata.index > (mark?.index ?? 0)) {
      // Finish that compaction: write the missing mark now. Without it, entries appended after the
      // snapshot would follow the older entries in the WAL with a gap between them, and the next
      // recovery would refuse the log (the simulator found this: seed 53367).
      try {
        await wal.append([{ type: 'snapshot', index: snapshot.metadata.index, term: snapshot.metadata.term }]);
      } catch (err) {
        await wal.close();
        throw err;
      }
    }
    mem.setHardState(recovered.hardState);
    const storage = new DiskStorage(mem, wal, snaps, recovered.truncatedBytes);
    if (snapshot) storage.remember(snapshot.metadata, snapshot.data);
    return storage;
  }

  initialState(): InitialState {
    return this.mem.initialState();
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] | undefined {
    return this.mem.entries(lo, hi, maxBytes);
  }
  term(index: number): number | undefined {
    return this.mem.term(index);
  }
  firstIndex(): number {
    return this.mem.firstIndex();
  }
  lastIndex(): number {
    return this.mem.lastIndex();
  }
  /** The newest snapshot; its data is read back from its file unless still in memory. */
  snapshot(): Snapshot {
    const snap = this.mem.snapshot();
    if (snap.metadata.index === 0) return snap;
    const held = this.snapshotData?.index === snap.metadata.index ? this.snapshotData.data.deref() : undefined;
    if (held) return { metadata: snap.metadata, data: held };
    try {
      const data = this.snaps.loadSync(snap.metadata);
      this.remember(snap.metadata, data);
      return { metadata: snap.metadata, data };
    } catch (err) {
      this.failure ??= err as Error;
      throw err;
    }
  }

  private remember(metadata: SnapshotMetadata, data: Uint8Array): void {
    this.snapshotData = { index: metadata.index, data: new WeakRef(data) };
  }

  /** Persists a Ready's snapshot, entries and hard state (one fsync for the WAL part), then applies them. */
  async persist(request: PersistRequest): Promise<void> {
    const records: WalRecord[] = [];
    if (request.snapshot) {
      await this.snaps.save(request.snapshot);
      records.push({ type: 'snapshot', index: request.snapshot.metadata.index, term: request.snapshot.metadata.term });
    }
    for (const entry of request.entries) records.push({ type: 'entry', entry });
    if (request.hardState) records.push({ type: 'hardState', hardState: request.hardState });
    if (records.length > 0) await this.wal.append(records);
    if (request.snapshot) {
      this.mem.applySnapshot(metadataOnly(request.snapshot));
      this.remember(request.snapshot.metadata, request.snapshot.data);
    }
    this.mem.append(request.entries);
    if (request.hardState) this.mem.setHardState(request.hardState);
  }

  /**
   * Takes a snapshot of the application's state at `index` (already applied) and compacts the log
   * up to `compactTo` (default: the snapshot; lower keeps entries for followers that lag a little),
   * deleting WAL segments that only hold compacted entries. The data may come in parts (laid end to
   * end in the file, never joined in memory); it is not kept in memory.
   */
  async compact(index: number, confState: ConfState, data: Uint8Array | readonly Uint8Array[], compactTo = index): Promise<SnapshotMetadata> {
    const parts = data instanceof Uint8Array ? [data] : data;
    const current = this.mem.snapshot().metadata.index;
    if (index <= current) throw new RaftError('snapshotOutOfDate', `snapshot at ${index} is not newer than ${current}`);
    const term = this.mem.term(index);
    assert(term !== undefined, `no term for snapshot index ${index}`);
    const metadata = { index, term, confState };
    // The file first: snapshot() reads the data of the snapshot the memory copy names.
    await this.snaps.saveParts(metadata, parts);
    this.mem.createSnapshot(index, confState, new Uint8Array());
    if (parts.length === 1) this.remember(metadata, parts[0] as Uint8Array);
    await this.wal.append([{ type: 'snapshot', index, term }]);
    if (compactTo >= this.mem.firstIndex()) this.mem.compact(compactTo);
    await this.wal.releaseTo(compactTo);
    return metadata;
  }

  /** fsyncs done by the WAL so far. */
  get syncs(): number {
    return this.wal.syncs;
  }

  /** Number of WAL segment files. */
  segmentCount(): Promise<number> {
    return this.wal.segmentCount();
  }

  /** Closes the files. */
  close(): Promise<void> {
    return this.wal.close();
  }
}

/** A snapshot without its data, for the memory copy. */
function metadataOnly(snapshot: Snapshot): Snapshot {
  return { metadata: snapshot.metadata, data: new Uint8Array() };
}
