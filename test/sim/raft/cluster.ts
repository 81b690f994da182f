/**
 * A simulated raft cluster: RawNodes with MemoryStorage in front of a modelled disk (a WAL and a
 * snapshot file), the fake network, a KV state machine per node, clients issuing puts and ReadIndex
 * gets, and the faults a run injects. Everything runs in logical ticks from one seeded Rng, so a
 * seed replays exactly.
 *
 * The disk model (what a crash keeps), mirroring RaftNode + DiskStorage:
 * - A Ready is persisted as one batch: the snapshot FILE (saved and fsynced on its own, before the
 *   WAL is touched), then WAL records in order — snapshot mark, entries, hard state — and one fsync.
 *   Only after the fsync does MemoryStorage change, messages go out, committed entries are applied
 *   and advance() is called. A node has at most one batch in flight (RaftNode awaits each persist
 *   before it takes the next Ready, and RawNode refuses a second Ready before advance()).
 * - A fast disk syncs at once: write, fsync, send and apply happen in one step, so a crash never
 *   finds a batch in flight. A slow disk starts the write as soon as there is a Ready and finishes
 *   the fsync only now and then; the node keeps stepping and ticking meanwhile (its new state waits
 *   for the next Ready), exactly like RaftNode while it awaits persist().
 * - No message of a batch in flight has been sent, the leader's appends included (RaftNode sends
 *   only after the fsync), and its committed entries are not applied: nothing that depends on
 *   unsynced state has escaped, so a torn batch is one nobody else has heard of. (An earlier
 *   RaftNode sent a leader's appends and heartbeats while it wrote; modelled here, that broke
 *   safety with a sole voter and liveness after a self-removal; see RaftNode.handleReady.)
 * - A crash with a batch in flight is a torn write: a random prefix of the batch's records survives
 *   (none of them, some entries, all entries but not the hard state, ..., all of them), as WAL
 *   recovery cuts a torn tail at a record boundary. Everything from synced batches survives.
 * - On a crash the node's storage is rebuilt the way DiskStorage.open does it: the newest snapshot
 *   file, then wal.replay() over the synced records plus the surviving prefix (a mark drops the
 *   entries it covers, an entry replaces a conflicting suffix, the last hard state wins), keeping
 *   the entries after the snapshot file's index (entriesAfterSnapshot), and a mark for a snapshot
 *   file newer than the WAL's last mark is written (as DiskStorage.open does). Segment rollover is not
 *   modelled: Wal starts a new segment with the state already written, so it keeps the order above.
 */
import { AssertionError, assert } from '../../../lib/assert.js';
import type { Rng } from '../../../lib/rng.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  MemoryStorage,
  RawNode,
  type Ready,
  type Snapshot,
  decodeConfChange,
  isRaftError,
} from '../../../manager/raft/index.js';
import { entriesAfterSnapshot, replay } from '../../../manager/raft/wal/wal.js';
import type { WalRecord } from '../../../manager/raft/wal/record.js';
import { SafetyChecker, SimViolation } from './checks.js';
import { KvStore, decodePut, encodePut } from './kv.js';
import type { HistoryOp } from './linearizability.js';
import { SimNetwork } from './network.js';

/** The largest cluster the simulator builds. */
export const maxNodes = 7;

/** Raft settings one run uses (drawn per seed). */
export interface SimRaftSettings {
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly maxSizePerMsgBytes: number;
  readonly maxInflightMessages: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly unsafeCommitOldTermEntries: boolean;
}

/** One record of a Ready's batch, in the order DiskStorage writes them. */
type BatchRecord = { readonly kind: 'snapshotFile'; readonly snapshot: Snapshot } | { readonly kind: 'wal'; readonly record: WalRecord };

/** A Ready whose batch was handed to the disk but is not fsynced yet. */
interface InflightWrite {
  readonly rd: Ready;
  readonly records: readonly BatchRecord[];
}

/** The modelled disk: what survives a crash. */
interface SimDisk {
  /** The newest snapshot file. */
  snapshotFile: Snapshot;
  /** Synced WAL records (folded now and then into an equivalent shorter list). */
  wal: WalRecord[];
  /** Length of `wal` after the last fold. */
  foldedLength: number;
}

