import { join } from 'node:path';
import t from 'tap';
import { humanAge, humanSize, parseImportChanges } from '../../../cli/commands/image.js';
import { runCommand } from '../../../lib/run-command.js';
import { sha256Digest } from '../../../worker/images/digest.js';
import { MediaType } from '../../../worker/images/media-types.js';
import { tsswarm } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { startFakeRegistry } from './fake-registry.js';
import { busyboxTarball, startRegistry, treeListing } from './registry-helper.js';

/** Built once for this file (removed when the file's tests end). */
const sharedBusybox = busyboxTarball(t);

t.test('sizes, ages and --change values are shown and read as docker does', async (t) => {
  t.equal(humanSize(0), '0B');
  t.equal(humanSize(2_129_920), '2.13MB');
  t.equal(humanSize(828_000), '828kB');
  const now = new Date('2026-01-01T12:00:00Z');
  t.equal(humanAge('2026-01-01T11:59:30Z', now), '30 seconds ago');
  t.equal(humanAge('2026-01-01T11:00:00Z', now), 'About an hour ago');
  t.equal(humanAge('2024-01-01T00:00:00Z', now), '2 years ago');
  t.equal(humanAge(undefined, now), 'N/A');
  t.same(parseImportChanges(['CMD ["sh","-c","echo hi"]']), { cmd: ['sh', '-c', 'echo hi'] });
  t.same(parseImportChanges(['CMD echo hi']), { cmd: ['/bin/sh', '-c', 'echo hi'] });
  t.throws(() => parseImportChanges(['ENV A=b']), { message: /only CMD/ });
});

