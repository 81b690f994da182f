/**
 * Safety properties the simulator checks while it runs (Raft paper, figure 3), fed by events from
 * the cluster. A broken property throws SimViolation, which ends the seed.
 */
import type { Entry, NodeId, RaftLog } from '../../../manager/raft/index.js';

const text = new TextDecoder();

/** The name of a checked property. */
export type CheckName =
  | 'election safety'
  | 'log matching'
  | 'leader completeness'
  | 'state machine safety'
  | 'acknowledged write lost'
  | 'liveness'
  | 'linearizability'
  | 'assertion';

/** A property did not hold. */
export class SimViolation extends Error {
  override readonly name = 'SimViolation';
  readonly check: CheckName;

  constructor(check: CheckName, message: string) {
    super(`${check}: ${message}`);
    this.check = check;
  }
}

/** A write a client saw acknowledged, and where it landed. */
export interface AckedWrite {
  readonly index: number;
  readonly term: number;
  readonly description: string;
  /** The highest term any node had reached when the ack was seen; leaders of later terms must hold the write. */
  readonly ackedInTerm: number;
}

function entryKey(e: Entry): string {
  return `${e.term}:${e.type}:${text.decode(e.data)}`;
}

/** Incremental checks over everything the nodes persist, apply and become. */
export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** "index/term" → content and the term of the entry before it, as first persisted anywhere. */
  private readonly persisted = new Map<string, { content: string; prevTerm: number | undefined }>();
  /** Index → the entry applied there (by whichever node applied it first). */
  private readonly applied = new Map<number, { key: string; node: NodeId }>();
  private readonly ackedWrites: AckedWrite[] = [];

  /** Election safety: at most one leader per term. Returns true the first time (term, id) is seen. */
  observeLeader(term: number, id: NodeId): boolean {
    const known = this.leaderOfTerm.get(term);
    if (known === undefined) {
      this.leaderOfTerm.set(term, id);
      return true;
    }
    if (known !== id) throw new SimViolation('election safety', `term ${term} has leaders ${known} and ${id}`);
    return false;
  }

  /**
   * Log matching, checked as entries reach storage: the same (index, term) anywhere must carry the
   * same content and follow an entry of the same term. By induction, logs that share an entry
   * share the whole prefix.
   */
  observePersisted(node: NodeId, entries: readonly Entry[], termAt: (index: number) => number | undefined): void {
    for (const e of entries) {
      const id = `${e.index}/${e.term}`;
      const content = entryKey(e);
      const prevTerm = termAt(e.index - 1);
      const known = this.persisted.get(id);
      if (known === undefined) {
        this.persisted.set(id, { content, prevTerm });
        continue;
      }
      if (known.content !== content) {
        throw new SimViolation('log matching', `node ${node} persisted ${id} with different content`);
      }
      if (known.prevTerm !== undefined && prevTerm !== undefined && known.prevTerm !== prevTerm) {
        throw new SimViolation('log matching', `node ${node} has ${id} after term ${prevTerm}, others after ${known.prevTerm}`);
      }
    }
  }

  /** State machine safety: no two nodes apply different entries at one index. */
  observeApplied(node: NodeId, entry: Entry): void {
    const key = entryKey(entry);
    const known = this.applied.get(entry.index);
    if (known === undefined) {
      this.applied.set(entry.index, { key, node });
      return;
    }
    if (known.key !== key) {
      throw new SimViolation(
        'state machine safety',
        `node ${node} applied ${entry.index}/${entry.term} but node ${known.node} applied a different entry there`,
      );
    }
  }

  /** Leader completeness: a new leader's log holds every entry applied (so committed) anywhere. */
  checkLeaderCompleteness(id: NodeId, term: number, log: RaftLog): void {
    const first = log.firstIndex();
    for (const [index, { key }] of this.applied) {
      if (index < first) continue;
      const committedTerm = Number(key.slice(0, key.indexOf(':')));
      if (committedTerm >= term) continue;
      const ours = log.term(index);
      if (ours !== committedTerm) {
        throw new SimViolation(
          'leader completeness',
          `leader ${id} of term ${term} has term ${ours ?? 'none'} at ${index}, committed entry has term ${committedTerm}`,
        );
      }
    }
  }

  /** Records a write a client saw acknowledged. */
  recordAck(write: AckedWrite): void {
    this.ackedWrites.push(write);
  }

  /**
   * Every acknowledged write is in the log of a leader elected after the ack (or below its
   * snapshot point). A stale leader of an older term may lack it legitimately.
   */
  checkAckedWrites(id: NodeId, term: number, log: RaftLog): void {
    const first = log.firstIndex();
    for (const w of this.ackedWrites) {
      if (w.index < first || w.ackedInTerm >= term) continue;
      const ours = log.term(w.index);
      if (ours !== w.term) {
        throw new SimViolation(
          'acknowledged write lost',
          `${w.description} was acknowledged at ${w.index}/${w.term}; leader ${id} has term ${ours ?? 'none'} there`,
        );
      }
    }
  }

  /** Number of writes acknowledged so far. */
  ackCount(): number {
    return this.ackedWrites.length;
  }
}
