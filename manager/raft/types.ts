/**
 * The vocabulary of the raft core: entries, messages, hard and soft state, snapshots and
 * membership. Everything here is plain data so it can cross a wire or a disk unchanged.
 */
import { assert } from '../../lib/assert.js';
import { invalidArgument } from '../../lib/errors.js';

/** A member's id. Positive integer; 0 (`NONE`) means "nobody". */
export type NodeId = number;

/** The absent node id: no leader known, no vote cast, or a local message. */
export const NONE: NodeId = 0;

/** What an entry carries: application data or a membership change. */
export type EntryType = 'normal' | 'confChange';

/** One log entry. `index` and `term` are assigned by the leader that appended it. */
export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** The persistent state a node must write before it sends any message (Raft's currentTerm, votedFor). */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

/** The empty hard state of a node that has never run. */
export const emptyHardState: HardState = { term: 0, vote: NONE, commit: 0 };

/** True when two hard states are equal. */
export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** The role a node plays in its current term. */
export type RaftState = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state worth telling the application about (who leads, what we are). */
export interface SoftState {
  readonly lead: NodeId;
  readonly state: RaftState;
}

/** The membership of the cluster: who votes and who only follows the log. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** The membership of a cluster nobody has configured yet (a node waiting to be joined). */
export const emptyConfState: ConfState = { voters: [], learners: [] };

/** Where a snapshot sits in the log and the membership at that point. */
export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

/** The application's state machine at `metadata.index`, as opaque bytes. */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

/** A single-server membership change. */
export type ConfChangeType = 'addVoter' | 'addLearner' | 'removeNode';

/** A membership change as proposed and, once committed, applied by every member. */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  /** Opaque to raft: what the application needs about the member (its address, its node ID). */
  readonly context?: string;
}

/** A linearizable read the application may now serve: once `index` is applied, read. */
export interface ReadState {
  readonly index: number;
  readonly context: string;
}

/** Message types. Local ones (`hup`, `beat`, `checkQuorum`, `unreachable`, `snapStatus`) never cross the wire. */
export const MessageType = {
  /** Local: start an election. */
  hup: 'hup',
  /** Local: leader, send heartbeats. */
  beat: 'beat',
  /** Local: leader, check that a quorum was recently active. */
  checkQuorum: 'checkQuorum',
  /** A proposal, local or forwarded to the leader. */
  prop: 'prop',
  /** Leader → follower: entries to append (possibly none). */
  app: 'app',
  /** Follower → leader: accepted up to `index`, or rejected with a hint. */
  appResp: 'appResp',
  /** Candidate → voter: vote for me in `term`. */
  vote: 'vote',
  /** Voter → candidate. */
  voteResp: 'voteResp',
  /** Pre-candidate → voter: would you vote for me in `term` (not yet entered)? */
  preVote: 'preVote',
  /** Voter → pre-candidate. */
  preVoteResp: 'preVoteResp',
  /** Leader → follower: install this snapshot. */
  snap: 'snap',
  /** Leader → follower: I am alive; commit up to `commit`. */
  heartbeat: 'heartbeat',
  /** Follower → leader. */
  heartbeatResp: 'heartbeatResp',
  /** Local or forwarded: transfer leadership to `from`. */
  transferLeader: 'transferLeader',
  /** Leader → transferee: campaign now, ignoring leases. */
  timeoutNow: 'timeoutNow',
  /** A read request, local or forwarded to the leader; `context` identifies it. */
  readIndex: 'readIndex',
  /** Leader → follower: the read `context` may be served at `index`. */
  readIndexResp: 'readIndexResp',
  /** Local: the transport could not reach `from`. */
  unreachable: 'unreachable',
  /** Local: the transport finished (or failed, `reject`) sending a snapshot to `from`. */
  snapStatus: 'snapStatus',
} as const;

/** One of the message types. */
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/**
 * A raft message. One flat shape for every type, as on the wire; fields a type does not use are
 * zero/empty. `index`/`logTerm` name the entry preceding `entries` (app), the sender's last entry
 * (votes) or the accepted/rejected index (appResp). A snapshot travels whole in one message; the
 * transport may chunk it, the core does not.
 */
