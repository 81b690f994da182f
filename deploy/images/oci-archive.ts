/**
 * Builds OCI-layout tarballs from root filesystem directories, deterministically: every tar is
 * written by GNU tar with sorted names, fixed mtimes and numeric root ownership, and gzip output
 * carries no timestamp, so the same inputs give the same bytes (and digests) on every machine.
 * Used by the busybox test image script and by tests and benchmarks that need images.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { runCommand } from '../../lib/run-command.js';

/** What the image config says about how to run it. */
export interface OciRuntimeSpec {
  readonly env?: readonly string[];
  readonly cmd?: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly workingDir?: string;
  readonly exposedPorts?: readonly string[];
}

/** The image to build. */
export interface OciArchiveSpec {
  /** Root filesystem directories, one per layer, lowest first. */
  readonly layerDirs: readonly string[];
  /** Full reference for the `io.containerd.image.name` annotation, e.g. docker.io/library/busybox:latest. */
  readonly name: string;
  /** Tag for the `org.opencontainers.image.ref.name` annotation. */
  readonly tag: string;
  readonly runtime: OciRuntimeSpec;
  /** Seconds since the epoch used for every mtime and for `created`. */
  readonly epochSeconds: number;
  /** gzip level of the layers (1 fast … 9 small). */
  readonly gzipLevel?: number;
  /** Where to write the tarball. */
  readonly out: string;
}

/** Digests of what was built. */
export interface OciArchiveResult {
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly layerDigests: readonly string[];
  readonly diffIds: readonly string[];
}

/** GNU tar flags that make archives reproducible. */
export function deterministicTarFlags(epochSeconds: number): string[] {
  return ['--format=gnu', '--sort=name', `--mtime=@${epochSeconds}`, '--owner=0', '--group=0', '--numeric-owner'];
}

/** Longest a tar of one layer may take, in milliseconds. */
const tarTimeoutMs = 5 * 60_000;

class HashTap extends Transform {
  private readonly h = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.h.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  digest(): string {
    return `sha256:${this.h.digest('hex')}`;
  }
}

async function writeBlob(blobDir: string, data: string): Promise<{ digest: string; size: number }> {
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  await writeFile(join(blobDir, digest.slice(7)), data);
  return { digest, size: Buffer.byteLength(data) };
}

/** Builds the OCI-layout tarball described by `spec`. */
export async function buildOciArchive(spec: OciArchiveSpec): Promise<OciArchiveResult> {
  const work = await mkdtemp(join(tmpdir(), 'tsswarm-ociarchive-'));
  try {
    const layout = join(work, 'layout');
    const blobDir = join(layout, 'blobs', 'sha256');
    await mkdir(blobDir, { recursive: true });
    const layers: { digest: string; size: number; diffId: string }[] = [];
    for (const [i, dir] of spec.layerDirs.entries()) {
      const rawTar = join(work, `layer-${i}.tar`);
      const entries = (await readdir(dir)).sort();
      await runCommand('tar', ['-cf', rawTar, ...deterministicTarFlags(spec.epochSeconds), '-C', dir, '--', ...entries], { timeoutMs: tarTimeoutMs });
      const diffTap = new HashTap();
      const blobTap = new HashTap();
      const tmpBlob = join(work, `layer-${i}.tar.gz`);
      await pipeline(createReadStream(rawTar), diffTap, createGzip({ level: spec.gzipLevel ?? 9 }), blobTap, createWriteStream(tmpBlob));
      const digest = blobTap.digest();
      await rename(tmpBlob, join(blobDir, digest.slice(7)));
      await rm(rawTar);
      layers.push({ digest, size: blobTap.bytes, diffId: diffTap.digest() });
    }
    const created = new Date(spec.epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
    const runtime: Record<string, unknown> = {};
    if (spec.runtime.env) runtime['Env'] = spec.runtime.env;
    if (spec.runtime.entrypoint) runtime['Entrypoint'] = spec.runtime.entrypoint;
    if (spec.runtime.cmd) runtime['Cmd'] = spec.runtime.cmd;
    if (spec.runtime.workingDir !== undefined) runtime['WorkingDir'] = spec.runtime.workingDir;
    if (spec.runtime.exposedPorts) runtime['ExposedPorts'] = Object.fromEntries(spec.runtime.exposedPorts.map((p) => [p, {}]));
    const config = JSON.stringify({
      created,
      architecture: 'amd64',
      os: 'linux',
      config: runtime,
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((_, i) => ({ created, created_by: `deploy/images layer ${i}` })),
    });
    const configBlob = await writeBlob(blobDir, config);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configBlob.digest, size: configBlob.size },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
    });
    const manifestBlob = await writeBlob(blobDir, manifest);
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifestBlob.digest,
          size: manifestBlob.size,
          annotations: { 'io.containerd.image.name': spec.name, 'org.opencontainers.image.ref.name': spec.tag },
        },
      ],
    });
    await writeFile(join(layout, 'index.json'), index);
    await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await mkdir(dirname(spec.out), { recursive: true });
    await runCommand('tar', ['-cf', spec.out, ...deterministicTarFlags(spec.epochSeconds), '-C', layout, 'blobs', 'index.json', 'oci-layout'], {
      timeoutMs: tarTimeoutMs,
    });
    return {
      manifestDigest: manifestBlob.digest,
      configDigest: configBlob.digest,
      layerDigests: layers.map((l) => l.digest),
      diffIds: layers.map((l) => l.diffId),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
