/**
 * A tiny registry v2 server on 127.0.0.1 for tests that need a registry to misbehave or to ask for
 * credentials: it serves manifests and blobs from memory, can lie about a blob's content, and can
 * require basic or bearer-token auth. Closed in teardown.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Teardown } from '../../helpers/temp-dir.js';

/** How the fake registry behaves. */
export interface FakeRegistryOptions {
  /** Require credentials: none, HTTP basic, or a bearer token from its own /token endpoint. */
  readonly auth?: 'none' | 'basic' | 'bearer';
  readonly username?: string;
  readonly password?: string;
}

/** A running fake registry. */
export interface FakeRegistry {
  readonly host: string;
  /** Serves `bytes` as manifest `repo:ref` with `mediaType` (also under its digest). */
  addManifest(repo: string, ref: string, bytes: string, mediaType: string): string;
  /** Serves a blob under its digest; returns the digest. */
  addBlob(bytes: Buffer | string): string;
  /** Serves `bytes` under `digest` although they hash to something else. */
  addLyingBlob(digest: string, bytes: Buffer | string): void;
  /** Requests seen, as `METHOD path`. */
  readonly requests: string[];
}

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const token = 'fake-token-123';

/** Starts a fake registry on a free 127.0.0.1 port; closed in teardown. */
export async function startFakeRegistry(t: Teardown, options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const manifests = new Map<string, { bytes: string; mediaType: string }>();
  const blobs = new Map<string, Buffer>();
  const requests: string[] = [];
  let host = '';
  const basic = `Basic ${Buffer.from(`${options.username ?? ''}:${options.password ?? ''}`).toString('base64')}`;

  const authorised = (req: IncomingMessage, res: ServerResponse): boolean => {
    const got = req.headers['authorization'];
    if (options.auth === 'basic') {
      if (got === basic) return true;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end();
      return false;
    }
    if (options.auth === 'bearer') {
      if (got === `Bearer ${token}`) return true;
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="fake",scope="repository:x:pull"` }).end();
      return false;
    }
    return true;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (url.pathname === '/token') {
      if (req.headers['authorization'] !== basic) {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
      return;
    }
    if (!authorised(req, res)) return;
    if (url.pathname === '/v2/') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const [, repo, kind, ref] = m;
    if (kind === 'manifests') {
      const found = manifests.get(`${repo}:${ref}`);
      if (!found) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
        return;
      }
      res.writeHead(200, { 'content-type': found.mediaType, 'docker-content-digest': sha(found.bytes) }).end(found.bytes);
      return;
    }
    const blob = blobs.get(ref ?? '');
    if (!blob) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(blob.length) }).end(req.method === 'HEAD' ? undefined : blob);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  host = `127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  server.unref();
  return {
    host,
    requests,
    addManifest(repo, ref, bytes, mediaType) {
      const digest = sha(bytes);
      manifests.set(`${repo}:${ref}`, { bytes, mediaType });
      manifests.set(`${repo}:${digest}`, { bytes, mediaType });
      return digest;
    },
    addBlob(bytes) {
      const digest = sha(bytes);
      blobs.set(digest, Buffer.from(bytes));
      return digest;
    },
    addLyingBlob(digest, bytes) {
      blobs.set(digest, Buffer.from(bytes));
    },
  };
}
