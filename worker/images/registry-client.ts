/**
 * A Docker Registry HTTP API v2 client on Node's fetch: manifests and blobs up and down, with
 * anonymous, basic and bearer-token auth. It moves bytes and maps HTTP outcomes to TsswarmErrors;
 * digest checks are the callers' (pull.ts, push.ts), who know what each byte should hash to.
 */
import { Readable } from 'node:stream';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { parseAuthChallenges, repositoryScope } from './auth-challenge.js';
import type { Credentials } from './credentials.js';
import { acceptedManifestTypes } from './media-types.js';
import { maxManifestBytes } from './manifest.js';
import { registryBaseUrl } from './registry-policy.js';

/** Time limit of one API request that moves no blob, in milliseconds. */
export const registryRequestTimeoutMs = 30_000;
/** Time limit of one blob transfer, in milliseconds. */
export const blobTransferTimeoutMs = 10 * 60_000;
/** Largest token response we read, in bytes. */
const maxTokenResponseBytes = 64 * 1024;

/** A request body fetch accepts. */
export type RequestBody = NonNullable<RequestInit['body']>;

/** The fetch function (injectable for tests). */
export type FetchFn = typeof fetch;

/** How to reach one registry. */
export interface RegistryClientOptions {
  /** `host[:port]` as in the image reference. */
  readonly host: string;
  /** Validated hosts that speak plain HTTP. */
  readonly insecure: ReadonlySet<string>;
  readonly credentials?: Credentials;
  readonly fetch?: FetchFn;
}

/** A manifest as fetched. */
export interface FetchedManifest {
  readonly bytes: Buffer;
  /** Content-Type sent by the registry. */
  readonly mediaType: string;
  /** Docker-Content-Digest header, when sent. */
  readonly headerDigest?: string;
}

type Action = 'pull' | 'push';

interface RequestOptions {
  readonly method: string;
  readonly repo?: string;
  readonly actions?: readonly Action[];
  readonly headers?: Record<string, string>;
  readonly body?: () => RequestBody | undefined;
  readonly timeoutMs?: number;
}

/** Talks to one registry. Tokens are cached per scope for the client's life. */
export class RegistryClient {
  readonly base: string;
  private readonly fetchFn: FetchFn;
  private readonly tokens = new Map<string, string>();
  private basicAllowed = false;

  constructor(private readonly options: RegistryClientOptions) {
    this.base = registryBaseUrl(options.host, options.insecure);
    this.fetchFn = options.fetch ?? fetch;
  }

  /** Checks that the registry answers the v2 API with these credentials (`tsswarm login`). */
  async ping(): Promise<void> {
    const res = await this.request('/v2/', { method: 'GET' });
    await res.body?.cancel();
  }

  /** Fetches a manifest by tag or digest; NOT_FOUND when the registry does not have it. */
  async getManifest(repo: string, reference: string): Promise<FetchedManifest> {
    const res = await this.request(`/v2/${repo}/manifests/${reference}`, {
      method: 'GET',
      repo,
      actions: ['pull'],
      headers: { accept: acceptedManifestTypes.join(', ') },
    });
    const bytes = await readLimited(res, maxManifestBytes, `manifest ${repo}:${reference}`);
    const headerDigest = res.headers.get('docker-content-digest') ?? undefined;
    return { bytes, mediaType: res.headers.get('content-type') ?? '', ...(headerDigest ? { headerDigest } : {}) };
  }

  /** Fetches a blob whole (configs), at most `maxBytes`. */
  async getBlobBytes(repo: string, digest: string, maxBytes: number): Promise<Buffer> {
    const res = await this.request(`/v2/${repo}/blobs/${digest}`, { method: 'GET', repo, actions: ['pull'] });
    return readLimited(res, maxBytes, `blob ${digest}`);
  }

  /** Opens a blob as a stream of bytes. */
  async getBlobStream(repo: string, digest: string): Promise<AsyncIterable<Uint8Array>> {
    const res = await this.request(`/v2/${repo}/blobs/${digest}`, { method: 'GET', repo, actions: ['pull'], timeoutMs: blobTransferTimeoutMs });
    if (!res.body) throw new TsswarmError(ErrorCode.EXTERNAL, `${this.options.host}: blob ${digest} came without a body`);
    return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  }

