/**
 * A hand-driven cluster for the scenario scripts in testdata/: nodes with MemoryStorage, a message
 * queue that only moves when told to, partitions, crashes and restarts. Every command returns the
 * lines it wants printed; the runner compares them with the expectations.
 */
import { errorMessage } from '../../../lib/errors.js';
import { seededRng } from '../../../lib/rng.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type Snapshot,
  MemoryStorage,
  RawNode,
  type RawNodeConfig,
  type SoftState,
  decodeConfChange,
} from '../../../manager/raft/index.js';

const text = new TextDecoder();
const bytes = new TextEncoder();

/** Options a `nodes` command may set. */
interface ClusterOptions {
  preVote: boolean;
  checkQuorum: boolean;
  electionTicks: number;
  heartbeatTicks: number;
  maxSizePerMsgBytes: number;
  maxInflightMessages: number;
  maxEntryBytes: number;
  unsafeCommitOldTermEntries: boolean;
}

interface HarnessNode {
  id: NodeId;
  storage: MemoryStorage;
  node: RawNode | undefined;
  /** Applied entries' data (the "state machine"); rebuilt from the snapshot on restart. */
  applied: string[];
  appliedIndex: number;
  confState: ConfState;
  soft: SoftState | undefined;
}

/** The cluster a script drives. */
export class Harness {
  private readonly nodes = new Map<NodeId, HarnessNode>();
  private queue: Message[] = [];
  private groups: NodeId[][] | undefined;
  private opts: ClusterOptions = {
    preVote: true,
    checkQuorum: true,
    electionTicks: 10,
    heartbeatTicks: 1,
    maxSizePerMsgBytes: 1024 * 1024,
    maxInflightMessages: 256,
    maxEntryBytes: 1024,
    unsafeCommitOldTermEntries: false,
  };
  private seed = 1;

  /** Runs one command line and returns its output lines. */
  run(line: string): string[] {
    const [cmd, ...args] = line.trim().split(/\s+/);
    const out: string[] = [];
    try {
      this.dispatch(cmd ?? '', args, out);
    } catch (err) {
      out.push(`error: ${errorMessage(err)}`);
    }
    this.processAll(out);
    return out;
  }

  private dispatch(cmd: string, args: string[], out: string[]): void {
    switch (cmd) {
      case 'nodes':
        return this.cmdNodes(args);
      case 'add-nodes':
        for (const id of args.map(Number)) this.createNode(id, new MemoryStorage());
        return;
      case 'campaign':
        return this.raw(args[0]).campaign();
      case 'tick':
        return this.cmdTick(args);
      case 'deliver':
        return this.cmdDeliver(args, out);
      case 'drop':
        return this.cmdDrop(args, out);
      case 'msgs':
        for (const m of this.queue) out.push(formatMessage(m));
        return;
      case 'partition':
        this.groups = parseGroups(args);
        return;
      case 'heal':
        this.groups = undefined;
        return;
      case 'propose':
        return this.raw(args[0]).propose(bytes.encode(args.slice(1).join(' ')));
      case 'propose-conf':
        return this.raw(args[0]).proposeConfChange(parseConfChange(args.slice(1)));
      case 'read':
        return this.raw(args[0]).readIndex(args[1] ?? '');
      case 'transfer':
        return this.raw(args[0]).transferLeadership(Number(args[1]));
      case 'compact':
        return this.cmdCompact(args, out);
      case 'crash':
        return this.cmdCrash(args);
      case 'restart':
        return this.cmdRestart(args);
      case 'status':
        return this.cmdStatus(args, out);
      case 'log':
        return this.cmdLog(args, out);
      default:
        throw new Error(`unknown command ${JSON.stringify(cmd)}`);
    }
  }

  private cmdNodes(args: string[]): void {
    const ids: NodeId[] = [];
    for (const a of args) {
      const [k, v] = a.split('=');
      if (v === undefined) ids.push(Number(k));
      else this.setOption(k ?? '', v);
    }
    const confState: ConfState = { voters: ids, learners: [] };
    for (const id of ids) {
      const storage = new MemoryStorage(bootstrapSnapshot(confState));
      storage.setHardState({ term: 1, vote: 0, commit: 1 });
      this.createNode(id, storage);
    }
  }

