/**
 * The runtime's view of volumes over a real store: mounts get named volumes and data folders,
 * copy-up fills empty ones (not with nocopy), a failed container undoes the volumes it made, and
 * `--rm` containers take their anonymous volumes with them.
 */
import t from 'tap';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MountSpec } from '../../../worker/executor/container-config.js';
import { volumeMounter, volumeRequestOf } from '../../../worker/engine/volume-mounts.js';
import { VolumeStore } from '../../../worker/volumes/volume-store.js';
import { tempDir } from '../../helpers/temp-dir.js';

t.test('a mount asks for its volume with its options', async (t) => {
  t.same(volumeRequestOf({ type: 'volume', source: 'db', target: '/x', readOnly: false, volumeDriver: 'local', volumeOptions: { type: 'tmpfs', device: 'tmpfs' }, volumeLabels: { a: '1' } }), {
    name: 'db',
    driver: 'local',
    options: { type: 'tmpfs', device: 'tmpfs' },
    labels: { a: '1' },
    anonymous: false,
  });
  t.equal(volumeRequestOf({ type: 'volume', source: '', target: '/x', readOnly: false }).anonymous, true);
});

t.test('prepare, populate, settle, release', async (t) => {
  const dir = await tempDir(t, 'volmounts');
  const users = new Map<string, string[]>();
  const store = new VolumeStore({ root: join(dir, 'volumes'), usage: async () => users });
  const mounter = volumeMounter(store);
  const rootfs = join(dir, 'rootfs');
  await mkdir(join(rootfs, 'srv'), { recursive: true });
  await writeFile(join(rootfs, 'srv', 'index.html'), 'hi');
  const mounts: MountSpec[] = [
    { type: 'bind', source: '/etc', target: '/host-etc', readOnly: true },
    { type: 'volume', source: 'site', target: '/srv', readOnly: false },
    { type: 'volume', source: '', target: '/cache', readOnly: false },
    { type: 'volume', source: 'bare', target: '/srv', readOnly: false, volumeNoCopy: true },
  ];
  const prepared = await mounter.prepare(mounts);
  const anon = prepared.mounts[2]?.source ?? '';
  t.match(anon, /^[0-9a-f]{64}$/, 'the anonymous volume got a name');
  t.same(prepared.mounts.map((m) => m.source), ['/etc', 'site', anon, 'bare']);
  t.same([...prepared.paths.keys()].sort(), ['bare', 'site', anon].sort());
  await prepared.populate(rootfs);
  t.same(await readdir(prepared.paths.get('site') ?? ''), ['index.html'], 'copy-up');
  t.same(await readdir(prepared.paths.get('bare') ?? ''), [], 'nocopy');

  const failed = await mounter.prepare([{ type: 'volume', source: 'site', target: '/a', readOnly: false }, { type: 'volume', source: 'other', target: '/b', readOnly: false }]);
  await failed.settle(true);
  t.same((await store.list()).map((v) => v.name).sort(), ['bare', 'site', anon].sort(), 'a failed container undoes only what it made');

  for (const m of prepared.mounts) if (m.type === 'volume') users.set(m.source, ['c1']);
  await prepared.settle(false);
  for (const m of prepared.mounts) users.delete(m.source);
  await mounter.released(prepared.mounts, true);
  t.same((await store.list()).map((v) => v.name).sort(), ['bare', 'site'], 'run --rm took the anonymous volume');
});
