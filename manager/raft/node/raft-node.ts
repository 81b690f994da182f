/**
 * A raft member that runs: the pure core (RawNode) driven by a ticker, its Ready handled in order
 * (persist to disk → send → apply → advance), proposals that resolve when their entry is applied,
 * linearizable reads (ReadIndex), and log compaction by snapshots of the application.
 */
import type { ChannelCredentials } from '@grpc/grpc-js';
import { assert } from '../../../lib/assert.js';
import { ErrorCode, TsswarmError } from '../../../lib/errors.js';
import type { Rng } from '../../../lib/rng.js';
import { RawNode } from '../raw-node.js';
import { Transport } from '../transport/transport.js';
import { decodeConfChange, type ConfState, type Entry, type NodeId } from '../types.js';
import { DiskStorage } from '../wal/disk-storage.js';

/** What the replicated state machine offers the node. */
export interface Application {
  /** Applies a committed payload at `index`; the result goes to the proposer, if it is here. */
  apply(index: number, payload: Uint8Array): unknown;
  /** The application's state as of the last applied index. */
  snapshot(): Uint8Array;
  /** Replaces the state with a snapshot's. */
  restore(data: Uint8Array): void;
}

/** Settings of a member. */
export interface RaftNodeOptions {
  readonly id: NodeId;
  /** Raft ID → "host:port" of every member, this one included. */
  readonly members: ReadonlyMap<NodeId, string>;
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
  private readonly proposals = new Map<number, Waiter>();
  private readonly reads = new Map<string, Waiter>();
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
    this.transport = new Transport(options.credentials, { receive: (m) => this.input(() => this.raw.step(m)), unreachable: (p) => this.input(() => this.raw.reportUnreachable(p)) }, options.rng.fork());
    for (const [id, addr] of options.members) if (id !== options.id) this.transport.setPeer(id, addr);
    const snap = storage.snapshot();
    this.applied = snap.metadata.index;
    this.snapshotIndex = snap.metadata.index;
    this.confState = snap.metadata.confState;
    if (snap.data.length > 0) options.application.restore(snap.data);
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
    const storage = await DiskStorage.open(options.dir, options.segmentBytes !== undefined ? { segmentBytes: options.segmentBytes } : {});
    if (storage.lastIndex() === 0 && storage.initialState().hardState.term === 0) {
      // Every founding member starts from the same snapshot: the membership at index 1, term 1.
      const voters = [...options.members.keys()].sort((a, b) => a - b);
      await storage.persist({ entries: [], snapshot: { metadata: { index: 1, term: 1, confState: { voters, learners: [] } }, data: options.application.snapshot() } });
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
    if (rd.softState) this.leader = rd.softState.lead;
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
      this.options.application.restore(rd.snapshot.data);
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
      this.confState = this.raw.applyConfChange(decodeConfChange(entry.data));
      return;
    }
    if (entry.data.length < idBytes) return;
    const view = new DataView(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
    const id = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
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
    await this.storage.compact(this.applied, this.confState, this.options.application.snapshot(), compactTo);
    this.snapshotIndex = this.applied;
  }

  private waiter(map: Map<number, Waiter> | Map<string, Waiter>, key: number | string, what: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timeoutMs = this.options.requestTimeoutMs ?? defaultRequestTimeoutMs;
      const timer = setTimeout(() => {
        (map as Map<number | string, Waiter>).delete(key);
        reject(new TsswarmError(ErrorCode.TIMEOUT, `${what} did not complete within ${timeoutMs} ms (no leader, or lost with a leader change)`));
      }, timeoutMs);
      (map as Map<number | string, Waiter>).set(key, { resolve, reject, timer });
    });
  }

  /** Proposes `payload`; resolves with the application's result once it is applied here. */
  propose(payload: Uint8Array): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.stopped) return Promise.reject(new TsswarmError(ErrorCode.CLOSED, 'raft node stopped'));
    const id = this.options.id * 2 ** 32 + (this.nextId++ % 2 ** 32);
    const data = new Uint8Array(idBytes + payload.length);
    const view = new DataView(data.buffer);
    view.setUint32(0, id % 2 ** 32, true);
    view.setUint32(4, Math.floor(id / 2 ** 32), true);
    data.set(payload, idBytes);
    const done = this.waiter(this.proposals, id, 'proposal');
    try {
      this.raw.propose(data);
    } catch (err) {
      const w = this.proposals.get(id);
      if (w) clearTimeout(w.timer);
      this.proposals.delete(id);
      return Promise.reject(err);
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
      return Promise.reject(err);
    }
    this.schedule();
    return done.then(() => undefined);
  }

  /** Starts an election now (tests, leadership transfer targets). */
  campaign(): void {
    this.input(() => this.raw.campaign());
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
    for (const w of [...this.proposals.values(), ...this.reads.values(), ...this.readsAt.map((r) => r.waiter)]) {
      clearTimeout(w.timer);
      w.reject(this.failure ?? closed);
    }
    this.proposals.clear();
    this.reads.clear();
    this.readsAt.length = 0;
    while (this.processing) await new Promise((r) => setTimeout(r, 5));
    await this.storage.close();
  }
}
