/**
 * The simulator's replicated state machine: a string key-value store with a per-client session
 * table, so a request applied twice (a duplicated forwarded proposal) takes effect once.
 */

const text = new TextDecoder();
const bytes = new TextEncoder();

/** A client write as carried in an entry. */
export interface PutCommand {
  readonly client: number;
  readonly request: number;
  readonly key: string;
  readonly value: string;
}

/** Encodes a put for the log. */
export function encodePut(cmd: PutCommand): Uint8Array {
  return bytes.encode(JSON.stringify(cmd));
}

/** Decodes entry data; undefined for the empty entries leaders append. */
export function decodePut(data: Uint8Array): PutCommand | undefined {
  if (data.byteLength === 0) return undefined;
  return JSON.parse(text.decode(data)) as PutCommand;
}

/** What applying a put did. */
export type ApplyOutcome = 'applied' | 'duplicate';

/** The key-value state machine of one node. */
export class KvStore {
  private readonly values = new Map<string, string>();
  /** Highest request number applied per client. */
  private readonly sessions = new Map<number, number>();

  /** Applies a put unless its request (or a later one of the same client) was applied already. */
  apply(cmd: PutCommand): ApplyOutcome {
    const last = this.sessions.get(cmd.client) ?? -1;
    if (cmd.request <= last) return 'duplicate';
    this.sessions.set(cmd.client, cmd.request);
    this.values.set(cmd.key, cmd.value);
    return 'applied';
  }

  /** The value of `key` ('' when never written). */
  get(key: string): string {
    return this.values.get(key) ?? '';
  }

  /** The state as snapshot bytes. */
  encode(): Uint8Array {
    return bytes.encode(JSON.stringify({ values: [...this.values], sessions: [...this.sessions] }));
  }

  /** A store restored from snapshot bytes (empty bytes: an empty store). */
  static decode(data: Uint8Array): KvStore {
    const kv = new KvStore();
    if (data.byteLength === 0) return kv;
    const parsed = JSON.parse(text.decode(data)) as { values: [string, string][]; sessions: [number, number][] };
    for (const [k, v] of parsed.values) kv.values.set(k, v);
    for (const [c, r] of parsed.sessions) kv.sessions.set(c, r);
    return kv;
  }
}
