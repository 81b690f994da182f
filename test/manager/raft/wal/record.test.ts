import t from 'tap';
import { encodeRecord, encodeRecords, scanRecord, type ScanResult, type WalRecord } from '../../../../manager/raft/wal/record.js';
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

t.test('CRC-32C matches the standard check value', async (t) => {
  t.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  t.equal(crc32c(new Uint8Array()), 0);
});

t.test('records survive encode and scan', async (t) => {
  const bytes = concat(records.map(encodeRecord));
  let offset = 0;
  const back: WalRecord[] = [];
  for (;;) {
    const r = scanRecord(bytes, offset);
    if (r.kind !== 'record') {
      t.equal(r.kind, 'end');
      break;
    }
    back.push(r.record);
    offset = r.next;
  }
  t.same(back, records);
});

t.test('a batch encoded into one buffer is the records back to back', async (t) => {
  t.same(new Uint8Array(encodeRecords(records)), concat(records.map(encodeRecord)));
  const segment = new Uint8Array(encodeRecords(records));
  const first = scanRecord(segment, 0);
  t.equal(first.kind, 'record');
  if (first.kind !== 'record' || first.record.type !== 'entry') return;
  t.not(first.record.entry.data.buffer, segment.buffer, 'a recovered entry owns its bytes: it does not keep the segment alive');
});

t.test('a cut-short or zero-padded tail is torn; damage followed by data is corrupt', async (t) => {
  const a = encodeRecord(records[0] as WalRecord);
  const b = encodeRecord(records[1] as WalRecord);
  t.equal(scanRecord(concat([a, b.subarray(0, 5)]), a.length).kind, 'torn', 'header cut');
  t.equal(scanRecord(concat([a, b.subarray(0, b.length - 1)]), a.length).kind, 'torn', 'payload cut');
  t.equal(scanRecord(concat([a, new Uint8Array(64)]), a.length).kind, 'torn', 'zeros after a crash');
  const flippedMiddle = concat([a, b]);
  flippedMiddle[10] = (flippedMiddle[10] as number) ^ 0x01;
  const r = scanRecord(flippedMiddle, 0);
  t.equal(r.kind, 'corrupt', 'a damaged record followed by a good one');
  t.match(r.kind === 'corrupt' ? r.why : '', /checksum mismatch/);
});

/** An entry record of exactly `bytes` bytes (framing included), its data all `fill`. */
function entryOf(index: number, bytes: number, fill = 0x78): Uint8Array {
  return encodeRecord({ type: 'entry', entry: { term: 1, index, type: 'normal', data: new Uint8Array(bytes - 26).fill(fill) } });
}

function flip(bytes: Uint8Array, at: number, mask: number): Uint8Array {
  const out = new Uint8Array(bytes);
  out[at] = (out[at] as number) ^ mask;
  return out;
}

function judge(r: ScanResult): string {
  return r.kind === 'corrupt' ? `corrupt: ${r.why} (${r.evidence})` : r.kind;
}

t.test('damage a crash cannot explain, or followed by a valid record, is corrupt, not torn', async (t) => {
  const three = concat([entryOf(1, 76), entryOf(2, 76), entryOf(3, 76)]);
  t.match(judge(scanRecord(flip(three, 2, 0x01), 0)), /^corrupt: record length 65603 runs past the end of the file \(a valid record follows at offset 76\)/, 'a length flipped past the end in the first record');
  t.match(judge(scanRecord(flip(three, 76 + 3, 0x80), 76)), /^corrupt: record length \d+ over the limit/, 'a length flipped over the limit in the middle');
  t.match(judge(scanRecord(flip(three, 152 + 40, 0x04), 152)), /^corrupt: checksum mismatch \(no 512-byte sector of it is zero/, 'a payload flip in the last record');
  t.match(judge(scanRecord(flip(three, 152 + 5, 0x04), 152)), /^corrupt: checksum mismatch/, 'a checksum flip in the last record');
  t.match(judge(scanRecord(flip(three, 152 + 1, 0x01), 152)), /^corrupt: record length 323 runs past the end of the file \(its bytes check out with length 67/, 'a length flipped past the end in the last record');
  t.match(judge(scanRecord(flip(three, 152, 0x40), 152)), /^corrupt: checksum mismatch/, 'a length flipped shorter in the last record');
  const hard = encodeRecord(records[1] as WalRecord);
  t.match(judge(scanRecord(flip(concat([three, hard]), 228 + 1, 0x10), 228)), /its bytes check out with length 24/, 'a hard state whose length was flipped');
  // A torn batch whose first sector did not land but whose second did: nothing tells it from damage
  // followed by data, so it is refused (fails safe) rather than cut.
  const holed = concat([entryOf(1, 500), entryOf(2, 76), entryOf(3, 76)]);
  holed.fill(0, 500, 512);
  t.match(judge(scanRecord(holed, 500)), /^corrupt: checksum mismatch \(a valid record follows at offset 576\)/, 'a zero sector followed by a record that landed');
});

t.test('what a crash mid-append leaves is torn', async (t) => {
  const two = concat([entryOf(1, 76), entryOf(2, 76)]);
  const third = entryOf(3, 76);
  t.equal(scanRecord(concat([two, third.subarray(0, 40)]), 152).kind, 'torn', 'the file ends in the last payload');
  t.equal(scanRecord(concat([two, third.subarray(0, 4)]), 152).kind, 'torn', 'the file ends in the last header');
  t.equal(scanRecord(concat([two, new Uint8Array(5)]), 152).kind, 'torn', 'fewer zeros than a header');
  t.equal(scanRecord(concat([two, new Uint8Array(1000)]), 152).kind, 'torn', 'zeros past a sector boundary');
  // Records of 76 bytes from 0: the seventh spans offset 512, and its second sector did not land.
  const seven = concat([1, 2, 3, 4, 5, 6, 7].map((i) => entryOf(i, 76)));
  seven.fill(0, 512);
  t.equal(scanRecord(seven, 456).kind, 'torn', 'the last record ends in a zero sector');
  // A batch of 76-byte records from 152 cut at 580, its sector from 512 not landed: the record at 456
  // ends in zeros and the one at 532 is zeros cut short.
  const batch = concat([1, 2, 3, 4, 5, 6, 7, 8].map((i) => entryOf(i, 76))).subarray(0, 580);
  batch.fill(0, 512);
  t.equal(scanRecord(batch, 456).kind, 'torn', 'a batch cut short with its last sector zero');
  // A record whose header fills the end of one sector, its payload in the next, which did not land.
  t.equal(scanRecord(concat([entryOf(1, 503), third.subarray(0, 9), new Uint8Array(600)]), 503).kind, 'torn', 'a header that landed, a payload that did not');
});
