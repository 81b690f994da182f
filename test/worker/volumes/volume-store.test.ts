/**
 * The volume store on a real folder: create (atomic, idempotent, nothing made on bad input), list,
 * inspect, rm refused while used, prune, holds, and tmpfs and bind volumes mounted only while used.
 */
import t from 'tap';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMountPoint, unmountBelow } from '../../../lib/mounts.js';
import { VolumeStore } from '../../../worker/volumes/volume-store.js';
import type { Teardown } from '../../helpers/temp-dir.js';

/** A store in its own temp dir; `users` plays the container records. */
async function store(t: Teardown): Promise<{ store: VolumeStore; root: string; base: string; users: Map<string, string[]> }> {
  const base = await mkdtemp(join(tmpdir(), 'tsswarm-volumes-'));
  t.teardown(async () => {
    await unmountBelow(base);
    await rm(base, { recursive: true, force: true });
  });
  const users = new Map<string, string[]>();
  const root = join(base, 'volumes');
  return { store: new VolumeStore({ root, usage: async () => users }), root, base, users };
}

t.test('create writes meta.json and _data; a second create of the name returns the first', async (t) => {
  const { store: s, root } = await store(t);
  const a = await s.create({ name: 'data', labels: { team: 'a' } });
  t.equal(a.created, true);
  t.equal(a.info.mountpoint, join(root, 'data', '_data'));
  t.same(a.info.labels, { team: 'a' });
  t.equal(a.info.driver, 'local');
  const meta = JSON.parse(await readFile(join(root, 'data', 'meta.json'), 'utf8')) as { name: string; options: object };
  t.same([meta.name, meta.options], ['data', {}]);
  const b = await s.create({ name: 'data', labels: { team: 'b' } });
  t.equal(b.created, false);
  t.same(b.info.labels, { team: 'a' }, 'the existing volume, unchanged');
  const unnamed = await s.create({});
  t.match(unnamed.info.name, /^[0-9a-f]{64}$/);
  t.same((await s.list()).map((v) => v.name).sort(), ['data', unnamed.info.name].sort());
  t.same((await readdir(root)).filter((n) => n.startsWith('.')), [], 'no scratch folders left');
});

t.test('bad input makes nothing', async (t) => {
  const { store: s, root, base } = await store(t);
  const cases: [Parameters<VolumeStore['create']>[0], RegExp][] = [
    [{ name: 'bad name' }, /invalid volume name/],
    [{ name: 'xx', driver: 'nfs' }, /unknown volume driver "nfs"/],
    [{ name: 'x1', options: { type: 'tmpfs' } }, /missing required option "device"/],
    [{ name: 'x2', options: { type: 'none', o: 'bind' } }, /missing required option "device"/],
    [{ name: 'x3', options: { type: 'none', o: 'bind', device: join(base, 'missing') } }, /bind device .* does not exist/],
    [{ name: 'x4', options: { type: 'none', o: 'bind', device: join(root, 'data') } }, /inside the volume store/],
    [{ name: 'x5', options: { flavour: 'x' } }, /invalid option "flavour"/],
  ];
  for (const [request, message] of cases) await t.rejects(s.create(request), { message }, JSON.stringify(request));
  t.same(await s.list(), []);
  t.same(await readdir(root).catch(() => []), []);
});

t.test('rm is refused while a container uses the volume, and names it; prune skips it', async (t) => {
  const { store: s, root, users } = await store(t);
  await s.create({ name: 'used' });
  await s.create({ name: 'named' });
  const anon = (await s.create({ anonymous: true })).info;
  t.same(anon.labels, { 'com.docker.volume.anonymous': '' });
  const anonUsed = (await s.create({ anonymous: true })).info;
  users.set('used', ['web']);
  users.set(anonUsed.name, ['db']);
  await writeFile(join(root, anon.name, '_data', 'f'), 'x'.repeat(1000));
  await t.rejects(s.remove('used', false), { code: 'ECONFLICT', message: 'cannot remove volume used: it is in use by web' });
  await t.rejects(s.remove('used', true), { code: 'ECONFLICT' }, '-f does not remove a volume in use');
  await t.rejects(s.remove('ghost', false), { code: 'ENOTFOUND', message: 'no such volume: ghost' });
  t.equal(await s.remove('ghost', true), false, '-f: a missing volume is fine');
  const p1 = await s.prune({ all: false });
  t.same(p1, { deleted: [anon.name], reclaimedBytes: 1000 }, 'only the unused anonymous volume');
  const p2 = await s.prune({ all: true, labels: ['team=x'] });
  t.same(p2.deleted, [], 'label filter');
  const p3 = await s.prune({ all: true });
  t.same(p3.deleted, ['named']);
  t.same((await s.list()).map((v) => v.name).sort(), [anonUsed.name, 'used'].sort());
  users.delete('used');
  t.equal(await s.remove('used', false), true);
  t.same((await readdir(root)).sort(), [anonUsed.name]);
});

