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

function frame(type: RecordType, payload: Uint8Array): Uint8Array {
  assert(payload.length <= maxRecordPayloadBytes, `record payload of ${payload.length} bytes over the limit`);
  const out = new Uint8Array(recordHeaderBytes + payload.length);
  const view = new DataView(out.buffer);
  out[8] = type;
  out.set(payload, recordHeaderBytes);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, crc32c(out.subarray(8)), true);
  return out;
}

/** Encodes one record. */
export function encodeRecord(record: WalRecord): Uint8Array {
  switch (record.type) {
    case 'entry': {
      const e = record.entry;
      const payload = new Uint8Array(17 + e.data.length);
      const view = new DataView(payload.buffer);
      putU64(view, 0, e.term);
      putU64(view, 8, e.index);
      payload[16] = e.type === 'confChange' ? 1 : 0;
      payload.set(e.data, 17);
      return frame(RecordType.entry, payload);
    }
    case 'hardState': {
      const payload = new Uint8Array(24);
      const view = new DataView(payload.buffer);
      putU64(view, 0, record.hardState.term);
      putU64(view, 8, record.hardState.vote);
      putU64(view, 16, record.hardState.commit);
      return frame(RecordType.hardState, payload);
    }
    case 'snapshot': {
      const payload = new Uint8Array(16);
      const view = new DataView(payload.buffer);
      putU64(view, 0, record.index);
      putU64(view, 8, record.term);
      return frame(RecordType.snapshot, payload);
    }
  }
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
      entry: { term: getU64(view, 0), index: getU64(view, 8), type: kind === 1 ? 'confChange' : 'normal', data: payload.slice(17) },
    };
  }
  if (type === RecordType.hardState && payload.length === 24) {
    return { type: 'hardState', hardState: { term: getU64(view, 0), vote: getU64(view, 8), commit: getU64(view, 16) } };
  }
  if (type === RecordType.snapshot && payload.length === 16) return { type: 'snapshot', index: getU64(view, 0), term: getU64(view, 8) };
  return undefined;
}
