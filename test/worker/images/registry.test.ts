import { execFileSync } from 'node:child_process';
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { ErrorCode } from '../../../lib/errors.js';
import { runCommand } from '../../../lib/run-command.js';
import { sha256Digest } from '../../../worker/images/digest.js';
import { ImageService } from '../../../worker/images/image-service.js';
import { MediaType } from '../../../worker/images/media-types.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { startFakeRegistry } from './fake-registry.js';
import { busyboxTarball, freeLoopbackPort, startRegistry, treeListing } from './registry-helper.js';

/** Built once for this file (removed when the file's tests end). */
const sharedBusybox = busyboxTarball(t);

t.test('push to docker-registry, rm, pull back by digest: layers unpacked again', async (t) => {
  const registry = await startRegistry(t);
  const bb = await sharedBusybox;
  const dir = await tempDir(t, 'pushpull');
  const svc = new ImageService({ dataDir: join(dir, 'data'), insecureRegistries: [registry.host] });
  await svc.load(bb.file);
  const name = `${registry.host}/test/busybox:v1`;
  await svc.tag('busybox', name);
  const events: string[] = [];
  const pushed = await svc.push(name, { onProgress: (e) => events.push(e.phase) });
  t.equal(pushed.digest, bb.manifestDigest, 'registry holds the same manifest');
  t.equal(pushed.uploaded, 2, 'layer and config uploaded');
  t.ok(events.includes('uploading'), 'upload progress reported');
  t.equal((await svc.push(name)).uploaded, 0, 'second push uploads nothing');
  // skopeo agrees about what is in the registry.
  const { stdout } = await runCommand('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`]);
  t.equal((JSON.parse(stdout) as { Digest: string }).Digest, bb.manifestDigest);

  await svc.remove('busybox');
  await svc.remove(name);
  t.same(await svc.list(), []);
  t.same((await treeListing(svc.store.root)).filter((p) => p.startsWith('layers/sha256/')), [], 'layers gone');

  const pulled = await svc.pull(`${registry.host}/test/busybox@${bb.manifestDigest}`);
  t.match(pulled, { id: bb.configDigest, digest: bb.manifestDigest, downloaded: true });
  const [layer] = await svc.layerDirs(`${registry.host}/test/busybox@${bb.manifestDigest}`);
  t.equal(await readlink(join(layer ?? '', 'bin', 'sh')), 'busybox', 'layer unpacked');
  t.same(await svc.list(), [
    { id: bb.configDigest, digest: bb.manifestDigest, size: (await svc.resolve(bb.configDigest)).layers[0]?.unpackedSize ?? -1, created: '2024-01-01T00:00:00Z', repository: '<none>', tag: '<none>' },
  ], 'pulled by digest: no tag');
  const byTag = await svc.pull(name);
  t.match(byTag, { id: bb.configDigest, downloaded: false });
  t.match((await svc.inspect(name))['RepoDigests'], [`${registry.host}/test/busybox@${bb.manifestDigest}`]);
});

t.test('a registry that serves a blob with the wrong digest: pull fails with CORRUPT, store unchanged', async (t) => {
  const fake = await startFakeRegistry(t);
  const bb = await sharedBusybox;
  const dir = await tempDir(t, 'liar');
  const svc = new ImageService({ dataDir: join(dir, 'data'), insecureRegistries: [fake.host] });
  await svc.load(bb.file);
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256Digest('x')] } });
  const configDigest = fake.addBlob(config);
  const layerDigest = sha256Digest('the layer we promised');
  fake.addLyingBlob(layerDigest, 'something else entirely');
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: config.length },
    layers: [{ mediaType: MediaType.ociLayerGzip, digest: layerDigest, size: 23 }],
  });
  fake.addManifest('evil', 'latest', manifest, MediaType.ociManifest);
  const before = await treeListing(svc.store.root);
  await t.rejects(svc.pull(`${fake.host}/evil`), { code: ErrorCode.CORRUPT, message: new RegExp(`${layerDigest}.*digest mismatch`) });
  t.same(await treeListing(svc.store.root), before, 'store unchanged (not even the good config blob stayed)');
  t.same((await svc.list()).map((r) => r.repository), ['busybox']);
  // A manifest that does not hash to the digest asked for is refused too.
  fake.addManifest('evil', sha256Digest('other'), manifest, MediaType.ociManifest);
  await t.rejects(svc.pull(`${fake.host}/evil@${sha256Digest('other')}`), { code: ErrorCode.CORRUPT, message: /manifest.*digest mismatch/ });
  t.same(await treeListing(svc.store.root), before, 'store still unchanged');
});

