/**
 * WAL record framing and payloads (pure). A record is
 *
 *     u32 length of payload (LE) | u32 CRC-32C of (type, payload) | u8 type | payload
 *
 * Records are written in batches (one write and one fsync each), and a segment file is a sequence of
 * batches:
 *
 *     u32 batchMagic | u32 payload length | u32 CRC-32C of payload | u32 CRC-32C of the 12 bytes before | payload
 *
 * where the payload is the batch's records back to back. Integers are LE; in payloads they are u64
 * (numbers below 2^53).
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
 * First four bytes of every batch ("tsw1" on disk): a segment that does not start with them is not a
 * WAL of this version.
 */
export const batchMagic = 0x31777374;
/** Bytes of a batch header: magic, payload length, payload checksum, header checksum. */
export const batchHeaderBytes = 16;
/**
 * Largest payload one batch carries (one record of the largest size always fits). A flush with more
 * pending writes several batches, each fsynced before the next is written.
 */
export const maxBatchPayloadBytes = 128 * 1024 * 1024;

/** Bytes `records` take as one batch, header included. */
export function batchBytes(records: readonly WalRecord[]): number {
  let size = batchHeaderBytes;
  for (const r of records) size += recordBytes(r);
  return size;
}

/** Encodes `records` as one batch (header, then the records back to back) into one buffer. */
export function encodeBatch(records: readonly WalRecord[]): Uint8Array {
  const out = Buffer.allocUnsafe(batchBytes(records));
  const length = out.length - batchHeaderBytes;
  assert(length <= maxBatchPayloadBytes, `batch payload of ${length} bytes over the limit`);
  let at = batchHeaderBytes;
  for (const r of records) at = encodeRecordInto(r, out, at);
  const view = new DataView(out.buffer, out.byteOffset, batchHeaderBytes);
  view.setUint32(0, batchMagic, true);
  view.setUint32(4, length, true);
  view.setUint32(8, crc32c(out.subarray(batchHeaderBytes)), true);
  view.setUint32(12, crc32c(out.subarray(0, 12)), true);
  return out;
}

/**
 * Splits `records` into batches of at most `maxBytes` payload bytes each, in order (a record larger
 * than `maxBytes` goes alone).
 */
