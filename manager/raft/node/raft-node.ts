/**
 * A raft member that runs: the pure core (RawNode) driven by a ticker, its Ready handled in order
 * (persist to disk → send → apply → advance), proposals that resolve when their entry is applied,
 * linearizable reads (ReadIndex), log compaction by snapshots of the application, and membership:
 * an address book of the members (carried in conf change contexts and in snapshots), learners
 * added and promoted (only once caught up, see learner-readiness.ts), members removed, and
 * recovery of a lone survivor (force new cluster). Every snapshot the transport was given to send
 * is reported back to the core, finished or failed, so a follower is never left waiting for one.
 */
import type { ChannelCredentials } from '@grpc/grpc-js';
import { assert } from '../../../lib/assert.js';
import { ErrorCode, TsswarmError } from '../../../lib/errors.js';
import type { Rng } from '../../../lib/rng.js';
import { RawNode } from '../raw-node.js';
import { Transport } from '../transport/transport.js';
import { RaftError } from '../errors.js';
import { decodeConfChange, encodeConfChange, type ConfChange, type ConfState, type Entry, type NodeId } from '../types.js';
import { DiskStorage } from '../wal/disk-storage.js';
import { decodeSnapshotEnvelope, encodeSnapshotEnvelope, snapshotEnvelopeParts, type MemberInfo } from './snapshot-envelope.js';
import { isLearnerReady, LearnerNotReadyError } from './learner-readiness.js';

export type { MemberInfo } from './snapshot-envelope.js';
export { isLearnerNotReadyError, isLearnerReady, LearnerNotReadyError, learnerMaxLagEntries, learnerReadyShare } from './learner-readiness.js';

/** What the replicated state machine offers the node. */
export interface Application {
  /** Applies a committed payload at `index`; the result goes to the proposer, if it is here. */
  apply(index: number, payload: Uint8Array): unknown;
  /** The application's state as of the last applied index. */
  snapshot(): Uint8Array;
  /** Replaces the state with a snapshot's, taken at raft index `index`. */
  restore(data: Uint8Array, index: number): void;
}

/** Settings of a member. */
export interface RaftNodeOptions {
  readonly id: NodeId;
  /**
   * Raft ID → "host:port" of every founding member, this one included. For a member that joins an
   * existing group (`join`), the members the leader named; the log and snapshots bring the rest.
   */
  readonly members: ReadonlyMap<NodeId, string>;
  /** Raft ID → cluster node ID of the members above, when they have one. */
  readonly nodeIds?: ReadonlyMap<NodeId, string>;
  /** Joins an existing group: an empty log waits for the leader instead of bootstrapping one. */
  readonly join?: boolean;
  /**
   * Starts as the only voter of its group, keeping its log and state: the way back for a lone
   * survivor when the others are lost for good (`swarm init --force-new-cluster`).
   */
  readonly forceNewCluster?: boolean;
  /** Called once when this member applies its own removal from the group. */
  readonly onRemoved?: () => void;
  /** Called after the leader changes (0: none known). */
  readonly onLeaderChange?: (leader: NodeId) => void;
  readonly dir: string;
  readonly application: Application;
  readonly credentials: ChannelCredentials;
  readonly rng: Rng;
  /** One tick; heartbeats every heartbeatTicks, elections after electionTicks..2×. */
  readonly tickMs?: number;
  readonly heartbeatTicks?: number;
  readonly electionTicks?: number;
  /** Take a snapshot after this many applied entries. */
  readonly snapshotEveryEntries?: number;
  /** Entries kept behind a snapshot for followers that lag a little. */
  readonly catchUpEntries?: number;
  /** A proposal or read that has not completed by then fails with TIMEOUT. */
  readonly requestTimeoutMs?: number;
  /** Segment size of the WAL. */
  readonly segmentBytes?: number;
}

/** Defaults: heartbeat 100 ms, election timeout 1–2 s (DESIGN.md). */
export const defaultTickMs = 100;
export const defaultElectionTicks = 10;
export const defaultSnapshotEveryEntries = 10_000;
export const defaultCatchUpEntries = 5_000;
export const defaultRequestTimeoutMs = 10_000;
/** A peer heard from within this many election timeouts counts as reachable. */
export const reachableElectionTimeouts = 1;

