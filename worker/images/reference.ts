/**
 * Image references (`busybox`, `127.0.0.1:5000/team/app:1.2`, `repo@sha256:...`): parsing and
 * normalisation as docker does it (distribution/reference grammar), pure.
 */
import { invalidArgument } from '../../lib/errors.js';
import { isDigest } from './digest.js';

/** The registry that names without a domain belong to. */
export const defaultDomain = 'docker.io';
/** The repository namespace of single-component names on the default registry. */
export const officialRepoPrefix = 'library/';
/** The tag of a reference that names neither tag nor digest. */
export const defaultTag = 'latest';
/** Longest repository name (domain/path) the grammar allows, in characters. */
export const maxNameLength = 255;

/** A normalised image reference. */
export interface ImageReference {
  /** Registry host, with port when given: `docker.io`, `127.0.0.1:5000`. */
  readonly domain: string;
  /** Repository path inside the registry: `library/busybox`. */
  readonly path: string;
  /** Tag, when given or defaulted (`latest` when neither tag nor digest was given). */
  readonly tag?: string;
  /** Manifest digest `sha256:<64 hex>`, when given. */
  readonly digest?: string;
}

const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainRe = new RegExp(`^(?:${domainComponent}(?:\\.${domainComponent})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?$`);
const pathComponentRe = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagRe = /^[\w][\w.-]{0,127}$/;
const hex64Re = /^[a-f0-9]{64}$/;

/**
 * Parses and normalises an image reference. Throws INVALID_ARGUMENT with the reason for malformed
 * ones. `busybox` becomes docker.io/library/busybox:latest.
 */
export function parseReference(text: string): ImageReference {
  const bad = (why: string): Error => invalidArgument(`invalid reference ${JSON.stringify(text)}: ${why}`);
  if (text.length === 0) throw bad('empty');
  if (/\s/.test(text)) throw bad('contains white space');
  if (hex64Re.test(text)) throw bad('a 64-character hexadecimal string is an image ID, not a name');

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw bad('digest must be sha256: followed by 64 lowercase hex characters');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) throw bad('tag must be 1-128 characters of letters, digits, _ . - and not start with . or -');
  }
  if (rest.length === 0) throw bad('repository name is empty');

  let domain = defaultDomain;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (!domainRe.test(domain)) throw bad(`registry host ${JSON.stringify(domain)} is not a valid host[:port]`);
  if (domain === 'index.docker.io') domain = defaultDomain;
  if (path.length === 0) throw bad('repository name is empty');
  if (path !== path.toLowerCase()) throw bad('repository name must be lowercase');
  for (const component of path.split('/')) {
    if (!pathComponentRe.test(component)) {
      throw bad(`path component ${JSON.stringify(component)} must be lowercase letters and digits, separated by . _ __ or -`);
    }
  }
  if (domain === defaultDomain && !path.includes('/')) path = officialRepoPrefix + path;
  if (domain.length + 1 + path.length > maxNameLength) throw bad(`repository name longer than ${maxNameLength} characters`);
  if (tag === undefined && digest === undefined) tag = defaultTag;
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** `domain/path`, the fully qualified repository name. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The fully qualified form: `docker.io/library/busybox:latest`, `host/repo@sha256:...`. */
export function formatReference(ref: ImageReference): string {
  return `${repositoryName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The short repository name docker shows: `busybox`, `team/app`, `127.0.0.1:5000/app`. */
export function familiarRepository(ref: Pick<ImageReference, 'domain' | 'path'>): string {
  if (ref.domain !== defaultDomain) return `${ref.domain}/${ref.path}`;
  return ref.path.startsWith(officialRepoPrefix) ? ref.path.slice(officialRepoPrefix.length) : ref.path;
}

/** The short form docker shows: `busybox:latest`, `127.0.0.1:5000/app@sha256:...`. */
export function familiarReference(ref: ImageReference): string {
  return `${familiarRepository(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The same repository with only a tag (for the tag index). */
export function withTag(ref: ImageReference, tag: string): ImageReference {
  return { domain: ref.domain, path: ref.path, tag };
}

/** The same repository with only a digest (for repo digests). */
export function withDigest(ref: ImageReference, digest: string): ImageReference {
  return { domain: ref.domain, path: ref.path, digest };
}

/** The host to talk to for a reference's domain (docker.io's API lives at registry-1.docker.io). */
export function registryHost(domain: string): string {
  return domain === defaultDomain ? 'registry-1.docker.io' : domain;
}
