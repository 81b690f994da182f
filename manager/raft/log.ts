/**
 * The raft log: persisted entries (Storage) followed by unpersisted ones (UnstableLog), with the
 * commit and apply cursors. Invariant: applied <= committed <= lastIndex, and everything up to
 * `firstIndex() - 1` lives only in the snapshot.
 */
import { assert } from '../../lib/assert.js';
import { UnstableLog } from './log-unstable.js';
import type { Storage } from './storage.js';
import { type Entry, type Snapshot, assertContiguous, limitSize } from './types.js';

/** An index and its term, e.g. a probe hint. */
export interface IndexTerm {
  readonly index: number;
  readonly term: number;
}

/** Stable storage plus the unstable tail, and the commit/apply cursors. */
export class RaftLog {
  readonly storage: Storage;
  readonly unstable: UnstableLog;
  /** Highest index known to be committed (stored on a quorum). */
  committed: number;
  /** Highest index the application has applied. */
  applied: number;

  constructor(storage: Storage) {
    this.storage = storage;
    const first = storage.firstIndex();
    this.unstable = new UnstableLog(storage.lastIndex() + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  /** The first index still available as an entry. */
  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  /** The last index in the log. */
  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** The term of the last entry. */
  lastTerm(): number {
    const term = this.term(this.lastIndex());
    assert(term !== undefined, 'last entry has no term');
    return term;
  }

  /** The term of entry `index`; undefined when compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined;
    return this.unstable.maybeTerm(index) ?? this.storage.term(index);
  }

  /** True when entry `index` exists with term `term`. */
  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /**
   * Raft's "at least as up to date": a candidate whose last entry is (lastIndex, lastTerm) may get
   * our vote only if its last term is higher, or equal with an index at least ours.
   */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ours = this.lastTerm();
    return lastTerm > ours || (lastTerm === ours && lastIndex >= this.lastIndex());
  }

  /**
   * Follower side of AppendEntries: if our entry `index` has term `logTerm`, append `entries`
   * (dropping any conflicting suffix), advance the commit to min(commit, last new index) and
   * return the last new index; otherwise undefined.
   */
  maybeAppend(index: number, logTerm: number, commit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    assertContiguous(entries);
    const lastNew = index + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      assert(conflict > this.committed, `entry ${conflict} conflicts with committed entry (commit ${this.committed})`);
      this.append(entries.slice(conflict - (index + 1)));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /** Appends entries after any position past the commit point; returns the new last index. */
  append(entries: readonly Entry[]): number {
    const first = entries[0];
    if (first === undefined) return this.lastIndex();
    assert(first.index - 1 >= this.committed, `append at ${first.index} would overwrite commit ${this.committed}`);
    assert(first.index <= this.lastIndex() + 1, `append at ${first.index} leaves a gap after ${this.lastIndex()}`);
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /**
   * The index of the first entry in `entries` that is missing here or has a different term, or 0
   * when all of them are already present.
   */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with that term; used to skip a whole
   * term of mismatching entries per probe. Stops at the compaction point with term 0.
   */
  findConflictByTerm(index: number, term: number): IndexTerm {
    for (let i = index; i > 0; i--) {
      const ours = this.term(i);
      if (ours === undefined) return { index: i, term: 0 };
      if (ours <= term) return { index: i, term: ours };
    }
    return { index: 0, term: 0 };
  }

  /** Entries the application must persist next. */
  unstableEntries(): Entry[] {
    return this.unstable.entries.slice();
  }

  /** Committed entries the application has not applied yet, at most `maxBytes` (but at least one). */
  nextCommittedEntries(maxBytes: number): Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 <= lo) return [];
    const ents = this.slice(lo, this.committed + 1, maxBytes);
    assert(ents !== undefined, `committed entries from ${lo} are compacted`);
    return ents;
  }

  /** True when there are committed, unapplied entries. */
  hasNextCommittedEntries(): boolean {
    return this.committed + 1 > Math.max(this.applied + 1, this.firstIndex());
  }

  /** The latest snapshot (pending or persisted). */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Advances the commit index (never backwards, never past the log's end). */
  commitTo(commit: number): void {
    if (commit <= this.committed) return;
    assert(commit <= this.lastIndex(), `commit ${commit} beyond last index ${this.lastIndex()}`);
    this.committed = commit;
  }

  /** Records that the application applied up to `index`. */
  appliedTo(index: number): void {
    if (index === 0) return;
    assert(index <= this.committed && index >= this.applied, `applied ${index} outside [${this.applied}, ${this.committed}]`);
    this.applied = index;
  }

  /** The application persisted entries up to (index, term). */
  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  /** The application persisted the snapshot at `index`. */
  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  /** Entries from `index` to the end, at most `maxBytes`; undefined when `index` was compacted. */
  entries(index: number, maxBytes: number): Entry[] | undefined {
    if (index > this.lastIndex()) return [];
    return this.slice(index, this.lastIndex() + 1, maxBytes);
  }

  /** Entries in [lo, hi), at most `maxBytes` (at least one); undefined when `lo` was compacted. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined;
    assert(hi <= this.lastIndex() + 1, `slice [${lo},${hi}) beyond last index ${this.lastIndex()}`);
    if (lo === hi) return [];
    let out: Entry[] = [];
    const offset = this.unstable.offset;
    if (lo < offset) {
      const stored = this.storage.entries(lo, Math.min(hi, offset), maxBytes);
      if (stored === undefined) return undefined;
      if (stored.length < Math.min(hi, offset) - lo) return stored;
      out = stored;
    }
    if (hi > offset) out = out.concat(this.unstable.slice(Math.max(lo, offset), hi));
    return limitSize(out, maxBytes);
  }

  /**
   * Leader side: commit `index` if it is beyond the commit point and its entry is from `term`
   * (Raft never commits an older term's entry by counting replicas). `allowOldTerm` breaks that
   * rule, for the simulator's self-test only.
   */
  maybeCommit(index: number, term: number, allowOldTerm = false): boolean {
    if (index <= this.committed) return false;
    if (!allowOldTerm && this.term(index) !== term) return false;
    this.commitTo(index);
    return true;
  }

  /** Replaces the log with a snapshot from the leader. */
  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }
}
