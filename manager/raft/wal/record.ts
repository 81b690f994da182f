/**
 * WAL record framing and payloads (pure). A record is
 *
 *     u32 length of payload (LE) | u32 CRC-32C of (type, payload) | u8 type | payload
 *
 * and a segment file is a sequence of records. Integers in payloads are u64 LE (numbers below 2^53).
 */
import { assert } from '../../../lib/assert.js';
import type { Entry, HardState } from '../types.js';
import { crc32c } from './crc32c.js';

/** Bytes before a record's payload: length, checksum, type. */
export const recordHeaderBytes = 9;
/** Largest payload a record may carry. */
export const maxRecordPayloadBytes = 64 * 1024 * 1024;

/** What a record holds. */
export const RecordType = {
  entry: 1,
  hardState: 2,
  /** The log was compacted up to a snapshot at (index, term): earlier entries are gone. */
  snapshot: 3,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** A decoded record. */
export type WalRecord =
  | { readonly type: 'entry'; readonly entry: Entry }
  | { readonly type: 'hardState'; readonly hardState: HardState }
  | { readonly type: 'snapshot'; readonly index: number; readonly term: number };

const two32 = 2 ** 32;

function putU64(view: DataView, at: number, n: number): void {
  assert(Number.isSafeInteger(n) && n >= 0, `u64 out of range: ${n}`);
  view.setUint32(at, n % two32, true);
  view.setUint32(at + 4, Math.floor(n / two32), true);
}

function getU64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * two32;
}

/** Bytes of a record's payload. */
function payloadBytes(record: WalRecord): number {
  switch (record.type) {
    case 'entry':
      return 17 + record.entry.data.length;
    case 'hardState':
      return 24;
    case 'snapshot':
      return 16;
  }
}

/** Bytes `record` takes in a segment, framing included. */
export function recordBytes(record: WalRecord): number {
  const length = payloadBytes(record);
  assert(length <= maxRecordPayloadBytes, `record payload of ${length} bytes over the limit`);
  return recordHeaderBytes + length;
}

/**
 * Encodes `record` into `out` at `at` (which must have recordBytes(record) bytes free there) and
 * returns the offset after it. A batch of records goes into one buffer this way, without a payload
 * and a frame allocated per record on the way.
 */
export function encodeRecordInto(record: WalRecord, out: Uint8Array, at: number): number {
  const end = at + recordBytes(record);
  assert(end <= out.length, `record of ${end - at} bytes does not fit at ${at} of ${out.length}`);
  const view = new DataView(out.buffer, out.byteOffset + at, end - at);
  const p = recordHeaderBytes;
  switch (record.type) {
    case 'entry': {
      const e = record.entry;
      out[at + 8] = RecordType.entry;
      putU64(view, p, e.term);
      putU64(view, p + 8, e.index);
      view.setUint8(p + 16, e.type === 'confChange' ? 1 : 0);
      out.set(e.data, at + p + 17);
      break;
    }
    case 'hardState':
      out[at + 8] = RecordType.hardState;
      putU64(view, p, record.hardState.term);
      putU64(view, p + 8, record.hardState.vote);
      putU64(view, p + 16, record.hardState.commit);
      break;
    case 'snapshot':
      out[at + 8] = RecordType.snapshot;
      putU64(view, p, record.index);
      putU64(view, p + 8, record.term);
      break;
  }
  view.setUint32(0, end - at - recordHeaderBytes, true);
  view.setUint32(4, crc32c(out.subarray(at + 8, end)), true);
  return end;
}

/** Encodes one record. */
export function encodeRecord(record: WalRecord): Uint8Array {
  const out = new Uint8Array(recordBytes(record));
  encodeRecordInto(record, out, 0);
  return out;
}

/** Encodes records back to back into one buffer. */
export function encodeRecords(records: readonly WalRecord[]): Uint8Array {
  let size = 0;
  for (const r of records) size += recordBytes(r);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const r of records) at = encodeRecordInto(r, out, at);
  return out;
}

/** What reading at an offset found. */
export type ScanResult =
  | { readonly kind: 'record'; readonly record: WalRecord; readonly next: number }
  | { readonly kind: 'end' }
  /** The bytes from here to the end are an unfinished write (a crash mid-append): safe to cut. */
  | { readonly kind: 'torn' }
  /** The record here is damaged and valid-looking data follows: the file cannot be trusted. */
  | { readonly kind: 'corrupt'; readonly why: string };

function allZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
}

/** Reads the record at `offset` of a segment's bytes (pure). */
export function scanRecord(bytes: Uint8Array, offset: number): ScanResult {
  if (offset === bytes.length) return { kind: 'end' };
  const rest = bytes.subarray(offset);
  if (rest.length < recordHeaderBytes) return { kind: 'torn' };
  const view = new DataView(rest.buffer, rest.byteOffset, rest.byteLength);
  const length = view.getUint32(0, true);
  const stored = view.getUint32(4, true);
  const end = recordHeaderBytes + length;
  if (length > maxRecordPayloadBytes) return allZero(rest) ? { kind: 'torn' } : { kind: 'corrupt', why: `record length ${length} over the limit` };
  if (end > rest.length) return { kind: 'torn' };
  if (crc32c(rest.subarray(8, end)) !== stored) {
    // A damaged last record, or one followed only by zeros the file system left after a crash, is a
    // torn write; anything after it that is not zero means the damage is in the middle.
    return end === rest.length || allZero(rest.subarray(end)) ? { kind: 'torn' } : { kind: 'corrupt', why: 'checksum mismatch' };
  }
  const payload = rest.subarray(recordHeaderBytes, end);
  const record = decodePayload(rest[8] ?? 0, payload);
  if (record === undefined) return { kind: 'corrupt', why: `unknown record type ${rest[8]} or bad payload size ${payload.length}` };
  return { kind: 'record', record, next: offset + end };
}

function decodePayload(type: number, payload: Uint8Array): WalRecord | undefined {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (type === RecordType.entry && payload.length >= 17) {
    const kind = payload[16];
    if (kind !== 0 && kind !== 1) return undefined;
    return {
      type: 'entry',
      // A copy, never a view: an entry stays in memory until compacted and must not keep the whole
      // segment it was read from alive (Buffer's slice() would be a view).
      entry: { term: getU64(view, 0), index: getU64(view, 8), type: kind === 1 ? 'confChange' : 'normal', data: new Uint8Array(payload.subarray(17)) },
    };
  }
  if (type === RecordType.hardState && payload.length === 24) {
    return { type: 'hardState', hardState: { term: getU64(view, 0), vote: getU64(view, 8), commit: getU64(view, 16) } };
  }
  if (type === RecordType.snapshot && payload.length === 16) return { type: 'snapshot', index: getU64(view, 0), term: getU64(view, 8) };
  return undefined;
}
