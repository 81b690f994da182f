/**
 * The image index: which images the store holds (by image ID = config digest), their manifests and
 * layers, and which tags point at them. Pure functions over a plain JSON value; the ImageStore
 * persists it atomically. Layer and blob reference counts are derived from it, never stored, so
 * they cannot drift.
 */
import { ErrorCode, TsswarmError, invalidArgument } from '../../lib/errors.js';
import { formatReference, parseReference, repositoryName, type ImageReference } from './reference.js';

/** One layer of an image. */
export interface LayerRecord {
  /** Digest of the blob as stored (compressed or not). */
  readonly digest: string;
  readonly mediaType: string;
  /** Blob size in bytes. */
  readonly size: number;
  /** Digest of the uncompressed tar; names the unpacked layer directory. */
  readonly diffId: string;
  /** Uncompressed size in bytes. */
  readonly unpackedSize: number;
}

/** One image in the store. */
export interface ImageRecord {
  /** Image ID: the digest of its config, as docker shows it. */
  readonly id: string;
  readonly manifestDigest: string;
  readonly manifestMediaType: string;
  readonly configDigest: string;
  /** Lowest first. */
  readonly layers: readonly LayerRecord[];
  /** When the image was built, from its config. */
  readonly created?: string;
  /** `repo@sha256:...` names it was pulled or pushed by. */
  readonly repoDigests: readonly string[];
  /** When it entered this store. */
  readonly addedAt: string;
}

/** The whole index. */
export interface StoreState {
  readonly version: 1;
  readonly images: Readonly<Record<string, ImageRecord>>;
  /** Fully qualified `domain/path:tag` → image ID. */
  readonly tags: Readonly<Record<string, string>>;
}

/** The index of an empty store. */
export function emptyState(): StoreState {
  return { version: 1, images: {}, tags: {} };
}

/** Checks a parsed state file; throws CORRUPT when it is not one. */
export function validateState(value: unknown): StoreState {
  const v = value as Partial<StoreState> | null;
  if (typeof v !== 'object' || v === null || v.version !== 1 || typeof v.images !== 'object' || typeof v.tags !== 'object') {
    throw new TsswarmError(ErrorCode.CORRUPT, 'image store index is not a version 1 index');
  }
  return v as StoreState;
}

/** Adds or replaces an image (repo digests are merged with what was there). */
export function putImage(state: StoreState, image: ImageRecord): StoreState {
  const old = state.images[image.id];
  const repoDigests = [...new Set([...(old?.repoDigests ?? []), ...image.repoDigests])].sort();
  const merged: ImageRecord = old ? { ...old, repoDigests } : { ...image, repoDigests };
  return { ...state, images: { ...state.images, [image.id]: merged } };
}

/** Points a tag (a reference with a tag) at an image. */
export function setTag(state: StoreState, ref: ImageReference, id: string): StoreState {
  if (ref.tag === undefined) throw invalidArgument(`${formatReference(ref)} has no tag`);
  if (!state.images[id]) throw new TsswarmError(ErrorCode.NOT_FOUND, `no such image: ${id}`);
  return { ...state, tags: { ...state.tags, [tagKey(ref)]: id } };
}

/** The key of a tag in the index: `domain/path:tag`. */
export function tagKey(ref: ImageReference): string {
  return `${repositoryName(ref)}:${ref.tag ?? 'latest'}`;
}

/** Removes a tag; the image stays (remove it with removeImage when nothing else needs it). */
export function removeTag(state: StoreState, key: string): StoreState {
  const tags = { ...state.tags };
  delete tags[key];
  return { ...state, tags };
}

/** Removes an image and every tag pointing at it. */
export function removeImage(state: StoreState, id: string): StoreState {
  const images = { ...state.images };
  delete images[id];
  const tags = Object.fromEntries(Object.entries(state.tags).filter(([, v]) => v !== id));
  return { ...state, images, tags };
}

/** Tags pointing at an image, sorted. */
export function tagsOf(state: StoreState, id: string): string[] {
  return Object.entries(state.tags)
    .filter(([, v]) => v === id)
    .map(([k]) => k)
    .sort();
}

/** Every blob some image needs: manifests, configs and layers. */
export function referencedBlobs(state: StoreState): Set<string> {
  const out = new Set<string>();
  for (const image of Object.values(state.images)) {
    out.add(image.manifestDigest);
    out.add(image.configDigest);
    for (const l of image.layers) out.add(l.digest);
  }
  return out;
}

/** Reference count of each unpacked layer (by diff ID): how many images use it. */
export function layerRefCounts(state: StoreState): Map<string, number> {
  const out = new Map<string, number>();
  for (const image of Object.values(state.images)) {
    for (const diffId of new Set(image.layers.map((l) => l.diffId))) out.set(diffId, (out.get(diffId) ?? 0) + 1);
  }
  return out;
}

/** Images no tag points at. */
export function danglingImages(state: StoreState): string[] {
  const tagged = new Set(Object.values(state.tags));
  return Object.keys(state.images).filter((id) => !tagged.has(id));
}

const idPrefixRe = /^(?:sha256:)?([a-f0-9]{1,64})$/;

/**
 * Finds the image a user means: a full or short image ID (`sha256:` optional), a tag
 * (`busybox`, `host:5000/app:1`) or a digest reference (`repo@sha256:...`). Throws NOT_FOUND
 * ("no such image"), INVALID_ARGUMENT (malformed) or CONFLICT (ambiguous short ID).
 */
export function resolveImage(state: StoreState, text: string): string {
  const idMatch = idPrefixRe.exec(text);
  if (idMatch && (text.startsWith('sha256:') || text.length === 64)) return resolveIdPrefix(state, idMatch[1] ?? '', text);
  let ref: ImageReference | undefined;
  let parseError: unknown;
  try {
    ref = parseReference(text);
  } catch (err) {
    parseError = err;
  }
  if (ref) {
    if (ref.digest !== undefined) {
      const name = `${repositoryName(ref)}@${ref.digest}`;
      const found = Object.values(state.images).find((i) => i.repoDigests.includes(name) || i.manifestDigest === ref.digest);
      if (found) return found.id;
    } else {
      const id = state.tags[tagKey(ref)];
      if (id !== undefined && state.images[id]) return id;
    }
  }
  if (idMatch) return resolveIdPrefix(state, idMatch[1] ?? '', text);
  if (parseError) throw parseError;
  throw new TsswarmError(ErrorCode.NOT_FOUND, `no such image: ${text}`);
}

function resolveIdPrefix(state: StoreState, hexPrefix: string, text: string): string {
  const matches = Object.keys(state.images).filter((id) => id.slice('sha256:'.length).startsWith(hexPrefix));
  if (matches.length === 1 && matches[0] !== undefined) return matches[0];
  if (matches.length > 1) throw new TsswarmError(ErrorCode.CONFLICT, `image ID prefix ${text} is ambiguous (${matches.length} images match)`);
  throw new TsswarmError(ErrorCode.NOT_FOUND, `no such image: ${text}`);
}