  private setOption(key: string, value: string): void {
    const n = Number(value);
    switch (key) {
      case 'prevote':
        this.opts.preVote = value === 'true';
        return;
      case 'checkquorum':
        this.opts.checkQuorum = value === 'true';
        return;
      case 'unsafe':
        this.opts.unsafeCommitOldTermEntries = value === 'true';
        return;
      case 'election':
        this.opts.electionTicks = n;
        return;
      case 'heartbeat':
        this.opts.heartbeatTicks = n;
        return;
      case 'maxsize':
        this.opts.maxSizePerMsgBytes = n;
        return;
      case 'inflight':
        this.opts.maxInflightMessages = n;
        return;
      case 'seed':
        this.seed = n;
        return;
      default:
        throw new Error(`unknown option ${key}`);
    }
  }

  private createNode(id: NodeId, storage: MemoryStorage): void {
    const snap = storage.snapshot();
    const hn: HarnessNode = {
      id,
      storage,
      node: undefined,
      applied: decodeState(snap.data),
      appliedIndex: snap.metadata.index,
      confState: snap.metadata.confState,
      soft: undefined,
    };
    this.nodes.set(id, hn);
    this.start(hn);
  }

  private start(hn: HarnessNode): void {
    const config: RawNodeConfig = {
      id: hn.id,
      storage: hn.storage,
      rng: seededRng(this.seed * 1000 + hn.id),
      ...this.opts,
    };
    hn.node = new RawNode(config);
    hn.soft = hn.node.raft.softState();
  }

  private cmdTick(args: string[]): void {
    let times = 1;
    const ids: NodeId[] = [];
    for (const a of args) {
      if (a.startsWith('x')) times = Number(a.slice(1));
      else if (a === 'all') ids.push(...this.liveIds());
      else ids.push(Number(a));
    }
    for (let i = 0; i < times; i++) {
      for (const id of ids) this.raw(String(id)).tick();
    }
  }

  private cmdDeliver(args: string[], out: string[]): void {
    const filter = parseFilter(args);
    const verbose = args.includes('verbose');
    const rounds = filter.rounds ?? 1000;
    let delivered = 0;
    let dropped = 0;
    for (let round = 0; round < rounds; round++) {
      const batch = this.queue.filter((m) => matches(filter, m));
      if (batch.length === 0) break;
      this.queue = this.queue.filter((m) => !matches(filter, m));
      for (const m of batch) {
        const target = this.nodes.get(m.to)?.node;
        if (target === undefined || this.cut(m.from, m.to)) {
          dropped++;
          if (verbose) out.push(`dropped ${formatMessage(m)}`);
          this.reportSnapshot(m, true);
          continue;
        }
        delivered++;
        if (verbose) out.push(formatMessage(m));
        target.step(m);
        this.reportSnapshot(m, false);
        this.processAll(out);
      }
    }
    out.push(`delivered ${delivered}, dropped ${dropped}`);
  }

  /** The transport tells the leader how a snapshot send ended. */
  private reportSnapshot(m: Message, failed: boolean): void {
    if (m.type !== 'snap') return;
    this.nodes.get(m.from)?.node?.reportSnapshot(m.to, failed);
  }

  private cmdDrop(args: string[], out: string[]): void {
    const filter = parseFilter(args);
    const before = this.queue.length;
    for (const m of this.queue) if (matches(filter, m)) this.reportSnapshot(m, true);
    this.queue = this.queue.filter((m) => !matches(filter, m));
    out.push(`dropped ${before - this.queue.length}`);
  }

  private cmdCompact(args: string[], out: string[]): void {
    const hn = this.harnessNode(args[0]);
    const index = Number(args[1]);
    if (index > hn.appliedIndex) throw new Error(`index ${index} not applied yet (applied ${hn.appliedIndex})`);
    // The state at `index`: replay the applied entries' data up to there.
    const state = hn.applied.slice(0, hn.applied.length - (hn.appliedIndex - index));
    hn.storage.createSnapshot(index, hn.confState, encodeState(state));
    hn.storage.compact(index);
    out.push(`${hn.id}: compacted to ${index}, first index ${hn.storage.firstIndex()}`);
  }

  private cmdCrash(args: string[]): void {
    for (const id of args) this.harnessNode(id).node = undefined;
  }

