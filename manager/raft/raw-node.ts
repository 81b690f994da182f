/**
 * The application's handle on a raft node. Feed it ticks, messages and requests; then, while
 * hasReady(), take a Ready and handle it in this order:
 *   1. persist `snapshot`, `entries` and `hardState` to storage;
 *   2. send `messages`;
 *   3. apply `snapshot` and then `committedEntries` to the state machine (calling
 *      applyConfChange for membership entries) and serve `readStates` once applied;
 *   4. call advance().
 * Nothing may be sent before it is persisted: a vote or an acknowledgement must survive a crash.
 * Likewise a candidate counts its own vote only in advance(), so a node leads only in a term that
 * is on disk (a sole voter becomes leader in the advance() after the Ready holding its vote).
 */
import { assert } from '../../lib/assert.js';
import { invalidArgument } from '../../lib/errors.js';
import { RaftError } from './errors.js';
import { Raft, type RaftConfig } from './raft.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type RaftState,
  type ReadState,
  type Snapshot,
  type SoftState,
  encodeConfChange,
  hardStateEqual,
  isLocalMessage,
  isNodeId,
  makeMessage,
  validateConfChange,
} from './types.js';

/** One batch of work for the application; see the module comment for the order. */
export interface Ready {
  /** Present when leader or role changed. */
  readonly softState?: SoftState;
  /** Present when term, vote or commit changed; persist it. */
  readonly hardState?: HardState;
  /** Entries to persist (they may replace a conflicting persisted suffix). */
  readonly entries: readonly Entry[];
  /** A snapshot from the leader to persist and apply. */
  readonly snapshot?: Snapshot;
  /** Committed entries to apply, in order. */
  readonly committedEntries: readonly Entry[];
  /** Messages to send, after persisting. */
  readonly messages: readonly Message[];
  /** Reads that may be served once `index` is applied. */
  readonly readStates: readonly ReadState[];
}

/** Defaults for the optional limits; the ids, storage and rng have none. */
export const defaultRaftLimits = {
  electionTicks: 10,
  heartbeatTicks: 1,
  maxSizePerMsgBytes: 1024 * 1024,
  maxCommittedSizePerReadyBytes: 4 * 1024 * 1024,
  maxInflightMessages: 256,
  maxEntryBytes: 1024 * 1024,
  checkQuorum: true,
  preVote: true,
} as const;

/** RaftConfig where the limits may be left to `defaultRaftLimits`. */
export type RawNodeConfig = Omit<RaftConfig, keyof typeof defaultRaftLimits> & Partial<RaftConfig>;

/** What status() reports. */
export interface RaftStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly lead: NodeId;
  readonly state: RaftState;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly firstIndex: number;
  readonly confState: ConfState;
  readonly leadTransferee: NodeId;
  /** Per member, on a leader: "state match=.. next=..". */
  readonly progress: ReadonlyMap<NodeId, string>;
}

/** A raft node driven by the application. */
export class RawNode {
  /** The state machine; exposed read-only for status and tests. */
  readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private outstanding: Ready | undefined;
  /** Messages to this node taken with the outstanding Ready, stepped in advance() (see Raft.msgsAfterAppend). */
  private stepsOnAdvance: Message[] = [];

  constructor(config: RawNodeConfig) {
    this.raft = new Raft({ ...defaultRaftLimits, ...config });
    this.prevSoft = this.raft.softState();
    this.prevHard = this.raft.hardState();
  }

  /** Advances logical time by one tick. */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (if this node may). */
  campaign(): void {
    this.raft.step(makeMessage({ type: 'hup' }));
  }

  /**
   * Proposes `data` for the log. Throws `entryTooLarge` for data over maxEntryBytes and
   * `proposalDropped` when this node knows it cannot get it to a leader; otherwise the proposal
   * may still be lost silently (watch the committed entries).
   */
  propose(data: Uint8Array): void {
    this.checkEntrySize(data);
    this.raft.step(makeMessage({ type: 'prop', entries: [{ term: 0, index: 0, type: 'normal', data }] }));
  }

  /** Proposes a single-server membership change; typed errors as propose(), plus conf change ones. */
  proposeConfChange(change: ConfChange): void {
    validateConfChange(change);
    const data = encodeConfChange(change);
    this.checkEntrySize(data);
    this.raft.step(makeMessage({ type: 'prop', entries: [{ term: 0, index: 0, type: 'confChange', data }] }));
  }

  /** Applies a committed membership change; call when applying its entry. Returns the membership. */
  applyConfChange(change: ConfChange): ConfState {
    validateConfChange(change);
    return this.raft.applyConfChange(change);
  }