t.test('holds count as users; a failed hold undoes the volumes it made', async (t) => {
  const { store: s } = await store(t);
  await s.create({ name: 'kept' });
  const held = await s.hold([{ name: 'kept' }, { name: 'fresh' }, { name: '' , anonymous: true }]);
  t.same(held.map((h) => h.created), [false, true, true]);
  await t.rejects(s.remove('fresh', false), { code: 'ECONFLICT', message: /being created/ });
  await s.unhold(held, true);
  t.same((await s.list()).map((v) => v.name), ['kept'], 'undo removed what the hold made');
  await t.rejects(s.hold([{ name: 'new1' }, { name: 'new2', options: { type: 'bogus', device: 'x' } }]), { code: 'EUNSUPPORTED' });
  t.same((await s.list()).map((v) => v.name), ['kept'], 'all or nothing');
  const ok = await s.hold([{ name: 'new1' }]);
  await s.unhold(ok, false);
  t.same((await s.list()).map((v) => v.name), ['kept', 'new1'], 'a settled hold keeps its volume');
});

t.test('a tmpfs volume is mounted while held or used, and unmounted when released', async (t) => {
  const { store: s, users } = await store(t);
  const v = (await s.create({ name: 'scratch', options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m,mode=0700' } })).info;
  t.equal(await isMountPoint(v.mountpoint), false, 'not mounted at create, as docker');
  const held = await s.hold([{ name: 'scratch' }]);
  t.equal(await isMountPoint(v.mountpoint), true);
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  t.match(mountinfo.split('\n').find((l) => l.includes(v.mountpoint)) ?? '', /tmpfs .*size=1024k.*mode=700/);
  users.set('scratch', ['c1']);
  await s.unhold(held, false);
  t.equal(await isMountPoint(v.mountpoint), true, 'still used by c1');
  await writeFile(join(v.mountpoint, 'f'), 'in memory');
  await s.released(['scratch'], false);
  t.equal(await isMountPoint(v.mountpoint), true, 'released is a no-op while c1 still uses it');
  users.delete('scratch');
  await s.released(['scratch'], false);
  t.equal(await isMountPoint(v.mountpoint), false, 'unmounted with its last user');
  t.same(await readdir(v.mountpoint), [], 'tmpfs data is gone with the mount');
});

t.test('a bind volume shows the host folder; removing the volume never touches the folder', async (t) => {
  const { store: s, base, root } = await store(t);
  const host = join(base, 'host-data');
  await mkdir(host);
  await writeFile(join(host, 'precious'), 'keep me');
  const v = (await s.create({ name: 'hostdir', options: { type: 'none', o: 'bind', device: host } })).info;
  const held = await s.hold([{ name: 'hostdir' }]);
  t.equal(await readFile(join(v.mountpoint, 'precious'), 'utf8'), 'keep me');
  await writeFile(join(v.mountpoint, 'new'), 'written through the volume');
  await s.unhold(held, false);
  t.equal(await isMountPoint(v.mountpoint), false);
  // Mounted again, then the daemon restarts (a new store: no holds) and the volume is removed
  // while its bind mount is still there: the store unmounts before it deletes anything.
  const again = await s.hold([{ name: 'hostdir' }]);
  await t.rejects(s.remove('hostdir', false), { code: 'ECONFLICT' });
  t.equal(await isMountPoint(v.mountpoint), true);
  const restarted = new VolumeStore({ root, usage: async () => new Map() });
  t.equal(await restarted.remove('hostdir', false), true);
  await s.unhold(again, false);

  t.same((await readdir(host)).sort(), ['new', 'precious'], 'the host folder and its files are untouched');
  const ro = (await s.create({ name: 'hostro', options: { type: 'none', o: 'bind,ro', device: host } })).info;
  const h = await s.hold([{ name: 'hostro' }]);
  await t.rejects(writeFile(join(ro.mountpoint, 'x'), 'no'), { code: 'EROFS' });
  await s.unhold(h, false);
});

t.test('recover removes scratch folders a crash left', async (t) => {
  const { store: s, root } = await store(t);
  await s.create({ name: 'data' });
  await mkdir(join(root, '.new-abc', '_data'), { recursive: true });
  await mkdir(join(root, '.rm-def', '_data'), { recursive: true });
  await s.recover();
  t.same(await readdir(root), ['data']);
});
