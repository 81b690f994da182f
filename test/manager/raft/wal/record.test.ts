import t from 'tap';
import { encodeRecord, encodeRecords, scanRecord, type WalRecord } from '../../../../manager/raft/wal/record.js';
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
  const flippedLast = concat([a, b]);
  flippedLast[a.length + 12] = (flippedLast[a.length + 12] as number) ^ 0x10;
  t.equal(scanRecord(flippedLast, a.length).kind, 'torn', 'a damaged last record is a torn write');
  t.equal(scanRecord(concat([a, new Uint8Array(64)]), a.length).kind, 'torn', 'zeros after a crash');
  const flippedMiddle = concat([a, b]);
  flippedMiddle[10] = (flippedMiddle[10] as number) ^ 0x01;
  const r = scanRecord(flippedMiddle, 0);
  t.equal(r.kind, 'corrupt', 'a damaged record followed by a good one');
  t.match(r.kind === 'corrupt' ? r.why : '', /checksum mismatch/);
});