  /** Requests a linearizable read; a ReadState with this `context` will come back. Contexts must be unique. */
  readIndex(context: string): void {
    if (context.length === 0) throw invalidArgument('read context must not be empty');
    this.raft.step(makeMessage({ type: 'readIndex', context }));
  }

  /** Asks the leader to hand leadership to `to`. */
  transferLeadership(to: NodeId): void {
    if (!isNodeId(to)) throw invalidArgument(`bad transferee ${to}`);
    this.raft.step(makeMessage({ type: 'transferLeader', from: to }));
  }

  /** Feeds a message received from a peer. */
  step(message: Message): void {
    if (isLocalMessage(message.type)) {
      throw new RaftError('localMessageFromNetwork', `${message.type} must not come from the network`);
    }
    this.raft.step(message);
  }

  /** The transport could not reach `id` (the leader falls back to probing it). */
  reportUnreachable(id: NodeId): void {
    this.raft.step(makeMessage({ type: 'unreachable', from: id }));
  }

  /** The transport finished sending a snapshot to `id`, or failed to. */
  reportSnapshot(id: NodeId, failed: boolean): void {
    this.raft.step(makeMessage({ type: 'snapStatus', from: id, reject: failed }));
  }

  /** True when ready() would return something to do. */
  hasReady(): boolean {
    assert(this.outstanding === undefined, 'hasReady while a Ready is outstanding');
    const r = this.raft;
    if (!softStateEqual(r.softState(), this.prevSoft)) return true;
    if (!hardStateEqual(r.hardState(), this.prevHard)) return true;
    if (r.log.unstable.snapshot !== undefined) return true;
    if (r.msgs.length > 0 || r.msgsAfterAppend.length > 0 || r.readStates.length > 0) return true;
    if (r.log.unstable.entries.length > 0) return true;
    return r.log.hasNextCommittedEntries();
  }

  /** Takes the next batch of work; call advance() when it is handled. */
  ready(): Ready {
    assert(this.outstanding === undefined, 'ready() called again before advance()');
    const r = this.raft;
    const soft = r.softState();
    const hard = r.hardState();
    const snapshot = r.log.unstable.snapshot;
    const rd: Ready = {
      entries: r.log.unstableEntries(),
      committedEntries: r.log.nextCommittedEntries(r.config.maxCommittedSizePerReadyBytes),
      messages: r.msgs,
      readStates: r.readStates,
      ...(softStateEqual(soft, this.prevSoft) ? {} : { softState: soft }),
      ...(hardStateEqual(hard, this.prevHard) ? {} : { hardState: hard }),
      ...(snapshot === undefined ? {} : { snapshot }),
    };
    r.msgs = [];
    r.readStates = [];
    this.stepsOnAdvance = r.msgsAfterAppend;
    r.msgsAfterAppend = [];
    this.prevSoft = soft;
    this.prevHard = hard;
    this.outstanding = rd;
    return rd;
  }

  /** Acknowledges the outstanding Ready: its entries are persisted and its committed entries applied. */
  advance(): void {
    const rd = this.outstanding;
    assert(rd !== undefined, 'advance() without ready()');
    this.outstanding = undefined;
    const log = this.raft.log;
    if (rd.snapshot !== undefined) {
      log.stableSnapTo(rd.snapshot.metadata.index);
      if (rd.snapshot.metadata.index > log.applied) log.appliedTo(rd.snapshot.metadata.index);
    }
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied !== undefined) log.appliedTo(lastApplied.index);
    const lastPersisted = rd.entries[rd.entries.length - 1];
    if (lastPersisted !== undefined) log.stableTo(lastPersisted.index, lastPersisted.term);
    // The Ready is persisted: what waited for that may take effect now (a candidate's own vote).
    const steps = this.stepsOnAdvance;
    this.stepsOnAdvance = [];
    for (const m of steps) this.raft.step(m);
  }

  /** A summary of this node's state. */
  status(): RaftStatus {
    const r = this.raft;
    const progress = new Map<NodeId, string>();
    if (r.state === 'leader') for (const [id, pr] of r.tracker.progress) progress.set(id, pr.describe());
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      lead: r.lead,
      state: r.state,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      firstIndex: r.log.firstIndex(),
      confState: r.tracker.confState(),
      leadTransferee: r.leadTransferee,
      progress,
    };
  }

  private checkEntrySize(data: Uint8Array): void {
    const max = this.raft.config.maxEntryBytes;
    if (data.byteLength > max) {
      throw new RaftError('entryTooLarge', `entry of ${data.byteLength} bytes exceeds maxEntryBytes ${max}`);
    }
  }
}

function softStateEqual(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.state === b.state;
}

