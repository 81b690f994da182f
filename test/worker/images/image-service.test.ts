import { lstat, readFile, readlink, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { ErrorCode } from '../../../lib/errors.js';
import { runCommand } from '../../../lib/run-command.js';
import { ImageService } from '../../../worker/images/image-service.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { busyboxTarball, treeListing } from './registry-helper.js';

/** Built once for this file (removed when the file's tests end). */
const sharedBusybox = busyboxTarball(t);

t.test('the busybox test image loads, unpacks once and exposes layers and config', async (t) => {
  const bb = await sharedBusybox;
  const again = await busyboxTarball(t);
  t.equal(again.manifestDigest, bb.manifestDigest, 'the build is deterministic');
  const svc = new ImageService({ dataDir: await tempDir(t, 'data') });
  t.same(await svc.load(bb.file), ['busybox:latest']);
  const rows = await svc.list();
  t.equal(rows.length, 1);
  t.match(rows[0], { repository: 'busybox', tag: 'latest', id: bb.configDigest, digest: bb.manifestDigest });
  const dirs = await svc.layerDirs('busybox');
  t.equal(dirs.length, 1);
  const dir = dirs[0] ?? '';
  t.equal(await readlink(join(dir, 'bin', 'sh')), 'busybox');
  for (const applet of ['httpd', 'nc', 'wget', 'ps', 'hostname', 'sleep', 'cat', 'echo']) t.ok((await lstat(join(dir, 'bin', applet))).isSymbolicLink(), applet);
  t.equal(((await lstat(join(dir, 'tmp'))).mode & 0o7777).toString(8), '1777');
  const rc = await svc.runtimeConfig('busybox:latest');
  t.same(rc.cmd, ['sh']);
  t.match(rc.env, [/^PATH=/]);
  const inspect = await svc.inspect(bb.configDigest.slice(7, 19));
  t.match(inspect, { Id: bb.configDigest, RepoTags: ['busybox:latest'], Architecture: 'amd64', Os: 'linux', RootFS: { Layers: bb.diffIds } });
  // Loading again changes nothing.
  const before = await treeListing(svc.store.root);
  t.same(await svc.load(bb.file), ['busybox:latest']);
  t.same(await treeListing(svc.store.root), before);
});

t.test('image save writes a docker-save tarball skopeo accepts and load reads back', async (t) => {
  const bb = await sharedBusybox;
  const dir = await tempDir(t, 'save');
  const svc = new ImageService({ dataDir: join(dir, 'a') });
  await svc.load(bb.file);
  await svc.tag('busybox', '127.0.0.1:5000/tools/bb:v1');
  const out = join(dir, 'saved.tar');
  await svc.save(['busybox', '127.0.0.1:5000/tools/bb:v1'], out);
  const { stdout } = await runCommand('skopeo', ['inspect', `docker-archive:${out}`]);
  const info = JSON.parse(stdout) as { Layers: string[]; Architecture: string };
  t.same(info.Layers, bb.diffIds, 'skopeo sees the uncompressed layers');
  t.equal(info.Architecture, 'amd64');
  const other = new ImageService({ dataDir: join(dir, 'b') });
  t.same((await other.load(out)).sort(), ['127.0.0.1:5000/tools/bb:v1', 'busybox:latest']);
  t.equal((await other.resolve('busybox')).id, bb.configDigest, 'same image ID after the round trip');
  t.equal(await readlink(join((await other.layerDirs('busybox'))[0] ?? '', 'bin', 'sh')), 'busybox');
});

t.test('import makes a one-layer image; shared layers are counted and collected', async (t) => {
  const dir = await tempDir(t, 'import');
  const rootfs = join(dir, 'rootfs');
  await mkdir(join(rootfs, 'etc'), { recursive: true });
  await writeFile(join(rootfs, 'etc', 'motd'), 'hi\n');
  const tarball = join(dir, 'rootfs.tar.gz');
  await runCommand('tar', ['-czf', tarball, '-C', rootfs, 'etc']);
  const svc = new ImageService({ dataDir: join(dir, 'data'), now: () => new Date('2026-01-01T00:00:00Z') });
  const id1 = await svc.import(tarball, 'mine:one');
  const svc2 = new ImageService({ dataDir: join(dir, 'data'), now: () => new Date('2026-01-02T00:00:00Z') });
  const id2 = await svc2.import(tarball, 'mine:two');
  t.not(id1, id2, 'different configs (created differs)');
  const [l1] = await svc.layerDirs('mine:one');
  const [l2] = await svc.layerDirs('mine:two');
  t.equal(l1, l2, 'one unpacked layer shared by both');
  t.equal(await readFile(join(l1 ?? '', 'etc', 'motd'), 'utf8'), 'hi\n');
  t.equal((await svc.store.layerRefCounts()).get((await svc.resolve('mine:one')).layers[0]?.diffId ?? ''), 2);
  t.same(await svc.remove('mine:one'), { untagged: ['mine:one'], deleted: [id1] });
  t.ok(await lstat(l1 ?? '').then(() => true), 'layer kept while mine:two uses it');
  await svc.tag('mine:two', 'other:x');
  await t.rejects(svc.remove(id2), { code: ErrorCode.CONFLICT, message: /2 repositories/ });
  t.same(await svc.remove(id2, { force: true }), { untagged: ['mine:two', 'other:x'], deleted: [id2] });
  await t.rejects(lstat(l1 ?? ''), { code: 'ENOENT' }, 'layer collected with the last image');
  t.same((await treeListing(svc.store.root)).filter((p) => p.startsWith('blobs/sha256/')), [], 'no blobs left');
});

t.test('prune removes untagged images only', async (t) => {
  const bb = await sharedBusybox;
  const svc = new ImageService({ dataDir: await tempDir(t, 'data') });
  await svc.load(bb.file);
  t.same((await svc.prune()).deleted, []);
  await svc.tag('busybox', 'keep:1');
  await svc.remove('busybox');
  await svc.remove('keep:1');
  t.same(await svc.list(), []);
  await svc.load(bb.file);
  const state = JSON.parse(await readFile(join(svc.store.root, 'state.json'), 'utf8')) as { tags: Record<string, string> };
  t.equal(Object.keys(state.tags).length, 1);
  t.same((await svc.prune({ all: true })).deleted, [bb.configDigest]);
  t.same(await svc.list(), []);
});

t.test('bad input is refused with clear errors and changes nothing', async (t) => {
  const bb = await sharedBusybox;
  const dir = await tempDir(t, 'bad');
  const svc = new ImageService({ dataDir: join(dir, 'data') });
  await svc.load(bb.file);
  const before = await treeListing(svc.store.root);
  await t.rejects(svc.resolve('nosuch:latest'), { code: ErrorCode.NOT_FOUND, message: 'no such image: nosuch:latest' });
  await t.rejects(svc.layerDirs('nosuch'), { code: ErrorCode.NOT_FOUND });
  await t.rejects(svc.remove('nosuch'), { code: ErrorCode.NOT_FOUND });
  await t.rejects(svc.tag('busybox', 'Bad:tag'), { code: ErrorCode.INVALID_ARGUMENT });
  await t.rejects(svc.tag('busybox', `x@sha256:${'a'.repeat(64)}`), { code: ErrorCode.INVALID_ARGUMENT });
  await t.rejects(svc.load(join(dir, 'missing.tar')), { code: ErrorCode.NOT_FOUND });
  const junk = join(dir, 'junk.tar');
  await writeFile(junk, 'this is not a tarball');
  await t.rejects(svc.load(junk), { code: ErrorCode.CORRUPT });
  // An OCI layout whose layer blob was tampered with.
  const unpacked = join(dir, 'layout');
  await mkdir(unpacked);
  await runCommand('tar', ['-xf', bb.file, '-C', unpacked]);
  await writeFile(join(unpacked, 'blobs', 'sha256', (bb.layerDigests[0] ?? '').slice(7)), 'tampered');
  const tampered = join(dir, 'tampered.tar');
  await runCommand('tar', ['-cf', tampered, '-C', unpacked, 'blobs', 'index.json', 'oci-layout']);
  const fresh = new ImageService({ dataDir: join(dir, 'fresh') });
  await t.rejects(fresh.load(tampered), { code: ErrorCode.CORRUPT, message: /digest mismatch|bytes/ });
  t.same((await treeListing(fresh.store.root)).filter((p) => !['blobs', 'blobs/sha256', 'layers', 'layers/sha256', 'tmp'].includes(p)), [], 'fresh store still empty');
  t.same(await treeListing(svc.store.root), before, 'store unchanged');
});

t.test('images in use by containers are kept by rm (without -f) and prune', async (t) => {
  const bb = await sharedBusybox;
  const users = new Map<string, string[]>();
  const svc = new ImageService({ dataDir: await tempDir(t, 'data'), usedBy: (id) => Promise.resolve(users.get(id) ?? []) });
  await svc.load(bb.file);
  users.set(bb.configDigest, ['web-1']);
  const before = await treeListing(svc.store.root);
  await t.rejects(svc.remove('busybox'), { code: ErrorCode.CONFLICT, message: /used by container web-1/ });
  t.same(await treeListing(svc.store.root), before, 'refused rm changed nothing');
  t.same((await svc.prune({ all: true })).deleted, [], 'prune skips it');
  t.same(await svc.remove('busybox', { force: true }), { untagged: ['busybox:latest'], deleted: [] }, '-f only untags an image containers use');
  t.ok((await svc.layerDirs(bb.configDigest)).length > 0, 'its layers stay for the containers standing on them');
});

t.test('a crash mid-way leaves nothing that outlives the next change; a dead holder\'s lock is taken over', async (t) => {
  const bb = await sharedBusybox;
  const svc = new ImageService({ dataDir: await tempDir(t, 'data') });
  await svc.store.init();
  await writeFile(join(svc.store.root, 'tmp', 'layer-partial'), 'half a blob');
  await mkdir(join(svc.store.root, 'layers', 'tmp-deadbeef', 'etc'), { recursive: true });
  // The pid of a process that has exited holds the lock.
  const { spawnSync } = await import('node:child_process');
  const dead = spawnSync('true').pid;
  await writeFile(join(svc.store.root, 'lock'), String(dead));
  t.same(await svc.load(bb.file), ['busybox:latest']);
  const listing = await treeListing(svc.store.root);
  t.notOk(listing.some((p) => p.includes('partial') || p.includes('tmp-deadbeef')), 'partial files cleared');
  await t.rejects(lstat(join(svc.store.root, 'lock')), { code: 'ENOENT' }, 'lock released');
});