t.test('tsswarm image: load, ls, inspect, tag, save (skopeo reads it), rm', async (t) => {
  const bb = await sharedBusybox;
  const dir = await tempDir(t, 'cli');
  const data = ['--data-dir', join(dir, 'data')];
  const load = await tsswarm('image', 'load', '-i', bb.file, ...data);
  t.equal(load.code, 0, load.stderr);
  t.equal(load.stdout, 'Loaded image: busybox:latest\n');
  const ls = await tsswarm('image', 'ls', ...data);
  t.match(ls.stdout, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
  t.match(ls.stdout, new RegExp(`busybox\\s+latest\\s+${bb.configDigest.slice(7, 19)}\\s+\\d+ years? ago\\s+2\\.13MB`));
  const json = await tsswarm('image', 'ls', '--format', 'json', ...data);
  t.match(JSON.parse(json.stdout), [{ Repository: 'busybox', Tag: 'latest', ID: bb.configDigest, Digest: bb.manifestDigest }]);
  const inspect = await tsswarm('image', 'inspect', 'busybox', ...data);
  t.match(JSON.parse(inspect.stdout), [{ Id: bb.configDigest, Config: { Cmd: ['sh'] } }]);
  t.equal((await tsswarm('image', 'tag', 'busybox', 'mine/bb:2', ...data)).code, 0);
  const out = join(dir, 'bb.tar');
  const save = await tsswarm('image', 'save', '-o', out, 'mine/bb:2', ...data);
  t.equal(save.code, 0, save.stderr);
  const { stdout } = await runCommand('skopeo', ['inspect', `docker-archive:${out}`]);
  t.same((JSON.parse(stdout) as { Layers: string[] }).Layers, bb.diffIds);
  const rm = await tsswarm('image', 'rm', 'mine/bb:2', 'busybox', ...data);
  t.equal(rm.stdout, `Untagged: mine/bb:2\nUntagged: busybox:latest\nDeleted: ${bb.configDigest}\n`);
});

t.test('tsswarm image push, rm, pull by digest through a local docker-registry', async (t) => {
  const registry = await startRegistry(t);
  const bb = await sharedBusybox;
  const dir = await tempDir(t, 'clireg');
  const data = ['--data-dir', join(dir, 'data')];
  const insecure = ['--insecure-registry', registry.host];
  const name = `${registry.host}/busybox:latest`;
  await tsswarm('image', 'load', '-i', bb.file, ...data);
  await tsswarm('image', 'tag', 'busybox', name, ...data);
  const push = await tsswarm('image', 'push', name, ...insecure, ...data);
  t.equal(push.code, 0, push.stderr);
  t.match(push.stdout, `${name}: digest: ${bb.manifestDigest} size:`);
  t.equal((await tsswarm('image', 'rm', name, 'busybox', ...data)).code, 0);
  const pull = await tsswarm('image', 'pull', `${registry.host}/busybox@${bb.manifestDigest}`, ...insecure, ...data);
  t.equal(pull.code, 0, pull.stderr);
  t.match(pull.stdout, `Digest: ${bb.manifestDigest}\nStatus: Downloaded newer image for ${registry.host}/busybox@${bb.manifestDigest}\n`);
  t.match(pull.stdout, /[0-9a-f]{12}: Pull complete\n/);
  const again = await tsswarm('image', 'pull', name, ...insecure, ...data);
  t.match(again.stdout, /Status: Image is up to date/);
  t.equal((await tsswarm('image', 'ls', '-q', ...data)).stdout, `${bb.configDigest.slice(7, 19)}\n`);
});

t.test('bad input: one line on stderr, exit code 2 (user) or 1 (system), nothing changed', async (t) => {
  const bb = await sharedBusybox;
  const fake = await startFakeRegistry(t);
  const dir = await tempDir(t, 'clibad');
  const dataDir = join(dir, 'data');
  const data = ['--data-dir', dataDir];
  await tsswarm('image', 'load', '-i', bb.file, ...data);
  const before = await treeListing(join(dataDir, 'images'));
  const cases: [string[], number, RegExp][] = [
    [['image', 'pull', 'Busybox:latest'], 2, /invalid reference "Busybox:latest": repository name must be lowercase/],
    [['image', 'pull', 'busybox@sha256:123'], 2, /digest must be sha256/],
    [['image', 'inspect', 'nosuch'], 2, /no such image: nosuch/],
    [['image', 'rm', 'nosuch:1'], 2, /no such image: nosuch:1/],
    [['image', 'tag', 'busybox', 'UPPER'], 2, /lowercase/],
    [['image', 'save', '-o', join(dir, 'nodir', 'x.tar'), 'busybox'], 2, /does not exist/],
    [['image', 'load', '-i', join(dir, 'missing.tar')], 2, /no such archive file/],
    [['image', 'push', '127.0.0.1:5999/nosuch:1', '--insecure-registry', '127.0.0.1:5999'], 2, /no such image/],
    [['image', 'pull', '10.9.9.9:5000/x', '--insecure-registry', '10.9.9.9:5000'], 2, /refused: plain HTTP is allowed only for loopback/],
    [['image', 'ls', '--format', 'yaml'], 2, /unknown --format/],
    [['image', 'import', join(dir, 'missing.tar')], 2, /no such file/],
  ];
  // Independent refusals: run them side by side.
  const results = await Promise.all(cases.map(([args]) => tsswarm(...args, ...data)));
  for (const [i, [args, code, message]] of cases.entries()) {
    const r = results[i] ?? { code: -1, stdout: '', stderr: '' };
    t.equal(r.code, code, `${args.join(' ')} exits ${code}`);
    t.match(r.stderr, message, `${args.join(' ')} says why`);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
  }
  // A registry that lies about a blob: exit 1 with CORRUPT's message, store unchanged.
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256Digest('x')] } });
  const layerDigest = sha256Digest('promised');
  fake.addLyingBlob(layerDigest, 'delivered');
  fake.addManifest(
    'liar',
    'latest',
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: fake.addBlob(config), size: config.length },
      layers: [{ mediaType: MediaType.ociLayerGzip, digest: layerDigest, size: 9 }],
    }),
    MediaType.ociManifest,
  );
  const liar = await tsswarm('image', 'pull', `${fake.host}/liar`, '--insecure-registry', fake.host, ...data);
  t.equal(liar.code, 1);
  t.match(liar.stderr, /digest mismatch/);
  t.same(await treeListing(join(dataDir, 'images')), before, 'store unchanged by every refused request');
});
