import t from 'tap';
import {
  batchHeaderBytes,
  batchMagic,
  encodeBatch,
  encodeRecord,
  encodeRecords,
  scanBatch,
  splitBatches,
  type BatchScan,
  type WalRecord,
} from '../../../../manager/raft/wal/record.js';
import { crc32c } from '../../../../manager/raft/wal/crc32c.js';

const records: WalRecord[] = [
  { type: 'entry', entry: { term: 3, index: 2 ** 40, type: 'confChange', data: new Uint8Array([1, 2, 3]) } },
  { type: 'hardState', hardState: { term: 7, vote: 2, commit: 99 } },
  { type: 'snapshot', index: 50, term: 4 },
  { type: 'entry', entry: { term: 1, index: 1, type: 'normal', data: new Uint8Array() } },
];

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An entry record of exactly `bytes` bytes (framing included), its data all `fill`. */
function entryOf(index: number, bytes = 76, fill = 0x78): WalRecord {
  return { type: 'entry', entry: { term: 1, index, type: 'normal', data: new Uint8Array(bytes - 26).fill(fill) } };
}

function judge(r: BatchScan): string {
  if (r.kind === 'corrupt') return `corrupt: ${r.why} (${r.evidence})`;
  if (r.kind === 'torn') return `torn: ${r.why}`;
  return r.kind;
}

t.test('CRC-32C matches the standard check value', async (t) => {
  t.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  t.equal(crc32c(new Uint8Array()), 0);
});

t.test('a batch is a header and the records back to back, and scans back', async (t) => {
  const batch = encodeBatch(records);
  t.equal(new TextDecoder().decode(batch.subarray(0, 4)), 'tsw1', 'the magic reads "tsw1" on disk');
  t.equal(new DataView(batch.buffer, batch.byteOffset).getUint32(0, true), batchMagic);
  t.same(new Uint8Array(batch.subarray(batchHeaderBytes)), new Uint8Array(encodeRecords(records)));
  t.same(new Uint8Array(encodeRecords(records)), concat(records.map(encodeRecord)));
  const segment = concat([batch, encodeBatch([entryOf(5)])]);
  const first = scanBatch(segment, 0);
  t.equal(first.kind, 'batch');
  if (first.kind !== 'batch') return;
  t.same(first.records, records);
  const second = scanBatch(segment, first.next);
  t.equal(second.kind, 'batch');
  if (second.kind !== 'batch') return;
  t.equal(scanBatch(segment, second.next).kind, 'end');
  const entry = first.records[0];
  if (entry?.type === 'entry') t.not(entry.entry.data.buffer, segment.buffer, 'a recovered entry owns its bytes: it does not keep the segment alive');
});

t.test('pending records past the batch limit are split into batches in order', async (t) => {
  const five = [1, 2, 3, 4, 5].map((i) => entryOf(i));
  t.same(splitBatches(five, 160).map((b) => b.length), [2, 2, 1], 'at most two 76-byte records per 160 bytes');
  t.same(splitBatches(five, 10).map((b) => b.length), [1, 1, 1, 1, 1], 'a record over the limit goes alone');
  t.same(splitBatches(five).flat(), five);
  t.same(splitBatches([]), []);
});

t.test('a payload whose checksum matches but whose records do not decode is corrupt', async (t) => {
  // Re-frame a payload with a damaged record under a header and checksum that match it.
  const payload = new Uint8Array(encodeRecords([entryOf(1), entryOf(2)]));
  payload[76 + 20] = (payload[76 + 20] as number) ^ 0x01;
  const header = new Uint8Array(batchHeaderBytes);
  const view = new DataView(header.buffer);
  view.setUint32(0, batchMagic, true);
  view.setUint32(4, payload.length, true);
  view.setUint32(8, crc32c(payload), true);
  view.setUint32(12, crc32c(header.subarray(0, 12)), true);
  t.match(judge(scanBatch(concat([header, payload]), 0)), /^corrupt: record checksum mismatch at offset 92 inside the batch \(the batch's checksum matches/);
});

t.test('a segment that does not start with the magic is refused as another format', async (t) => {
  const oldFormat = encodeRecords(records);
  t.match(judge(scanBatch(oldFormat, 0)), /^corrupt: not a tsswarm WAL segment of this version \(it starts with 0x00000014, not the batch magic 0x31777374\)/);
  t.equal(scanBatch(new Uint8Array(100), 0).kind, 'torn', 'a new segment whose first write did not land is zeros: torn');
  t.equal(scanBatch(new Uint8Array(), 0).kind, 'end', 'an empty segment');
});

t.test('a header straddling a sector boundary with one side zero is torn', async (t) => {
  // A first batch of 510 bytes: the second header spans 510..526, and the sector from 512 is zero.
  const bytes = concat([encodeBatch([entryOf(1, 494)]), encodeBatch([entryOf(2, 300)])]);
  bytes.fill(0, 512);
  t.equal(judge(scanBatch(bytes, 510)), 'torn: batch header checksum mismatch');
  // The same header with a flip in its landed part and no zero part is corrupt.
  const flipped = concat([encodeBatch([entryOf(1, 494)]), encodeBatch([entryOf(2, 300)])]);
  flipped[514] = (flipped[514] as number) ^ 0x01;
  t.match(judge(scanBatch(flipped, 510)), /^corrupt: batch header checksum mismatch \(no 512-byte sector of the header is zero/);
});
