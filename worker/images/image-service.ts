/**
 * ImageService: every image operation on one data dir (pull, push, list, inspect, remove, tag,
 * load, save, import, prune, login) plus what the executor needs (`layerDirs`, `runtimeConfig`).
 * The CLI uses it directly today; the daemon will wrap the same object behind its control socket.
 *
 * Every change runs under the store lock as a transaction: read the index, do the work, write the
 * new index atomically. When the work fails, what it copied in is garbage-collected against the
 * old index, so a refused or failed request leaves the store as it was.
 */
import { createHash } from 'node:crypto';
import { ErrorCode, TsswarmError, invalidArgument } from '../../lib/errors.js';
import { loadArchive } from './archive-load.js';
import { saveArchive, type SaveItem } from './archive-save.js';
import { loadCredentials, removeCredentials, saveCredentials, type Credentials } from './credentials.js';
import { parseImageConfig, type ImageConfig, type ImageRuntimeConfig } from './image-config.js';
import { ImageStore, type GcReport } from './image-store.js';
import { importRootfs } from './import-rootfs.js';
import { ignoreProgress, type ProgressListener } from './progress.js';
import { pullImage } from './pull.js';
import { pushImage, type PushResult } from './push.js';
import { familiarReference, familiarRepository, parseReference, repositoryName, type ImageReference } from './reference.js';
import { RegistryClient, type FetchFn } from './registry-client.js';
import { parseRegistryHost, validateInsecureRegistries } from './registry-policy.js';
import {
  danglingImages,
  putImage,
  removeImage,
  removeTag,
  resolveImage,
  setTag,
  tagKey,
  tagsOf,
  type ImageRecord,
  type StoreState,
} from './store-state.js';

/** How to build an ImageService. */
export interface ImageServiceOptions {
  readonly dataDir: string;
  /** `host[:port]` of plain-HTTP registries; only loopback and lab addresses are accepted. */
  readonly insecureRegistries?: readonly string[];
  /** Injected fetch (tests). */
  readonly fetch?: FetchFn;
  /** Injected clock (tests). */
  readonly now?: () => Date;
  /**
   * Names of the containers using an image (by image ID); the executor supplies it. An image in
   * use is not deleted by `remove` without `force`, nor by `prune`.
   */
  readonly usedBy?: (imageId: string) => Promise<readonly string[]>;
}

/** One row of `image ls`. */
export interface ImageSummary {
  readonly id: string;
  /** Familiar repository (`busybox`), or `<none>` for untagged images. */
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
  readonly created?: string;
  /** Uncompressed size of all layers, in bytes. */
  readonly size: number;
}

/** The outcome of `image rm` for one name. */
export interface RemoveReport {
  readonly untagged: readonly string[];
  readonly deleted: readonly string[];
}

/** Options of an operation that reports progress. */
export interface ProgressOptions {
  readonly onProgress?: ProgressListener;
}

/** Image operations on one data dir. */
/** How long resolveDigest waits for a registry. */
export const resolveDigestTimeoutMs = 5_000;

export class ImageService {
  readonly store: ImageStore;
  private readonly insecure: ReadonlySet<string>;
  private readonly now: () => Date;

  constructor(private readonly options: ImageServiceOptions) {
    this.store = new ImageStore(options.dataDir);
    this.insecure = validateInsecureRegistries(options.insecureRegistries ?? []);
    this.now = options.now ?? (() => new Date());
  }

  private async transaction<T>(work: (state: StoreState) => Promise<{ state: StoreState; result: T }>): Promise<T> {
    return this.store.locked(async () => {
      await this.store.clearPartial();
      const before = await this.store.readState();
      let after: StoreState;
      let result: T;
      try {
        ({ state: after, result } = await work(before));
        if (after !== before) await this.store.writeState(after);
      } catch (err) {
        await this.store.gc(before).catch(() => undefined);
        throw err;
      }
      return result;
    });
  }

  private async client(domain: string): Promise<RegistryClient> {
    const credentials = await loadCredentials(this.options.dataDir, domain);
    return new RegistryClient({
      host: domain,
      insecure: this.insecure,
      ...(credentials ? { credentials } : {}),
      ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
    });
  }