/** A member of the group as this member sees it. */
export interface MemberStatus extends MemberInfo {
  readonly voter: boolean;
  readonly leader: boolean;
  /** Heard from recently (always true for this member; meaningful on the leader). */
  readonly reachable: boolean;
}

/** A learner as the leader sees it (learnerProgress). */
export interface LearnerProgress {
  readonly raftId: NodeId;
  /** The leader's log matches the learner's up to here. */
  readonly match: number;
  /** The leader's last index and commit index. */
  readonly lastIndex: number;
  readonly commit: number;
  /** It may be promoted to voter now (isLearnerReady). */
  readonly ready: boolean;
}

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const idBytes = 8;

/** A running member. */
export class RaftNode {
  private readonly raw: RawNode;
  readonly transport: Transport;
  private readonly proposals = new Map<string, Waiter>();
  private readonly reads = new Map<string, Waiter>();
  private readonly confChanges = new Map<string, Waiter>();
  private readonly members = new Map<NodeId, MemberInfo>();
  private readonly removedIds = new Set<NodeId>();
  private readonly lastHeardMs = new Map<NodeId, number>();
  private removedSelf = false;
  private readonly readsAt: { index: number; waiter: Waiter }[] = [];
  private ticker: NodeJS.Timeout | undefined;
  private processing = false;
  private again = false;
  private stopped = false;
  private nextId = 1;
  private applied: number;
  private snapshotIndex: number;
  private confState: ConfState;
  private leader = 0;
  private failure: Error | undefined;

  private constructor(
    private readonly options: RaftNodeOptions,
    private readonly storage: DiskStorage,
  ) {
    this.transport = new Transport(
      options.credentials,
      {
        receive: (m) => {
          if (this.removedIds.has(m.from)) return;
          this.lastHeardMs.set(m.from, Date.now());
          this.input(() => this.raw.step(m));
        },
        unreachable: (p) => this.input(() => this.raw.reportUnreachable(p)),
        // The leader holds a follower it sent a snapshot to until it learns how the send ended.
        snapshotSent: (p, outcome) => this.input(() => this.raw.reportSnapshot(p, outcome === 'failed')),
        isRemoved: (p) => this.removedIds.has(p),
        removedFromGroup: () => this.noticeRemoved(),
      },
      options.rng.fork(),
    );
    for (const [id, addr] of options.members) this.setMember({ raftId: id, addr, nodeId: options.nodeIds?.get(id) ?? '' });
    const snap = storage.snapshot();
    this.applied = snap.metadata.index;
    this.snapshotIndex = snap.metadata.index;
    this.confState = snap.metadata.confState;
    if (snap.data.length > 0) this.restoreSnapshot(snap.data, snap.metadata.index);
    this.raw = new RawNode({
      id: options.id,
      storage,
      rng: options.rng,
      electionTicks: options.electionTicks ?? defaultElectionTicks,
      heartbeatTicks: options.heartbeatTicks ?? 1,
      applied: this.applied,
      preVote: true,
      checkQuorum: true,
    });
  }

  /** Opens the member's storage (bootstrapping the membership on first start) and starts ticking. */
  static async start(options: RaftNodeOptions): Promise<RaftNode> {
    assert(options.members.has(options.id), 'a member must be one of the members');
    assert(Number.isInteger(options.id) && options.id > 0 && options.id < 2 ** 32, 'raft IDs are u32 (they travel in proposal headers)');
    const storage = await DiskStorage.open(options.dir, options.segmentBytes !== undefined ? { segmentBytes: options.segmentBytes } : {});
    const fresh = storage.lastIndex() === 0 && storage.initialState().hardState.term === 0;
    if (fresh && !options.join) {
      // Every founding member starts from the same snapshot: the membership at index 1, term 1.
      const voters = [...options.members.keys()].sort((a, b) => a - b);
      const members = voters.map((id) => ({ raftId: id, addr: options.members.get(id) ?? '', nodeId: options.nodeIds?.get(id) ?? '' }));
      const data = encodeSnapshotEnvelope({ members, removed: [] }, options.application.snapshot());
      await storage.persist({ entries: [], snapshot: { metadata: { index: 1, term: 1, confState: { voters, learners: [] } }, data } });
    }
    if (options.forceNewCluster) {
      if (fresh) {
        await storage.close();
        throw new TsswarmError(ErrorCode.NOT_FOUND, `no raft state in ${options.dir} to recover a cluster from`);
      }
      await removeOthers(storage, options.id);
    }
    const node = new RaftNode(options, storage);
    node.ticker = setInterval(() => node.input(() => node.raw.tick()), options.tickMs ?? defaultTickMs);
    return node;
  }

