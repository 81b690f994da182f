/**
 * A tiny replicated key-value map for raft node tests and benchmarks: payload "key=value".
 *
 * Its snapshot is written straight into one buffer (u32 LE count, then per pair u32 LE key length,
 * key, u32 LE value length, value; UTF-8), as the manager's store encodes its own with protobuf: a
 * JSON text of the whole map first and its UTF-8 bytes after would be two more copies of the live
 * data per snapshot (one of them a string as large as the map in V8's heap), and the 1M-write
 * compaction benchmark takes a snapshot every 10,000 entries.
 */
import type { Application } from '../../../../manager/raft/node/raft-node.js';

const lengthBytes = 4;
const decoder = new TextDecoder();

export class KvApp implements Application {
  readonly data = new Map<string, string>();
  applied = 0;

  apply(index: number, payload: Uint8Array): unknown {
    const text = decoder.decode(payload);
    const eq = text.indexOf('=');
    this.data.set(text.slice(0, eq), text.slice(eq + 1));
    this.applied = index;
    return index;
  }

  snapshot(): Uint8Array {
    let size = lengthBytes;
    for (const [k, v] of this.data) size += 2 * lengthBytes + Buffer.byteLength(k) + Buffer.byteLength(v);
    const out = Buffer.allocUnsafeSlow(size);
    out.writeUInt32LE(this.data.size, 0);
    let at = lengthBytes;
    for (const [k, v] of this.data) {
      const kBytes = out.write(k, at + lengthBytes);
      out.writeUInt32LE(kBytes, at);
      at += lengthBytes + kBytes;
      const vBytes = out.write(v, at + lengthBytes);
      out.writeUInt32LE(vBytes, at);
      at += lengthBytes + vBytes;
    }
    return out;
  }

  restore(data: Uint8Array): void {
    this.data.clear();
    if (data.length === 0) return;
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const count = buf.readUInt32LE(0);
    let at = lengthBytes;
    for (let i = 0; i < count; i++) {
      const kEnd = at + lengthBytes + buf.readUInt32LE(at);
      const key = buf.toString('utf8', at + lengthBytes, kEnd);
      const vEnd = kEnd + lengthBytes + buf.readUInt32LE(kEnd);
      this.data.set(key, buf.toString('utf8', kEnd + lengthBytes, vEnd));
      at = vEnd;
    }
  }
}
