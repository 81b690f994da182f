/**
 * The simulator's network: every message gets a delivery tick; it may be dropped, delayed,
 * duplicated or reordered, and partitions (symmetric groups or one-way blocked links) cut it at
 * delivery time. All choices come from the seeded Rng.
 */
import type { Rng } from '../../../lib/rng.js';
import type { Message, NodeId } from '../../../manager/raft/index.js';

/** How hostile the network currently is. */
export interface NetworkConditions {
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice. */
  duplicateRate: number;
  /** Delivery delay range in ticks (at least 1). */
  minDelayTicks: number;
  maxDelayTicks: number;
}

/** A calm network: no loss, short delays. */
export const calmNetwork: NetworkConditions = { dropRate: 0, duplicateRate: 0, minDelayTicks: 1, maxDelayTicks: 2 };

interface InFlight {
  readonly dueTick: number;
  readonly message: Message;
}

/** What happened to a message at delivery time. */
export type Delivery = { readonly kind: 'deliver'; readonly message: Message } | { readonly kind: 'cut'; readonly message: Message };

/** Messages in flight between simulated nodes. */
export class SimNetwork {
  conditions: NetworkConditions = { ...calmNetwork };
  private inFlight: InFlight[] = [];
  /** Symmetric partition: node → group number; nodes in different groups cannot talk. */
  private groups = new Map<NodeId, number>();
  /** One-way cuts, as "from->to". */
  private blocked = new Set<string>();
  private readonly rng: Rng;
  /** Messages sent, dropped on send, and cut at delivery (for stats). */
  readonly stats = { sent: 0, dropped: 0, duplicated: 0, cut: 0 };

  constructor(rng: Rng) {
    this.rng = rng;
  }

  /** Queues a message sent at tick `now`; returns false when it was dropped on the spot. */
  send(message: Message, now: number): boolean {
    this.stats.sent++;
    if (this.rng.chance(this.conditions.dropRate)) {
      this.stats.dropped++;
      return false;
    }
    this.inFlight.push({ dueTick: now + this.delay(), message });
    if (this.rng.chance(this.conditions.duplicateRate)) {
      this.stats.duplicated++;
      this.inFlight.push({ dueTick: now + this.delay(), message });
    }
    return true;
  }

  /** Takes every message due by tick `now`, in random order, with the partition verdict. */
  due(now: number): Delivery[] {
    const ready = this.inFlight.filter((f) => f.dueTick <= now);
    if (ready.length === 0) return [];
    this.inFlight = this.inFlight.filter((f) => f.dueTick > now);
    return this.rng.shuffle(ready).map((f) => {
      if (this.isCut(f.message.from, f.message.to)) {
        this.stats.cut++;
        return { kind: 'cut', message: f.message };
      }
      return { kind: 'deliver', message: f.message };
    });
  }

  /**
   * A sender crashed: each message it sent that is still in flight was, with probability
   * `lossChance`, still in its send buffer and is lost with it. Returns the lost messages.
   */
  loseFrom(sender: NodeId, lossChance: number): Message[] {
    const lost: Message[] = [];
    this.inFlight = this.inFlight.filter((f) => {
      if (f.message.from !== sender || !this.rng.chance(lossChance)) return true;
      lost.push(f.message);
      return false;
    });
    this.stats.dropped += lost.length;
    return lost;
  }

  /** Splits nodes into groups that cannot reach each other. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.groups.clear();
    groups.forEach((g, i) => {
      for (const id of g) this.groups.set(id, i);
    });
  }

  /** Blocks messages from `from` to `to` (one way). */
  block(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}->${to}`);
  }

  /** Removes every partition and blocked link. */
  heal(): void {
    this.groups.clear();
    this.blocked.clear();
  }

  /** A one-line description of the current cuts, for verbose output. */
  describeCuts(): string {
    const groups = new Map<number, NodeId[]>();
    for (const [id, g] of this.groups) groups.set(g, [...(groups.get(g) ?? []), id]);
    const parts = [...groups.values()].map((g) => g.sort((a, b) => a - b).join(' '));
    const sym = parts.length > 0 ? parts.join(' | ') : 'none';
    return `partition ${sym}; blocked ${[...this.blocked].sort().join(',') || 'none'}`;
  }

  /** Number of messages in flight. */
  pending(): number {
    return this.inFlight.length;
  }

  private isCut(from: NodeId, to: NodeId): boolean {
    if (this.blocked.has(`${from}->${to}`)) return true;
    const a = this.groups.get(from);
    const b = this.groups.get(to);
    return a !== undefined && b !== undefined && a !== b;
  }

  private delay(): number {
    const { minDelayTicks, maxDelayTicks } = this.conditions;
    return this.rng.range(Math.max(1, minDelayTicks), Math.max(1, minDelayTicks, maxDelayTicks));
  }
}