interface SimNode {
  readonly id: NodeId;
  /** What raft reads: the in-memory copy, changed only after a batch's fsync. */
  storage: MemoryStorage;
  readonly disk: SimDisk;
  raw: RawNode | undefined;
  kv: KvStore;
  appliedIndex: number;
  confState: ConfState;
  /** A slow disk finishes its fsync only now and then; a crash tears the batch in flight. */
  slowDisk: boolean;
  /** The batch being written (slow disks only). */
  inflight: InflightWrite | undefined;
  /** The last crash tore a batch: the next restart recovers from a torn write. */
  torn: boolean;
  /** Read contexts this node has a ReadState for: ctx → read index. */
  readonly readIndexes: Map<string, number>;
}

/** Chance per tick that a slow disk finishes its fsync. */
const slowSyncChance = 0.3;

interface PendingOp {
  readonly client: number;
  readonly request: number;
  readonly key: string;
  readonly kind: 'put' | 'get';
  readonly value: string;
  readonly node: NodeId;
  readonly call: number;
  readonly startTick: number;
}

/** How many clients run, how often they act, and how long they wait. */
export const clientCount = 4;
const keys = ['a', 'b', 'c'] as const;
const clientOpChance = 0.25;
const opTimeoutTicks = 60;
/** The client id the liveness probe writes as. */
const probeClient = 1000;

/** Counters for the progress line. */
export interface SimStats {
  ticks: number;
  elections: number;
  faults: number;
  crashes: number;
  confChanges: number;
  snapshotsSent: number;
  compactions: number;
  puts: number;
  gets: number;
  acked: number;
  /** Gets answered through ReadIndex. */
  readsServed: number;
  /** Crashes that found a batch in flight (kept a prefix of it, possibly empty or whole). */
  unsyncedCrashes: number;
  /** Of those, crashes that tore a batch mid-way: some of its records survived, not all. */
  tornWrites: number;
  /** Torn writes that kept entries but lost the batch's hard state. */
  tornBeforeHardState: number;
  /** Restarts of a node from a disk with a torn write (the restarted node then has to keep every check). */
  tornRecoveries: number;
}

/** The simulated cluster. */
export class SimCluster {
  readonly network: SimNetwork;
  readonly checker = new SafetyChecker();
  readonly history: HistoryOp[] = [];
  readonly stats: SimStats = {
    ticks: 0,
    elections: 0,
    faults: 0,
    crashes: 0,
    confChanges: 0,
    snapshotsSent: 0,
    compactions: 0,
    puts: 0,
    gets: 0,
    acked: 0,
    readsServed: 0,
    unsyncedCrashes: 0,
    tornWrites: 0,
    tornBeforeHardState: 0,
    tornRecoveries: 0,
  };
  now = 0;
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly rng: Rng;
  private readonly settings: SimRaftSettings;
  private readonly log: (line: string) => void;
  private clock = 0;
  private readonly pending = new Map<number, PendingOp>();
  private readonly nextRequest = new Map<number, number>();
  /** While now < flapUntil, every new leader is crashed a few ticks after it is elected. */
  private flapUntil = 0;
  private leaderSince = new Map<NodeId, number>();
  /** Nodes the flapping crashed, and the tick each comes back. */
  private readonly restartAt = new Map<NodeId, number>();
  private probeApplied = false;

