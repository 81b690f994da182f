import t from 'tap';
import { createHash } from 'node:crypto';
import { appendFile, readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Wal } from '../../../../manager/raft/wal/wal.js';
import { scanRecord, type WalRecord } from '../../../../manager/raft/wal/record.js';
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

/**
 * A log of entries 1..n of 76 bytes each (data 'x' * 50) in one segment, appended one by one and
 * from `batchFrom` on in one batch; returns the segment's path.
 */
async function logOf(t: Parameters<typeof tempDir>[0], n: number, batchFrom = n + 1): Promise<{ dir: string; path: string }> {
  const dir = await tempDir(t, 'wal');
  const { wal } = await Wal.open(dir);
  const record = (i: number): WalRecord => ({ type: 'entry', entry: entry(i, 1, 'x'.repeat(50)) });
  for (let i = 1; i < batchFrom; i++) await wal.append([record(i)]);
  if (batchFrom <= n) await wal.append(Array.from({ length: n - batchFrom + 1 }, (_, i) => record(batchFrom + i)));
  await wal.close();
  const [segment = ''] = await readdir(dir);
  return { dir, path: join(dir, segment) };
}

async function flipBit(path: string, at: number, mask: number): Promise<string> {
  const bytes = await readFile(path);
  bytes[at] = (bytes[at] as number) ^ mask;
  await writeFile(path, bytes);
  return createHash('sha256').update(bytes).digest('hex');
}

async function hashOf(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

function escaped(path: string): string {
  return path.replace(/[.]/g, '\\.');
}

t.test('a bit flip in the length of the first record of the last segment is refused, not cut', async (t) => {
  const dir = await tempDir(t, 'wal');
  const { wal } = await Wal.open(dir, { segmentBytes: 200 });
  for (let i = 1; i <= 6; i++) await wal.append([{ type: 'entry', entry: entry(i, 1, 'x'.repeat(50)) }]);
  await wal.close();
  const names = (await readdir(dir)).sort();
  t.ok(names.length >= 2, `${names.length} segments`);
  const path = join(dir, names[names.length - 1] as string);
  const length = (await readFile(path)).length;
  t.ok(length > 76, `the last segment holds its head and entries (${length} bytes)`);
  const before = await flipBit(path, 2, 0x01);
  await t.rejects(Wal.open(dir), {
    code: 'ECORRUPT',
    message: new RegExp(`record length \\d+ runs past the end of the file in ${escaped(path)} at offset 0 \\(a valid record follows at offset \\d+\\)`),
  });
  t.equal(await hashOf(path), before, 'the file is untouched');
  t.equal((await readFile(path)).length, length);
});

t.test('a bit flip in the last record is refused, not cut', async (t) => {
  // Records of 76 bytes: the last is at 152..228, inside the first sector, with no zero run.
  for (const [what, at, mask, why] of [
    ['payload', 152 + 40, 0x04, 'checksum mismatch'],
    ['checksum', 152 + 6, 0x20, 'checksum mismatch'],
    ['length, pointing past the end', 152 + 1, 0x01, 'record length 323 runs past the end of the file'],
  ] as const) {
    const { dir, path } = await logOf(t, 3);
    const before = await flipBit(path, at, mask);
    await t.rejects(Wal.open(dir), { code: 'ECORRUPT', message: new RegExp(`${why} in ${escaped(path)} at offset 152`) }, what);
    t.equal(await hashOf(path), before, `${what}: the file is untouched`);
  }
});

t.test('a length over the limit in the middle is refused', async (t) => {
  const { dir, path } = await logOf(t, 3);
  const before = await flipBit(path, 76 + 3, 0x80);
  await t.rejects(Wal.open(dir), { code: 'ECORRUPT', message: new RegExp(`over the limit in ${escaped(path)} at offset 76`) });
  t.equal(await hashOf(path), before, 'the file is untouched');
});

t.test('a torn record in a segment before the last is refused', async (t) => {
  const dir = await tempDir(t, 'wal');
  const { wal } = await Wal.open(dir, { segmentBytes: 200 });
  for (let i = 1; i <= 6; i++) await wal.append([{ type: 'entry', entry: entry(i, 1, 'x'.repeat(50)) }]);
  await wal.close();
  const names = (await readdir(dir)).sort();
  const first = join(dir, names[0] as string);
  const length = (await readFile(first)).length;
  await truncate(first, length - 10);
  const before = await hashOf(first);
  await t.rejects(Wal.open(dir), { code: 'ECORRUPT', message: new RegExp(`runs past the end of the file in ${escaped(first)} at offset ${length - 76}`) });
  t.equal(await hashOf(first), before, 'the file is untouched');
});

t.test('what a crash mid-append leaves is cut, and appends after the cut read back', async (t) => {
  // Records of 76 bytes each, entries 1..n; `crash` leaves the bytes a crash in the last write could.
  const cases: { what: string; n: number; batchFrom?: number; crash: (bytes: Buffer) => Buffer; kept: number; cut: number }[] = [
    { what: 'the file ends in the last payload', n: 3, crash: (b) => b.subarray(0, 200), kept: 2, cut: 48 },
    { what: 'the file ends in the last header', n: 3, crash: (b) => b.subarray(0, 157), kept: 2, cut: 5 },
    { what: 'the sector the last record ends in did not land', n: 7, crash: (b) => b.fill(0, 512), kept: 6, cut: 76 },
    { what: 'zeros after the last record', n: 3, crash: (b) => Buffer.concat([b, Buffer.alloc(700)]), kept: 3, cut: 700 },
    { what: 'a batch of records cut in its last record', n: 8, batchFrom: 3, crash: (b) => b.subarray(0, 580), kept: 7, cut: 48 },
    { what: 'a batch cut in its last record, its last sector not landed', n: 8, batchFrom: 3, crash: (b) => b.subarray(0, 580).fill(0, 512), kept: 6, cut: 124 },
  ];
  for (const c of cases) {
    const { dir, path } = await logOf(t, c.n, c.batchFrom);
    await writeFile(path, c.crash(await readFile(path)));
    const { wal, recovered } = await Wal.open(dir);
    t.same(recovered.entries.map((e) => e.index), Array.from({ length: c.kept }, (_, i) => i + 1), `${c.what}: entries kept`);
    t.equal(recovered.truncatedBytes, c.cut, `${c.what}: bytes cut`);
    await wal.append([{ type: 'entry', entry: entry(c.kept + 1, 1) }]);
    await wal.close();
    const { wal: again, recovered: after } = await Wal.open(dir);
    t.equal(after.entries.length, c.kept + 1, `${c.what}: the next append reads back`);
    t.equal(after.truncatedBytes, 0);
    await again.close();
  }
});
