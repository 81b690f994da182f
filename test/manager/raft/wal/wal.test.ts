import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { appendFile, readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Wal } from '../../../../manager/raft/wal/wal.js';
import { encodeBatch, encodeRecords, scanBatch, type WalRecord } from '../../../../manager/raft/wal/record.js';
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
  for (const i of [1, 2, 3]) await wal.append([{ type: 'entry', entry: entry(i, 1, 'x'.repeat(50)) }]);
  await wal.close();
  const [segment = ''] = await readdir(dir);
  const path = join(dir, segment);
  const bytes = await readFile(path);
  bytes[30] = (bytes[30] as number) ^ 0x04;
  await writeFile(path, bytes);
  const before = createHash('sha256').update(await readFile(path)).digest('hex');
  await t.rejects(Wal.open(dir), { code: 'ECORRUPT', message: new RegExp(`batch checksum mismatch in ${path.replace(/[.]/g, '\\.')} at offset 0 \\(a later write follows at offset 92`) });
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
  const head = scanBatch(bytes, 0);
  t.ok(head.kind === 'batch' && head.records.every((r) => r.type !== 'entry'), 'the segment starts with a batch of its head');
  await writeFile(last, bytes.subarray(0, head.kind === 'batch' ? head.next : 0));
  const { wal: again, recovered } = await Wal.open(dir);
  t.same(recovered.entries.map((e) => e.index), [1, 2, 3, 4]);
  t.same(recovered.hardState, { term: 1, vote: 1, commit: 0 }, 'the hard state of the torn batch is gone with it');
  await again.close();
});

/** Entry `index` whose record takes exactly `bytes` bytes (framing included), its data 'x's. */
function sized(index: number, bytes = 76): WalRecord {
  return { type: 'entry', entry: entry(index, 1, 'x'.repeat(bytes - 26)) };
}

/**
 * A log in one segment with one batch per element of `batches` (that many entries, numbered from 1,
 * each record `recordBytes` bytes). Returns the segment's path and where each batch starts.
 */
async function logOf(t: Test, batches: readonly number[], recordBytes = 76): Promise<{ dir: string; path: string; offsets: number[]; size: number }> {
  const dir = await tempDir(t, 'wal');
  const { wal } = await Wal.open(dir);
  const offsets: number[] = [];
  let index = 1;
  let size = 0;
  for (const n of batches) {
    offsets.push(size);
    await wal.append(Array.from({ length: n }, () => sized(index++, recordBytes)));
    size += 16 + n * recordBytes;
  }
  await wal.close();
  const [segment = ''] = await readdir(dir);
  const path = join(dir, segment);
  t.equal((await readFile(path)).length, size, 'one 16-byte header per batch');
  return { dir, path, offsets, size };
}