  /** True when the repository has the blob. */
  async hasBlob(repo: string, digest: string): Promise<boolean> {
    try {
      await this.request(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD', repo, actions: ['pull', 'push'] });
      return true;
    } catch (err) {
      if (err instanceof TsswarmError && err.code === ErrorCode.NOT_FOUND) return false;
      throw err;
    }
  }

  /** Uploads a blob in one PUT (POST to open the upload, PUT with ?digest= to finish it). */
  async uploadBlob(repo: string, digest: string, size: number, body: () => RequestBody): Promise<void> {
    const start = await this.request(`/v2/${repo}/blobs/uploads/`, { method: 'POST', repo, actions: ['pull', 'push'], headers: { 'content-length': '0' } });
    await start.body?.cancel();
    const location = start.headers.get('location');
    if (!location) throw new TsswarmError(ErrorCode.EXTERNAL, `${this.options.host}: upload of ${digest} got no Location`);
    const url = new URL(location, this.base);
    url.searchParams.set('digest', digest);
    const res = await this.request(url.toString(), {
      method: 'PUT',
      repo,
      actions: ['pull', 'push'],
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body,
      timeoutMs: blobTransferTimeoutMs,
    });
    await res.body?.cancel();
  }

  /** Stores a manifest under a tag or digest; returns the digest the registry reports. */
  async putManifest(repo: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string | undefined> {
    const res = await this.request(`/v2/${repo}/manifests/${reference}`, {
      method: 'PUT',
      repo,
      actions: ['pull', 'push'],
      headers: { 'content-type': mediaType },
      body: () => bytes,
    });
    await res.body?.cancel();
    return res.headers.get('docker-content-digest') ?? undefined;
  }

  private authHeader(scope: string | undefined): string | undefined {
    const token = this.tokens.get(scope ?? '');
    if (token !== undefined) return `Bearer ${token}`;
    if (this.basicAllowed && this.options.credentials) {
      const { username, password } = this.options.credentials;
      return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    }
    return undefined;
  }

  /** One request with auth; retries once after answering a 401 challenge. Non-2xx becomes an error. */
  private async request(pathOrUrl: string, req: RequestOptions): Promise<Response> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${this.base}${pathOrUrl}`;
    const scope = req.repo !== undefined ? repositoryScope(req.repo, req.actions ?? ['pull']) : undefined;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...(req.headers ?? {}) };
      const auth = this.authHeader(scope);
      if (auth !== undefined) headers['authorization'] = auth;
      const body = req.body?.();
      const init: RequestInit & { duplex?: 'half' } = {
        method: req.method,
        headers,
        redirect: 'follow',
        signal: AbortSignal.timeout(req.timeoutMs ?? registryRequestTimeoutMs),
      };
      if (body !== undefined) {
        init.body = body;
        init.duplex = 'half';
      }
      let res: Response;
      try {
        res = await this.fetchFn(url, init);
      } catch (err) {
        throw this.networkError(err, req.method, url);
      }
      if (res.status === 401) {
        await res.body?.cancel();
        if (attempt > 0) throw this.authError();
        await this.answerChallenge(res.headers.get('www-authenticate') ?? '', scope);
        continue;
      }
      if (res.ok) return res;
      throw await this.httpError(res, req.method, url);
    }
  }

  private async answerChallenge(header: string, scope: string | undefined): Promise<void> {
    const challenges = parseAuthChallenges(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      const realm = bearer.params['realm'];
      if (realm === undefined) throw new TsswarmError(ErrorCode.EXTERNAL, `${this.options.host}: bearer challenge without realm`);
      const tokenUrl = new URL(realm);
      if (bearer.params['service'] !== undefined) tokenUrl.searchParams.set('service', bearer.params['service']);
      const wanted = scope ?? bearer.params['scope'];
      if (wanted !== undefined) tokenUrl.searchParams.set('scope', wanted);
      const headers: Record<string, string> = {};
      if (this.options.credentials) {
        const { username, password } = this.options.credentials;
        headers['authorization'] = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
      }
      let res: Response;
      try {
        res = await this.fetchFn(tokenUrl, { headers, signal: AbortSignal.timeout(registryRequestTimeoutMs) });
      } catch (err) {
        throw this.networkError(err, 'GET', tokenUrl.toString());
      }
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        throw this.authError();
      }
      if (!res.ok) throw await this.httpError(res, 'GET', tokenUrl.toString());
      const body = JSON.parse((await readLimited(res, maxTokenResponseBytes, 'token response')).toString('utf8')) as { token?: unknown; access_token?: unknown };
      const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
      if (token === undefined) throw new TsswarmError(ErrorCode.EXTERNAL, `${this.options.host}: token service returned no token`);
      this.tokens.set(scope ?? '', token);
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (!this.options.credentials || this.basicAllowed) throw this.authError();
      this.basicAllowed = true;
      return;
    }
    throw this.authError();
  }

  private authError(): TsswarmError {
    return new TsswarmError(
      ErrorCode.PERMISSION,
      this.options.credentials
        ? `${this.options.host}: authentication failed (wrong user name or password?)`
        : `${this.options.host}: authentication required (run tsswarm image login ${this.options.host})`,
    );
  }

  private networkError(err: unknown, method: string, url: string): TsswarmError {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if ((err as Error).name === 'TimeoutError') return new TsswarmError(ErrorCode.TIMEOUT, `${this.options.host}: ${method} ${url} timed out`);
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    const hint =
      this.base.startsWith('https') && /EPROTO|wrong version|ECONNRESET|packet length/i.test(`${cause?.code ?? ''} ${cause?.message ?? ''}`)
        ? ` (a plain-HTTP registry? allow it with --insecure-registry ${this.options.host})`
        : '';
    return new TsswarmError(ErrorCode.EXTERNAL, `registry ${this.options.host} unreachable: ${why}${hint}`, { cause: err });
  }

  private async httpError(res: Response, method: string, url: string): Promise<TsswarmError> {
    let detail = '';
    try {
      const text = (await readLimited(res, 64 * 1024, 'error body')).toString('utf8');
      const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
      detail = (parsed.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
    } catch {
      detail = '';
    }
    const path = url.replace(this.base, '');
    const what = `${this.options.host}: ${method} ${path.split('?')[0] ?? path}: ${res.status} ${res.statusText}${detail ? ` (${detail})` : ''}`;
    if (res.status === 404) return new TsswarmError(ErrorCode.NOT_FOUND, what);
    if (res.status === 401 || res.status === 403) return new TsswarmError(ErrorCode.PERMISSION, what);
    return new TsswarmError(ErrorCode.EXTERNAL, what);
  }
}

/** Reads a response body whole, refusing more than `maxBytes`. */
async function readLimited(res: Response, maxBytes: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new TsswarmError(ErrorCode.CORRUPT, `${what}: ${declared} bytes is more than the ${maxBytes} allowed`);
  }
  if (!res.body) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>)) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) throw new TsswarmError(ErrorCode.CORRUPT, `${what}: more than the ${maxBytes} bytes allowed`);
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}
