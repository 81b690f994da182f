/**
 * A streaming rewriter for uncompressed layer tarballs on their way to `tar -x`: whiteout entries
 * become overlayfs whiteouts (character device 0/0; opaque directories get the
 * `trusted.overlay.opaque=y` xattr as a PAX `SCHILY.xattr` record), everything else passes through
 * byte for byte, up to the end-of-archive marker. It also hashes its input, giving the layer's diff ID and uncompressed size.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import {
  TarType,
  encodePaxEntry,
  encodeTarHeader,
  isZeroBlock,
  paddedSize,
  parsePaxRecords,
  parseTarHeader,
  tarBlockBytes,
  type TarHeader,
} from './tar-header.js';
import { normaliseEntryPath, opaqueXattr, whiteoutAction } from './whiteout.js';

/** Largest PAX or GNU long-name header data we buffer, in bytes. */
export const maxTarMetadataBytes = 1024 * 1024;

type State =
  | { readonly kind: 'header' }
  | { readonly kind: 'data'; remaining: number; readonly emit: boolean }
  | { readonly kind: 'meta'; remaining: number; readonly header: Buffer; readonly typeflag: string; readonly parts: Buffer[] }
  | { readonly kind: 'tail' };

/** Transform stream: layer tar in, overlay-ready tar out. Read `diffId` and `bytes` after it ends. */
export class LayerRewriter extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private inputBytes = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private state: State = { kind: 'header' };
  /** Metadata blocks (PAX, GNU long names) waiting for the entry they describe. */
  private meta: Buffer[] = [];
  private paxPath: string | undefined;
  private longName: string | undefined;
  /** Header blocks of directories seen so far, by normalised path (for opaque markers). */
  private readonly dirs = new Map<string, TarHeader>();
  /** Number of whiteouts and opaque markers converted. */
  whiteouts = 0;

  /** `sha256:` digest of the uncompressed input (valid after 'finish'). */
  get diffId(): string {
    return this.finalDigest ?? '';
  }

  /** Uncompressed bytes read. */
  get bytes(): number {
    return this.inputBytes;
  }

  private finalDigest: string | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.inputBytes += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    try {
      this.drain();
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    this.finalDigest = `sha256:${this.hash.digest('hex')}`;
    if (this.state.kind === 'tail') {
      callback();
      return;
    }
    if (this.inputBytes === 0) {
      callback(new TsswarmError(ErrorCode.CORRUPT, 'layer tarball: empty (not a tar archive)'));
      return;
    }
    if (this.state.kind !== 'header' || this.pendingBytes !== 0) {
      callback(new TsswarmError(ErrorCode.CORRUPT, 'layer tarball: truncated'));
      return;
    }
    callback();
  }

  private takeBytes(n: number): Buffer {
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const first = this.pending[0];
      if (first === undefined) break;
      if (first.length <= need) {
        parts.push(first);
        this.pending.shift();
        need -= first.length;
      } else {
        parts.push(first.subarray(0, need));
        this.pending[0] = first.subarray(need);
        need = 0;
      }
    }
    this.pendingBytes -= n - need;
    return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts);
  }

  private drain(): void {
    for (;;) {
      const s = this.state;
      if (s.kind === 'tail') {
        // Past the end-of-archive marker: padding. Hashed (it is part of the diff ID), not passed
        // on, because tar may exit as soon as it has seen the marker.
        this.pending = [];
        this.pendingBytes = 0;
        return;
      }
      if (s.kind === 'data') {
        if (s.remaining === 0) {
          this.state = { kind: 'header' };
          continue;
        }
        if (this.pendingBytes === 0) return;
        const part = this.takeBytes(Math.min(s.remaining, this.pendingBytes));
        s.remaining -= part.length;
        if (s.emit) this.push(part);
        continue;
      }
      if (s.kind === 'meta') {
        if (s.remaining > 0) {
          if (this.pendingBytes === 0) return;
          const part = this.takeBytes(Math.min(s.remaining, this.pendingBytes));
          s.remaining -= part.length;
          s.parts.push(part);
          continue;
        }
        this.finishMeta(s.header, s.typeflag, Buffer.concat(s.parts));
        this.state = { kind: 'header' };
        continue;
      }
      if (this.pendingBytes < tarBlockBytes) return;
      const block = this.takeBytes(tarBlockBytes);
      if (isZeroBlock(block)) {
        this.push(Buffer.alloc(2 * tarBlockBytes));
        this.state = { kind: 'tail' };
        continue;
      }
      this.onHeader(block);
    }
  }

  private onHeader(block: Buffer): void {
    const header = parseTarHeader(block);
    const dataBytes = paddedSize(header.size);
    if (header.typeflag === TarType.paxHeader || header.typeflag === TarType.gnuLongName || header.typeflag === TarType.gnuLongLink) {
      if (dataBytes > maxTarMetadataBytes) throw new TsswarmError(ErrorCode.CORRUPT, `layer tarball: metadata entry larger than ${maxTarMetadataBytes} bytes`);
      this.state = { kind: 'meta', remaining: dataBytes, header: Buffer.from(block), typeflag: header.typeflag, parts: [] };
      return;
    }
    if (header.typeflag === TarType.paxGlobal) {
      this.push(block);
      this.state = { kind: 'data', remaining: dataBytes, emit: true };
      return;
    }
    const path = this.paxPath ?? this.longName ?? header.name;
    const action = whiteoutAction(path);
    const meta = this.meta;
    this.meta = [];
    this.paxPath = undefined;
    this.longName = undefined;
    if (action.kind === 'keep') {
      if (header.typeflag === TarType.directory) this.dirs.set(normaliseEntryPath(path), header);
      for (const m of meta) this.push(m);
      this.push(block);
      this.state = { kind: 'data', remaining: dataBytes, emit: true };
      return;
    }
    this.whiteouts++;
    if (action.kind === 'whiteout') {
      this.push(encodePaxEntry({ path: action.target }));
      this.push(
        encodeTarHeader({ name: action.target.slice(0, 99), mode: 0, uid: 0, gid: 0, size: 0, mtime: header.mtime, typeflag: TarType.charDevice, linkname: '', devmajor: 0, devminor: 0 }),
      );
    } else {
      const dirPath = action.dir === '' ? '.' : action.dir;
      const seen = this.dirs.get(action.dir);
      this.push(encodePaxEntry({ path: `${dirPath}/`, [`SCHILY.xattr.${opaqueXattr.name}`]: opaqueXattr.value }));
      this.push(
        encodeTarHeader({
          name: `${dirPath}/`.slice(0, 99),
          mode: seen?.mode ?? 0o755,
          uid: seen?.uid ?? 0,
          gid: seen?.gid ?? 0,
          size: 0,
          mtime: seen?.mtime ?? header.mtime,
          typeflag: TarType.directory,
          linkname: '',
          devmajor: 0,
          devminor: 0,
        }),
      );
    }
    this.state = { kind: 'data', remaining: dataBytes, emit: false };
  }

  private finishMeta(header: Buffer, typeflag: string, data: Buffer): void {
    this.meta.push(header, data);
    if (typeflag === TarType.paxHeader) {
      const records = parsePaxRecords(data);
      const path = records.get('path');
      if (path !== undefined) this.paxPath = path;
    } else if (typeflag === TarType.gnuLongName) {
      const nul = data.indexOf(0);
      this.longName = (nul >= 0 ? data.subarray(0, nul) : data).toString('utf8');
    }
  }
}
