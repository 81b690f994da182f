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

/**
 * A disk writes a 512-byte sector whole or not at all. A crash in the middle of an append leaves a
 * prefix of the batch written (the file may end anywhere in it), and each sector of that prefix
 * either as written or zero (a file system may extend the file before the data lands), never other
 * bytes.
 */
export const sectorBytes = 512;

/** What reading at an offset found. */
export type ScanResult =
  | { readonly kind: 'record'; readonly record: WalRecord; readonly next: number }
  | { readonly kind: 'end' }
  /**
   * The bytes from here to the end are an unfinished write (a crash mid-append): safe to cut. `why`
   * says what is wrong with them.
   */
  | { readonly kind: 'torn'; readonly why: string }
  /**
   * The record here is damaged in a way no crash mid-append explains: the file cannot be trusted.
   * `why` says what is wrong, `evidence` why it is not a torn write.
   */
  | { readonly kind: 'corrupt'; readonly why: string; readonly evidence: string };

function allZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
}

/**
 * Reads the record at `offset` of a segment (pure). `bytes` is the whole segment, so its offsets are
 * file offsets (sectors are counted from them).
 *
 * A record that does not check out is torn (safe to cut) only if a crash mid-append explains it and
 * nothing after it is valid:
 * - the file ends inside its header, or inside its payload (its length runs past the end), or
 * - its checksum fails and a sector it touches is zero from there to the sector's end (or the end
 *   of the file), as a sector that did not land leaves it (etcd's isTornEntry, stricter: etcd looks
 *   only at the record's own part of the sector, and one zero byte there passes);
 * and, in both cases, no well-formed record starts anywhere after its offset (the last batch is the
 * only one that can be torn, and the end of the file is its end), and its bytes do not check out
 * with another length (a length field damaged in one byte; a torn header never checks out).
 * Anything else, a length over the limit included (zeroing bytes of a length only makes it
 * smaller), is corruption. A tail of zeros after the last record is torn: it is cut, so the next
 * append does not land behind zeros that would read as damage followed by data.
 *
 * Not told apart: a torn batch with a sector that did not land followed by records that did is
 * refused (it looks like damage followed by data), and a bit flip in the last record that happens
 * to end in a zero sector fragment is cut (it looks torn). The first fails safe, the second is as
 * rare as a natural zero tail on the record that also takes the flip.
 */
export function scanRecord(bytes: Uint8Array, offset: number): ScanResult {
  if (offset === bytes.length) return { kind: 'end' };
  const left = bytes.length - offset;
  if (left < recordHeaderBytes) return { kind: 'torn', why: `record header cut short (${left} of ${recordHeaderBytes} bytes)` };
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, left);
  const length = view.getUint32(0, true);
  const stored = view.getUint32(4, true);
  const end = offset + recordHeaderBytes + length;
  if (length > maxRecordPayloadBytes) {
    return { kind: 'corrupt', why: `record length ${length} over the limit`, evidence: 'a torn write never leaves a length over the limit' };
  }
  if (end > bytes.length) return damaged(bytes, offset, `record length ${length} runs past the end of the file`, true);
  if (crc32c(bytes.subarray(offset + 8, end)) !== stored) return damaged(bytes, offset, 'checksum mismatch', hasZeroSector(bytes, offset, end));
  const type = bytes[offset + 8] ?? 0;
  const record = decodePayload(type, bytes.subarray(offset + recordHeaderBytes, end));
  if (record === undefined) {
    return { kind: 'corrupt', why: `unknown record type ${type} or bad payload size ${length}`, evidence: 'its checksum matches: not a torn write' };
  }
  return { kind: 'record', record, next: end };
}

