/**
 * The write-ahead log: raft's entries, hard state and compaction marks in segment files, written in
 * checksummed batches. Appends made while a write is in flight are written and fsynced together
 * (group commit): all pending records are encoded into one batch (header, records), written with
 * one write at the end of the segment, then fsynced once; the next batch is written only after that
 * fsync resolved, so only the last batch of the last segment can be torn by a crash. Recovery cuts
 * a torn batch (at its start, never inside it) and refuses any other damage, naming the file and
 * offset, without changing anything (scanBatch in record.ts has the rule).
 *
 *     DIR/<seq:16 hex>-<first index:16 hex>.wal
 *
 * A new segment starts with a batch of the current hard state and compaction mark, so segments wholly
 * before a snapshot can be deleted.
 */
import { mkdir, open, readFile, readdir, rm, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, TsswarmError } from '../../../lib/errors.js';
import { emptyHardState, type Entry, type HardState } from '../types.js';
import { encodeBatch, recordBytes, scanBatch, splitBatches, type WalRecord } from './record.js';

/**
 * A segment grows to about this size before the next one starts. Segments are deleted whole once a
 * snapshot covers them, so this bounds how much compacted log stays on disk.
 */
export const defaultSegmentBytes = 8 * 1024 * 1024;

/** What the log held when it was opened. */
export interface RecoveredLog {
  readonly hardState: HardState;
  /** The last compaction mark: entries up to here live in a snapshot. */
  readonly snapshot: { readonly index: number; readonly term: number } | undefined;
  /** Entries after the mark, in order, conflicting suffixes already replaced. */
  readonly entries: readonly Entry[];
  /** Bytes of an unfinished write cut from the end of the last segment (0 normally). */
  readonly truncatedBytes: number;
}

interface Segment {
  readonly seq: number;
  readonly firstIndex: number;
  readonly name: string;
}

const segmentPattern = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

function segmentName(seq: number, firstIndex: number): string {
  return `${seq.toString(16).padStart(16, '0')}-${firstIndex.toString(16).padStart(16, '0')}.wal`;
}

async function listSegments(dir: string): Promise<Segment[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const segments: Segment[] = [];
  for (const name of names) {
    const m = segmentPattern.exec(name);
    if (m) segments.push({ seq: parseInt(m[1] ?? '0', 16), firstIndex: parseInt(m[2] ?? '0', 16), name });
  }
  return segments.sort((a, b) => a.seq - b.seq);
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The entries of a log that survive a snapshot at (index, term): those after it when the log holds
 * the snapshot's entry (a compaction mark), none when the log has another term there (a snapshot
 * from the leader replaced a diverging log, and its stale suffix must not come back after a restart;
 * the raft simulator found this).
 */
export function entriesAfterSnapshot(entries: readonly Entry[], index: number, term: number): Entry[] {
  const at = entries.find((e) => e.index === index);
  if (at !== undefined && at.term !== term) return [];
  return entries.filter((e) => e.index > index);
}

/** Replays records into the recovered state (pure). */
export function replay(records: readonly WalRecord[]): Omit<RecoveredLog, 'truncatedBytes'> {
  let hardState = emptyHardState;
  let snapshot: RecoveredLog['snapshot'];
  let entries: Entry[] = [];
  for (const r of records) {
    if (r.type === 'hardState') hardState = r.hardState;
    else if (r.type === 'snapshot') {
      if (snapshot === undefined || r.index >= snapshot.index) snapshot = { index: r.index, term: r.term };
      entries = entriesAfterSnapshot(entries, r.index, r.term);
    } else {
      const e = r.entry;
      if (snapshot !== undefined && e.index <= snapshot.index) continue;
      const first = entries[0];
      const expected = entries.length > 0 ? (entries[entries.length - 1] as Entry).index + 1 : undefined;
      if (first !== undefined && expected !== undefined && e.index < expected) entries = entries.slice(0, Math.max(0, e.index - first.index));
      else if (expected !== undefined && e.index > expected) {
        throw new TsswarmError(ErrorCode.CORRUPT, `wal: entry ${e.index} follows entry ${expected - 1}: the log has a gap`);
      }
      entries.push(e);
    }
  }
  return { hardState, snapshot, entries };
}

/** Options of a WAL. */
export interface WalOptions {
  readonly segmentBytes?: number;
}

/** An open write-ahead log. */
export class Wal {
  /** Records waiting for the next write; encoded together into one buffer when it starts. */
  private pending: WalRecord[] = [];
  private waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private flushing = false;
  private failed: Error | undefined;
  private closed = false;
  /** fsyncs done so far (group commit makes this fewer than append calls). */
  syncs = 0;

  private constructor(
    private readonly dir: string,
    private handle: FileHandle,
    private segment: Segment,
    private size: number,
    private hardState: HardState,
    private snapshotMark: { index: number; term: number } | undefined,
    private lastIndex: number,
    private readonly segmentBytes: number,
  ) {}