  /**
   * The digest the registry serves for `name` now, as `NAME:TAG@sha256:...` (a reference that
   * already names a digest is returned as it is). Fails with the registry's error or TIMEOUT.
   */
  async resolveDigest(name: string, timeoutMs = resolveDigestTimeoutMs): Promise<string> {
    const ref = parseReference(name);
    if (ref.digest !== undefined) return name;
    const client = await this.client(ref.domain);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TsswarmError(ErrorCode.TIMEOUT, `registry ${ref.domain} did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const manifest = await Promise.race([client.getManifest(ref.path, ref.tag ?? 'latest'), timeout]);
      const digest = `sha256:${createHash('sha256').update(manifest.bytes).digest('hex')}`;
      return `${name}@${digest}`;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Pulls `name` (tag or digest) from its registry; tags it locally when it named a tag. */
  async pull(name: string, options: ProgressOptions = {}): Promise<{ id: string; digest: string; reference: string; downloaded: boolean }> {
    const ref = parseReference(name);
    const client = await this.client(ref.domain);
    return this.transaction(async (state) => {
      const result = await pullImage(this.store, client, ref, { onProgress: options.onProgress ?? ignoreProgress, now: this.now() });
      const downloaded = !state.images[result.record.id];
      let next = putImage(state, result.record);
      if (ref.tag !== undefined) next = setTag(next, ref, result.record.id);
      return { state: next, result: { id: result.record.id, digest: result.digest, reference: familiarReference(ref), downloaded } };
    });
  }

  /** Pushes the local image tagged `name` to its registry. */
  async push(name: string, options: ProgressOptions = {}): Promise<PushResult & { reference: string }> {
    const ref = parseReference(name);
    if (ref.digest !== undefined) throw invalidArgument(`cannot push by digest (${name}): push a tag`);
    const client = await this.client(ref.domain);
    return this.transaction(async (state) => {
      const id = state.tags[tagKey(ref)];
      const image = id !== undefined ? state.images[id] : undefined;
      if (!image) throw new TsswarmError(ErrorCode.NOT_FOUND, `no such image: ${familiarReference(ref)} (tag an image with that name first)`);
      const result = await pushImage(this.store, client, image, ref, options.onProgress ?? ignoreProgress);
      const next = putImage(state, { ...image, repoDigests: [`${repositoryName(ref)}@${result.digest}`] });
      return { state: next, result: { ...result, reference: familiarReference(ref) } };
    });
  }

  /** Every image, one row per tag (untagged images once, as `<none>`), newest first. */
  async list(): Promise<ImageSummary[]> {
    await this.store.init();
    const state = await this.store.readState();
    const rows: ImageSummary[] = [];
    for (const image of Object.values(state.images)) {
      const size = image.layers.reduce((a, l) => a + l.unpackedSize, 0);
      const base = { id: image.id, digest: image.manifestDigest, size, ...(image.created !== undefined ? { created: image.created } : {}) };
      const tags = tagsOf(state, image.id);
      if (tags.length === 0) rows.push({ ...base, repository: '<none>', tag: '<none>' });
      for (const t of tags) {
        const ref = parseReference(t);
        rows.push({ ...base, repository: familiarRepository(ref), tag: ref.tag ?? '<none>' });
      }
    }
    return rows.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? '') || a.repository.localeCompare(b.repository) || a.tag.localeCompare(b.tag));
  }

  /** The record of the image `name` means (tag, digest reference or ID); NOT_FOUND otherwise. */
  async resolve(name: string): Promise<ImageRecord> {
    await this.store.init();
    const state = await this.store.readState();
    const image = state.images[resolveImage(state, name)];
    if (!image) throw new TsswarmError(ErrorCode.NOT_FOUND, `no such image: ${name}`);
    return image;
  }

  /** The parsed config of an image. */
  async config(name: string): Promise<ImageConfig> {
    const image = await this.resolve(name);
    return parseImageConfig(await this.store.blobs.readBytes(image.configDigest, 'image config'));
  }

  /** What the executor needs to start a container of `name`. */
  async runtimeConfig(name: string): Promise<ImageRuntimeConfig> {
    return (await this.config(name)).runtime;
  }

  /**
   * The unpacked layer directories of `name`, top-most first: ready to be joined with `:` into
   * overlayfs's `lowerdir=`. CORRUPT when one is missing from disk.
   */
  async layerDirs(name: string): Promise<string[]> {
    const image = await this.resolve(name);
    const dirs: string[] = [];
    for (const layer of [...image.layers].reverse()) {
      if (!(await this.store.hasLayer(layer.diffId))) {
        throw new TsswarmError(ErrorCode.CORRUPT, `layer ${layer.diffId} of image ${image.id} is missing from ${this.store.root} (pull or load the image again)`);
      }
      dirs.push(this.store.layerPath(layer.diffId));
    }
    return dirs;
  }

  /** `docker image inspect`-shaped details of one image. */
  async inspect(name: string): Promise<Record<string, unknown>> {
    const image = await this.resolve(name);
    const state = await this.store.readState();
    const raw = JSON.parse((await this.store.blobs.readBytes(image.configDigest, 'image config')).toString('utf8')) as Record<string, unknown>;
    const config = parseImageConfig(JSON.stringify(raw));
    const dirs = await this.layerDirs(image.id).catch(() => [] as string[]);
    return {
      Id: image.id,
      RepoTags: tagsOf(state, image.id).map((t) => familiarReference(parseReference(t))),
      RepoDigests: image.repoDigests.map((d) => familiarReference(parseReference(d))),
      Created: image.created ?? '',
      Author: config.author ?? '',
      Architecture: config.architecture,
      Os: config.os,
      Size: image.layers.reduce((a, l) => a + l.unpackedSize, 0),
      Config: raw['config'] ?? {},
      RootFS: { Type: 'layers', Layers: config.diffIds },
      Manifest: { Digest: image.manifestDigest, MediaType: image.manifestMediaType },
      Layers: image.layers.map((l) => ({ Digest: l.digest, MediaType: l.mediaType, Size: l.size, DiffID: l.diffId, UnpackedSize: l.unpackedSize })),
      GraphDriver: { Name: 'overlay', Data: { LowerDir: dirs.join(':') } },
      Metadata: { AddedAt: image.addedAt },
    };
  }

  /** Points `target` (a tag) at the image `source` names. */
  async tag(source: string, target: string): Promise<void> {
    const ref = parseReference(target);
    if (ref.digest !== undefined) throw invalidArgument(`cannot tag with a digest: ${target}`);
    await this.transaction(async (state) => ({ state: setTag(state, ref, resolveImage(state, source)), result: undefined }));
  }

  /**
   * Removes a tag, and the image when no tag is left; by ID (or digest) removes the image and all
   * its tags, which needs `force` when several repositories use it. Unreferenced blobs and layers
   * go with it.
   */
  async remove(name: string, options: { readonly force?: boolean } = {}): Promise<RemoveReport> {
    return this.transaction(async (state) => {
      const id = resolveImage(state, name);
      const byTag = isTagName(name, state);
      const untagged: string[] = [];
      const deleted: string[] = [];
      let next = state;
      if (byTag !== undefined) {
        next = removeTag(next, tagKey(byTag));
        untagged.push(familiarReference(byTag));
      } else {
        const tags = tagsOf(state, id);
        const repos = new Set(tags.map((t) => repositoryName(parseReference(t))));
        if (repos.size > 1 && options.force !== true) {
          throw new TsswarmError(ErrorCode.CONFLICT, `image ${id.slice(7, 19)} is referenced in ${repos.size} repositories (remove its tags, or use -f)`);
        }
        for (const t of tags) {
          untagged.push(familiarReference(parseReference(t)));
          next = removeTag(next, t);
        }
      }
      if (next.images[id] && tagsOf(next, id).length === 0) {
        // An image containers were made from keeps its layers (their root filesystems stand on
        // them): without -f the removal is refused; with -f the image is only untagged.
        const users = (await this.options.usedBy?.(id)) ?? [];
        if (users.length > 0 && options.force !== true) {
          throw new TsswarmError(ErrorCode.CONFLICT, `image ${id.slice(7, 19)} is used by container ${users.join(', ')} (remove the container first; -f only untags it)`);
        }
        if (users.length === 0) next = removeImage(next, id);
      }
      if (!next.images[id]) deleted.push(id);
      if (deleted.length > 0) await this.store.writeState(next).then(() => this.store.gc(next));
      return { state: next, result: { untagged, deleted } };
    });
  }

  /** Removes untagged images (all unused images with `all`), then unreferenced blobs and layers. */
  async prune(options: { readonly all?: boolean } = {}): Promise<{ deleted: string[]; reclaimed: GcReport }> {
    return this.transaction(async (state) => {
      const candidates = options.all === true ? Object.keys(state.images) : danglingImages(state);
      const victims: string[] = [];
      for (const id of candidates) if (((await this.options.usedBy?.(id)) ?? []).length === 0) victims.push(id);
      let next = state;
      for (const id of victims) next = removeImage(next, id);
      await this.store.writeState(next);
      const reclaimed = await this.store.gc(next);
      return { state: next, result: { deleted: victims, reclaimed } };
    });
  }

  /** Loads a docker-save or OCI-layout tarball; returns the names (or IDs) loaded. */
  async load(file: string, options: ProgressOptions = {}): Promise<string[]> {
    return this.transaction(async (state) => {
      const loaded = await loadArchive(this.store, file, { onProgress: options.onProgress ?? ignoreProgress, now: this.now() });
      let next = state;
      const names: string[] = [];
      for (const { record, names: refs } of loaded) {
        next = putImage(next, record);
        for (const ref of refs) {
          if (ref.tag === undefined) continue;
          next = setTag(next, ref, record.id);
          names.push(familiarReference(ref));
        }
        if (refs.length === 0) names.push(record.id);
      }
      return { state: next, result: names };
    });
  }

  /** Writes the images `names` to `out` as a docker-save tarball. */
  async save(names: readonly string[], out: string): Promise<void> {
    if (names.length === 0) throw invalidArgument('image save needs at least one image');
    await this.store.locked(async () => {
      const state = await this.store.readState();
      const items = new Map<string, { image: ImageRecord; tags: string[] }>();
      for (const name of names) {
        const id = resolveImage(state, name);
        const image = state.images[id];
        if (!image) throw new TsswarmError(ErrorCode.NOT_FOUND, `no such image: ${name}`);
        const item = items.get(id) ?? { image, tags: [] };
        const byTag = isTagName(name, state);
        if (byTag) item.tags.push(tagKey(byTag));
        else item.tags.push(...tagsOf(state, id));
        items.set(id, item);
      }
      const list: SaveItem[] = [...items.values()].map((i) => ({ image: i.image, tags: [...new Set(i.tags)] }));
      await saveArchive(this.store, list, out);
    });
  }

  /** Imports a root filesystem tarball as a one-layer image, tagged `name` when given. */
  async import(file: string, name?: string, options: ProgressOptions & { readonly cmd?: readonly string[] } = {}): Promise<string> {
    const ref = name !== undefined ? parseReference(name) : undefined;
    if (ref?.digest !== undefined) throw invalidArgument(`cannot tag with a digest: ${name ?? ''}`);
    return this.transaction(async (state) => {
      const { record } = await importRootfs(this.store, file, {
        onProgress: options.onProgress ?? ignoreProgress,
        now: this.now(),
        ...(options.cmd ? { cmd: options.cmd } : {}),
      });
      let next = putImage(state, record);
      if (ref) next = setTag(next, ref, record.id);
      return { state: next, result: record.id };
    });
  }

  /** Checks credentials against the registry, then saves them (0600); nothing is saved when refused. */
  async login(server: string, credentials: Credentials): Promise<void> {
    parseRegistryHost(server);
    if (credentials.username === '') throw invalidArgument('login needs a user name');
    const client = new RegistryClient({
      host: server,
      insecure: this.insecure,
      credentials,
      ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
    });
    await client.ping();
    await this.store.init();
    await saveCredentials(this.options.dataDir, server, credentials);
  }

  /** Forgets saved credentials; false when there were none. */
  async logout(server: string): Promise<boolean> {
    parseRegistryHost(server);
    return removeCredentials(this.options.dataDir, server);
  }
}

/** The tag reference `name` denotes when it names a tag present in the index (not an ID). */
function isTagName(name: string, state: StoreState): ImageReference | undefined {
  if (/^(?:sha256:)?[a-f0-9]{1,64}$/.test(name) && (name.startsWith('sha256:') || name.length === 64)) return undefined;
  try {
    const ref = parseReference(name);
    if (ref.digest !== undefined || ref.tag === undefined) return undefined;
    return state.tags[tagKey(ref)] !== undefined ? ref : undefined;
  } catch {
    return undefined;
  }
}