t.test('unknown images and unreachable or non-lab registries give clear errors', async (t) => {
  const registry = await startRegistry(t);
  const dir = await tempDir(t, 'errors');
  const svc = new ImageService({ dataDir: join(dir, 'data'), insecureRegistries: [registry.host] });
  await t.rejects(svc.pull(`${registry.host}/nosuch:latest`), { code: ErrorCode.NOT_FOUND, message: /nosuch:latest: not found in registry/ });
  t.throws(() => new ImageService({ dataDir: dir, insecureRegistries: ['10.1.2.3:5000'] }), { code: ErrorCode.INVALID_ARGUMENT, message: /refused: plain HTTP is allowed only for loopback/ });
  t.throws(() => new ImageService({ dataDir: dir, insecureRegistries: ['registry.example.com'] }), { code: ErrorCode.INVALID_ARGUMENT });
  // Without --insecure-registry the client speaks TLS, and says how to allow plain HTTP.
  const strict = new ImageService({ dataDir: join(dir, 'data') });
  await t.rejects(strict.pull(`${registry.host}/x`), { code: ErrorCode.EXTERNAL, message: new RegExp(`--insecure-registry ${registry.host}`) });
  const nobody = `127.0.0.1:${await freeLoopbackPort()}`;
  const closed = new ImageService({ dataDir: join(dir, 'data'), insecureRegistries: [nobody] });
  await t.rejects(closed.pull(`${nobody}/x`), { code: ErrorCode.EXTERNAL, message: /unreachable: ECONNREFUSED/ });
  t.same(await svc.list(), []);
});

for (const auth of ['basic', 'bearer'] as const) {
  t.test(`${auth} auth: login checks and stores credentials 0600; pull uses them`, async (t) => {
    const fake = await startFakeRegistry(t, { auth, username: 'alice', password: 's3cret' });
    const dir = await tempDir(t, 'auth');
    const svc = new ImageService({ dataDir: join(dir, 'data'), insecureRegistries: [fake.host] });
    const plainTar = Buffer.from((await runCommand('sh', ['-c', `mkdir -p ${dir}/root/etc && echo x > ${dir}/root/etc/x && tar -cf - -C ${dir}/root etc | base64 -w0`])).stdout, 'base64');
    const layerBytes = gzipSync(plainTar);
    const realDiffId = sha256Digest(plainTar);
    const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [realDiffId] } });
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.dockerManifest,
      config: { mediaType: MediaType.dockerConfig, digest: fake.addBlob(config), size: config.length },
      layers: [{ mediaType: MediaType.dockerLayerGzip, digest: fake.addBlob(layerBytes), size: layerBytes.length }],
    });
    fake.addManifest('private/app', 'v1', manifest, MediaType.dockerManifest);
    await t.rejects(svc.pull(`${fake.host}/private/app:v1`), { code: ErrorCode.PERMISSION, message: /authentication required.*login/ });
    await t.rejects(svc.login(fake.host, { username: 'alice', password: 'wrong' }), { code: ErrorCode.PERMISSION, message: /authentication failed/ });
    await t.rejects(lstat(join(dir, 'data', 'auth.json')), { code: 'ENOENT' }, 'refused login stores nothing');
    await svc.login(fake.host, { username: 'alice', password: 's3cret' });
    t.equal((await lstat(join(dir, 'data', 'auth.json'))).mode & 0o777, 0o600, 'credentials file is 0600');
    const pulled = await svc.pull(`${fake.host}/private/app:v1`);
    t.equal(pulled.digest, sha256Digest(manifest));
    if (auth === 'bearer') t.ok(fake.requests.some((r) => r.startsWith('GET /token?') && r.includes('scope=repository%3Aprivate%2Fapp%3Apull')), 'token asked for the repository scope');
    t.ok(await svc.logout(fake.host));
  });
}

