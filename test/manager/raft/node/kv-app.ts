/** A tiny replicated key-value map for raft node tests and benchmarks: payload "key=value". */
import type { Application } from '../../../../manager/raft/node/raft-node.js';

export class KvApp implements Application {
  readonly data = new Map<string, string>();
  applied = 0;

  apply(index: number, payload: Uint8Array): unknown {
    const text = new TextDecoder().decode(payload);
    const eq = text.indexOf('=');
    this.data.set(text.slice(0, eq), text.slice(eq + 1));
    this.applied = index;
    return index;
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify([...this.data]));
  }

  restore(data: Uint8Array): void {
    this.data.clear();
    if (data.length === 0) return;
    for (const [k, v] of JSON.parse(new TextDecoder().decode(data)) as [string, string][]) this.data.set(k, v);
  }
}