  /** The raft ID of the leader this member knows, 0 when none. */
  get leaderId(): NodeId {
    return this.leader;
  }

  /** True when this member leads. */
  get isLeader(): boolean {
    return this.leader === this.options.id;
  }

  /** Index of the last applied entry. */
  get appliedIndex(): number {
    return this.applied;
  }

  /** Feeds the core and schedules a Ready round. */
  private input(fn: () => void): void {
    if (this.stopped) return;
    try {
      fn();
    } catch {
      // step() refuses protocol noise from the network (stale or foreign messages) with a typed
      // error; the member just carries on. Proposals throw to their caller directly, not here.
      // But a snapshot the storage cannot read back (to catch up a follower) is a disk fault.
      if (this.storage.failure) return this.fatal(this.storage.failure);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.processing) {
      this.again = true;
      return;
    }
    if (!this.raw.hasReady()) return;
    this.processing = true;
    setImmediate(() => void this.process());
  }

  private async process(): Promise<void> {
    try {
      do {
        this.again = false;
        while (!this.stopped && this.raw.hasReady()) await this.handleReady();
      } while (this.again && !this.stopped);
    } catch (err) {
      this.fatal(err);
    } finally {
      this.processing = false;
    }
  }

  private async handleReady(): Promise<void> {
    const rd = this.raw.ready();
    if (rd.softState && rd.softState.lead !== this.leader) {
      this.leader = rd.softState.lead;
      // A new leader counts a peer reachable only once the peer answered it.
      if (this.leader === this.options.id) this.lastHeardMs.clear();
      this.options.onLeaderChange?.(this.leader);
    }
    // Every message waits for the fsync, the leader's appends too. Sending those while the leader
    // writes (Raft thesis 10.2.1) broke two things the raft simulator's torn writes found: a sole
    // voter commits its entries on append, so an early append told learners a commit the leader could
    // still lose; and a leader that lost entries a follower already had could stay unelectable for
    // good when that follower had applied its own removal (it never campaigns, and refuses its vote
    // to a shorter log).
    await this.storage.persist({
      entries: rd.entries,
      ...(rd.hardState ? { hardState: rd.hardState } : {}),
      ...(rd.snapshot ? { snapshot: rd.snapshot } : {}),
    });
    this.transport.send(rd.messages);
    if (rd.snapshot && rd.snapshot.metadata.index > this.applied) {
      this.restoreSnapshot(rd.snapshot.data, rd.snapshot.metadata.index);
      this.applied = rd.snapshot.metadata.index;
      this.snapshotIndex = rd.snapshot.metadata.index;
      this.confState = rd.snapshot.metadata.confState;
    }
    for (const entry of rd.committedEntries) this.applyEntry(entry);
    for (const rs of rd.readStates) {
      const waiter = this.reads.get(rs.context);
      if (!waiter) continue;
      this.reads.delete(rs.context);
      this.readsAt.push({ index: rs.index, waiter });
    }
    this.raw.advance();
    this.releaseReads();
    await this.maybeCompact();
  }

