/**
 * A raft snapshot's data as a running member stores it: the member address book and the removed
 * raft IDs (raft knows members only by number; the addresses travel with the membership), followed
 * by the application's own snapshot. Layout: u32 little-endian header length, the header as JSON,
 * then the application's bytes.
 */
import { ErrorCode, TsswarmError } from '../../../lib/errors.js';
import type { NodeId } from '../types.js';

/** One member as the address book holds it. */
export interface MemberInfo {
  readonly raftId: NodeId;
  /** "host:port" of its raft endpoint. */
  readonly addr: string;
  /** The cluster node ID it belongs to ('' when the application has none). */
  readonly nodeId: string;
}

/** What precedes the application's snapshot. */
export interface SnapshotHeader {
  readonly members: readonly MemberInfo[];
  readonly removed: readonly NodeId[];
}

const headerLengthBytes = 4;

/**
 * The envelope as two parts to lay end to end: the header (with its length) and the application's
 * bytes themselves, not copied (a snapshot is as large as the application's state).
 */
export function snapshotEnvelopeParts(header: SnapshotHeader, app: Uint8Array): [Uint8Array, Uint8Array] {
  const json = new TextEncoder().encode(JSON.stringify({ members: header.members.map((m) => [m.raftId, m.addr, m.nodeId]), removed: header.removed }));
  const head = new Uint8Array(headerLengthBytes + json.length);
  new DataView(head.buffer).setUint32(0, json.length, true);
  head.set(json, headerLengthBytes);
  return [head, app];
}

/** Prefixes the application's snapshot with the header. */
export function encodeSnapshotEnvelope(header: SnapshotHeader, app: Uint8Array): Uint8Array {
  const [head] = snapshotEnvelopeParts(header, app);
  const out = new Uint8Array(head.length + app.length);
  out.set(head);
  out.set(app, head.length);
  return out;
}

/** Splits snapshot data into the header and the application's bytes; CORRUPT when malformed. */
export function decodeSnapshotEnvelope(data: Uint8Array): { header: SnapshotHeader; app: Uint8Array } {
  const corrupt = (why: string): TsswarmError => new TsswarmError(ErrorCode.CORRUPT, `raft snapshot data: ${why}`);
  if (data.length < headerLengthBytes) throw corrupt('shorter than its header length');
  const length = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true);
  if (headerLengthBytes + length > data.length) throw corrupt(`header of ${length} bytes runs past the end`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(data.subarray(headerLengthBytes, headerLengthBytes + length)));
  } catch {
    throw corrupt('header is not JSON');
  }
  const record = parsed as { members?: unknown; removed?: unknown };
  if (!Array.isArray(record.members) || !Array.isArray(record.removed)) throw corrupt('header lacks members or removed');
  const members: MemberInfo[] = [];
  for (const m of record.members as unknown[]) {
    if (!Array.isArray(m) || typeof m[0] !== 'number' || typeof m[1] !== 'string' || typeof m[2] !== 'string') throw corrupt('malformed member');
    members.push({ raftId: m[0], addr: m[1], nodeId: m[2] });
  }
  const removed = (record.removed as unknown[]).filter((id): id is number => typeof id === 'number');
  return { header: { members, removed }, app: data.subarray(headerLengthBytes + length) };
}
