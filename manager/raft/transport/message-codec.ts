/**
 * Raft messages between the core's shape and the wire's (proto/raft.proto), with snapshots cut into
 * chunks on the way out and put back together on the way in (pure).
 */
import { ErrorCode, TsswarmError } from '../../../lib/errors.js';
import { EntryType, RaftMessageType, type RaftMessage } from '../../../proto/index.js';
import { makeMessage, MessageType, type Entry, type Message, type Snapshot } from '../types.js';

/** Largest piece of a snapshot in one wire message. */
export const snapshotChunkBytes = 1 << 20;

const toWire: Readonly<Record<MessageType, RaftMessageType>> = {
  [MessageType.hup]: RaftMessageType.HUP,
  [MessageType.beat]: RaftMessageType.BEAT,
  [MessageType.prop]: RaftMessageType.PROP,
  [MessageType.app]: RaftMessageType.APP,
  [MessageType.appResp]: RaftMessageType.APP_RESP,
  [MessageType.vote]: RaftMessageType.VOTE,
  [MessageType.voteResp]: RaftMessageType.VOTE_RESP,
  [MessageType.preVote]: RaftMessageType.PRE_VOTE,
  [MessageType.preVoteResp]: RaftMessageType.PRE_VOTE_RESP,
  [MessageType.snap]: RaftMessageType.SNAP,
  [MessageType.heartbeat]: RaftMessageType.HEARTBEAT,
  [MessageType.heartbeatResp]: RaftMessageType.HEARTBEAT_RESP,
  [MessageType.transferLeader]: RaftMessageType.TRANSFER_LEADER,
  [MessageType.timeoutNow]: RaftMessageType.TIMEOUT_NOW,
  [MessageType.readIndex]: RaftMessageType.READ_INDEX,
  [MessageType.readIndexResp]: RaftMessageType.READ_INDEX_RESP,
  [MessageType.unreachable]: RaftMessageType.UNREACHABLE,
  [MessageType.snapStatus]: RaftMessageType.SNAP_STATUS,
  [MessageType.checkQuorum]: RaftMessageType.CHECK_QUORUM,
};

const fromWire = new Map<number, MessageType>(Object.entries(toWire).map(([k, v]) => [v, k as MessageType]));

function wireEntry(e: Entry): RaftMessage['entries'][number] {
  return { term: e.term, index: e.index, type: e.type === 'confChange' ? EntryType.CONF_CHANGE : EntryType.NORMAL, data: e.data as Uint8Array };
}

/** The wire messages for one core message: one, or one per snapshot chunk. */
export function encodeMessage(m: Message): RaftMessage[] {
  const base: RaftMessage = {
    type: toWire[m.type],
    to: m.to,
    from: m.from,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: m.entries.map(wireEntry),
    commit: m.commit,
    reject: m.reject,
    rejectHint: m.rejectHint,
    context: m.context === undefined ? new Uint8Array() : new TextEncoder().encode(m.context),
  };
  const snap = m.snapshot;
  if (!snap) return [base];
  const metadata = { index: snap.metadata.index, term: snap.metadata.term, confState: { voters: [...snap.metadata.confState.voters], learners: [...snap.metadata.confState.learners] } };
  const total = snap.data.length;
  const out: RaftMessage[] = [];
  for (let offset = 0; offset < total || out.length === 0; offset += snapshotChunkBytes) {
    out.push({ ...base, snapshotMetadata: metadata, snapshotChunk: { offsetBytes: offset, totalBytes: total, data: snap.data.subarray(offset, offset + snapshotChunkBytes) } });
  }
  return out;
}

/** Puts messages back together on the receiving side of one stream. */
export class MessageDecoder {
  private pending: { parts: Uint8Array[]; received: number; total: number } | undefined;

  /** The core message once complete (a snapshot's last chunk), else undefined. */
  decode(w: RaftMessage): Message | undefined {
    const type = fromWire.get(w.type);
    if (type === undefined) throw new TsswarmError(ErrorCode.CORRUPT, `unknown raft message type ${w.type}`);
    let snapshot: Snapshot | undefined;
    if (w.snapshotChunk && w.snapshotMetadata) {
      const chunk = w.snapshotChunk;
      if (chunk.offsetBytes === 0) this.pending = { parts: [], received: 0, total: chunk.totalBytes };
      const p = this.pending;
      if (!p || chunk.offsetBytes !== p.received || chunk.totalBytes !== p.total) {
        this.pending = undefined;
        throw new TsswarmError(ErrorCode.CORRUPT, `snapshot chunk at ${chunk.offsetBytes} out of order`);
      }
      p.parts.push(chunk.data);
      p.received += chunk.data.length;
      if (p.received < p.total) return undefined;
      const data = new Uint8Array(p.total);
      let at = 0;
      for (const part of p.parts) {
        data.set(part, at);
        at += part.length;
      }
      this.pending = undefined;
      const meta = w.snapshotMetadata;
      snapshot = { metadata: { index: meta.index, term: meta.term, confState: { voters: meta.confState?.voters ?? [], learners: meta.confState?.learners ?? [] } }, data };
    }
    return makeMessage({
      type,
      to: w.to,
      from: w.from,
      term: w.term,
      logTerm: w.logTerm,
      index: w.index,
      entries: w.entries.map((e) => ({ term: e.term, index: e.index, type: e.type === EntryType.CONF_CHANGE ? 'confChange' : 'normal', data: e.data })),
      commit: w.commit,
      reject: w.reject,
      rejectHint: w.rejectHint,
      ...(w.context.length > 0 ? { context: new TextDecoder().decode(w.context) } : {}),
      ...(snapshot ? { snapshot } : {}),
    });
  }
}
