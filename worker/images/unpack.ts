/**
 * Unpacks one layer blob (gzip, zstd or plain tar) into a directory ready to be an overlayfs
 * lowerdir: decompression in Node (zstd through the `zstd` tool), whiteouts rewritten by
 * LayerRewriter, extraction by the system `tar` (which refuses `..` and absolute paths and defers
 * dangerous symlinks). The diff ID of the uncompressed stream is checked when one is expected.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { digestMismatch } from './digest.js';
import { LayerRewriter } from './layer-rewriter.js';

/** How a blob's bytes are compressed. */
export type Compression = 'gzip' | 'zstd' | 'none';

/** Largest stderr kept from tar, in bytes. */
const maxToolStderrBytes = 64 * 1024;

/** Detects the compression of a blob from its first bytes (pure). */
export function sniffCompression(head: Uint8Array): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** Reads the compression of the file at `path`. */
export async function fileCompression(path: string): Promise<Compression> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    return sniffCompression(head);
  } finally {
    await fh.close();
  }
}

/** What unpacking found. */
export interface UnpackResult {
  /** Digest of the uncompressed tar. */
  readonly diffId: string;
  /** Uncompressed size in bytes. */
  readonly size: number;
}

/** A child process's stdin with its stderr and exit collected. */
interface Tool {
  readonly stdin: Writable;
  readonly stdout: Readable | null;
  readonly done: Promise<void>;
}

function startTool(file: string, args: readonly string[], withStdout: boolean): Tool {
  const child = spawn(file, args, { stdio: ['pipe', withStdout ? 'pipe' : 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < maxToolStderrBytes) stderr += d.toString('utf8');
  });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) =>
      reject(new TsswarmError((err as NodeJS.ErrnoException).code === 'ENOENT' ? ErrorCode.UNSUPPORTED : ErrorCode.EXTERNAL, `${file}: ${err.message}`)),
    );
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new TsswarmError(ErrorCode.EXTERNAL, `${file} ${args.join(' ')}: ${stderr.trim().split('\n').slice(-3).join('; ') || `exit code ${code}`}`));
    });
  });
  done.catch(() => undefined);
  if (child.stdin === null) throw new TsswarmError(ErrorCode.EXTERNAL, `${file}: no input stream`);
  return { stdin: child.stdin, stdout: child.stdout, done };
}

/**
 * Arguments of the extracting tar: owners and modes kept; of the xattrs only file capabilities,
 * `user.*` and overlayfs's opaque marker, so a layer cannot plant other `trusted.overlay.*`
 * attributes (redirects, metacopy) that would change what overlayfs shows.
 */
export const tarExtractArgs = (dest: string): string[] => [
  '-x',
  '-f',
  '-',
  '-C',
  dest,
  '--numeric-owner',
  '--same-owner',
  '--same-permissions',
  '--xattrs',
  '--xattrs-include=security.capability',
  '--xattrs-include=user.*',
  '--xattrs-include=trusted.overlay.opaque',
];

/**
 * tar's stdin as the end of a pipeline that always reads the layer to its end: GNU tar may exit as
 * soon as it reads the end-of-archive blocks, before the padding after them arrives, which would end
 * the pipeline with "Premature close" (and leave the diff ID unfinished). Whatever tar no longer
 * takes is dropped; whether tar succeeded is told by its exit status.
 */
function tarSink(stdin: Writable): Writable {
  let closed = false;
  let waiting: (() => void) | undefined;
  const release = (): void => {
    closed = true;
    const cb = waiting;
    waiting = undefined;
    cb?.();
  };
  stdin.on('error', release);
  stdin.on('close', release);
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (closed) return callback();
      if (stdin.write(chunk)) return callback();
      waiting = callback;
      stdin.once('drain', () => {
        if (waiting === callback) {
          waiting = undefined;
          callback();
        }
      });
    },
    final(callback) {
      if (closed) return callback();
      stdin.end(() => callback());
    },
    // The pipeline failed upstream (bad data): close tar's input so that it stops too.
    destroy(err, callback) {
      if (!closed) stdin.destroy();
      callback(err);
    },
  });
}

/**
 * Unpacks `blobPath` into the existing empty directory `dest`. Throws CORRUPT when the content is
 * not a tar or its diff ID differs from `expectedDiffId`; the caller removes `dest` on failure.
 */
export async function unpackLayer(blobPath: string, dest: string, expectedDiffId?: string): Promise<UnpackResult> {
  const compression = await fileCompression(blobPath);
  return unpackStream(createReadStream(blobPath, { highWaterMark: 1024 * 1024 }), compression, dest, expectedDiffId, blobPath);
}

/**
 * Unpacks a layer arriving as a stream (compressed as `compression`) into the existing empty
 * directory `dest`. Used to unpack a layer while it downloads; the caller verifies the blob digest
 * afterwards and discards `dest` when it does not match.
 */
export async function unpackStream(source: Readable, compression: Compression, dest: string, expectedDiffId: string | undefined, what: string): Promise<UnpackResult> {
  const rewriter = new LayerRewriter();
  const tar = startTool('tar', tarExtractArgs(dest), false);
  const tarIn = tarSink(tar.stdin);
  let streamError: unknown;
  try {
    if (compression === 'gzip') {
      await pipeline(source, createGunzip({ chunkSize: 256 * 1024 }), rewriter, tarIn);
    } else if (compression === 'zstd') {
      const zstd = startTool('zstd', ['-d', '-c', '-q'], true);
      const feed = pipeline(source, zstd.stdin);
      const stdout = zstd.stdout;
      if (stdout === null) throw new TsswarmError(ErrorCode.EXTERNAL, 'zstd: no output stream');
      await Promise.all([feed, pipeline(stdout, rewriter, tarIn), zstd.done]);
    } else {
      await pipeline(source, rewriter, tarIn);
    }
  } catch (err) {
    streamError = err;
  }
  const tarError = await tar.done.then(
    () => undefined,
    (err: unknown) => err,
  );
  // Corruption found in the stream explains everything after it; otherwise tar's own message beats
  // the EPIPE of the stream that was feeding it.
  if (streamError instanceof TsswarmError) throw streamError;
  const code = (streamError as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    throw new TsswarmError(ErrorCode.CORRUPT, `layer ${what}: bad compressed data (${(streamError as Error).message})`);
  }
  if (tarError !== undefined) throw tarError;
  if (streamError !== undefined) throw new TsswarmError(ErrorCode.EXTERNAL, `unpacking ${what}: ${(streamError as Error).message}`);
  if (expectedDiffId !== undefined && rewriter.diffId !== expectedDiffId) {
    throw digestMismatch('layer diff ID', expectedDiffId, rewriter.diffId);
  }
  return { diffId: rewriter.diffId, size: rewriter.bytes };
}
