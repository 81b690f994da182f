import { execFile } from 'node:child_process';
import { lstat, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { ErrorCode } from '../../../lib/errors.js';
import { runCommand } from '../../../lib/run-command.js';
import { TarType, encodePaxEntry, encodeTarHeader } from '../../../worker/images/tar-header.js';
import { unpackLayer } from '../../../worker/images/unpack.js';
import { whiteoutAction } from '../../../worker/images/whiteout.js';
import { tempDir } from '../../helpers/temp-dir.js';

const execFileAsync = promisify(execFile);

t.test('whiteout names map to overlay actions (pure)', async (t) => {
  t.same(whiteoutAction('etc/.wh.passwd'), { kind: 'whiteout', target: 'etc/passwd' });
  t.same(whiteoutAction('./.wh.top'), { kind: 'whiteout', target: 'top' });
  t.same(whiteoutAction('usr/share/.wh..wh..opq'), { kind: 'opaque', dir: 'usr/share' });
  t.same(whiteoutAction('.wh..wh..opq'), { kind: 'opaque', dir: '' });
  t.same(whiteoutAction('etc/passwd'), { kind: 'keep' });
  t.same(whiteoutAction('etc/.wh.'), { kind: 'keep' });
  t.same(whiteoutAction('etc/x.wh.y'), { kind: 'keep' });
});

/** Makes a layer tarball (GNU tar, given format, optional gzip) from files under a temp dir. */
async function makeLayer(dir: string, name: string, files: Record<string, string>, format: 'gnu' | 'posix', gzip = false): Promise<string> {
  const src = join(dir, `${name}-src`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(src, path, '..'), { recursive: true });
    if (!path.endsWith('/')) await writeFile(join(src, path), content);
  }
  const out = join(dir, `${name}.tar${gzip ? '.gz' : ''}`);
  const entries = (await readdir(src)).sort();
  await runCommand('tar', [gzip ? '-czf' : '-cf', out, `--format=${format}`, '--sort=name', '-C', src, ...entries]);
  return out;
}

const longDir = `deep/${'d'.repeat(60)}/${'e'.repeat(60)}`;

for (const format of ['gnu', 'posix'] as const) {
  t.test(`whiteouts become overlayfs form when unpacked (${format} tar, long names)`, async (t) => {
    const dir = await tempDir(t, 'whiteout');
    const layer = await makeLayer(
      dir,
      'upper',
      { 'etc/.wh.passwd': '', 'usr/.wh..wh..opq': '', 'usr/keep': 'kept\n', [`${longDir}/.wh.gone`]: '', 'etc/hostname': 'box\n' },
      format,
      format === 'posix',
    );
    const dest = join(dir, 'unpacked');
    await mkdir(dest);
    const result = await unpackLayer(layer, dest);
    t.match(result.diffId, /^sha256:[a-f0-9]{64}$/);
    const dev = await lstat(join(dest, 'etc', 'passwd'));
    t.ok(dev.isCharacterDevice(), 'etc/passwd is a character device');
    t.equal(dev.rdev, 0, 'device 0/0');
    const longDev = await lstat(join(dest, longDir, 'gone'));
    t.ok(longDev.isCharacterDevice(), 'long-path whiteout converted too');
    t.same((await readdir(join(dest, 'etc'))).sort(), ['hostname', 'passwd'], 'no .wh. files left');
    t.same(await readdir(join(dest, 'usr')), ['keep'], 'opaque marker removed');
    t.equal(await readFile(join(dest, 'usr', 'keep'), 'utf8'), 'kept\n');
    // Read the xattr back through tar (no getfattr on the host).
    const { stdout } = await execFileAsync('tar', ['-c', '--xattrs', '--xattrs-include=trusted.*', '-f', '-', '-C', dest, 'usr'], { encoding: 'latin1', maxBuffer: 1 << 20 });
    t.match(stdout, /SCHILY\.xattr\.trusted\.overlay\.opaque=y/, 'usr carries trusted.overlay.opaque=y');
  });
}

t.test('overlayfs honours the unpacked whiteouts', async (t) => {
  const dir = await tempDir(t, 'overlay');
  const lower = await makeLayer(dir, 'lower', { 'etc/passwd': 'root\n', 'etc/group': 'g\n', 'usr/old': 'old\n' }, 'gnu');
  const upper = await makeLayer(dir, 'upper', { 'etc/.wh.passwd': '', 'usr/.wh..wh..opq': '', 'usr/new': 'new\n' }, 'gnu');
  const l1 = join(dir, 'l1');
  const l2 = join(dir, 'l2');
  const mnt = join(dir, 'mnt');
  for (const d of [l1, l2, mnt]) await mkdir(d);
  await unpackLayer(lower, l1);
  await unpackLayer(upper, l2);
  await runCommand('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${l2}:${l1}`, mnt]);
  t.teardown(() => runCommand('umount', [mnt]).catch(() => undefined));
  t.same((await readdir(join(mnt, 'etc'))).sort(), ['group'], 'whited-out file is gone');
  t.same(await readdir(join(mnt, 'usr')), ['new'], 'opaque directory hides the lower contents');
});

t.test('a layer that is not a tar, or has the wrong diff ID, is CORRUPT', async (t) => {
  const dir = await tempDir(t, 'badlayer');
  const junk = join(dir, 'junk');
  await writeFile(junk, 'x'.repeat(2048));
  const dest = join(dir, 'out');
  await mkdir(dest);
  await t.rejects(unpackLayer(junk, dest), { code: ErrorCode.CORRUPT });
  const good = await makeLayer(dir, 'good', { 'a': 'a\n' }, 'gnu', true);
  const dest2 = join(dir, 'out2');
  await mkdir(dest2);
  await t.rejects(unpackLayer(good, dest2, `sha256:${'0'.repeat(64)}`), { code: ErrorCode.CORRUPT, message: /diff ID.*digest mismatch/ });
  const truncated = join(dir, 'trunc.gz');
  await writeFile(truncated, (await readFile(good)).subarray(0, 30));
  const dest3 = join(dir, 'out3');
  await mkdir(dest3);
  await t.rejects(unpackLayer(truncated, dest3), { code: ErrorCode.CORRUPT });
});

t.test('a layer cannot plant overlayfs attributes other than the opaque marker', async (t) => {
  const dir = await tempDir(t, 'xattr');
  const header = (name: string): Buffer =>
    encodeTarHeader({ name, mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0, typeflag: TarType.directory, linkname: '', devmajor: 0, devminor: 0 });
  const layer = Buffer.concat([
    encodePaxEntry({ 'SCHILY.xattr.trusted.overlay.redirect': '/etc', 'SCHILY.xattr.user.note': 'kept' }),
    header('a/'),
    Buffer.alloc(1024),
  ]);
  const file = join(dir, 'layer.tar');
  await writeFile(file, layer);
  const dest = join(dir, 'out');
  await mkdir(dest);
  await unpackLayer(file, dest);
  const { stdout } = await execFileAsync('tar', ['-c', '--xattrs', '--xattrs-include=*', '-f', '-', '-C', dest, 'a'], { encoding: 'latin1' });
  t.match(stdout, /SCHILY\.xattr\.user\.note=kept/, 'ordinary xattrs are kept');
  t.notMatch(stdout, /trusted\.overlay\.redirect/, 'trusted.overlay.redirect is dropped');
});
