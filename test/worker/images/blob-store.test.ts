import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { ErrorCode } from '../../../lib/errors.js';
import { BlobStore } from '../../../worker/images/blob-store.js';
import { sha256Digest } from '../../../worker/images/digest.js';
import { tempDir } from '../../helpers/temp-dir.js';

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

t.test('blobs are stored under their sha256 and read back verified', async (t) => {
  const store = new BlobStore(await tempDir(t, 'blobs'));
  await store.init();
  const a = await store.putBytes('hello');
  t.equal(a.digest, sha256Digest('hello'));
  t.ok(await store.has(a.digest));
  t.equal((await store.readBytes(a.digest)).toString(), 'hello');
  const b = await store.putStream(chunks('hel', 'lo ', 'world'), { expectedDigest: sha256Digest('hello world'), expectedSize: 11 });
  t.equal(b.size, 11);
  t.same((await store.list()).sort(), [a.digest, b.digest].sort());
  t.same(await readdir(store.tmpDir), [], 'no temp files left');
});

t.test('content that does not match its digest or size is never stored', async (t) => {
  const store = new BlobStore(await tempDir(t, 'blobs'));
  await store.init();
  const claimed = sha256Digest('the real thing');
  await t.rejects(store.putBytes('a lie', claimed), { code: ErrorCode.CORRUPT, message: /digest mismatch/ });
  await t.rejects(store.putStream(chunks('a ', 'lie'), { expectedDigest: claimed }), { code: ErrorCode.CORRUPT, message: /digest mismatch/ });
  await t.rejects(store.putStream(chunks('the real thing'), { expectedDigest: claimed, expectedSize: 3 }), { code: ErrorCode.CORRUPT, message: /more than the 3 bytes/ });
  await t.rejects(store.putStream(chunks('the real'), { expectedDigest: sha256Digest('the real'), expectedSize: 99 }), { code: ErrorCode.CORRUPT, message: /99/ });
  t.same(await store.list(), [], 'nothing stored');
  t.same(await readdir(store.tmpDir), [], 'no temp files left');
});

t.test('a blob changed on disk is reported CORRUPT when read', async (t) => {
  const store = new BlobStore(await tempDir(t, 'blobs'));
  await store.init();
  const { digest } = await store.putBytes('{"a":1}');
  await writeFile(join(store.blobDir, digest.slice(7)), '{"a":2}');
  await t.rejects(store.readBytes(digest, 'manifest'), { code: ErrorCode.CORRUPT, message: /stored manifest: digest mismatch/ });
  await t.rejects(store.readBytes(sha256Digest('missing')), { code: ErrorCode.NOT_FOUND });
});