  constructor(opts: { rng: Rng; settings: SimRaftSettings; voters: number; log: (line: string) => void }) {
    this.rng = opts.rng;
    this.settings = opts.settings;
    this.log = opts.log;
    this.network = new SimNetwork(this.rng.fork());
    const voters = Array.from({ length: opts.voters }, (_, i) => i + 1);
    const confState: ConfState = { voters, learners: [] };
    for (const id of voters) {
      const boot: Snapshot = { metadata: { index: 1, term: 1, confState }, data: new KvStore().encode() };
      const storage = new MemoryStorage(boot);
      storage.setHardState({ term: 1, vote: 0, commit: 1 });
      this.addNode(id, storage);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The main loop

  /** One tick: deliver due messages, tick every live node, let slow disks catch up, run clients. */
  step(clientsActive: boolean): void {
    this.now++;
    this.stats.ticks++;
    for (const d of this.network.due(this.now)) {
      if (d.kind === 'cut') {
        this.reportSnapshot(d.message, true);
        continue;
      }
      this.deliver(d.message);
    }
    for (const n of this.sortedNodes()) {
      if (n.raw === undefined) continue;
      this.guard(n, () => n.raw?.tick());
      this.afterStep(n);
    }
    for (const n of this.sortedNodes()) {
      if (n.inflight === undefined || n.raw === undefined || !this.rng.chance(slowSyncChance)) continue;
      this.guard(n, () => this.finishWrite(n));
      this.processReady(n);
    }
    this.maybeCompact();
    if (this.now < this.flapUntil) this.flap();
    this.restartDue();
    if (clientsActive) this.runClients();
    this.expireOps();
    this.checkLeaders();
  }

  private deliver(m: Message): void {
    const n = this.nodes.get(m.to);
    if (n?.raw === undefined) {
      this.reportSnapshot(m, true);
      return;
    }
    this.guard(n, () => n.raw?.step(m));
    this.reportSnapshot(m, false);
    this.afterStep(n);
  }

  /** The transport reports how a snapshot send ended, as a real one would. */
  private reportSnapshot(m: Message, failed: boolean): void {
    if (m.type !== 'snap') return;
    if (!failed) this.stats.snapshotsSent++;
    const sender = this.nodes.get(m.from);
    if (sender?.raw === undefined) return;
    this.guard(sender, () => sender.raw?.reportSnapshot(m.to, failed));
    this.afterStep(sender);
  }

  private afterStep(n: SimNode): void {
    this.processReady(n);
    this.checkLeaders();
  }

  /** Runs `fn` against a node, turning a failed raft assertion into a violation with context. */
  private guard(n: SimNode, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (err instanceof AssertionError) {
        throw new SimViolation('assertion', `node ${n.id} at tick ${this.now}: ${err.message}`);
      }
      throw err;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Ready handling: persist, send, apply

  /**
   * Handles Ready batches until the node has none. A fast disk writes, syncs, sends and applies each
   * at once; a slow disk starts writing one and leaves it in flight until its fsync (see step()).
   */
  private processReady(n: SimNode): void {
    if (n.inflight !== undefined) {
      if (n.slowDisk) return;
      this.guard(n, () => this.finishWrite(n));
    }
    for (let rounds = 0; n.raw?.hasReady() === true; rounds++) {
      assert(rounds < 1000, `node ${n.id} never runs out of Ready`);
      const raw = n.raw;
      this.guard(n, () => this.startWrite(n, raw.ready()));
      if (n.slowDisk) return;
      this.guard(n, () => this.finishWrite(n));
    }
  }

  /** Hands a Ready's batch to the disk (not synced yet); nothing is sent before the fsync. */
  private startWrite(n: SimNode, rd: Ready): void {
    assert(n.inflight === undefined, `node ${n.id} starts a write while one is in flight`);
    const records: BatchRecord[] = [];
    if (rd.snapshot !== undefined) {
      const { index, term } = rd.snapshot.metadata;
      records.push({ kind: 'snapshotFile', snapshot: rd.snapshot }, { kind: 'wal', record: { type: 'snapshot', index, term } });
    }
    for (const entry of rd.entries) records.push({ kind: 'wal', record: { type: 'entry', entry } });
    if (rd.hardState !== undefined) records.push({ kind: 'wal', record: { type: 'hardState', hardState: rd.hardState } });
    n.inflight = { rd, records };
  }

  /** The batch in flight is fsynced: update the memory copy, send, apply, advance. */
  private finishWrite(n: SimNode): void {
    const w = n.inflight;
    const raw = n.raw;
    assert(w !== undefined && raw !== undefined, `node ${n.id} finishes a write it has not started`);
    n.inflight = undefined;
    this.syncToDisk(n, w.records);
    const rd = w.rd;
    if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) {
      n.storage.append(rd.entries);
      this.checker.observePersisted(n.id, rd.entries, (i) => n.storage.term(i));
    }
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    const lostSnapshots: Message[] = [];
    for (const m of rd.messages) {
      const sent = this.network.send(m, this.now);
      if (!sent && m.type === 'snap') lostSnapshots.push(m);
    }
    if (rd.snapshot !== undefined) this.installSnapshot(n, rd.snapshot);
    for (const e of rd.committedEntries) this.apply(n, raw, e);
    for (const rs of rd.readStates) n.readIndexes.set(rs.context, rs.index);
    raw.advance();
    this.completeReads(n);
    for (const m of lostSnapshots) this.reportSnapshot(m, true);
  }

  private installSnapshot(n: SimNode, snap: Snapshot): void {
    n.kv = KvStore.decode(snap.data);
    n.appliedIndex = snap.metadata.index;
    n.confState = snap.metadata.confState;
  }

  private apply(n: SimNode, raw: RawNode, e: Entry): void {
    assert(e.index === n.appliedIndex + 1, `node ${n.id} applies ${e.index} after ${n.appliedIndex}`);
    this.checker.observeApplied(n.id, e);
    n.appliedIndex = e.index;
    if (e.type === 'confChange') {
      const cc = decodeConfChange(e.data);
      n.confState = raw.applyConfChange(cc);
      return;
    }
    const cmd = decodePut(e.data);
    if (cmd === undefined) return;
    if (cmd.client === probeClient) this.probeApplied = true;
    n.kv.apply(cmd);
    const op = this.pending.get(cmd.client);
    if (op !== undefined && op.kind === 'put' && op.request === cmd.request && op.node === n.id) {
      this.finish(op, undefined);
      const ackedInTerm = Math.max(...[...this.nodes.values()].map((x) => x.raw?.raft.term ?? x.storage.initialState().hardState.term));
      this.checker.recordAck({ index: e.index, term: e.term, description: `put ${op.key}=${op.value}`, ackedInTerm });
      this.stats.acked++;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Clients

  private runClients(): void {
    for (let client = 0; client < clientCount; client++) {
      if (this.pending.has(client) || !this.rng.chance(clientOpChance)) continue;
      const node = this.rng.pick(this.sortedNodes());
      if (node.raw === undefined) continue;
      const request = (this.nextRequest.get(client) ?? 0) + 1;
      this.nextRequest.set(client, request);
      const key = this.rng.pick(keys);
      const kind = this.rng.chance(0.5) ? 'put' : 'get';
      const op: PendingOp = { client, request, key, kind, value: `${client}.${request}`, node: node.id, call: ++this.clock, startTick: this.now };
      this.startOp(node, op);
    }
  }

  private startOp(n: SimNode, op: PendingOp): void {
    const raw = n.raw;
    assert(raw !== undefined, 'client on a crashed node');
    try {
      if (op.kind === 'put') {
        this.stats.puts++;
        raw.propose(encodePut({ client: op.client, request: op.request, key: op.key, value: op.value }));
      } else {
        this.stats.gets++;
        raw.readIndex(readContext(op));
      }
    } catch (err) {
      if (isRaftError(err, 'proposalDropped')) return; // refused outright: it never happened
      throw err;
    }
    this.pending.set(op.client, op);
    this.afterStep(n);
  }

  private completeReads(n: SimNode): void {
    for (const op of this.pending.values()) {
      if (op.kind !== 'get' || op.node !== n.id) continue;
      const index = n.readIndexes.get(readContext(op));
      if (index === undefined || n.appliedIndex < index) continue;
      n.readIndexes.delete(readContext(op));
      this.finish(op, n.kv.get(op.key));
      this.stats.readsServed++;
    }
  }

  private finish(op: PendingOp, output: string | undefined): void {
    this.pending.delete(op.client);
    const input = op.kind === 'put' ? ({ kind: 'put', value: op.value } as const) : ({ kind: 'get' } as const);
    this.history.push({ key: op.key, input, output, call: op.call, ret: ++this.clock });
  }

  /** A put the client stopped waiting for may still happen: it stays in the history, open-ended. */
  private abandon(op: PendingOp): void {
    this.pending.delete(op.client);
    if (op.kind === 'put') {
      this.history.push({ key: op.key, input: { kind: 'put', value: op.value }, output: undefined, call: op.call, ret: Number.POSITIVE_INFINITY });
    }
  }

  private expireOps(): void {
    for (const op of [...this.pending.values()]) {
      if (this.now - op.startTick >= opTimeoutTicks || this.nodes.get(op.node)?.raw === undefined) this.abandon(op);
    }
  }

  /** Gives up on every outstanding operation (end of run). */
  abandonAll(): void {
    for (const op of [...this.pending.values()]) this.abandon(op);
  }

  // ---------------------------------------------------------------------------------------------
  // Faults

  /** Injects one random fault. */
  injectFault(): void {
    this.stats.faults++;
    const kind = this.rng.pick([
      'partition',
      'partition',
      'asymmetric',
      'heal',
      'crash',
      'crashLeader',
      'isolateLeader',
      'restart',
      'restart',
      'flapLeaders',
      'conditions',
      'slowDisk',
      'membership',
      'membership',
      'transfer',
    ] as const);
    switch (kind) {
      case 'partition':
        return this.randomPartition();
      case 'asymmetric':
        return this.randomBlocks();
      case 'heal':
        this.network.heal();
        return this.log(`t=${this.now} heal network`);
      case 'crash':
        return this.crashRandom();
      case 'flapLeaders':
        this.flapUntil = this.now + this.rng.range(30, 150);
        return this.log(`t=${this.now} leaders flap until t=${this.flapUntil}`);
      case 'crashLeader':
        return this.crashLeader();
      case 'isolateLeader':
        return this.isolateLeader();
      case 'restart':
        return this.restartRandom();
      case 'conditions':
        return this.randomConditions();
      case 'slowDisk':
        return this.toggleSlowDisk();
      case 'membership':
        return this.randomConfChange();
      case 'transfer':
        return this.randomTransfer();
    }
  }

  private randomPartition(): void {
    const ids = this.rng.shuffle(this.ids());
    if (ids.length < 2) return;
    const cut = this.rng.range(1, ids.length - 1);
    const groups = [ids.slice(0, cut), ids.slice(cut)];
    this.network.partition(groups);
    this.log(`t=${this.now} ${this.network.describeCuts()}`);
  }

  private randomBlocks(): void {
    const ids = this.ids();
    if (ids.length < 2) return;
    for (let i = this.rng.range(1, 3); i > 0; i--) {
      const from = this.rng.pick(ids);
      const to = this.rng.pick(ids.filter((x) => x !== from));
      this.network.block(from, to);
    }
    this.log(`t=${this.now} ${this.network.describeCuts()}`);
  }

  private crashRandom(): void {
    const live = this.sortedNodes().filter((n) => n.raw !== undefined);
    if (live.length === 0) return;
    this.crash(this.rng.pick(live));
  }

  private crashLeader(): void {
    const leader = this.leader();
    if (leader !== undefined) this.crash(leader);
  }

  /**
   * Leader flapping: a leader dies 1..12 ticks into its term, often right after it sent its first
   * appends, and comes back 5..60 ticks later. This breeds the diverging logs of the Raft paper's
   * figure 8.
   */
  private flap(): void {
    const leader = this.leader();
    if (leader?.raw !== undefined) {
      const since = this.leaderSince.get(leader.id) ?? this.now;
      this.leaderSince.set(leader.id, since);
      if (this.now - since >= this.rng.range(1, 12)) {
        this.leaderSince.delete(leader.id);
        this.crash(leader);
        this.restartAt.set(leader.id, this.now + this.rng.range(5, 60));
      }
    }
  }

  private restartDue(): void {
    for (const [id, at] of this.restartAt) {
      const n = this.nodes.get(id);
      if (at > this.now || n === undefined) continue;
      this.restartAt.delete(id);
      if (n.raw === undefined) this.restart(n);
    }
  }

  /** Cuts the leader off from everyone, possibly letting one follower still hear it. */
  private isolateLeader(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const others = this.ids().filter((id) => id !== leader.id);
    const buddy = others.length > 2 && this.rng.chance(0.5) ? [this.rng.pick(others)] : [];
    this.network.partition([[leader.id, ...buddy], others.filter((id) => !buddy.includes(id))]);
    this.log(`t=${this.now} isolate leader: ${this.network.describeCuts()}`);
  }

  private crash(n: SimNode): void {
    n.raw = undefined;
    this.recoverDisk(n, this.tearInflight(n));
    // What it had sent but the network had not delivered may have died in its send buffer.
    for (const m of this.network.loseFrom(n.id, 0.5)) this.reportSnapshot(m, true);
    n.readIndexes.clear();
    this.stats.crashes++;
    this.log(`t=${this.now} crash ${n.id}`);
  }

  private restartRandom(): void {
    const down = this.sortedNodes().filter((n) => n.raw === undefined);
    if (down.length === 0) return;
    this.restart(this.rng.pick(down));
  }

  private restart(n: SimNode): void {
    const snap = n.storage.snapshot();
    n.kv = KvStore.decode(snap.data);
    n.appliedIndex = snap.metadata.index;
    n.confState = snap.metadata.confState;
    n.readIndexes.clear();
    this.guard(n, () => {
      n.raw = this.newRawNode(n.id, n.storage, snap.metadata.index);
    });
    if (n.torn) this.stats.tornRecoveries++;
    n.torn = false;
    this.log(`t=${this.now} restart ${n.id}`);
    this.afterStep(n);
  }

  private randomConditions(): void {
    const c = this.network.conditions;
    c.dropRate = this.rng.pick([0, 0, 0.05, 0.2]);
    c.duplicateRate = this.rng.pick([0, 0, 0.05]);
    c.minDelayTicks = 1;
    c.maxDelayTicks = this.rng.pick([1, 2, 4, 8]);
    this.log(`t=${this.now} network drop=${c.dropRate} dup=${c.duplicateRate} delay<=${c.maxDelayTicks}`);
  }

  private toggleSlowDisk(): void {
    const n = this.rng.pick(this.sortedNodes());
    n.slowDisk = !n.slowDisk;
    this.log(`t=${this.now} slow disk ${n.id} ${n.slowDisk ? 'on' : 'off'}`);
  }

  private randomConfChange(): void {
    const leader = this.leader();
    if (leader?.raw === undefined) return;
    const conf = leader.raw.status().confState;
    const members = [...conf.voters, ...conf.learners];
    const options: ConfChange[] = [];
    const fresh = this.freshId();
    if (fresh !== undefined) options.push({ type: 'addLearner', nodeId: fresh }, { type: 'addVoter', nodeId: fresh });
    for (const id of conf.learners) options.push({ type: 'addVoter', nodeId: id });
    if (conf.voters.length > 1) for (const id of members) options.push({ type: 'removeNode', nodeId: id });
    if (options.length === 0) return;
    const cc = this.rng.pick(options);
    try {
      leader.raw.proposeConfChange(cc);
    } catch (err) {
      if (isRaftError(err)) return;
      throw err;
    }
    this.stats.confChanges++;
    this.log(`t=${this.now} leader ${leader.id} proposes ${cc.type} ${cc.nodeId}`);
    if (cc.nodeId === fresh) this.addNode(fresh, new MemoryStorage());
    this.afterStep(leader);
  }

  private randomTransfer(): void {
    const leader = this.leader();
    if (leader?.raw === undefined) return;
    const voters = leader.raw.status().confState.voters.filter((id) => id !== leader.id);
    if (voters.length === 0) return;
    const to = this.rng.pick(voters);
    this.log(`t=${this.now} leader ${leader.id} transfers to ${to}`);
    this.guard(leader, () => leader.raw?.transferLeadership(to));
    this.afterStep(leader);
  }

  /** Ends all faults: network calm and whole, every node up, disks fast. */
  healAll(): void {
    this.flapUntil = 0;
    this.restartAt.clear();
    this.network.heal();
    this.network.conditions = { dropRate: 0, duplicateRate: 0, minDelayTicks: 1, maxDelayTicks: 2 };
    for (const n of this.sortedNodes()) {
      n.slowDisk = false;
      if (n.raw === undefined) this.restart(n);
      else this.processReady(n);
    }
    this.log(`t=${this.now} heal all`);
  }

  // ---------------------------------------------------------------------------------------------
  // Liveness probe and end-of-run checks

  /** Proposes a marker write at the leader (or anywhere); true once one was applied. */
  probeLiveness(): boolean {
    if (this.probeApplied) return true;
    const target = this.leader() ?? this.rng.pick(this.sortedNodes());
    const raw = target.raw;
    if (raw === undefined) return false;
    const request = (this.nextRequest.get(probeClient) ?? 0) + 1;
    this.nextRequest.set(probeClient, request);
    try {
      raw.propose(encodePut({ client: probeClient, request, key: 'probe', value: String(request) }));
    } catch (err) {
      if (!isRaftError(err)) throw err;
    }
    this.afterStep(target);
    return false;
  }

  /** Forgets earlier probe results (called when the faults heal). */
  resetProbe(): void {
    this.probeApplied = false;
  }

  /** Checks that every acknowledged write survives in the current leader's log. */
  checkDurability(): void {
    const leader = this.leader();
    if (leader?.raw === undefined) return;
    this.checker.checkAckedWrites(leader.id, leader.raw.raft.term, leader.raw.raft.log);
  }

  /**
   * Election safety and leader completeness for every node that leads right now, and no
   * acknowledged write missing from the newest leader's log. A node counts as leader as soon as
   * its memory says so: the core makes a node leader only once its term and vote are durable (a
   * candidate's own vote counts in advance()), so even a leader whose term a crash takes back before
   * it sends anything is a second leader of that term (seed 429957 found a sole voter doing that).
   */
  private checkLeaders(): void {
    for (const n of this.nodes.values()) {
      const r = n.raw?.raft;
      if (r === undefined || r.state !== 'leader') continue;
      if (this.checker.observeLeader(r.term, n.id)) {
        this.stats.elections++;
        this.log(`t=${this.now} ${n.id} leads term ${r.term}`);
        this.checker.checkLeaderCompleteness(n.id, r.term, r.log);
      }
    }
    this.checkDurability();
  }

  // ---------------------------------------------------------------------------------------------
  // Plumbing

  private maybeCompact(): void {
    for (const n of this.sortedNodes()) {
      // RaftNode compacts between Ready batches, never while one is being written.
      if (n.raw === undefined || !this.rng.chance(0.02) || n.inflight !== undefined) continue;
      const snapIndex = n.storage.snapshot().metadata.index;
      if (n.appliedIndex - snapIndex < 5) continue;
      // As DiskStorage.compact: the snapshot file, then a mark in the WAL (synced), then the memory copy.
      const snapshot = n.storage.createSnapshot(n.appliedIndex, n.confState, n.kv.encode());
      this.syncToDisk(n, [
        { kind: 'snapshotFile', snapshot },
        { kind: 'wal', record: { type: 'snapshot', index: snapshot.metadata.index, term: snapshot.metadata.term } },
      ]);
      const compactTo = n.appliedIndex - this.rng.int(5);
      if (compactTo >= n.storage.firstIndex()) n.storage.compact(compactTo);
      this.stats.compactions++;
    }
  }

  private addNode(id: NodeId, storage: MemoryStorage): void {
    const snap = storage.snapshot();
    const wal: WalRecord[] = [{ type: 'hardState', hardState: storage.initialState().hardState }];
    if (snap.metadata.index > 0) wal.push({ type: 'snapshot', index: snap.metadata.index, term: snap.metadata.term });
    const n: SimNode = {
      id,
      storage,
      disk: { snapshotFile: snap, wal, foldedLength: wal.length },
      raw: this.newRawNode(id, storage, snap.metadata.index),
      kv: KvStore.decode(snap.data),
      appliedIndex: snap.metadata.index,
      confState: snap.metadata.confState,
      slowDisk: false,
      inflight: undefined,
      torn: false,
      readIndexes: new Map(),
    };
    this.nodes.set(id, n);
  }

  // ---------------------------------------------------------------------------------------------
  // The disk model

  /** Makes records durable (a batch's fsync returned). */
  private syncToDisk(n: SimNode, records: readonly BatchRecord[]): void {
    const disk = n.disk;
    for (const r of records) {
      if (r.kind === 'snapshotFile') disk.snapshotFile = r.snapshot;
      else disk.wal.push(r.record);
    }
    if (disk.wal.length > 2 * disk.foldedLength + 256) {
      // Replaying [hard state, mark, entries] of a prefix is the same as replaying the prefix.
      const state = this.replayWal(n, disk.wal);
      disk.wal = [{ type: 'hardState', hardState: state.hardState }];
      if (state.snapshot !== undefined) disk.wal.push({ type: 'snapshot', index: state.snapshot.index, term: state.snapshot.term });
      for (const entry of state.entries) disk.wal.push({ type: 'entry', entry });
      disk.foldedLength = disk.wal.length;
    }
  }

  /**
   * The node crashed: the batch in flight (if any) survives as a random prefix of its records, cut
   * at a record boundary like a torn WAL tail. Returns the records that survive.
   */
  private tearInflight(n: SimNode): readonly BatchRecord[] {
    const w = n.inflight;
    if (w === undefined) return [];
    n.inflight = undefined;
    const kept = this.rng.int(w.records.length + 1);
    this.stats.unsyncedCrashes++;
    const survivors = w.records.slice(0, kept);
    if (kept > 0 && kept < w.records.length) {
      this.stats.tornWrites++;
      n.torn = true;
      const hasEntries = survivors.some((r) => r.kind === 'wal' && r.record.type === 'entry');
      if (hasEntries && w.rd.hardState !== undefined) this.stats.tornBeforeHardState++;
    }
    this.log(`t=${this.now} crash ${n.id} with a batch in flight: ${kept} of ${w.records.length} records survive (${describeRecords(w.records)})`);
    return survivors;
  }

  /** Rebuilds the node's storage from its disk, as DiskStorage.open does after a restart. */
  private recoverDisk(n: SimNode, survivors: readonly BatchRecord[]): void {
    this.syncToDisk(n, survivors);
    const file = n.disk.snapshotFile;
    const recovered = this.replayWal(n, n.disk.wal);
    const mark = recovered.snapshot;
    if (mark !== undefined && mark.index > file.metadata.index) {
      throw new SimViolation('assertion', `node ${n.id} at tick ${this.now}: WAL compacted to ${mark.index} but the snapshot file is at ${file.metadata.index}`);
    }
    const storage = new MemoryStorage(file);
    const entries = entriesAfterSnapshot(recovered.entries, file.metadata.index, file.metadata.term);
    // DiskStorage.open writes the mark of a snapshot file the WAL does not have yet (a crash between
    // the file and its mark), so that later entries do not follow a gap in the WAL.
    if (file.metadata.index > (mark?.index ?? 0)) n.disk.wal.push({ type: 'snapshot', index: file.metadata.index, term: file.metadata.term });
    storage.append(entries);
    storage.setHardState(recovered.hardState);
    n.storage = storage;
    // What the node recovered is what it has persisted: it must match every other log.
    this.checker.observePersisted(n.id, entries, (i) => storage.term(i));
  }

  private replayWal(n: SimNode, records: readonly WalRecord[]): ReturnType<typeof replay> {
    try {
      return replay(records);
    } catch (err) {
      throw new SimViolation('assertion', `node ${n.id} at tick ${this.now}: WAL replay failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** A node starting from `storage`; `applied` is where its state machine (the snapshot) stands. */
  private newRawNode(id: NodeId, storage: MemoryStorage, applied: number): RawNode {
    const s = this.settings;
    return new RawNode({
      id,
      storage,
      applied,
      rng: this.rng.fork(),
      electionTicks: s.electionTicks,
      heartbeatTicks: s.heartbeatTicks,
      maxSizePerMsgBytes: s.maxSizePerMsgBytes,
      maxInflightMessages: s.maxInflightMessages,
      preVote: s.preVote,
      checkQuorum: s.checkQuorum,
      unsafeCommitOldTermEntries: s.unsafeCommitOldTermEntries,
    });
  }

  /** The live node that leads the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      const r = n.raw?.raft;
      if (r?.state !== 'leader') continue;
      if (best === undefined || r.term > (best.raw?.raft.term ?? 0)) best = n;
    }
    return best;
  }

  private freshId(): NodeId | undefined {
    for (let id = 1; id <= maxNodes; id++) if (!this.nodes.has(id)) return id;
    return undefined;
  }

  private ids(): NodeId[] {
    return [...this.nodes.keys()].sort((a, b) => a - b);
  }

  private sortedNodes(): SimNode[] {
    return this.ids().map((id) => this.nodes.get(id) as SimNode);
  }

  /** One line per node, for verbose output. */
  describe(): string[] {
    return this.sortedNodes().map((n) => {
      if (n.raw === undefined) return `  ${n.id}: down`;
      const s = n.raw.status();
      const progress = [...s.progress].map(([id, p]) => `\n    ${id}: ${p}`).join('');
      return `  ${n.id}: ${s.state} term=${s.term} commit=${s.commit} applied=${s.applied} log=${s.firstIndex}..${s.lastIndex} voters=${s.confState.voters.join(',')} learners=${s.confState.learners.join(',')}${progress}`;
    });
  }
}

function describeRecords(records: readonly BatchRecord[]): string {
  return records.map((r) => (r.kind === 'snapshotFile' ? 'snapfile' : r.record.type === 'entry' ? `e${r.record.entry.index}/${r.record.entry.term}` : r.record.type)).join(' ');
}

function readContext(op: PendingOp): string {
  return `c${op.client}r${op.request}`;
}
