/**
 * Manifests, manifest lists and OCI indexes: parsing with validation, and the choice of the
 * linux/amd64 entry of a list. Pure: bytes in, typed values or CORRUPT/UNSUPPORTED errors out.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { isDigest } from './digest.js';
import { MediaType, configMediaTypes, layerMediaTypes } from './media-types.js';

/** A pointer to content: what it is, its digest and size in bytes. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: Platform;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The platform of an index entry. */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** An image manifest (OCI or Docker v2 schema 2): a config and ordered layers, lowest first. */
export interface ImageManifest {
  readonly kind: 'manifest';
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

/** A manifest list or OCI index: one manifest per platform. */
export interface ImageIndex {
  readonly kind: 'index';
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
}

/** Either kind of manifest document. */
export type ManifestDocument = ImageManifest | ImageIndex;

/** The platform every worker runs today. */
export const hostPlatform: Platform = { os: 'linux', architecture: 'amd64' };

/** Largest manifest we accept, in bytes (registries cap them at 4 MiB too). */
export const maxManifestBytes = 4 * 1024 * 1024;

function corrupt(what: string, why: string): TsswarmError {
  return new TsswarmError(ErrorCode.CORRUPT, `${what}: ${why}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isRecord(v)) throw corrupt(what, 'descriptor is not an object');
  const { mediaType, digest, size, platform, annotations } = v;
  if (typeof mediaType !== 'string' || mediaType.length === 0) throw corrupt(what, 'descriptor has no mediaType');
  if (typeof digest !== 'string' || !isDigest(digest)) throw corrupt(what, `descriptor digest ${JSON.stringify(digest)} is not sha256:<64 hex>`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw corrupt(what, `descriptor size ${JSON.stringify(size)} is not a non-negative integer`);
  const out: { -readonly [K in keyof Descriptor]: Descriptor[K] } = { mediaType, digest, size };
  if (isRecord(platform) && typeof platform['os'] === 'string' && typeof platform['architecture'] === 'string') {
    out.platform = {
      os: platform['os'],
      architecture: platform['architecture'],
      ...(typeof platform['variant'] === 'string' ? { variant: platform['variant'] } : {}),
    };
  }
  if (isRecord(annotations)) {
    const a: Record<string, string> = {};
    for (const [k, val] of Object.entries(annotations)) if (typeof val === 'string') a[k] = val;
    out.annotations = a;
  }
  return out;
}

/**
 * Parses manifest bytes. `headerType` is the Content-Type the registry sent, used when the document
 * does not name its own mediaType (OCI allows that). Throws CORRUPT for malformed documents and
 * UNSUPPORTED for schema 1.
 */
export function parseManifest(bytes: Uint8Array | string, headerType?: string, what = 'manifest'): ManifestDocument {
  if (bytes.length > maxManifestBytes) throw corrupt(what, `larger than ${maxManifestBytes} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch {
    throw corrupt(what, 'not valid JSON');
  }
  if (!isRecord(doc)) throw corrupt(what, 'not a JSON object');
  const header = headerType?.split(';')[0]?.trim();
  let mediaType = typeof doc['mediaType'] === 'string' ? doc['mediaType'] : header;
  if (mediaType === undefined || mediaType === '' || mediaType === 'application/json' || mediaType === 'text/plain') {
    mediaType = Array.isArray(doc['manifests']) ? MediaType.ociIndex : MediaType.ociManifest;
  }
  if (doc['schemaVersion'] === 1 || mediaType === MediaType.dockerSchema1 || mediaType === MediaType.dockerSchema1Signed) {
    throw new TsswarmError(ErrorCode.UNSUPPORTED, `${what}: Docker schema 1 manifests are not supported`);
  }
  if (doc['schemaVersion'] !== 2) throw corrupt(what, `schemaVersion ${JSON.stringify(doc['schemaVersion'])} is not 2`);
  if (mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList) {
    if (!Array.isArray(doc['manifests'])) throw corrupt(what, 'index has no manifests array');
    return { kind: 'index', mediaType, manifests: doc['manifests'].map((d, i) => parseDescriptor(d, `${what} entry ${i}`)) };
  }
  if (mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest) {
    const config = parseDescriptor(doc['config'], `${what} config`);
    if (!configMediaTypes.has(config.mediaType)) {
      throw new TsswarmError(ErrorCode.UNSUPPORTED, `${what}: config media type ${config.mediaType} is not an image config (not a container image?)`);
    }
    if (!Array.isArray(doc['layers'])) throw corrupt(what, 'manifest has no layers array');
    const layers = doc['layers'].map((d, i) => parseDescriptor(d, `${what} layer ${i}`));
    for (const layer of layers) {
      if (!layerMediaTypes.has(layer.mediaType)) throw new TsswarmError(ErrorCode.UNSUPPORTED, `${what}: layer media type ${layer.mediaType} is not supported`);
    }
    return { kind: 'manifest', mediaType, config, layers };
  }
  throw new TsswarmError(ErrorCode.UNSUPPORTED, `${what}: media type ${mediaType} is not a manifest we can read`);
}

/** Picks the entry of an index for `platform` (linux/amd64 by default); NOT_FOUND names the platforms on offer. */
export function selectPlatform(index: ImageIndex, platform: Platform = hostPlatform, what = 'image'): Descriptor {
  const candidates = index.manifests.filter(
    (d) => d.mediaType === MediaType.ociManifest || d.mediaType === MediaType.dockerManifest || d.mediaType === MediaType.ociIndex,
  );
  const match = candidates.find(
    (d) => d.platform?.os === platform.os && d.platform.architecture === platform.architecture && (platform.variant === undefined || d.platform.variant === platform.variant),
  );
  if (match) return match;
  // An OCI index without platforms (an OCI layout written by a tool for one image) holds one image.
  const unplatformed = candidates.filter((d) => d.platform === undefined);
  if (unplatformed.length === 1 && candidates.length === 1 && unplatformed[0] !== undefined) return unplatformed[0];
  const offered = index.manifests.map((d) => (d.platform ? `${d.platform.os}/${d.platform.architecture}${d.platform.variant ? `/${d.platform.variant}` : ''}` : 'unknown'));
  throw new TsswarmError(
    ErrorCode.NOT_FOUND,
    `${what}: no ${platform.os}/${platform.architecture} image in the manifest list (it has: ${offered.join(', ') || 'nothing'})`,
  );
}

/** Serialises a manifest we build ourselves (load, import) in the canonical OCI form. */
export function buildOciManifest(config: Descriptor, layers: readonly Descriptor[]): string {
  const plain = (d: Descriptor): Record<string, unknown> => ({ mediaType: d.mediaType, digest: d.digest, size: d.size });
  return JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: plain(config), layers: layers.map(plain) });
}