  private cmdRestart(args: string[]): void {
    for (const id of args) {
      const hn = this.harnessNode(id);
      const snap = hn.storage.snapshot();
      hn.applied = decodeState(snap.data);
      hn.appliedIndex = snap.metadata.index;
      hn.confState = snap.metadata.confState;
      this.start(hn);
    }
  }

  private cmdStatus(args: string[], out: string[]): void {
    const ids = args.length > 0 ? args.map(Number) : [...this.nodes.keys()].sort((a, b) => a - b);
    for (const id of ids) {
      const hn = this.nodes.get(id);
      const node = hn?.node;
      if (node === undefined) {
        out.push(`${id}: down`);
        continue;
      }
      const s = node.status();
      const conf = `voters=${s.confState.voters.join(',')}${s.confState.learners.length > 0 ? ` learners=${s.confState.learners.join(',')}` : ''}`;
      out.push(
        `${id}: ${s.state} term=${s.term} lead=${s.lead} commit=${s.commit} applied=${s.applied} log=${s.firstIndex}..${s.lastIndex} ${conf}`,
      );
      for (const [pid, p] of [...s.progress].sort((a, b) => a[0] - b[0])) if (pid !== id) out.push(`  ${pid}: ${p}`);
    }
  }

  private cmdLog(args: string[], out: string[]): void {
    const hn = this.harnessNode(args[0]);
    const log = hn.node?.raft.log;
    if (log === undefined) throw new Error(`${hn.id} is down`);
    const ents = log.slice(log.firstIndex(), log.lastIndex() + 1, Number.POSITIVE_INFINITY) ?? [];
    out.push(`${hn.id}: ${ents.map(formatEntry).join(' ') || '(empty)'}`);
  }

  /** Handles every node's Ready until none has one, reporting role changes and applied entries. */
  private processAll(out: string[]): void {
    for (let progress = true; progress; ) {
      progress = false;
      for (const hn of [...this.nodes.values()].sort((a, b) => a.id - b.id)) {
        if (hn.node?.hasReady() === true) {
          this.handleReady(hn, hn.node, out);
          progress = true;
        }
      }
    }
  }

  private handleReady(hn: HarnessNode, node: RawNode, out: string[]): void {
    const rd = node.ready();
    if (rd.softState !== undefined) {
      const prev = hn.soft;
      const s = rd.softState;
      if (prev === undefined || prev.state !== s.state) out.push(`${hn.id} is ${s.state} at term ${node.raft.term}`);
      hn.soft = s;
    }
    if (rd.snapshot !== undefined) hn.storage.applySnapshot(rd.snapshot);
    hn.storage.append(rd.entries);
    if (rd.hardState !== undefined) hn.storage.setHardState(rd.hardState);
    this.queue.push(...rd.messages);
    if (rd.snapshot !== undefined) this.applySnapshot(hn, rd.snapshot, out);
    for (const e of rd.committedEntries) this.applyEntry(hn, node, e, out);
    for (const rs of rd.readStates) out.push(`${hn.id} read ${rs.context} at index ${rs.index}`);
    node.advance();
  }

  private applySnapshot(hn: HarnessNode, snap: Snapshot, out: string[]): void {
    hn.applied = decodeState(snap.data);
    hn.appliedIndex = snap.metadata.index;
    hn.confState = snap.metadata.confState;
    out.push(`${hn.id} installed snapshot ${snap.metadata.index}/${snap.metadata.term}`);
  }

  private applyEntry(hn: HarnessNode, node: RawNode, e: Entry, out: string[]): void {
    hn.appliedIndex = e.index;
    if (e.type === 'confChange') {
      const cc = decodeConfChange(e.data);
      hn.confState = node.applyConfChange(cc);
      hn.applied.push(`conf:${cc.type}:${cc.nodeId}`);
      out.push(`${hn.id} applied ${e.index}/${e.term} ${cc.type} ${cc.nodeId}`);
      return;
    }
    const data = text.decode(e.data);
    hn.applied.push(data);
    if (data.length > 0) out.push(`${hn.id} applied ${e.index}/${e.term} ${data}`);
  }

  private cut(a: NodeId, b: NodeId): boolean {
    if (this.groups === undefined) return false;
    const ga = this.groups.findIndex((g) => g.includes(a));
    const gb = this.groups.findIndex((g) => g.includes(b));
    return ga !== gb;
  }

