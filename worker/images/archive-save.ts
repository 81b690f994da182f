/**
 * `image save`: a docker-save tarball (manifest.json, `<config hex>.json`, `<diff id hex>/layer.tar`
 * uncompressed, `repositories`) that `docker load` and `skopeo inspect docker-archive:` accept.
 * Staged in a temp dir of the store, written by the system tar with fixed mtimes and owners, and
 * renamed into place only when complete.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { runCommand } from '../../lib/run-command.js';
import { digestHex } from './digest.js';
import type { ImageStore } from './image-store.js';
import { familiarReference, familiarRepository, parseReference } from './reference.js';
import type { ImageRecord } from './store-state.js';
import { fileCompression } from './unpack.js';

/** Longest time tar may take to write the archive, in milliseconds. */
export const archiveWriteTimeoutMs = 10 * 60_000;

/** One image to save with the tags to record for it (fully qualified). */
export interface SaveItem {
  readonly image: ImageRecord;
  readonly tags: readonly string[];
}

/** The manifest.json entries and repositories file of a docker-save archive (pure). */
export function dockerSaveIndex(items: readonly SaveItem[]): { manifest: unknown[]; repositories: Record<string, Record<string, string>> } {
  const repositories: Record<string, Record<string, string>> = {};
  const manifest = items.map(({ image, tags }) => {
    const layers = image.layers.map((l) => `${digestHex(l.diffId)}/layer.tar`);
    const top = image.layers.at(-1);
    const repoTags = tags.map((t) => familiarReference(parseReference(t)));
    for (const t of tags) {
      const ref = parseReference(t);
      if (top && ref.tag !== undefined) (repositories[familiarRepository(ref)] ??= {})[ref.tag] = digestHex(top.diffId);
    }
    return { Config: `${digestHex(image.configDigest)}.json`, RepoTags: repoTags, Layers: layers };
  });
  return { manifest, repositories };
}

/** Writes the docker-save tarball of `items` to `out` (lock held by the caller). */
export async function saveArchive(store: ImageStore, items: readonly SaveItem[], out: string): Promise<void> {
  const stage = store.blobs.tempPath('save');
  const partial = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  await mkdir(stage);
  try {
    const files = new Set<string>(['manifest.json', 'repositories']);
    for (const { image } of items) {
      const configName = `${digestHex(image.configDigest)}.json`;
      if (!files.has(configName)) {
        await writeFile(join(stage, configName), await store.blobs.readBytes(image.configDigest, 'image config'));
        files.add(configName);
      }
      for (const layer of image.layers) {
        const name = `${digestHex(layer.diffId)}/layer.tar`;
        if (files.has(name)) continue;
        await mkdir(join(stage, digestHex(layer.diffId)), { recursive: true });
        const src = store.blobs.path(layer.digest);
        const compression = await fileCompression(src);
        if (compression === 'none') await link(src, join(stage, name));
        else if (compression === 'gzip') await pipeline(createReadStream(src), createGunzip(), createWriteStream(join(stage, name)));
        else await runCommand('sh', ['-c', 'zstd -d -c -q "$1" > "$2"', 'zstd', src, join(stage, name)], { timeoutMs: archiveWriteTimeoutMs });
        files.add(name);
      }
    }
    const { manifest, repositories } = dockerSaveIndex(items);
    await writeFile(join(stage, 'manifest.json'), JSON.stringify(manifest));
    await writeFile(join(stage, 'repositories'), JSON.stringify(repositories));
    const names = [...files].sort();
    await runCommand('tar', ['-cf', partial, '--format=gnu', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', stage, '--', ...names], {
      timeoutMs: archiveWriteTimeoutMs,
    }).catch((err: unknown) => {
      throw new TsswarmError(ErrorCode.EXTERNAL, `cannot write ${out}: ${err instanceof Error ? err.message : String(err)}`);
    });
    await rename(partial, out);
  } finally {
    await rm(stage, { recursive: true, force: true });
    await rm(partial, { force: true });
  }
}