  private applyEntry(entry: Entry): void {
    if (entry.index <= this.applied) return;
    this.applied = entry.index;
    if (entry.type === 'confChange') {
      this.applyConfChange(decodeConfChange(entry.data));
      return;
    }
    if (entry.data.length < idBytes) return;
    const view = new DataView(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
    const id = proposalKey(view.getUint32(4, true), view.getUint32(0, true));
    let result: unknown;
    let error: Error | undefined;
    try {
      result = this.options.application.apply(entry.index, entry.data.subarray(idBytes));
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }
    const waiter = this.proposals.get(id);
    if (!waiter) return;
    this.proposals.delete(id);
    clearTimeout(waiter.timer);
    if (error) waiter.reject(error);
    else waiter.resolve(result);
  }

  private releaseReads(): void {
    for (let i = this.readsAt.length - 1; i >= 0; i--) {
      const r = this.readsAt[i] as { index: number; waiter: Waiter };
      if (r.index > this.applied) continue;
      this.readsAt.splice(i, 1);
      clearTimeout(r.waiter.timer);
      r.waiter.resolve(undefined);
    }
  }

  private async maybeCompact(): Promise<void> {
    const every = this.options.snapshotEveryEntries ?? defaultSnapshotEveryEntries;
    if (this.applied - this.snapshotIndex < every) return;
    const keep = this.options.catchUpEntries ?? defaultCatchUpEntries;
    const compactTo = Math.max(this.storage.firstIndex() - 1, this.applied - keep);
    await this.storage.compact(this.applied, this.confState, this.snapshotData(), compactTo);
    this.snapshotIndex = this.applied;
  }

  private waiter(map: Map<string, Waiter>, key: string, what: string, timeoutOverrideMs?: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timeoutMs = timeoutOverrideMs ?? this.options.requestTimeoutMs ?? defaultRequestTimeoutMs;
      const timer = setTimeout(() => {
        map.delete(key);
        reject(new TsswarmError(ErrorCode.NO_QUORUM, `no quorum: the ${what} did not complete within ${timeoutMs} ms (no leader, too few managers reachable, or lost with a leader change)`));
      }, timeoutMs);
      map.set(key, { resolve, reject, timer });
    });
  }

  /** Proposes `payload`; resolves with the application's result once it is applied here. */
  propose(payload: Uint8Array): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.stopped) return Promise.reject(new TsswarmError(ErrorCode.CLOSED, 'raft node stopped'));
    // The entry carries (member, counter) as two u32s; raft IDs go up to 2^32, so the pair does
    // not fit a double exactly and the waiter key is a string.
    const counter = this.nextId++ % 2 ** 32;
    const id = proposalKey(this.options.id, counter);
    const data = new Uint8Array(idBytes + payload.length);
    const view = new DataView(data.buffer);
    view.setUint32(0, counter, true);
    view.setUint32(4, this.options.id, true);
    data.set(payload, idBytes);
    const done = this.waiter(this.proposals, id, 'proposal');
    try {
      this.raw.propose(data);
    } catch (err) {
      const w = this.proposals.get(id);
      if (w) clearTimeout(w.timer);
      this.proposals.delete(id);
      return Promise.reject(noQuorumError(err));
    }
    this.schedule();
    return done;
  }

  /** Resolves when this member may serve a linearizable read (everything committed before is applied). */
  read(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const ctx = `${this.options.id}-${this.nextId++}`;
    const done = this.waiter(this.reads, ctx, 'read');
    try {
      this.raw.readIndex(ctx);
    } catch (err) {
      const w = this.reads.get(ctx);
      if (w) clearTimeout(w.timer);
      this.reads.delete(ctx);
      return Promise.reject(noQuorumError(err));
    }
    this.schedule();
    return done.then(() => undefined);
  }

  /** Starts an election now (tests, leadership transfer targets). */
  campaign(): void {
    this.input(() => this.raw.campaign());
  }

  /** Hands leadership to `to` (a voter that is up to date); the caller watches onLeaderChange. */
  transferLeadership(to: NodeId): void {
    this.input(() => this.raw.transferLeadership(to));
  }

  /**
   * Proposes a membership change; resolves once it is applied here. Adding a member needs its
   * address (and node ID), which every member learns from the entry itself. Promoting a learner
   * (`addVoter` of a learner) is refused with LearnerNotReadyError until its log has caught up
   * (isLearnerReady), and with CONFLICT on a member that does not lead: only the leader knows.
   */
  changeMembership(change: { type: ConfChange['type']; raftId: NodeId; addr?: string; nodeId?: string }, timeoutMs?: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.stopped) return Promise.reject(new TsswarmError(ErrorCode.CLOSED, 'raft node stopped'));
    if (change.type === 'addVoter') {
      const refused = this.promotionRefusal(change.raftId);
      if (refused) return Promise.reject(refused);
    }
    const known = this.members.get(change.raftId);
    const request = `${this.options.id}-${this.nextId++}`;
    const context: ConfContext = { addr: change.addr ?? known?.addr ?? '', nodeId: change.nodeId ?? known?.nodeId ?? '', request };
    const done = this.waiter(this.confChanges, request, 'membership change', timeoutMs);
    try {
      this.raw.proposeConfChange({ type: change.type, nodeId: change.raftId, context: JSON.stringify(context) });
    } catch (err) {
      const w = this.confChanges.get(request);
      if (w) clearTimeout(w.timer);
      this.confChanges.delete(request);
      return Promise.reject(noQuorumError(err));
    }
    this.schedule();
    return done.then(() => undefined);
  }

  /** Every member this one knows of, with its role and (on the leader) reachability. */
  memberStatus(): MemberStatus[] {
    const voters = new Set(this.confState.voters);
    const learners = new Set(this.confState.learners);
    const windowMs = reachableElectionTimeouts * (this.options.electionTicks ?? defaultElectionTicks) * (this.options.tickMs ?? defaultTickMs);
    const now = Date.now();
    const out: MemberStatus[] = [];
    for (const m of this.members.values()) {
      if (!voters.has(m.raftId) && !learners.has(m.raftId)) continue;
      const heard = this.lastHeardMs.get(m.raftId);
      const reachable = m.raftId === this.options.id || (heard !== undefined && now - heard <= windowMs);
      out.push({ ...m, voter: voters.has(m.raftId), leader: m.raftId === this.leader, reachable });
    }
    return out.sort((a, b) => a.raftId - b.raftId);
  }

  /** The address book entry of a member, if known. */
  member(raftId: NodeId): MemberInfo | undefined {
    return this.members.get(raftId);
  }

  /** Raft IDs removed from the group; never to be reused. */
  get removed(): readonly NodeId[] {
    return [...this.removedIds];
  }

  /** The membership as last applied. */
  get membership(): ConfState {
    return this.confState;
  }

  /** This member's raft ID. */
  get id(): NodeId {
    return this.options.id;
  }

  /**
   * How far each learner's log matches the leader's, against the leader's last and committed
   * index, and whether it may be promoted now (leader only; empty elsewhere).
   */
  learnerProgress(): LearnerProgress[] {
    const status = this.raw.status();
    if (status.state !== 'leader') return [];
    const out: LearnerProgress[] = [];
    for (const id of status.confState.learners) {
      const pr = this.raw.raft.tracker.progress.get(id);
      if (pr) out.push({ raftId: id, match: pr.match, lastIndex: status.lastIndex, commit: status.commit, ready: isLearnerReady(pr.match, status.commit) });
    }
    return out;
  }

  /** Why promoting `raftId` to voter must wait, if it must; undefined for a member that is no learner. */
  private promotionRefusal(raftId: NodeId): TsswarmError | undefined {
    const r = this.raw.raft;
    const known = r.tracker.progress.get(raftId);
    const learner = known ? known.isLearner : this.confState.learners.includes(raftId);
    if (!learner) return undefined;
    if (r.state !== 'leader') {
      const leader = this.leader === 0 ? 'none is known' : `it is member ${this.leader}`;
      return new TsswarmError(ErrorCode.CONFLICT, `promote learner ${raftId} on the leader, which knows how far its log matches (${leader})`);
    }
    const match = known?.match ?? 0;
    const commit = r.log.committed;
    return isLearnerReady(match, commit) ? undefined : new LearnerNotReadyError(raftId, match, commit);
  }

  private setMember(info: MemberInfo): void {
    this.members.set(info.raftId, info);
    if (info.raftId !== this.options.id && info.addr !== '') this.transport.setPeer(info.raftId, info.addr);
  }

  private applyConfChange(change: ConfChange): void {
    const context = parseConfContext(change.context);
    if (change.type === 'removeNode') {
      this.members.delete(change.nodeId);
      this.removedIds.add(change.nodeId);
      this.transport.removePeer(change.nodeId);
    } else if (context && context.addr !== '') {
      this.setMember({ raftId: change.nodeId, addr: context.addr, nodeId: context.nodeId });
    }
    this.confState = this.raw.applyConfChange(change);
    if (context?.request !== undefined) {
      const waiter = this.confChanges.get(context.request);
      if (waiter) {
        this.confChanges.delete(context.request);
        clearTimeout(waiter.timer);
        waiter.resolve(undefined);
      }
    }
    if (change.type === 'removeNode' && change.nodeId === this.options.id) this.noticeRemoved();
  }

  /** This member is out of the group: it applied its removal, or a peer refused it as removed. */
  private noticeRemoved(): void {
    if (this.removedSelf || this.stopped) return;
    this.removedSelf = true;
    queueMicrotask(() => this.options.onRemoved?.());
  }

  /** True once this member knows it was removed from the group. */
  get isRemoved(): boolean {
    return this.removedSelf;
  }

  /** The snapshot's data in two parts (header, application's bytes) that storage writes end to end, so the application's state is not copied once more. */
  private snapshotData(): Uint8Array[] {
    return snapshotEnvelopeParts({ members: [...this.members.values()], removed: [...this.removedIds] }, this.options.application.snapshot());
  }

  private restoreSnapshot(data: Uint8Array, index: number): void {
    const { header, app } = decodeSnapshotEnvelope(data);
    for (const m of header.members) this.setMember(m);
    for (const id of header.removed) {
      this.removedIds.add(id);
      this.members.delete(id);
      this.transport.removePeer(id);
    }
    this.options.application.restore(app, index);
  }

  private fatal(err: unknown): void {
    // Storage failed: stop taking part (fail-stop) rather than risk acknowledging unsaved writes.
    this.failure = new TsswarmError(ErrorCode.EXTERNAL, `raft node ${this.options.id} stopped: ${(err as Error).message}`, { cause: err });
    void this.stop();
  }

  /** Stops ticking, closes the transport and storage, and fails what is still waiting. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    this.transport.close();
    const closed = new TsswarmError(ErrorCode.CLOSED, 'raft node stopped');
    for (const w of [...this.proposals.values(), ...this.reads.values(), ...this.confChanges.values(), ...this.readsAt.map((r) => r.waiter)]) {
      clearTimeout(w.timer);
      w.reject(this.failure ?? closed);
    }
    this.proposals.clear();
    this.reads.clear();
    this.confChanges.clear();
    this.readsAt.length = 0;
    while (this.processing) await new Promise((r) => setTimeout(r, 5));
    await this.storage.close();
  }
}

/** The waiter key of a proposal: the proposing member and its counter. */
function proposalKey(member: number, counter: number): string {
  return `${member}:${counter}`;
}

