import t from 'tap';
import { MemoryStorage } from '../../../manager/raft/storage.js';
import type { Entry } from '../../../manager/raft/types.js';

function ent(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: new Uint8Array(10) };
}

t.test('append replaces a conflicting suffix and skips compacted entries', async (t) => {
  const s = new MemoryStorage();
  s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
  s.append([ent(2, 2)]);
  t.equal(s.lastIndex(), 2);
  t.equal(s.term(2), 2);
  s.createSnapshot(2, { voters: [1], learners: [] }, new Uint8Array());
  s.compact(2);
  s.append([ent(1, 1), ent(2, 2), ent(3, 2)]);
  t.equal(s.firstIndex(), 3);
  t.equal(s.lastIndex(), 3);
});

t.test('entries are size-limited and compacted ranges are reported', async (t) => {
  const s = new MemoryStorage();
  s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
  t.equal(s.entries(1, 4, 1)?.length, 1, 'one entry even when it is over the limit');
  t.equal(s.entries(1, 4, 1000)?.length, 3);
  s.createSnapshot(2, { voters: [1], learners: [] }, new Uint8Array());
  s.compact(2);
  t.equal(s.entries(2, 4, 1000), undefined);
});

t.test('typed errors for stale snapshots and double compaction', async (t) => {
  const s = new MemoryStorage();
  s.append([ent(1, 1), ent(2, 1)]);
  s.createSnapshot(2, { voters: [1], learners: [] }, new Uint8Array());
  t.throws(() => s.createSnapshot(1, { voters: [1], learners: [] }, new Uint8Array()), { name: 'TsswarmError', reason: 'snapshotOutOfDate' });
  s.compact(2);
  t.throws(() => s.compact(2), { name: 'TsswarmError', reason: 'compacted' });
  t.throws(
    () => s.applySnapshot({ metadata: { index: 1, term: 1, confState: { voters: [1], learners: [] } }, data: new Uint8Array() }),
    { name: 'TsswarmError', reason: 'snapshotOutOfDate' },
  );
});