  /** Opens (or creates) the log in `dir` and recovers what it holds. */
  static async open(dir: string, options: WalOptions = {}): Promise<{ wal: Wal; recovered: RecoveredLog }> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const segments = await listSegments(dir);
    const records: WalRecord[] = [];
    let truncatedBytes = 0;
    for (const [i, seg] of segments.entries()) {
      const path = join(dir, seg.name);
      const bytes = new Uint8Array(await readFile(path));
      let offset = 0;
      for (;;) {
        const r = scanBatch(bytes, offset);
        if (r.kind === 'end') break;
        if (r.kind === 'batch') {
          for (const record of r.records) records.push(record);
          offset = r.next;
          continue;
        }
        const last = i === segments.length - 1;
        if (r.kind === 'torn' && last) {
          truncatedBytes = bytes.length - offset;
          await truncate(path, offset);
          break;
        }
        const evidence = r.kind === 'corrupt' ? r.evidence : 'a torn write, but only the last segment can end in one';
        throw new TsswarmError(ErrorCode.CORRUPT, `wal: ${r.why} in ${path} at offset ${offset} (${evidence}); refusing to start (nothing was changed)`);
      }
    }
    const state = replay(records);
    const lastIndex = state.entries.length > 0 ? (state.entries[state.entries.length - 1] as Entry).index : (state.snapshot?.index ?? 0);
    const segmentBytes = options.segmentBytes ?? defaultSegmentBytes;
    const tail = segments[segments.length - 1];
    let wal: Wal;
    if (tail) {
      const path = join(dir, tail.name);
      const handle = await open(path, 'a');
      wal = new Wal(dir, handle, tail, (await handle.stat()).size, state.hardState, state.snapshot, lastIndex, segmentBytes);
    } else {
      const seg = { seq: 1, firstIndex: 1, name: segmentName(1, 1) };
      const handle = await open(join(dir, seg.name), 'a');
      await fsyncDir(dir);
      wal = new Wal(dir, handle, seg, 0, state.hardState, state.snapshot, lastIndex, segmentBytes);
    }
    return { wal, recovered: { ...state, truncatedBytes } };
  }

  /** Writes records durably; resolves once they are fsynced (together with any appended meanwhile). */
  append(records: readonly WalRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new TsswarmError(ErrorCode.CLOSED, 'wal is closed'));
    if (this.failed) return Promise.reject(this.failed);
    for (const r of records) recordBytes(r); // an oversized record fails its caller here, not the batch
    for (const r of records) this.pending.push(r);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.waiters.length > 0) {
      const batch = this.pending;
      const waiters = this.waiters;
      this.pending = [];
      this.waiters = [];
      try {
        if (this.size >= this.segmentBytes) await this.rollover();
        // One batch normally; more only past maxBatchPayloadBytes, each fsynced before the next.
        const parts = splitBatches(batch);
        for (const part of parts) await this.writeBatch(part);
        if (parts.length === 0) {
          await this.handle.datasync();
          this.syncs++;
        }
        // Only now may a new segment's head repeat this batch's hard state and mark: written earlier,
        // it would survive a crash that tears the batch (a commit beyond the recovered entries).
        for (const r of batch) this.track(r);
        for (const w of waiters) w.resolve();
      } catch (err) {
        // A failed write leaves the file in an unknown state: stop accepting writes (fail-stop).
        this.failed = new TsswarmError(ErrorCode.EXTERNAL, `wal write failed: ${(err as Error).message}`, { cause: err });
        for (const w of [...waiters, ...this.waiters.splice(0)]) w.reject(this.failed);
      }
    }
    this.flushing = false;
  }

  /** Writes `records` as one batch at the end of the segment, with one write, then fsyncs it. */
  private async writeBatch(records: readonly WalRecord[]): Promise<void> {
    const bytes = encodeBatch(records);
    const { bytesWritten } = await this.handle.write(bytes);
    // A short write would leave part of a batch in the middle of the file: stop here instead.
    if (bytesWritten !== bytes.length) throw new Error(`short write: ${bytesWritten} of ${bytes.length} bytes`);
    this.size += bytes.length;
    await this.handle.datasync();
    this.syncs++;
  }

  private track(r: WalRecord): void {
    if (r.type === 'hardState') this.hardState = r.hardState;
    else if (r.type === 'snapshot') this.snapshotMark = { index: r.index, term: r.term };
    else this.lastIndex = r.entry.index;
  }

  /** Starts a new segment that begins with the hard state and compaction mark already written. */
  private async rollover(): Promise<void> {
    const seg = { seq: this.segment.seq + 1, firstIndex: this.lastIndex + 1, name: segmentName(this.segment.seq + 1, this.lastIndex + 1) };
    const handle = await open(join(this.dir, seg.name), 'a');
    const head: WalRecord[] = [{ type: 'hardState', hardState: this.hardState }];
    if (this.snapshotMark) head.push({ type: 'snapshot', index: this.snapshotMark.index, term: this.snapshotMark.term });
    const bytes = encodeBatch(head);
    const { bytesWritten } = await handle.write(bytes);
    if (bytesWritten !== bytes.length) throw new Error(`short write: ${bytesWritten} of ${bytes.length} bytes`);
    await handle.datasync();
    await fsyncDir(this.dir);
    await this.handle.close();
    this.handle = handle;
    this.segment = seg;
    this.size = bytes.length;
  }

  /** Deletes segments that hold only entries at or below `index` (covered by a snapshot). */
  async releaseTo(index: number): Promise<number> {
    const segments = await listSegments(this.dir);
    let removed = 0;
    for (let i = 0; i + 1 < segments.length; i++) {
      const next = segments[i + 1] as Segment;
      const seg = segments[i] as Segment;
      if (next.firstIndex - 1 > index || seg.seq === this.segment.seq) break;
      await rm(join(this.dir, seg.name));
      removed++;
    }
    if (removed > 0) await fsyncDir(this.dir);
    return removed;
  }

  /** Number of segment files (for tests and metrics). */
  async segmentCount(): Promise<number> {
    return (await listSegments(this.dir)).length;
  }

  /** Waits for writes in flight, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.flushing) await new Promise((r) => setTimeout(r, 1));
    this.closed = true;
    await this.handle.close();
  }
}