  private liveIds(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.node !== undefined).map((n) => n.id).sort((a, b) => a - b);
  }

  private harnessNode(arg: string | undefined): HarnessNode {
    const hn = this.nodes.get(Number(arg));
    if (hn === undefined) throw new Error(`no node ${arg}`);
    return hn;
  }

  private raw(arg: string | undefined): RawNode {
    const node = this.harnessNode(arg).node;
    if (node === undefined) throw new Error(`node ${arg} is down`);
    return node;
  }
}

interface Filter {
  from?: NodeId;
  to?: NodeId;
  type?: string;
  rounds?: number;
}

function parseFilter(args: string[]): Filter {
  const f: Filter = {};
  for (const a of args) {
    const [k, v] = a.split('=');
    if (v === undefined) continue;
    if (k === 'from') f.from = Number(v);
    else if (k === 'to') f.to = Number(v);
    else if (k === 'type') f.type = v;
    else if (k === 'rounds') f.rounds = Number(v);
    else throw new Error(`unknown filter ${k}`);
  }
  return f;
}

function matches(f: Filter, m: Message): boolean {
  return (
    (f.from === undefined || m.from === f.from) &&
    (f.to === undefined || m.to === f.to) &&
    (f.type === undefined || m.type === f.type)
  );
}

function parseGroups(args: string[]): NodeId[][] {
  const groups: NodeId[][] = [[]];
  for (const a of args) {
    if (a === '|') groups.push([]);
    else groups[groups.length - 1]?.push(Number(a));
  }
  return groups;
}

function parseConfChange(args: string[]): ConfChange {
  const [kind, id] = args;
  const nodeId = Number(id);
  switch (kind) {
    case 'add-voter':
      return { type: 'addVoter', nodeId };
    case 'add-learner':
      return { type: 'addLearner', nodeId };
    case 'remove':
      return { type: 'removeNode', nodeId };
    default:
      throw new Error(`unknown conf change ${kind}`);
  }
}

/** The snapshot a bootstrapped cluster starts from: index 1, term 1, the initial members. */
function bootstrapSnapshot(confState: ConfState): Snapshot {
  return { metadata: { index: 1, term: 1, confState }, data: encodeState([]) };
}

function encodeState(applied: string[]): Uint8Array {
  return bytes.encode(JSON.stringify(applied));
}

function decodeState(data: Uint8Array): string[] {
  if (data.byteLength === 0) return [];
  return JSON.parse(text.decode(data)) as string[];
}

function formatEntry(e: Entry): string {
  if (e.type === 'confChange') {
    const cc = decodeConfChange(e.data);
    return `${e.index}/${e.term}:${cc.type}(${cc.nodeId})`;
  }
  const data = text.decode(e.data);
  return data.length > 0 ? `${e.index}/${e.term}:${data}` : `${e.index}/${e.term}`;
}

/** One message as a line: `1->2 app term=2 index=3 logTerm=2 commit=3 entries=[4/2:foo]`. */
export function formatMessage(m: Message): string {
  const parts = [`${m.from}->${m.to} ${m.type} term=${m.term}`];
  switch (m.type) {
    case 'app':
      parts.push(`index=${m.index} logTerm=${m.logTerm} commit=${m.commit} entries=[${m.entries.map(formatEntry).join(' ')}]`);
      break;
    case 'appResp':
      parts.push(m.reject ? `index=${m.index} reject hint=${m.rejectHint} hintTerm=${m.logTerm}` : `index=${m.index}`);
      break;
    case 'vote':
    case 'preVote':
      parts.push(`index=${m.index} logTerm=${m.logTerm}${m.context !== undefined ? ` ${m.context}` : ''}`);
      break;
    case 'voteResp':
    case 'preVoteResp':
      parts.push(m.reject ? 'rejected' : 'granted');
      break;
    case 'heartbeat':
      parts.push(`commit=${m.commit}`);
      break;
    case 'snap':
      parts.push(`snapshot=${m.snapshot?.metadata.index}/${m.snapshot?.metadata.term}`);
      break;
    case 'readIndexResp':
      parts.push(`index=${m.index}`);
      break;
    default:
      break;
  }
  if (m.context !== undefined && (m.type === 'heartbeat' || m.type === 'heartbeatResp' || m.type.startsWith('readIndex'))) {
    parts.push(`ctx=${m.context}`);
  }
  return parts.join(' ');
}
