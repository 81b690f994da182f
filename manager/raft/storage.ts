/**
 * Stable storage as the raft core sees it, and an in-memory implementation. The core only reads
 * storage; the application writes to it while handling a Ready (entries, hard state, snapshots)
 * and compacts it when it likes. A disk WAL implements the same interface.
 */
import { assert } from '../../lib/assert.js';
import { RaftError } from './errors.js';
import {
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
  emptyConfState,
  emptyHardState,
  limitSize,
} from './types.js';

/** What a node restarts from. */
export interface InitialState {
  readonly hardState: HardState;
  readonly confState: ConfState;
}

/**
 * Read access to persisted raft state. Indexes below `firstIndex()` were compacted into the
 * snapshot; the entry at `firstIndex() - 1` survives only as the snapshot's (index, term).
 */
export interface Storage {
  /** The persisted hard state and the membership as of the latest snapshot. */
  initialState(): InitialState;
  /** Entries in [lo, hi), at most `maxBytes` of them but at least one; undefined if lo was compacted. */
  entries(lo: number, hi: number, maxBytes: number): Entry[] | undefined;
  /** The term of entry `index` (also valid for `firstIndex() - 1`); undefined if compacted or missing. */
  term(index: number): number | undefined;
  /** The index of the first entry still held (snapshot index + 1). */
  firstIndex(): number;
  /** The index of the last persisted entry (the snapshot index when there are none). */
  lastIndex(): number;
  /** The latest snapshot. */
  snapshot(): Snapshot;
}

/** A snapshot at index 0: the state of a log nobody wrote yet. */
export function emptySnapshot(confState: ConfState = emptyConfState): Snapshot {
  return { metadata: { index: 0, term: 0, confState }, data: new Uint8Array() };
}

/**
 * Storage in memory, for tests, the simulator, and as the cache in front of a WAL. `entries[0]`
 * is a dummy standing for the snapshot point so that term() works at `firstIndex() - 1`.
 */
export class MemoryStorage implements Storage {
  private hard: HardState = emptyHardState;
  private snap: Snapshot;
  private ents: Entry[];

  /** Starts empty, or from `snapshot` (how a bootstrapped cluster records its first membership). */
  constructor(snapshot: Snapshot = emptySnapshot()) {
    this.snap = snapshot;
    this.ents = [dummyEntry(snapshot)];
  }

  initialState(): InitialState {
    return { hardState: this.hard, confState: this.snap.metadata.confState };
  }

  /** Records the hard state (part of handling a Ready). */
  setHardState(hardState: HardState): void {
    this.hard = hardState;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] | undefined {
    const offset = this.offset();
    if (lo <= offset) return undefined;
    assert(hi <= this.lastIndex() + 1, `entries(${lo}, ${hi}) beyond last index ${this.lastIndex()}`);
    assert(lo <= hi, `entries(${lo}, ${hi}) inverted`);
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  term(index: number): number | undefined {
    const offset = this.offset();
    if (index < offset || index > this.lastIndex()) return undefined;
    return this.ents[index - offset]?.term;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces everything with `snapshot` (a follower installing its leader's snapshot). */
  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.metadata.index <= this.snap.metadata.index) {
      throw new RaftError(
        'snapshotOutOfDate',
        `snapshot at ${snapshot.metadata.index} is not newer than ${this.snap.metadata.index}`,
      );
    }
    this.snap = snapshot;
    this.ents = [dummyEntry(snapshot)];
  }

  /**
   * Records a snapshot of the application's state at `index` (which it has applied) without
   * discarding entries; call compact() to discard them.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) {
      throw new RaftError('snapshotOutOfDate', `snapshot at ${index} is not newer than ${this.snap.metadata.index}`);
    }
    assert(index <= this.lastIndex(), `snapshot index ${index} beyond last index ${this.lastIndex()}`);
    const term = this.term(index);
    assert(term !== undefined, `no term for snapshot index ${index}`);
    this.snap = { metadata: { index, term, confState }, data };
    return this.snap;
  }

  /** Discards entries up to and including `index` (which must be covered by a snapshot already). */
  compact(index: number): void {
    const offset = this.offset();
    if (index <= offset) throw new RaftError('compacted', `index ${index} is already compacted (offset ${offset})`);
    assert(index <= this.lastIndex(), `compact ${index} beyond last index ${this.lastIndex()}`);
    assert(index <= this.snap.metadata.index, `compact ${index} beyond snapshot ${this.snap.metadata.index}`);
    const term = this.term(index);
    assert(term !== undefined, 'compact point has no term');
    this.ents = [{ index, term, type: 'normal', data: new Uint8Array() }, ...this.ents.slice(index - offset + 1)];
  }

  /** Appends entries, replacing any conflicting suffix; entries already compacted are skipped. */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const offset = this.offset();
    const lastNew = first.index + entries.length - 1;
    if (lastNew <= offset) return;
    const skip = Math.max(0, offset + 1 - first.index);
    const fresh = entries.slice(skip);
    const start = (fresh[0] as Entry).index;
    assert(start <= this.lastIndex() + 1, `append at ${start} leaves a gap after ${this.lastIndex()}`);
    // Appending at the end (the common case) must not copy the whole log each time.
    if (start - offset < this.ents.length) this.ents.length = start - offset;
    for (const e of fresh) this.ents.push(e);
  }

  private offset(): number {
    return (this.ents[0] as Entry).index;
  }
}

function dummyEntry(snapshot: Snapshot): Entry {
  return { index: snapshot.metadata.index, term: snapshot.metadata.term, type: 'normal', data: new Uint8Array() };
}