async function hashOf(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

function escaped(path: string): string {
  return path.replace(/[.]/g, '\\.');
}

/** Opens the log, expects `kept` entries and `cut` bytes cut, then appends one and reads it back. */
async function expectCut(t: Test, dir: string, what: string, kept: number, cut: number): Promise<void> {
  const { wal, recovered } = await Wal.open(dir);
  t.same(recovered.entries.map((e) => e.index), Array.from({ length: kept }, (_, i) => i + 1), `${what}: entries kept`);
  t.equal(recovered.truncatedBytes, cut, `${what}: bytes cut`);
  await wal.append([{ type: 'entry', entry: entry(kept + 1, 1) }]);
  await wal.close();
  const { wal: again, recovered: after } = await Wal.open(dir);
  t.equal(after.entries.length, kept + 1, `${what}: the next append reads back`);
  t.equal(after.truncatedBytes, 0, `${what}: nothing more to cut`);
  await again.close();
}

/** Expects the log to be refused with `message`, and the file byte-identical afterwards. */
async function expectRefused(t: Test, dir: string, path: string, message: string, what: string): Promise<void> {
  const before = await hashOf(path);
  await t.rejects(Wal.open(dir), { code: 'ECORRUPT', message: new RegExp(message) }, what);
  t.equal(await hashOf(path), before, `${what}: the file is untouched`);
}

t.test('a last batch whose middle page did not land is cut, not refused', async (t) => {
  // Writeback landed the batch's pages out of order: 20 records of 200 bytes, the file's sector at
  // 2048..2560 (inside the batch) zero, the sectors after it present. It was never fsynced, so it is
  // cut whole. (Holes follow the file's sectors and pages, not the batch's offsets.)
  const { dir, path, offsets } = await logOf(t, [1, 1, 1, 20], 200);
  const at = offsets[3] as number;
  t.ok(at < 2048 && at + 16 + 20 * 200 > 2560, 'the sector lies inside the last batch');
  const bytes = await readFile(path);
  bytes.fill(0, 2048, 2560);
  await writeFile(path, bytes);
  await expectCut(t, dir, 'a zero page mid-batch', 3, 16 + 20 * 200);
});

t.test('the same damage in a batch followed by another is refused, naming file and offset', async (t) => {
  const { dir, path, offsets } = await logOf(t, [1, 20, 1], 200);
  const at = offsets[1] as number;
  const bytes = await readFile(path);
  bytes.fill(0, at + 1024, at + 1536);
  await writeFile(path, bytes);
  await expectRefused(t, dir, path, `batch checksum mismatch in ${escaped(path)} at offset ${at} \\(a later write follows at offset ${offsets[2]}, so this batch had been fsynced\\); refusing to start`, 'a zero page in a batch that has a successor');
});

t.test('damage no crash explains is refused, the file unchanged', async (t) => {
  // Three batches of one 76-byte record: at 0, 92 and 184.
  for (const [what, at, mask, message] of [
    ['a length flip in the header of the middle batch', 92 + 4, 0x01, 'batch header checksum mismatch in PATH at offset 92 \\(no 512-byte sector of the header is zero'],
    ['a length flip in the header of the last batch', 184 + 5, 0x80, 'batch header checksum mismatch in PATH at offset 184 \\(no 512-byte sector of the header is zero'],
    ['a flip in the header checksum of the last batch', 184 + 13, 0x02, 'batch header checksum mismatch in PATH at offset 184'],
    ['a payload flip in the middle batch', 92 + 16 + 40, 0x04, 'batch checksum mismatch in PATH at offset 92 \\(a later write follows at offset 184'],
    ['a flip in the magic of the first batch', 1, 0x01, 'not a tsswarm WAL segment of this version in PATH at offset 0'],
  ] as const) {
    const { dir, path } = await logOf(t, [1, 1, 1]);
    const bytes = await readFile(path);
    bytes[at] = (bytes[at] as number) ^ mask;
    await writeFile(path, bytes);
    await expectRefused(t, dir, path, message.replace('PATH', escaped(path)), what);
  }
});

t.test('a zero header followed by a valid batch is refused', async (t) => {
  const { dir, path } = await logOf(t, [1, 1, 1]);
  const bytes = await readFile(path);
  bytes.fill(0, 92, 92 + 16);
  await writeFile(path, bytes);
  await expectRefused(t, dir, path, `zero batch header in ${escaped(path)} at offset 92 \\(a valid batch follows at offset 184\\)`, 'a zeroed header mid-file');
});

t.test('a payload flip in the last batch is refused: a torn write leaves a zero sector, a flipped bit does not', async (t) => {
  // Header intact, payload checksum wrong, nothing after it, but no sector of the payload is zero:
  // the batch may have been fsynced (a vote, acknowledged entries), so it is not cut.
  const { dir, path } = await logOf(t, [1, 1, 1]);
  const bytes = await readFile(path);
  bytes[184 + 16 + 40] = (bytes[184 + 16 + 40] as number) ^ 0x04;
  await writeFile(path, bytes);
  await expectRefused(t, dir, path, `batch checksum mismatch in ${escaped(path)} at offset 184 \\(no 512-byte sector of it is zero`, 'a payload flip in the last batch');
});

t.test('what a crash before the last fsync leaves is cut, and appends after the cut read back', async (t) => {
  // Batches of 1, 1 and 3 records of 76 bytes: the last at 184, 244 bytes, the file 428 bytes.
  const cases: { what: string; batches?: number[]; recordBytes?: number; crash: (bytes: Buffer) => Buffer; kept: number; cut: number }[] = [
    { what: 'the file ends in the last header', crash: (b) => b.subarray(0, 184 + 10), kept: 2, cut: 10 },
    { what: 'the file ends in the last payload', crash: (b) => b.subarray(0, 184 + 100), kept: 2, cut: 100 },
    { what: 'the file ends in the last payload, its last sector zero', crash: (b) => b.subarray(0, 400).fill(0, 256), kept: 2, cut: 216 },
    { what: 'zeros after the last batch', crash: (b) => Buffer.concat([b, Buffer.alloc(700)]), kept: 5, cut: 700 },
    { what: 'fewer zeros than a header after the last batch', crash: (b) => Buffer.concat([b, Buffer.alloc(5)]), kept: 5, cut: 5 },
    { what: 'none of the last batch landed', crash: (b) => b.fill(0, 184), kept: 2, cut: 244 },
    // Records of 200 bytes: the second batch's header (216..232) shares the first sector with the
    // first batch; that sector did not land again, the rest of the batch did.
    { what: 'the sector of the last header did not land, later ones did', batches: [1, 20], recordBytes: 200, crash: (b) => b.fill(0, 216, 512), kept: 1, cut: 4016 },
  ];
  for (const c of cases) {
    const { dir, path } = await logOf(t, c.batches ?? [1, 1, 3], c.recordBytes);
    await writeFile(path, c.crash(await readFile(path)));
    await expectCut(t, dir, c.what, c.kept, c.cut);
  }
});

t.test('a valid batch crafted inside entry data', async (t) => {
  // Entry data is user-controlled (secrets, configs): this entry carries a complete valid batch.
  const crafted = encodeBatch([{ type: 'entry', entry: entry(99, 9, 'forged') }]);
  const data = new Uint8Array([...new Uint8Array(1200).fill(0x78), ...crafted, ...new Uint8Array(100).fill(0x79)]);
  // Entry 1 (batch at 0, 92 bytes), entry 2 carrying the forgery (batch at 92); the forged header
  // starts at 92 + 16 + 9 + 17 + 1200 = 1334.
  async function log(): Promise<{ dir: string; path: string }> {
    const dir = await tempDir(t, 'wal');
    const { wal } = await Wal.open(dir);
    await wal.append([sized(1)]);
    await wal.append([{ type: 'entry', entry: { index: 2, term: 1, type: 'normal', data } }]);
    await wal.close();
    const [segment = ''] = await readdir(dir);
    return { dir, path: join(dir, segment) };
  }
  const size = 92 + 16 + 9 + 17 + data.length;
  {
    const { dir } = await log();
    const { wal, recovered } = await Wal.open(dir);
    t.same(recovered.entries[1]?.data, data, 'intact, it reads back as data');
    await wal.close();
  }
  for (const [what, crash] of [
    ['the file ends after the forgery', (b: Buffer) => b.subarray(0, size - 50)],
    ['a page before the forgery did not land', (b: Buffer) => b.fill(0, 512, 1024)],
  ] as const) {
    const { dir, path } = await log();
    await writeFile(path, crash(await readFile(path)));
    await expectCut(t, dir, `${what}: the header is trusted, the forgery never read`, 1, size - 92 - (what.startsWith('the file ends') ? 50 : 0));
  }
  // The one case that searches: the torn batch's header sector did not land. The forgery then looks
  // like a later batch and the log is refused (fails safe: nothing is cut or accepted wrongly).
  const { dir, path } = await log();
  const bytes = await readFile(path);
  bytes.fill(0, 92, 512);
  await writeFile(path, bytes);
  await expectRefused(t, dir, path, `zero batch header in ${escaped(path)} at offset 92 \\(a valid batch follows at offset 1334\\)`, 'a torn forgery-carrying batch with its header sector zero');
});

t.test('a torn batch in a segment before the last is refused', async (t) => {
  const dir = await tempDir(t, 'wal');
  const { wal } = await Wal.open(dir, { segmentBytes: 200 });
  for (let i = 1; i <= 6; i++) await wal.append([sized(i)]);
  await wal.close();
  const names = (await readdir(dir)).sort();
  t.ok(names.length >= 2, `${names.length} segments`);
  const first = join(dir, names[0] as string);
  const bytes = new Uint8Array(await readFile(first));
  let last = 0;
  for (let at = 0; ; ) {
    const r = scanBatch(bytes, at);
    if (r.kind !== 'batch') break;
    last = at;
    at = r.next;
  }
  await truncate(first, bytes.length - 10);
  await expectRefused(t, dir, first, `batch of \\d+ bytes cut short .* in ${escaped(first)} at offset ${last} \\(a torn write, but only the last segment can end in one\\)`, 'a torn batch in the first segment');
});

t.test('a segment of the old record-only format is refused as another version', async (t) => {
  const dir = await tempDir(t, 'wal');
  const path = join(dir, '0000000000000001-0000000000000001.wal');
  await writeFile(path, encodeRecords([{ type: 'hardState', hardState: { term: 1, vote: 1, commit: 0 } }, sized(1)]));
  await expectRefused(t, dir, path, `not a tsswarm WAL segment of this version in ${escaped(path)} at offset 0 \\(it starts with 0x00000018, not the batch magic 0x31777374\\)`, 'an old segment');
});