/** Judges a record that does not check out (see scanRecord); `tornShape`: a crash could leave it so. */
function damaged(bytes: Uint8Array, offset: number, why: string, tornShape: boolean): ScanResult {
  if (!tornShape) return { kind: 'corrupt', why, evidence: `no ${sectorBytes}-byte sector of it is zero, as a torn write leaves one` };
  const next = findRecord(bytes, offset + 1);
  if (next !== undefined) return { kind: 'corrupt', why, evidence: `a valid record follows at offset ${next}` };
  const length = lengthThatChecksOut(bytes, offset);
  if (length !== undefined) return { kind: 'corrupt', why, evidence: `its bytes check out with length ${length}: its length field is damaged` };
  return { kind: 'torn', why };
}

/**
 * Whether a sector overlapping [start, end) is zero from `start` (or its beginning) to its end or
 * the end of the file.
 */
function hasZeroSector(bytes: Uint8Array, start: number, end: number): boolean {
  for (let sector = start - (start % sectorBytes); sector < end; sector += sectorBytes) {
    if (allZero(bytes.subarray(Math.max(start, sector), Math.min(bytes.length, sector + sectorBytes)))) return true;
  }
  return false;
}

/** Bytes of every payload's first two u64s; their high bytes are zero (numbers stay below 2^53). */
const minPayloadBytes = 16;
/** Bytes of an entry's payload before its data: term, index, kind. */
const entryHeadBytes = 17;

/**
 * The first offset at or after `from` where a well-formed record starts (its length fits, its type
 * and payload size agree, its checksum matches), or undefined. Runs only on recovery's error path,
 * over at most one segment (about 8 MiB): each offset is first filtered on the type byte and the
 * u64s' high bytes, then on the length, and only what passes is checksummed.
 */
function findRecord(bytes: Uint8Array, from: number): number | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let p = from; p + recordHeaderBytes + minPayloadBytes <= bytes.length; p++) {
    const type = bytes[p + 8];
    if (type !== RecordType.entry && type !== RecordType.hardState && type !== RecordType.snapshot) continue;
    const payload = p + recordHeaderBytes;
    if (bytes[payload + 7] !== 0 || bytes[payload + 15] !== 0) continue;
    const length = view.getUint32(p, true);
    const room = bytes.length - payload;
    const fits = type === RecordType.entry ? length >= entryHeadBytes && length <= Math.min(room, maxRecordPayloadBytes) : length === (type === RecordType.hardState ? 24 : 16) && length <= room;
    if (!fits || crc32c(bytes.subarray(p + 8, payload + length)) !== view.getUint32(p + 4, true)) continue;
    if (decodePayload(type, bytes.subarray(payload, payload + length)) !== undefined) return p;
  }
  return undefined;
}

/**
 * A payload length other than the stored one under which the record at `offset` checks out, or
 * undefined: the length field was damaged (in one byte; any change to the type or payload already
 * fails the checksum). A hard state or compaction mark has one possible length; an entry's candidates
 * (at most 4 * 255) are checksummed in one pass over the bytes, in increasing order.
 */
function lengthThatChecksOut(bytes: Uint8Array, offset: number): number | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, recordHeaderBytes);
  const stored = view.getUint32(0, true);
  const crc = view.getUint32(4, true);
  const type = bytes[offset + 8] ?? 0;
  const room = Math.min(maxRecordPayloadBytes, bytes.length - offset - recordHeaderBytes);
  const candidates = new Set<number>();
  if (type === RecordType.hardState) candidates.add(24);
  else if (type === RecordType.snapshot) candidates.add(16);
  else if (type === RecordType.entry) {
    for (let shift = 0; shift < 32; shift += 8) {
      for (let b = 0; b < 256; b++) {
        const length = ((stored & ~(0xff << shift)) | (b << shift)) >>> 0;
        if (length >= entryHeadBytes) candidates.add(length);
      }
    }
  }
  let sum = 0;
  let at = offset + 8;
  for (const length of [...candidates].filter((l) => l !== stored && l <= room).sort((a, b) => a - b)) {
    const end = offset + recordHeaderBytes + length;
    sum = crc32c(bytes.subarray(at, end), sum);
    at = end;
    if (sum === crc && decodePayload(type, bytes.subarray(offset + recordHeaderBytes, end)) !== undefined) return length;
  }
  return undefined;
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