export function splitBatches(records: readonly WalRecord[], maxBytes = maxBatchPayloadBytes): WalRecord[][] {
  const batches: WalRecord[][] = [];
  let current: WalRecord[] = [];
  let size = 0;
  for (const r of records) {
    const bytes = recordBytes(r);
    if (current.length > 0 && size + bytes > maxBytes) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(r);
    size += bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * A disk writes a 512-byte sector whole or not at all, and the page cache may write a batch's pages
 * back in any order: a crash before the batch's fsync leaves the file ending anywhere in the batch
 * and each sector of what is there either as written or zero. A batch is written only after the one
 * before it was fsynced, so only the last batch of the last segment can be torn.
 */
export const sectorBytes = 512;

/** What reading a batch at an offset found. */
export type BatchScan =
  | { readonly kind: 'batch'; readonly records: readonly WalRecord[]; readonly next: number }
  | { readonly kind: 'end' }
  /**
   * The bytes from here to the end are an unfinished write (a crash before the batch's fsync): safe
   * to cut, if this is the last segment. `why` says what is wrong with them.
   */
  | { readonly kind: 'torn'; readonly why: string }
  /**
   * The batch here is damaged in a way no crash mid-append explains: the file cannot be trusted.
   * `why` says what is wrong, `evidence` why it is not a torn write.
   */
  | { readonly kind: 'corrupt'; readonly why: string; readonly evidence: string };

function allZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** Whether the 16 bytes at `offset` are a batch header whose own checksum matches. */
function headerChecksOut(view: DataView, offset: number, bytes: Uint8Array): boolean {
  return view.getUint32(offset, true) === batchMagic && crc32c(bytes.subarray(offset, offset + 12)) === view.getUint32(offset + 12, true);
}

/**
 * Reads the batch at `offset` of a segment (pure). `bytes` is the whole segment, so its offsets are
 * file offsets (sectors are counted from them). The rules:
 * - the file ends at `offset`: end;
 * - the file ends inside the header, or inside the payload of a header that checks out: torn;
 * - the header checks out and so does the payload: its records, each of which must decode (one that
 *   does not, in a payload whose checksum matched, is corruption);
 * - the header checks out, the payload does not: torn if a sector of the payload is zero (a page
 *   that did not land) and only zeros follow the payload's declared end (or the file ends there);
 *   any other byte there is a later write, so this batch had been fsynced, and damage without a
 *   zero sector is a flipped bit, not a torn write: corruption;
 * - the header does not check out: torn if a sector of it is zero (all of it, or the part on one
 *   side of a sector boundary: the sector did not land) and no valid batch (header and payload
 *   check out, inside the file) starts anywhere after `offset`; a header with no zero sector, or one
 *   followed by a valid batch, is corruption. A tail of zeros after the last batch is torn this way.
 * At offset 0 a first word that is neither the magic nor zero is refused as another format.
 * A header that checks out is trusted for the batch's extent: the bytes inside it (entry data,
 * which users control) are never searched for headers. Only a header that does not check out makes
 * the rest of the file be searched, and a valid batch found there only ever turns a cut into a
 * refusal.
 */
export function scanBatch(bytes: Uint8Array, offset: number): BatchScan {
  if (offset === bytes.length) return { kind: 'end' };
  const left = bytes.length - offset;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (offset === 0 && left >= 4) {
    const first = view.getUint32(0, true);
    if (first !== batchMagic && first !== 0) {
      return { kind: 'corrupt', why: `not a tsswarm WAL segment of this version`, evidence: `it starts with ${hex(first)}, not the batch magic ${hex(batchMagic)}` };
    }
  }
  if (left < batchHeaderBytes) return { kind: 'torn', why: `batch header cut short (${left} of ${batchHeaderBytes} bytes)` };
  if (!headerChecksOut(view, offset, bytes)) return damagedHeader(bytes, view, offset);
  const length = view.getUint32(offset + 4, true);
  if (length > maxBatchPayloadBytes) {
    return { kind: 'corrupt', why: `batch length ${length} over the limit`, evidence: 'its header checksum matches: not a torn write' };
  }
  const start = offset + batchHeaderBytes;
  const end = start + length;
  if (end > bytes.length) return { kind: 'torn', why: `batch of ${length} bytes cut short (${bytes.length - start} bytes of it present)` };
  if (crc32c(bytes.subarray(start, end)) !== view.getUint32(offset + 8, true)) {
    const after = firstNonZero(bytes, end);
    if (after !== undefined) return { kind: 'corrupt', why: 'batch checksum mismatch', evidence: `a later write follows at offset ${after}, so this batch had been fsynced` };
    // A write that did not finish leaves sectors that did not land as zeros; damage without a zero
    // sector (a flipped bit) hit a batch that may well have been fsynced: refuse, do not cut.
    if (!hasZeroSector(bytes, start, end)) return { kind: 'corrupt', why: 'batch checksum mismatch', evidence: `no ${sectorBytes}-byte sector of it is zero, as a torn write leaves one` };
    return { kind: 'torn', why: `batch checksum mismatch` };
  }
  const records: WalRecord[] = [];
  for (let at = start; at < end; ) {
    const r = decodeRecord(bytes, at, end);
    if (typeof r === 'string') return { kind: 'corrupt', why: `${r} at offset ${at} inside the batch`, evidence: "the batch's checksum matches: not a torn write" };
    records.push(r.record);
    at = r.next;
  }
  return { kind: 'batch', records, next: end };
}

/** Judges a header that does not check out (see scanBatch). */
function damagedHeader(bytes: Uint8Array, view: DataView, offset: number): BatchScan {
  const why = allZero(bytes.subarray(offset, offset + batchHeaderBytes)) ? 'zero batch header' : 'batch header checksum mismatch';
  if (!hasZeroSector(bytes, offset, offset + batchHeaderBytes)) {
    return { kind: 'corrupt', why, evidence: `no ${sectorBytes}-byte sector of the header is zero, as a torn write leaves one` };
  }
  const next = findBatch(bytes, view, offset + 1);
  if (next !== undefined) return { kind: 'corrupt', why, evidence: `a valid batch follows at offset ${next}` };
  return { kind: 'torn', why };
}

/** The first offset at or after `from` holding a byte other than zero, or undefined. */
function firstNonZero(bytes: Uint8Array, from: number): number | undefined {
  for (let p = from; p < bytes.length; p++) if (bytes[p] !== 0) return p;
  return undefined;
}

/** Whether the part of [start, end) in some sector is all zero (the sector did not land). */
function hasZeroSector(bytes: Uint8Array, start: number, end: number): boolean {
  for (let sector = start - (start % sectorBytes); sector < end; sector += sectorBytes) {
    if (allZero(bytes.subarray(Math.max(start, sector), Math.min(end, sector + sectorBytes)))) return true;
  }
  return false;
}

/**
 * The first offset at or after `from` where a valid batch starts (magic, header checksum, payload
 * inside the file, payload checksum), or undefined. Runs only on recovery's error path, over at most
 * one segment: offsets are filtered on the magic, then on the header checksum, and only what passes
 * has its payload checksummed.
 */
function findBatch(bytes: Uint8Array, view: DataView, from: number): number | undefined {
  for (let p = from; p + batchHeaderBytes <= bytes.length; p++) {
    if (bytes[p] !== (batchMagic & 0xff) || !headerChecksOut(view, p, bytes)) continue;
    const length = view.getUint32(p + 4, true);
    const end = p + batchHeaderBytes + length;
    if (length > maxBatchPayloadBytes || end > bytes.length) continue;
    if (crc32c(bytes.subarray(p + batchHeaderBytes, end)) === view.getUint32(p + 8, true)) return p;
  }
  return undefined;
}

/**
 * Decodes the record at `at` of a batch payload ending at `end`: the record and the offset after it,
 * or what is wrong with it.
 */
function decodeRecord(bytes: Uint8Array, at: number, end: number): { record: WalRecord; next: number } | string {
  if (end - at < recordHeaderBytes) return `record header cut short (${end - at} of ${recordHeaderBytes} bytes)`;
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, recordHeaderBytes);
  const length = view.getUint32(0, true);
  const next = at + recordHeaderBytes + length;
  if (length > maxRecordPayloadBytes || next > end) return `record length ${length} runs past the end of its batch`;
  if (crc32c(bytes.subarray(at + 8, next)) !== view.getUint32(4, true)) return 'record checksum mismatch';
  const type = bytes[at + 8] ?? 0;
  const record = decodePayload(type, bytes.subarray(at + recordHeaderBytes, next));
  if (record === undefined) return `unknown record type ${type} or bad payload size ${length}`;
  return { record, next };
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