export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly logTerm: number;
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly snapshot?: Snapshot;
  readonly context?: string;
}

/** The fields of a message; the rest default to zero/empty. */
export type MessageFields = Partial<Message> & Pick<Message, 'type'>;

/** A message with defaults filled in. */
export function makeMessage(fields: MessageFields): Message {
  return {
    from: NONE,
    to: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...fields,
  };
}

/** Types that only the leader of `term` sends, so a node accepts them from a sender it does not know yet. */
export function isLeaderMessage(type: MessageType): boolean {
  return type === 'app' || type === 'heartbeat' || type === 'snap';
}

/** Types that stay inside one node and must never arrive from the network. */
export function isLocalMessage(type: MessageType): boolean {
  return (
    type === 'hup' || type === 'beat' || type === 'checkQuorum' || type === 'unreachable' || type === 'snapStatus'
  );
}

/** Response types; the leader drops them from senders it does not track. */
export function isResponseMessage(type: MessageType): boolean {
  return (
    type === 'appResp' ||
    type === 'voteResp' ||
    type === 'preVoteResp' ||
    type === 'heartbeatResp' ||
    type === 'unreachable' ||
    type === 'snapStatus'
  );
}

/** The response type for a vote request type. */
export function voteResponseType(type: 'vote' | 'preVote'): 'voteResp' | 'preVoteResp' {
  return type === 'vote' ? 'voteResp' : 'preVoteResp';
}

/** Per-entry bookkeeping counted against byte limits besides the data itself (term, index, type). */
export const entryOverheadBytes = 24;

/** The size of an entry for the byte limits (`maxSizePerMsgBytes` and friends). */
export function entrySizeBytes(entry: Entry): number {
  return entry.data.byteLength + entryOverheadBytes;
}

/**
 * The longest prefix of `entries` whose total size is at most `maxBytes`, but never fewer than one
 * entry (a single oversized entry must still make progress).
 */
export function limitSize(entries: readonly Entry[], maxBytes: number): Entry[] {
  if (entries.length === 0) return [];
  let size = 0;
  let n = 0;
  for (const e of entries) {
    size += entrySizeBytes(e);
    if (n > 0 && size > maxBytes) break;
    n++;
  }
  return entries.slice(0, n);
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Encodes a membership change as entry data. */
export function encodeConfChange(change: ConfChange): Uint8Array {
  const plain = change.context === undefined ? { type: change.type, nodeId: change.nodeId } : { type: change.type, nodeId: change.nodeId, context: change.context };
  return utf8Encoder.encode(JSON.stringify(plain));
}

/** Decodes the data of a `confChange` entry; throws INVALID_ARGUMENT for garbage. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Decoder.decode(data));
  } catch {
    throw invalidArgument('conf change entry is not valid JSON');
  }
  validateConfChange(parsed);
  return parsed;
}

/** Throws INVALID_ARGUMENT unless `value` is a well-formed ConfChange. */
export function validateConfChange(value: unknown): asserts value is ConfChange {
  if (typeof value !== 'object' || value === null) throw invalidArgument('conf change must be an object');
  const record = value as Record<string, unknown>;
  const type = record['type'];
  if (type !== 'addVoter' && type !== 'addLearner' && type !== 'removeNode') {
    throw invalidArgument(`unknown conf change type ${JSON.stringify(type)}`);
  }
  const nodeId = record['nodeId'];
  if (typeof nodeId !== 'number' || !Number.isInteger(nodeId) || nodeId <= 0) {
    throw invalidArgument(`conf change node id must be a positive integer, got ${JSON.stringify(nodeId)}`);
  }
  const context = record['context'];
  if (context !== undefined && typeof context !== 'string') throw invalidArgument('conf change context must be a string');
}

/** True for a valid node id (positive integer). */
export function isNodeId(id: number): boolean {
  return Number.isSafeInteger(id) && id > 0;
}

/** Asserts an entry sequence is contiguous (a bug if not). */
export function assertContiguous(entries: readonly Entry[]): void {
  for (let i = 1; i < entries.length; i++) {
    const prev = entries[i - 1];
    const cur = entries[i];
    assert(prev !== undefined && cur !== undefined && cur.index === prev.index + 1, 'entries are not contiguous');
  }
}