t.test('a manifest list is resolved to its linux/amd64 image; the list digest is the repo digest', async (t) => {
  const fake = await startFakeRegistry(t);
  const dir = await tempDir(t, 'list');
  const svc = new ImageService({ dataDir: join(dir, 'data'), insecureRegistries: [fake.host] });
  const image = (arch: string): { manifest: string; config: string } => {
    const layerTar = tarOf(`${arch}.txt`, `${arch}\n`);
    const layer = gzipSync(layerTar);
    const config = JSON.stringify({ architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256Digest(layerTar)] } });
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.dockerManifest,
      config: { mediaType: MediaType.dockerConfig, digest: fake.addBlob(config), size: config.length },
      layers: [{ mediaType: MediaType.dockerLayerGzip, digest: fake.addBlob(layer), size: layer.length }],
    });
    return { manifest, config };
  };
  const arm = image('arm64');
  const amd = image('amd64');
  const armDigest = fake.addManifest('multi', 'arm', arm.manifest, MediaType.dockerManifest);
  const amdDigest = fake.addManifest('multi', 'amd', amd.manifest, MediaType.dockerManifest);
  const list = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.dockerManifestList,
    manifests: [
      { mediaType: MediaType.dockerManifest, digest: armDigest, size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64' } },
      { mediaType: MediaType.dockerManifest, digest: amdDigest, size: amd.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
    ],
  });
  const listDigest = fake.addManifest('multi', 'latest', list, MediaType.dockerManifestList);
  const pulled = await svc.pull(`${fake.host}/multi`);
  t.equal(pulled.digest, listDigest);
  t.equal(pulled.id, sha256Digest(amd.config));
  t.equal((await svc.resolve(`${fake.host}/multi`)).manifestDigest, amdDigest);
  const [layer] = await svc.layerDirs(`${fake.host}/multi@${listDigest}`);
  t.ok(await lstat(join(layer ?? '', 'amd64.txt')).then(() => true), 'the amd64 layer was unpacked');
  t.notOk(fake.requests.some((r) => r.includes(armDigest)), 'the arm64 image was never fetched');
});

/** A one-file tar archive, as GNU tar writes it. */
function tarOf(name: string, content: string): Buffer {
  const dir = execFileSync('mktemp', ['-d', '/tmp/tsswarm-tarof-XXXXXX'], { encoding: 'utf8' }).trim();
  try {
    execFileSync('sh', ['-c', 'printf "%s" "$2" > "$1/$3"', 'sh', dir, content, name]);
    return execFileSync('tar', ['-cf', '-', '-C', dir, name]);
  } finally {
    execFileSync('rm', ['-rf', dir]);
  }
}

t.test('a lying blob that is a valid layer is unpacked to a temp dir only, then discarded', async (t) => {
  const fake = await startFakeRegistry(t);
  const dir = await tempDir(t, 'validlie');
  const svc = new ImageService({ dataDir: join(dir, 'data'), insecureRegistries: [fake.host] });
  const honest = tarOf('honest.txt', 'yes\n');
  const evil = gzipSync(tarOf('evil.txt', 'gotcha\n'));
  const promised = gzipSync(honest);
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256Digest(honest)] } });
  fake.addLyingBlob(sha256Digest(promised), evil);
  fake.addManifest(
    'sneaky',
    'latest',
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: fake.addBlob(config), size: config.length },
      layers: [{ mediaType: MediaType.ociLayerGzip, digest: sha256Digest(promised), size: evil.length }],
    }),
    MediaType.ociManifest,
  );
  await svc.store.init();
  const before = await treeListing(svc.store.root);
  await t.rejects(svc.pull(`${fake.host}/sneaky`), { code: ErrorCode.CORRUPT, message: /digest mismatch/ });
  const after = await treeListing(svc.store.root);
  t.same(after, before, 'no blob, no layer, no temp dir left');
  t.notOk(after.some((p) => p.includes('evil.txt')), 'the lie never reached a layer directory');
});
