import t from 'tap';
import { mkdir, readFile, readdir, stat, symlink, writeFile, chown, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { copyUp, resolveInRoot } from '../../../worker/volumes/copy-up.js';
import { tempDir } from '../../helpers/temp-dir.js';

t.test('paths resolve inside the root: symlinks never lead out', async (t) => {
  const root = await tempDir(t, 'copyup');
  await mkdir(join(root, 'usr/share/web'), { recursive: true });
  await mkdir(join(root, 'etc'));
  await symlink('/usr/share/web', join(root, 'www'));
  await symlink('../../etc', join(root, 'usr/share/up'));
  await symlink('loop2', join(root, 'loop1'));
  await symlink('loop1', join(root, 'loop2'));
  t.equal(await resolveInRoot(root, '/usr/share/web'), join(root, 'usr/share/web'));
  t.equal(await resolveInRoot(root, '/www'), join(root, 'usr/share/web'), 'an absolute link is taken from the root');
  t.equal(await resolveInRoot(root, '/usr/share/up'), join(root, 'etc'), 'a relative link is taken from its folder');

  t.equal(await resolveInRoot(root, '/../../../usr/share/web'), join(root, 'usr/share/web'), '.. stops at the root');
  t.equal(await resolveInRoot(root, '/nope/x'), undefined, 'missing');
  t.equal(await resolveInRoot(root, '/loop1'), undefined, 'links that go round');
});

t.test('copy-up copies content, owner and mode into an empty volume only', async (t) => {
  const dir = await tempDir(t, 'copyup');
  const rootfs = join(dir, 'rootfs');
  const vol = join(dir, 'vol');
  await mkdir(join(rootfs, 'data/sub'), { recursive: true });
  await writeFile(join(rootfs, 'data/seed.txt'), 'seed\n');
  await writeFile(join(rootfs, 'data/sub/deep.txt'), 'deep\n');
  await symlink('/etc/passwd', join(rootfs, 'data/link'));
  await chown(join(rootfs, 'data'), 1234, 5678);
  await chmod(join(rootfs, 'data'), 0o750);
  await mkdir(vol);
  t.equal(await copyUp(rootfs, '/data', vol), true);
  t.equal(await readFile(join(vol, 'seed.txt'), 'utf8'), 'seed\n');
  t.equal(await readFile(join(vol, 'sub/deep.txt'), 'utf8'), 'deep\n');
  t.same((await readdir(vol)).sort(), ['link', 'seed.txt', 'sub']);
  const s = await stat(vol);
  t.same([s.uid, s.gid, s.mode & 0o7777], [1234, 5678, 0o750], 'owner and mode of the image folder');

  await writeFile(join(rootfs, 'data/seed.txt'), 'changed image\n');
  await writeFile(join(vol, 'seed.txt'), 'user data\n');
  t.equal(await copyUp(rootfs, '/data', vol), false, 'a volume with data is left alone');
  t.equal(await readFile(join(vol, 'seed.txt'), 'utf8'), 'user data\n');

  const empty = join(dir, 'empty');
  await mkdir(empty);
  t.equal(await copyUp(rootfs, '/not/in/image', empty), false, 'nothing in the image there');
  t.same(await readdir(empty), []);
});
