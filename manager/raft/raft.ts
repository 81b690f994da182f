/**
 * The Raft state machine of one node: elections (with PreVote and CheckQuorum), log replication,
 * ReadIndex, leadership transfer, membership changes and snapshots. It is pure: `step` and `tick`
 * change state and queue messages in `msgs`; RawNode turns that into Ready batches.
 */
import { assert, assertNever } from '../../lib/assert.js';
import type { Rng } from '../../lib/rng.js';
import { RaftError } from './errors.js';
import { RaftLog } from './log.js';
import type { Progress } from './progress.js';
import { ReadOnly } from './read-only.js';
import type { Storage } from './storage.js';
import { ProgressTracker } from './tracker.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type MessageFields,
  type NodeId,
  type RaftState,
  type ReadState,
  type Snapshot,
  type SoftState,
  NONE,
  decodeConfChange,
  isLeaderMessage,
  isNodeId,
  makeMessage,
  voteResponseType,
} from './types.js';

/** Settings of one raft node. Limits carry their unit last. */
export interface RaftConfig {
  /** This node's id (positive). */
  readonly id: NodeId;
  /** Persisted state to start from; the application writes to it while handling Ready. */
  readonly storage: Storage;
  /** Source of the randomized election timeout. */
  readonly rng: Rng;
  /** A follower that hears nothing for a random number of ticks in [electionTicks, 2*electionTicks) campaigns. */
  readonly electionTicks: number;
  /** A leader sends heartbeats every `heartbeatTicks`; must be < electionTicks. */
  readonly heartbeatTicks: number;
  /** The last index the application applied before a restart (0: the snapshot point). */
  readonly applied?: number;
  /** Most bytes of entries in one append message (at least one entry is always sent). */
  readonly maxSizePerMsgBytes: number;
  /** Most bytes of committed entries handed out in one Ready (at least one entry). */
  readonly maxCommittedSizePerReadyBytes: number;
  /** Most append messages in flight per follower in replicate state. */
  readonly maxInflightMessages: number;
  /** A proposal whose data is larger than this is rejected with `entryTooLarge`. */
  readonly maxEntryBytes: number;
  /** A leader that has not heard from a quorum for an election timeout steps down. */
  readonly checkQuorum: boolean;
  /** Run a pre-election that does not bump terms before a real one. */
  readonly preVote: boolean;
  /**
   * TEST ONLY, breaks safety: let a leader commit an entry from an older term by counting replicas
   * (the bug of the Raft paper's figure 8). Exists so the simulator can prove it catches it.
   */
  readonly unsafeCommitOldTermEntries?: boolean;
}

/** Why an election is held. */
export type CampaignKind = 'preElection' | 'election' | 'transfer';

/** The context a vote request carries in a leadership transfer; voters then ignore their lease. */
export const transferContext = 'transfer';

/** Throws RaftError(invalidConfig) unless the configuration is usable. */
export function validateRaftConfig(cfg: RaftConfig): void {
  const bad = (why: string): never => {
    throw new RaftError('invalidConfig', why);
  };
  if (!isNodeId(cfg.id)) bad(`id must be a positive integer, got ${cfg.id}`);
  if (!Number.isInteger(cfg.heartbeatTicks) || cfg.heartbeatTicks <= 0) bad('heartbeatTicks must be > 0');
  if (!Number.isInteger(cfg.electionTicks) || cfg.electionTicks <= cfg.heartbeatTicks) {
    bad('electionTicks must be an integer greater than heartbeatTicks');
  }
  if (!Number.isInteger(cfg.maxInflightMessages) || cfg.maxInflightMessages <= 0) bad('maxInflightMessages must be > 0');
  if (!(cfg.maxSizePerMsgBytes > 0)) bad('maxSizePerMsgBytes must be > 0');
  if (!(cfg.maxCommittedSizePerReadyBytes > 0)) bad('maxCommittedSizePerReadyBytes must be > 0');
  if (!(cfg.maxEntryBytes > 0)) bad('maxEntryBytes must be > 0');
  if (cfg.applied !== undefined && (!Number.isInteger(cfg.applied) || cfg.applied < 0)) bad('applied must be >= 0');
}