/** What a conf change entry's context carries. */
interface ConfContext {
  readonly addr: string;
  readonly nodeId: string;
  /** Which pending changeMembership() call to resolve. */
  readonly request?: string;
}

function parseConfContext(context: string | undefined): ConfContext | undefined {
  if (context === undefined || context === '') return undefined;
  try {
    const parsed = JSON.parse(context) as Partial<ConfContext>;
    return { addr: typeof parsed.addr === 'string' ? parsed.addr : '', nodeId: typeof parsed.nodeId === 'string' ? parsed.nodeId : '', ...(typeof parsed.request === 'string' ? { request: parsed.request } : {}) };
  } catch {
    return undefined;
  }
}

/** A dropped proposal (no leader, transfer in progress) as the NO_QUORUM error users see. */
function noQuorumError(err: unknown): unknown {
  if (err instanceof RaftError && err.reason === 'proposalDropped') {
    return new TsswarmError(ErrorCode.NO_QUORUM, `no quorum: ${err.message} (no leader is known; too few managers may be reachable)`, { cause: err });
  }
  return err;
}

/**
 * Rewrites a survivor's log so that it is the only voter: what it knows to be committed stays, the
 * uncommitted tail goes, and one committed removal per other member follows, which the member
 * applies at start like any committed entry (as etcd's and SwarmKit's force-new-cluster do).
 */
async function removeOthers(storage: DiskStorage, self: NodeId): Promise<void> {
  const { hardState, confState } = storage.initialState();
  const commit = Math.max(hardState.commit, storage.firstIndex() - 1);
  const term = storage.term(commit) ?? hardState.term;
  const others = new Set([...confState.voters, ...confState.learners]);
  // Members added or removed by committed entries after the snapshot are in the log, not in confState.
  for (let i = storage.firstIndex(); i <= commit; i++) {
    const [entry] = storage.entries(i, i + 1, Number.MAX_SAFE_INTEGER) ?? [];
    if (entry?.type !== 'confChange') continue;
    const change = decodeConfChange(entry.data);
    if (change.type === 'removeNode') others.delete(change.nodeId);
    else others.add(change.nodeId);
  }
  others.delete(self);
  const entries: Entry[] = [...others].map((id, i) => ({ index: commit + 1 + i, term, type: 'confChange', data: encodeConfChange({ type: 'removeNode', nodeId: id }) }));
  const last = commit + entries.length;
  await storage.persist({ entries, hardState: { term: hardState.term, vote: self, commit: last } });
}
