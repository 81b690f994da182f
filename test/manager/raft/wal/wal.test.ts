import t from 'tap';
import { createHash } from 'node:crypto';
import { appendFile, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Wal } from '../../../../manager/raft/wal/wal.js';
import { scanRecord } from '../../../../manager/raft/wal/record.js';
import type { Entry } from '../../../../manager/raft/types.js';
import { tempDir } from '../../../helpers/temp-dir.js';

function entry(index: number, term: number, text = `v${index}`): Entry {
  return { index, term, type: 'normal', data: new TextEncoder().encode(text) };
}

function texts(entries: readonly Entry[]): string[] {
  return entries.map((e) => `${e.term}:${e.index}:${new TextDecoder().decode(e.data)}`);
}

t.test('what was appended is recovered; a new leader rewriting a suffix wins', async (t) => {
  const dir = await tempDir(t, 'wal');
  const { wal } = await Wal.open(dir);
  await wal.append([1, 2, 3, 4].map((i) => ({ type: 'entry', entry: entry(i, 1) })));
  await wal.append([{ type: 'hardState', hardState: { term: 1, vote: 1, commit: 2 } }]);
  await wal.append([{ type: 'entry', entry: entry(3, 2, 'new3') }, { type: 'hardState', hardState: { term: 2, vote: 3, commit: 3 } }]);
  await wal.close();
  const { wal: again, recovered } = await Wal.open(dir);
  t.same(texts(recovered.entries), ['1:1:v1', '1:2:v2', '2:3:new3'], 'entries 3 and 4 of term 1 were replaced');
  t.same(recovered.hardState, { term: 2, vote: 3, commit: 3 });
  t.equal(recovered.truncatedBytes, 0);
  await again.close();
});

t.test('a torn tail (crash mid-write) is cut and the rest kept', async (t) => {
  const dir = await tempDir(t, 'wal');
  const { wal } = await Wal.open(dir);
  await wal.append([1, 2].map((i) => ({ type: 'entry', entry: entry(i, 1) })));
  await wal.close();
  const [segment] = await readdir(dir);
  await appendFile(join(dir, segment ?? ''), new Uint8Array([40, 0, 0, 0, 1, 2, 3, 4, 1, 9, 9]));
  const { wal: again, recovered } = await Wal.open(dir);
  t.same(texts(recovered.entries), ['1:1:v1', '1:2:v2']);
  t.equal(recovered.truncatedBytes, 11);
  await again.append([{ type: 'entry', entry: entry(3, 1) }]);
  await again.close();
  const { wal: third, recovered: r3 } = await Wal.open(dir);
  t.same(texts(r3.entries), ['1:1:v1', '1:2:v2', '1:3:v3'], 'appends after the cut read back');
  await third.close();
});

t.test('a bit flip in the middle: refuses to start, names file and offset, changes nothing', async (t) => {
  const dir = await tempDir(t, 'wal');
  const { wal } = await Wal.open(dir);
  await wal.append([1, 2, 3].map((i) => ({ type: 'entry', entry: entry(i, 1, 'x'.repeat(50)) })));
  await wal.close();
  const [segment = ''] = await readdir(dir);
  const path = join(dir, segment);
  const bytes = await readFile(path);
  bytes[30] = (bytes[30] as number) ^ 0x04;
  await writeFile(path, bytes);
  const before = createHash('sha256').update(await readFile(path)).digest('hex');
  await t.rejects(Wal.open(dir), { code: 'ECORRUPT', message: new RegExp(`checksum mismatch in ${path.replace(/[.]/g, '\\.')} at offset 0`) });
  t.equal(createHash('sha256').update(await readFile(path)).digest('hex'), before, 'the file is untouched');
});

t.test('group commit: concurrent appends share fsyncs', async (t) => {
  const dir = await tempDir(t, 'wal');
  const { wal } = await Wal.open(dir);
  await Promise.all(Array.from({ length: 100 }, (_, i) => wal.append([{ type: 'entry', entry: entry(i + 1, 1) }])));
  t.ok(wal.syncs < 10, `100 appends took ${wal.syncs} fsyncs`);
  await wal.close();
  const { wal: again, recovered } = await Wal.open(dir);
  t.equal(recovered.entries.length, 100);
  await again.close();
});

t.test('segments roll over, start with the state, and go once a snapshot covers them', async (t) => {
  const dir = await tempDir(t, 'wal');
  const { wal } = await Wal.open(dir, { segmentBytes: 1024 });
  await wal.append([{ type: 'hardState', hardState: { term: 1, vote: 1, commit: 0 } }]);
  for (let i = 1; i <= 60; i++) await wal.append([{ type: 'entry', entry: entry(i, 1, 'y'.repeat(40)) }]);
  const before = await wal.segmentCount();
  t.ok(before > 3, `${before} segments`);
  await wal.append([{ type: 'snapshot', index: 50, term: 1 }]);
  const removed = await wal.releaseTo(50);
  t.ok(removed > 0 && removed < before, `released ${removed} of ${before}`);
  await wal.close();
  const { wal: again, recovered } = await Wal.open(dir, { segmentBytes: 1024 });
  t.same(recovered.hardState, { term: 1, vote: 1, commit: 0 }, 'the hard state survived in the newer segments');
  t.same(recovered.snapshot, { index: 50, term: 1 });
  t.same(
    recovered.entries.map((e) => e.index),
    Array.from({ length: 10 }, (_, i) => 51 + i),
    'entries after the snapshot remain',
  );
  await again.close();
});

t.test('a batch torn right after a segment rolled over does not leave its hard state behind', async (t) => {
  // A new segment starts with the hard state; it must be the one already written, not the one of
  // the batch about to be written, or a crash that tears the batch leaves a commit index beyond the
  // recovered entries (and the node cannot start).
  const dir = await tempDir(t, 'wal');
  const { wal: first } = await Wal.open(dir);
  await first.append([{ type: 'hardState', hardState: { term: 1, vote: 1, commit: 0 } }]);
  await first.append([1, 2, 3, 4].map((i) => ({ type: 'entry', entry: entry(i, 1) })));
  await first.close();
  // Reopened with tiny segments: the next flush starts a new segment first.
  const { wal } = await Wal.open(dir, { segmentBytes: 1 });
  const before = await wal.segmentCount();
  await wal.append([
    { type: 'entry', entry: entry(5, 1) },
    { type: 'entry', entry: entry(6, 1) },
    { type: 'hardState', hardState: { term: 1, vote: 1, commit: 6 } },
  ]);
  t.equal(await wal.segmentCount(), before + 1, 'the batch went to a new segment');
  await wal.close();
  // Tear the batch: keep only the new segment's head (the records before its first entry).
  const names = (await readdir(dir)).sort();
  const last = join(dir, names[names.length - 1] as string);
  const bytes = new Uint8Array(await readFile(last));
  let offset = 0;
  for (;;) {
    const r = scanRecord(bytes, offset);
    if (r.kind !== 'record' || r.record.type === 'entry') break;
    offset = r.next;
  }
  await writeFile(last, bytes.subarray(0, offset));
  const { wal: again, recovered } = await Wal.open(dir);
  t.same(recovered.entries.map((e) => e.index), [1, 2, 3, 4]);
  t.same(recovered.hardState, { term: 1, vote: 1, commit: 0 }, 'the hard state of the torn batch is gone with it');
  await again.close();
});