/** One node's Raft state machine. */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  state: RaftState = 'follower';
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  /** Messages to send, drained by RawNode.ready(). */
  msgs: Message[] = [];
  /**
   * Messages to this node itself that may take effect only once the Ready that produced them is
   * persisted: RawNode takes them with that Ready and steps them back in advance(). (Today: a
   * candidate's vote for itself.)
   */
  msgsAfterAppend: Message[] = [];
  /** Reads that may be served, drained by RawNode.ready(). */
  readStates: ReadState[] = [];
  /** The member leadership is being transferred to, or NONE. */
  leadTransferee: NodeId = NONE;
  /** Index of the newest membership change that may not be applied yet (leader only). */
  pendingConfIndex = 0;
  /**
   * This leader's log holds an unapplied change removing it. It then accepts no more proposals:
   * entries appended after its own removal could leave it, a non-voter, with a longer log than
   * every remaining voter, and then no one could win an election that still needs its vote.
   */
  private removingSelf = false;
  private readOnly = new ReadOnly();
  /** Reads that arrived before this leader committed an entry of its own term. */
  private pendingReadIndexMessages: Message[] = [];
  electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTicks = 0;
  /** The settings this node runs with. */
  readonly config: RaftConfig;

  constructor(cfg: RaftConfig) {
    validateRaftConfig(cfg);
    this.config = cfg;
    this.id = cfg.id;
    this.log = new RaftLog(cfg.storage);
    this.tracker = new ProgressTracker(cfg.maxInflightMessages);
    const { hardState, confState } = cfg.storage.initialState();
    this.tracker.reset(confState, this.log.lastIndex() + 1);
    this.loadHardState(hardState);
    if (cfg.applied !== undefined && cfg.applied > 0) this.log.appliedTo(cfg.applied);
    this.becomeFollower(this.term, NONE);
  }

  // ---------------------------------------------------------------------------------------------
  // Observers

  /** The state that must be persisted. */
  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** Volatile state for the application. */
  softState(): SoftState {
    return { lead: this.lead, state: this.state };
  }

  /** True when this node is a voter in the membership it has applied. */
  promotable(): boolean {
    return this.tracker.voters.has(this.id);
  }

  /** True when this node is a learner. */
  isLearner(): boolean {
    return this.tracker.learners.has(this.id);
  }

  // ---------------------------------------------------------------------------------------------
  // Time

  /** Advances logical time by one tick. */
  tick(): void {
    if (this.state === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTicks) {
      this.electionElapsed = 0;
      this.step(makeMessage({ type: 'hup', from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum) this.step(makeMessage({ type: 'checkQuorum', from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === 'leader' && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== 'leader') return;
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.step(makeMessage({ type: 'beat', from: this.id }));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Roles

  /** Becomes a follower of `lead` (or of nobody yet) in `term`. */
  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = 'follower';
  }

  private becomePreCandidate(): void {
    assert(this.state !== 'leader', 'leader cannot become pre-candidate');
    // A pre-election does not touch term or vote: nothing durable changes until it is won.
    this.tracker.votes.clear();
    this.lead = NONE;
    this.state = 'preCandidate';
  }

  private becomeCandidate(): void {
    assert(this.state !== 'leader', 'leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = 'candidate';
  }

  private becomeLeader(): void {
    assert(this.state === 'candidate', `only a candidate becomes leader, not a ${this.state}`);
    this.reset(this.term);
    this.lead = this.id;
    this.state = 'leader';
    const self = this.tracker.progress.get(this.id);
    assert(self !== undefined, 'leader is not a member');
    self.becomeReplicate();
    self.recentActive = true;
    // Any membership change in our log may be unapplied: allow no new one until we applied it all.
    this.pendingConfIndex = this.log.lastIndex();
    this.removingSelf = this.unappliedEntries().some((e) => this.isSelfRemoval(e));
    // An entry of our own term: committing it commits everything before it (and enables reads).
    this.appendEntries([{ term: 0, index: 0, type: 'normal', data: new Uint8Array() }]);
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTicks = this.config.electionTicks + this.config.rng.int(this.config.electionTicks);
    this.abortLeaderTransfer();
    this.tracker.votes.clear();
    this.tracker.resetProgress(this.id, this.log.lastIndex());
    this.pendingConfIndex = 0;
    this.removingSelf = false;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  private loadHardState(hs: HardState): void {
    const last = this.log.lastIndex();
    assert(hs.commit <= last, `hard state commit ${hs.commit} beyond last index ${last}`);
    this.log.commitTo(hs.commit);
    this.term = hs.term;
    this.vote = hs.vote;
  }

  // ---------------------------------------------------------------------------------------------
  // Elections

  private hup(kind: CampaignKind): void {
    if (this.state === 'leader' || !this.promotable()) return;
    // Our applied membership may be stale; campaigning with it could split the vote quorum.
    if (this.hasUnappliedConfChanges()) return;
    this.campaign(kind);
  }

  private hasUnappliedConfChanges(): boolean {
    return this.unappliedEntries(this.log.committed).some((e) => e.type === 'confChange');
  }

  /** Entries after the applied index, up to `last` (default: the end of the log). */
  private unappliedEntries(last = this.log.lastIndex()): Entry[] {
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    if (lo > last) return [];
    const ents = this.log.slice(lo, last + 1, Number.POSITIVE_INFINITY);
    assert(ents !== undefined, 'unapplied entries are compacted');
    return ents;
  }

  private isSelfRemoval(e: Entry): boolean {
    if (e.type !== 'confChange') return false;
    const cc = decodeConfChange(e.data);
    return cc.type === 'removeNode' && cc.nodeId === this.id;
  }

  private campaign(kind: CampaignKind): void {
    let voteType: 'vote' | 'preVote';
    let term: number;
    if (kind === 'preElection') {
      this.becomePreCandidate();
      voteType = 'preVote';
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteType = 'vote';
      term = this.term;
    }
    if (kind === 'preElection') {
      // A pre-vote binds nothing durable: our own counts at once.
      if (this.tracker.recordVote(this.id, true) === 'won') {
        this.onElectionWon();
        return;
      }
    } else {
      // Our vote for ourselves counts only once our new term and vote are on disk, as
      // etcd-io/raft does: it comes back as a response from ourselves in advance(). A sole voter
      // otherwise led in memory before the Ready holding its term was written; crashing before the
      // fsync, it lost that term and its vote, and on restart rightly voted for another candidate
      // in the same term: two leaders of one term, the first known only to itself and its
      // application (the simulator found this: seed 429957). Votes from others come later anyway:
      // our requests leave only after the persist.
      this.msgsAfterAppend.push(makeMessage({ type: voteResponseType(voteType), from: this.id, to: this.id, term }));
    }
    for (const id of this.tracker.voterIds()) {
      if (id === this.id) continue;
      const fields: MessageFields = {
        type: voteType,
        to: id,
        term,
        index: this.log.lastIndex(),
        logTerm: this.log.lastTerm(),
      };
      this.send(kind === 'transfer' ? { ...fields, context: transferContext } : fields);
    }
  }

  private onElectionWon(): void {
    if (this.state === 'preCandidate') {
      this.campaign('election');
    } else {
      this.becomeLeader();
      this.bcastAppend();
    }
  }

  private handleVoteRequest(m: Message): void {
    assert(m.type === 'vote' || m.type === 'preVote', 'not a vote request');
    const respType = voteResponseType(m.type);
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === 'preVote' && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // A granted pre-vote answers in the term the candidate will use, so it can count it.
      this.send({ type: respType, to: m.from, term: m.term });
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, to: m.from, term: this.term, reject: true });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Message dispatch

  /** Feeds one message (from the network, or local: hup, beat, prop, readIndex...). */
  step(m: Message): void {
    if (!this.acceptSender(m)) return;
    if (m.term > this.term) {
      if (!this.stepHigherTerm(m)) return;
    } else if (m.term !== 0 && m.term < this.term) {
      this.stepLowerTerm(m);
      return;
    }
    switch (m.type) {
      case 'hup':
        this.hup(this.config.preVote ? 'preElection' : 'election');
        return;
      case 'vote':
      case 'preVote':
        this.handleVoteRequest(m);
        return;
      default:
        this.stepByState(m);
    }
  }

  /**
   * Messages from nodes outside our applied membership are ignored (responses, forwarded
   * requests, timeoutNow), with two exceptions. What only a leader sends (app, heartbeat, snap) is
   * accepted. Vote requests are accepted unless we saw the sender removed: our membership may lag
   * the cluster's (a new node knows none at all), and refusing to vote for a member we do not know
   * yet can leave a cluster with no electable node, which then never catches us up. But a vote
   * request from a node we saw removed, or from a stranger whose log is behind ours, is ignored:
   * a removed node that never learned of its removal would otherwise keep deposing leaders with
   * ever higher terms when PreVote and CheckQuorum are off. (A node without a leader still moves to
   * the term of such a vote request; see followIgnoredElection.)
   */
  private acceptSender(m: Message): boolean {
    if (m.from === NONE || m.from === this.id) return true;
    if (this.tracker.isMember(m.from)) return true;
    if (isLeaderMessage(m.type)) return true;
    if (m.type === 'vote' || m.type === 'preVote') {
      // A stranger takes the usual path only if it could actually get our vote.
      if (!this.tracker.removed.has(m.from) && this.log.isUpToDate(m.index, m.logTerm)) return true;
      if (m.type === 'vote') this.followIgnoredElection(m);
      return false;
    }
    return m.type === 'readIndexResp' && m.from === this.lead;
  }

  /**
   * A vote request we ignore (see acceptSender) still says that an election for `m.term` is under
   * way, and members whose membership lags ours (they have not applied the sender's removal) take
   * part: they move to that term and may vote for the sender. If we stayed in our older term, our
   * own campaigns would land in terms those members have already voted in or left behind (a
   * stale vote request gets no answer), and when their votes are needed for a quorum no one
   * electable wins: a removed node that never learned of its removal, campaigning forever, keeps
   * the cluster leaderless (the simulator found this). So a node that knows no leader moves to
   * that term too, still without a leader. It does not vote, and it keeps its election timer
   * running (Raft restarts it only on hearing a leader or on granting a vote), so the sender cannot
   * delay our next campaign either. A node that knows a leader (or is one) still ignores the
   * request entirely: the sender cannot depose a leader.
   */
  private followIgnoredElection(m: Message): void {
    if (m.term <= this.term || this.lead !== NONE) return;
    const elapsed = this.electionElapsed;
    const timeout = this.randomizedElectionTicks;
    this.becomeFollower(m.term, NONE);
    this.electionElapsed = elapsed;
    this.randomizedElectionTicks = timeout;
  }

  /** Handles a message from a higher term; returns false when it must be ignored. */
  private stepHigherTerm(m: Message): boolean {
    if (m.type === 'vote' || m.type === 'preVote') {
      const force = m.context === transferContext;
      const inLease = this.config.checkQuorum && this.lead !== NONE && this.electionElapsed < this.config.electionTicks;
      // We heard from a live leader recently: do not let a disconnected node depose it.
      if (!force && inLease) return false;
    }
    if (m.type === 'preVote') return true;
    if (m.type === 'preVoteResp' && !m.reject) return true;
    if (m.type === 'vote' && this.state !== 'leader') {
      // Raft restarts the election timer only on hearing a leader or on granting a vote
      // (handleVoteRequest does that). A candidate whose log is behind ours must not restart it:
      // else each of its doomed campaigns postpones ours, and the only members able to win may
      // never time out first (the simulator found a 2-voter cluster stuck this way).
      const elapsed = this.electionElapsed;
      this.becomeFollower(m.term, NONE);
      this.electionElapsed = elapsed;
      return true;
    }
    this.becomeFollower(m.term, isLeaderMessage(m.type) ? m.from : NONE);
    return true;
  }

  private stepLowerTerm(m: Message): void {
    if ((this.config.checkQuorum || this.config.preVote) && (m.type === 'heartbeat' || m.type === 'app')) {
      // A stale leader (e.g. healed from a partition) learns our term from this and steps down;
      // without it, with PreVote/CheckQuorum, it might never hear a higher term.
      this.send({ type: 'appResp', to: m.from });
    } else if (m.type === 'preVote' || m.type === 'vote') {
      // Reject a stale request in our term (Raft §5.1), so the candidate learns our term and its
      // next campaign can reach us. etcd-io/raft ignores a stale `vote`; but when we run an older
      // membership than the candidate's (we have not applied its addition), we never send it a
      // message, so without this reply it would only learn our term by outrunning our own doomed
      // campaigns, and a cluster whose only electable node needs our vote stays leaderless (the
      // simulator found this with PreVote off: seed 463746).
      this.send({ type: voteResponseType(m.type), to: m.from, term: this.term, reject: true });
    }
  }

  private stepByState(m: Message): void {
    switch (this.state) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
      default:
        assertNever(this.state, 'raft state');
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Leader

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'beat':
        this.bcastHeartbeat(this.readOnly.lastPendingContext());
        return;
      case 'checkQuorum':
        this.checkQuorumActive();
        return;
      case 'prop':
        this.leaderPropose(m);
        return;
      case 'readIndex':
        this.leaderReadIndex(m);
        return;
      default:
        break;
    }
    const pr = this.tracker.progress.get(m.from);
    if (pr === undefined) return;
    switch (m.type) {
      case 'appResp':
        this.handleAppendResponse(m, pr);
        return;
      case 'heartbeatResp':
        this.handleHeartbeatResponse(m, pr);
        return;
      case 'snapStatus':
        this.handleSnapshotStatus(m, pr);
        return;
      case 'unreachable':
        if (pr.state === 'replicate') pr.becomeProbe();
        return;
      case 'transferLeader':
        this.handleTransferLeader(m.from, pr);
        return;
      default:
        return;
    }
  }

  private checkQuorumActive(): void {
    if (!this.tracker.quorumActive(this.id)) {
      this.becomeFollower(this.term, NONE);
      return;
    }
    for (const [id, pr] of this.tracker.progress) if (id !== this.id) pr.recentActive = false;
  }

  private leaderPropose(m: Message): void {
    assert(m.entries.length > 0, 'empty proposal');
    const local = this.isLocal(m);
    if (!this.tracker.isMember(this.id)) return this.dropProposal(local, 'this leader was removed');
    if (this.leadTransferee !== NONE) {
      return this.dropProposal(local, `leadership is being transferred to ${this.leadTransferee}`);
    }
    if (this.removingSelf) return this.dropProposal(local, 'this leader is removing itself');
    // A local proposal was size-checked by RawNode.propose; a forwarded one is checked here too, so a
    // member with other limits (or a broken one) cannot grow the log past ours.
    const tooLarge = m.entries.find((e) => e.data.byteLength > this.config.maxEntryBytes);
    if (tooLarge !== undefined) {
      if (local) throw new RaftError('entryTooLarge', `entry of ${tooLarge.data.byteLength} bytes exceeds maxEntryBytes ${this.config.maxEntryBytes}`);
      return;
    }
    const entries: Entry[] = [];
    for (const [i, e] of m.entries.entries()) {
      if (e.type !== 'confChange') {
        entries.push(e);
        continue;
      }
      const problem = this.confChangeProblem(e);
      if (problem !== undefined) {
        if (local) throw problem;
        // A forwarded change that cannot be accepted becomes a no-op so the rest still lands.
        entries.push({ ...e, type: 'normal', data: new Uint8Array() });
        continue;
      }
      this.pendingConfIndex = this.log.lastIndex() + i + 1;
      entries.push(e);
      if (this.isSelfRemoval(e)) {
        this.removingSelf = true;
        break;
      }
    }
    this.appendEntries(entries);
    this.bcastAppend();
  }

  /** Why a proposed membership change cannot be accepted now, or undefined if it can. */
  private confChangeProblem(e: Entry): RaftError | undefined {
    if (this.pendingConfIndex > this.log.applied) {
      return new RaftError(
        'confChangePending',
        `membership change at ${this.pendingConfIndex} not applied yet (applied ${this.log.applied})`,
      );
    }
    let cc: ConfChange;
    try {
      cc = decodeConfChange(e.data);
    } catch (err) {
      return new RaftError('invalidConfChange', err instanceof Error ? err.message : String(err));
    }
    const t = this.tracker;
    const why = ((): string | undefined => {
      switch (cc.type) {
        case 'addVoter':
          return t.voters.has(cc.nodeId) ? `${cc.nodeId} is already a voter` : undefined;
        case 'addLearner':
          if (t.voters.has(cc.nodeId)) return `demoting voter ${cc.nodeId} is not supported`;
          return t.learners.has(cc.nodeId) ? `${cc.nodeId} is already a learner` : undefined;
        case 'removeNode':
          if (!t.isMember(cc.nodeId)) return `${cc.nodeId} is not a member`;
          return t.voters.has(cc.nodeId) && t.voters.size === 1 ? 'cannot remove the last voter' : undefined;
        default:
          return assertNever(cc.type, 'conf change type');
      }
    })();
    return why === undefined ? undefined : new RaftError('invalidConfChange', why);
  }

  private leaderReadIndex(m: Message): void {
    if (this.tracker.voters.size === 1 && this.tracker.voters.has(this.id)) {
      this.respondToReadIndex(m, this.log.committed);
      return;
    }
    // Until we commit an entry of our term, our commit index may lag the real one.
    if (!this.committedEntryInCurrentTerm()) {
      this.pendingReadIndexMessages.push(m);
      return;
    }
    this.startReadIndex(m);
  }

  private startReadIndex(m: Message): void {
    const ctx = m.context;
    assert(ctx !== undefined, 'read index without context');
    this.readOnly.addRequest(this.log.committed, m);
    this.readOnly.recvAck(this.id, ctx);
    this.bcastHeartbeat(ctx);
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const pending = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of pending) this.startReadIndex(m);
  }

  private respondToReadIndex(req: Message, index: number): void {
    const ctx = req.context;
    assert(ctx !== undefined, 'read index without context');
    if (this.isLocal(req)) {
      this.readStates.push({ index, context: ctx });
    } else {
      this.send({ type: 'readIndexResp', to: req.from, index, context: ctx });
    }
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      let nextProbe = m.rejectHint;
      if (m.logTerm > 0) nextProbe = this.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
      // The follower caught up far enough to be fed entries again.
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    if (this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastAppend();
    } else if (wasPaused) {
      this.sendAppend(m.from);
    }
    while (this.maybeSendAppend(m.from, false)) {
      // Fill the pipeline up to maxInflightMessages.
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    pr.probeSent = false;
    // The follower is alive: if the window is full, something was lost; let one append through.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
    const ctx = m.context;
    if (ctx === undefined) return;
    const acks = this.readOnly.recvAck(m.from, ctx);
    if (acks === undefined || !this.tracker.hasQuorum(acks)) return;
    for (const read of this.readOnly.advance(ctx)) this.respondToReadIndex(read.request, read.index);
  }

  private handleSnapshotStatus(m: Message, pr: Progress): void {
    if (pr.state !== 'snapshot') return;
    if (m.reject) pr.pendingSnapshot = 0;
    // Either way, probe next, but only after the follower answers a heartbeat.
    pr.becomeProbe();
    pr.probeSent = true;
  }

  private handleTransferLeader(transferee: NodeId, pr: Progress): void {
    if (pr.isLearner) return;
    if (this.leadTransferee !== NONE) {
      if (this.leadTransferee === transferee) return;
      this.abortLeaderTransfer();
    }
    if (transferee === this.id) return;
    // The transfer must finish within one election timeout.
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(transferee);
    else this.sendAppend(transferee);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'timeoutNow', to });
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  private appendEntries(entries: readonly Entry[]): void {
    const last = this.log.lastIndex();
    const stamped = entries.map((e, i) => ({ ...e, term: this.term, index: last + 1 + i }));
    this.log.append(stamped);
    const self = this.tracker.progress.get(this.id);
    assert(self !== undefined, 'leader appending without its own progress');
    self.maybeUpdate(this.log.lastIndex());
    this.maybeCommit();
  }

  private maybeCommit(): boolean {
    const unsafe = this.config.unsafeCommitOldTermEntries === true;
    return this.log.maybeCommit(this.tracker.committedIndex(), this.term, unsafe);
  }

  private bcastAppend(): void {
    for (const id of this.tracker.memberIds()) if (id !== this.id) this.sendAppend(id);
  }

  private bcastHeartbeat(ctx: string | undefined): void {
    for (const id of this.tracker.memberIds()) {
      if (id === this.id) continue;
      const pr = this.tracker.progress.get(id);
      assert(pr !== undefined, 'member without progress');
      // Never tell a follower to commit beyond what it is known to hold.
      const commit = Math.min(pr.match, this.log.committed);
      this.send(ctx === undefined ? { type: 'heartbeat', to: id, commit } : { type: 'heartbeat', to: id, commit, context: ctx });
    }
  }

  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /** Sends entries (or a snapshot) to `to` if its progress allows; true when something was sent. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.tracker.progress.get(to);
    assert(pr !== undefined, `no progress for ${to}`);
    if (pr.isPaused()) return false;
    assert(pr.next <= this.log.lastIndex() + 1, `next ${pr.next} beyond last index for ${to}`);
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const entries = this.log.entries(pr.next, this.config.maxSizePerMsgBytes);
    if (prevTerm === undefined || entries === undefined) return this.sendSnapshot(to, pr);
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'app', to, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed });
    const lastEntry = entries[entries.length - 1];
    if (pr.state === 'replicate' && lastEntry !== undefined) {
      pr.optimisticUpdate(lastEntry.index);
      pr.inflights.add(lastEntry.index);
    } else if (pr.state === 'probe') {
      pr.probeSent = true;
    }
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    // A follower we have not heard from lately may be down; do not ship it a whole snapshot.
    if (!pr.recentActive) return false;
    const snapshot = this.log.snapshot();
    assert(snapshot.metadata.index > 0, 'need a snapshot but have none');
    pr.becomeSnapshot(snapshot.metadata.index);
    this.send({ type: 'snap', to, snapshot });
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Candidate and follower

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'prop':
        return this.dropProposal(this.isLocal(m), 'no leader (election in progress)');
      case 'readIndex':
        return this.dropProposal(this.isLocal(m), 'no leader (election in progress)');
      case 'app':
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'snap':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'voteResp':
      case 'preVoteResp':
        this.handleVoteResponse(m);
        return;
      default:
        return;
    }
  }

  private handleVoteResponse(m: Message): void {
    const expected = this.state === 'preCandidate' ? 'preVoteResp' : 'voteResp';
    if (m.type !== expected) return;
    const result = this.tracker.recordVote(m.from, !m.reject);
    if (result === 'won') this.onElectionWon();
    else if (result === 'lost') this.becomeFollower(this.term, NONE);
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'prop':
      case 'readIndex':
      case 'transferLeader':
        this.forwardToLeader(m);
        return;
      case 'app':
        this.heardFromLeader(m.from);
        this.handleAppendEntries(m);
        return;
      case 'heartbeat':
        this.heardFromLeader(m.from);
        this.handleHeartbeat(m);
        return;
      case 'snap':
        this.heardFromLeader(m.from);
        this.handleSnapshot(m);
        return;
      case 'timeoutNow':
        this.hup('transfer');
        return;
      case 'readIndexResp':
        assert(m.context !== undefined, 'read index response without context');
        this.readStates.push({ index: m.index, context: m.context });
        return;
      default:
        return;
    }
  }

  private heardFromLeader(from: NodeId): void {
    this.electionElapsed = 0;
    this.lead = from;
  }

  private forwardToLeader(m: Message): void {
    if (this.lead === NONE) {
      if (m.type === 'transferLeader') return;
      return this.dropProposal(this.isLocal(m), 'no leader known');
    }
    this.send({ ...m, to: this.lead });
  }

  private handleAppendEntries(m: Message): void {
    if (m.index < this.log.committed) {
      this.send({ type: 'appResp', to: m.from, index: this.log.committed });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send({ type: 'appResp', to: m.from, index: lastNew });
      return;
    }
    // Tell the leader where our logs might agree: the last entry at or before its probe point
    // whose term is at most the probe's term. It skips a whole term per round trip.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send({ type: 'appResp', to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(m.commit);
    this.send(
      m.context === undefined ? { type: 'heartbeatResp', to: m.from } : { type: 'heartbeatResp', to: m.from, context: m.context },
    );
  }

  private handleSnapshot(m: Message): void {
    const snapshot = m.snapshot;
    assert(snapshot !== undefined, 'snap message without snapshot');
    const index = this.restore(snapshot) ? this.log.lastIndex() : this.log.committed;
    this.send({ type: 'appResp', to: m.from, index });
  }

  /** Installs a leader's snapshot; false when it brings nothing new. */
  private restore(snapshot: Snapshot): boolean {
    const { index, term, confState } = snapshot.metadata;
    if (index <= this.log.committed) return false;
    assert(this.state === 'follower', 'only a follower restores a snapshot');
    if (this.log.matchTerm(index, term)) {
      // We already have the entry: just fast-forward the commit.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snapshot);
    this.tracker.reset(confState, this.log.lastIndex() + 1);
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Membership

  /**
   * Applies a committed membership change (the application calls this when it applies the entry)
   * and returns the new membership. A leader that removed itself steps down.
   */
  applyConfChange(cc: ConfChange): ConfState {
    const next = this.log.lastIndex() + 1;
    switch (cc.type) {
      case 'addVoter':
        this.tracker.setMember(cc.nodeId, 'voter', next);
        break;
      case 'addLearner':
        // Demotion is refused at proposal time; a stray one is ignored here.
        if (!this.tracker.voters.has(cc.nodeId)) this.tracker.setMember(cc.nodeId, 'learner', next);
        break;
      case 'removeNode':
        this.tracker.removeMember(cc.nodeId);
        if (cc.nodeId === this.leadTransferee) this.abortLeaderTransfer();
        break;
      default:
        assertNever(cc.type, 'conf change type');
    }
    if (this.state === 'leader') this.afterLeaderConfChange();
    return this.tracker.confState();
  }

  private afterLeaderConfChange(): void {
    if (!this.tracker.voters.has(this.id)) {
      this.becomeFollower(this.term, NONE);
      return;
    }
    // A smaller quorum may commit more; new members need their first probe.
    if (this.maybeCommit()) this.releasePendingReadIndexMessages();
    this.bcastAppend();
  }

  // ---------------------------------------------------------------------------------------------
  // Plumbing

  private isLocal(m: Message): boolean {
    return m.from === NONE || m.from === this.id;
  }

  private dropProposal(local: boolean, why: string): void {
    if (local) throw new RaftError('proposalDropped', `proposal dropped: ${why}`);
  }

  private send(fields: MessageFields): void {
    const m = makeMessage({ ...fields, from: fields.from === undefined || fields.from === NONE ? this.id : fields.from });
    if (m.type === 'vote' || m.type === 'voteResp' || m.type === 'preVote' || m.type === 'preVoteResp') {
      assert(m.term !== 0, `${m.type} without a term`);
      this.msgs.push(m);
      return;
    }
    // Proposals and reads are forwarded without a term, like local messages.
    const term = m.type === 'prop' || m.type === 'readIndex' || m.type === 'transferLeader' ? 0 : this.term;
    this.msgs.push({ ...m, term });
  }
}
