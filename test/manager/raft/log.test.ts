import t from 'tap';
import { AssertionError } from '../../../lib/assert.js';
import { RaftLog } from '../../../manager/raft/log.js';
import { MemoryStorage } from '../../../manager/raft/storage.js';
import type { Entry } from '../../../manager/raft/types.js';

const bytes = new TextEncoder();

function ent(index: number, term: number, data = ''): Entry {
  return { index, term, type: 'normal', data: bytes.encode(data) };
}

/** A log whose storage holds entries 1..n with the given terms. */
function logWithTerms(terms: number[]): RaftLog {
  const storage = new MemoryStorage();
  storage.append(terms.map((term, i) => ent(i + 1, term)));
  return new RaftLog(storage);
}

t.test('term and matchTerm span storage and the unstable tail', async (t) => {
  const log = logWithTerms([1, 1, 2]);
  log.append([ent(4, 3), ent(5, 3)]);
  t.equal(log.lastIndex(), 5);
  t.equal(log.term(3), 2);
  t.equal(log.term(5), 3);
  t.equal(log.term(6), undefined, 'beyond the end');
  t.ok(log.matchTerm(0, 0), 'the empty prefix always matches');
  t.notOk(log.matchTerm(4, 2));
});

t.test('maybeAppend appends after a matching entry and truncates a conflicting tail', async (t) => {
  const log = logWithTerms([1, 1, 2, 2]);
  t.equal(log.maybeAppend(2, 2, 0, [ent(3, 3)]), undefined, 'previous entry term mismatch: reject');
  t.equal(log.maybeAppend(2, 1, 1, [ent(3, 3)]), 3, 'conflict at 3 replaces 3 and 4');
  t.equal(log.lastIndex(), 3);
  t.equal(log.term(3), 3);
  t.equal(log.committed, 1);
  t.equal(log.maybeAppend(1, 1, 5, [ent(2, 1)]), 2, 'entries we already have change nothing');
  t.equal(log.lastIndex(), 3, 'and do not truncate what follows');
  t.equal(log.committed, 2, 'commit is capped at the last new entry of this message');
});

t.test('a conflict with a committed entry is a bug', async (t) => {
  const log = logWithTerms([1, 1, 1]);
  log.commitTo(3);
  t.throws(() => log.maybeAppend(1, 1, 3, [ent(2, 2)]), AssertionError);
});

t.test('findConflictByTerm skips a whole term of mismatching entries', async (t) => {
  const log = logWithTerms([1, 1, 2, 2, 2, 5, 5]);
  t.same(log.findConflictByTerm(7, 4), { index: 5, term: 2 }, 'last entry with term <= 4');
  t.same(log.findConflictByTerm(7, 5), { index: 7, term: 5 });
  t.same(log.findConflictByTerm(4, 1), { index: 2, term: 1 });
  t.same(log.findConflictByTerm(4, 0), { index: 0, term: 0 });
});

t.test('commit only counts replicas for entries of the current term', async (t) => {
  const log = logWithTerms([1, 2, 2]);
  t.notOk(log.maybeCommit(3, 3), 'entry 3 is from term 2, we lead term 3');
  t.equal(log.committed, 0);
  t.ok(log.maybeCommit(3, 2));
  t.equal(log.committed, 3);
  t.notOk(log.maybeCommit(2, 2), 'never backwards');
  const unsafe = logWithTerms([1, 2, 2]);
  t.ok(unsafe.maybeCommit(3, 3, true), 'the test-only unsafe rule commits it anyway');
});

t.test('next committed entries respect the size limit but always make progress', async (t) => {
  const log = logWithTerms([1, 1, 1, 1]);
  log.commitTo(4);
  const one = log.nextCommittedEntries(1);
  t.equal(one.length, 1, 'at least one entry even over the limit');
  log.appliedTo(1);
  t.same(log.nextCommittedEntries(1_000_000).map((e) => e.index), [2, 3, 4]);
  t.throws(() => log.appliedTo(5), AssertionError, 'cannot apply beyond commit');
});

t.test('stableTo moves persisted entries out of the unstable tail', async (t) => {
  const log = logWithTerms([1]);
  log.append([ent(2, 1), ent(3, 1)]);
  t.equal(log.unstableEntries().length, 2);
  log.stableTo(2, 1);
  t.same(log.unstableEntries().map((e) => e.index), [3]);
  log.stableTo(3, 7);
  t.equal(log.unstableEntries().length, 1, 'a term mismatch means it was replaced meanwhile: keep it');
});

t.test('compacted indexes read as undefined and restore replaces the log', async (t) => {
  const storage = new MemoryStorage();
  storage.append([ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2)]);
  storage.createSnapshot(3, { voters: [1], learners: [] }, new Uint8Array());
  storage.compact(3);
  const log = new RaftLog(storage);
  t.equal(log.firstIndex(), 4);
  t.equal(log.term(3), 2, 'the snapshot point keeps its term');
  t.equal(log.term(2), undefined);
  t.equal(log.entries(2, 100), undefined, 'asking for compacted entries');
  log.restore({ metadata: { index: 10, term: 3, confState: { voters: [1], learners: [] } }, data: new Uint8Array() });
  t.equal(log.firstIndex(), 11);
  t.equal(log.lastIndex(), 10);
  t.equal(log.committed, 10);
  t.equal(log.term(10), 3);
});

t.test('isUpToDate compares last term, then last index', async (t) => {
  const log = logWithTerms([1, 2, 2]);
  t.ok(log.isUpToDate(1, 3), 'higher last term wins even with a shorter log');
  t.notOk(log.isUpToDate(10, 1));
  t.ok(log.isUpToDate(3, 2));
  t.notOk(log.isUpToDate(2, 2));
});
