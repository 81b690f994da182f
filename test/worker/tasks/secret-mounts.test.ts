/**
 * A task's secrets and configs as files: the pure plan (targets, owners, modes, missing objects)
 * and the real per-task tmpfs (mounted, files written with their owner and mode, gone on release,
 * and gone for tasks without a container after a restart).
 */
import t from 'tap';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../lib/log.js';
import { isMountPoint, mountsBelow, unmountBelow } from '../../../lib/mounts.js';
import { Config, Secret, Task, type DeepPartial } from '../../../proto/index.js';
import { TaskSecretFiles, bindMountsFor, secretFilePlan } from '../../../worker/tasks/secret-mounts.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const secrets = new Map([['sid', Secret.create({ id: 'sid', spec: { annotations: { name: 'db_pw', labels: {} }, data: enc('hunter2') } })]]);
const configs = new Map([['cid', Config.create({ id: 'cid', spec: { annotations: { name: 'app.conf', labels: {} }, data: enc('port=80') } })]]);

function task(id: string, container: DeepPartial<NonNullable<NonNullable<Task['spec']>['container']>>): Task {
  return Task.create({ id, spec: { container: { image: 'busybox', ...container } } });
}

t.test('the plan: relative secret targets under /run/secrets, configs under /, absolute ones as given', async (t) => {
  const plan = secretFilePlan(
    task('t1', {
      secrets: [
        { secretId: 'sid', secretName: 'db_pw', file: { name: 'db_pw', uid: '0', gid: '0', mode: 0o400 } },
        { secretId: 'sid', secretName: 'db_pw', file: { name: '/etc/pw', uid: '5', gid: '6', mode: 0 } },
      ],
      configs: [{ configId: 'cid', configName: 'app.conf', file: { name: 'app.conf', uid: '', gid: '', mode: 0o440 } }],
    }),
    secrets,
    configs,
  );
  t.same(
    plan.map((f) => [f.kind, f.hostName, f.target, f.uid, f.gid, f.mode.toString(8)]),
    [
      ['secret', 'secret-0', '/run/secrets/db_pw', 0, 0, '400'],
      ['secret', 'secret-1', '/etc/pw', 5, 6, '444'],
      ['config', 'config-0', '/app.conf', 0, 0, '440'],
    ],
  );
  t.same(bindMountsFor('/d', plan).map((m) => [m.type, m.source, m.target, m.readOnly]), [
    ['bind', '/d/secret-0', '/run/secrets/db_pw', true],
    ['bind', '/d/secret-1', '/etc/pw', true],
    ['bind', '/d/config-0', '/app.conf', true],
  ]);
});

t.test('the plan refuses what it cannot place', async (t) => {
  t.throws(() => secretFilePlan(task('t', { secrets: [{ secretId: 'gone', secretName: 'x', file: { name: 'x', uid: '0', gid: '0', mode: 0 } }] }), secrets, configs), {
    code: 'ENOTFOUND',
    message: 'secret x (gone) was not sent to this node',
  });
  t.throws(() => secretFilePlan(task('t', { secrets: [{ secretId: 'sid', secretName: 'x', file: { name: '../etc/passwd', uid: '0', gid: '0', mode: 0 } }] }), secrets, configs), {
    code: 'EINVAL',
    message: /invalid target/,
  });
  t.throws(() => secretFilePlan(task('t', { secrets: [{ secretId: 'sid', secretName: 'x', file: { name: 'x', uid: 'root', gid: '0', mode: 0 } }] }), secrets, configs), {
    code: 'EINVAL',
    message: /uid "root" is not a numeric ID/,
  });
  t.throws(
    () =>
      secretFilePlan(
        task('t', {
          secrets: [{ secretId: 'sid', secretName: 'x', file: { name: '/same', uid: '0', gid: '0', mode: 0 } }],
          configs: [{ configId: 'cid', configName: 'y', file: { name: '/same', uid: '0', gid: '0', mode: 0 } }],
        }),
        secrets,
        configs,
      ),
    { code: 'EINVAL', message: /target \/same/ },
  );
});

t.test('a task tmpfs: files with owner and mode, nothing on disk, released after use or after a restart', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'tsswarm-secret-mounts-'));
  const root = join(base, 'secrets');
  // Unmount first, then remove: whatever the test left mounted goes, even when it fails.
  t.teardown(async () => {
    await unmountBelow(base);
    await rm(base, { recursive: true, force: true });
  });
  const files = new TaskSecretFiles(root, silentLogger());
  const t1 = task('task1', { secrets: [{ secretId: 'sid', secretName: 'db_pw', file: { name: 'db_pw', uid: '7', gid: '8', mode: 0o400 } }] });
  const mounts = await files.prepare(t1, secrets, configs);
  const dir = join(root, 'task1');
  t.ok(await isMountPoint(dir), 'the task folder is a mount');
  const info = mountsBelow(await readFile('/proc/self/mountinfo', 'utf8'), dir);
  t.equal(info.length, 1);
  const line = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').find((l) => l.split(' ')[4] === dir) ?? '';
  t.match(line, / - tmpfs /, 'a tmpfs (memory, not disk)');
  const source = mounts[0]?.source ?? '';
  t.equal(await readFile(source, 'utf8'), 'hunter2');
  const st = await stat(source);
  t.equal((st.mode & 0o7777).toString(8), '400');
  t.equal(st.uid, 7);
  t.equal(st.gid, 8);
  t.same(await files.prepare(task('plain', {}), secrets, configs), [], 'a task without secrets gets nothing');

  await files.prepare(task('task2', { configs: [{ configId: 'cid', configName: 'app.conf', file: { name: '/app.conf', uid: '0', gid: '0', mode: 0o444 } }] }), secrets, configs);
  await files.release('task1');
  t.notOk(await isMountPoint(dir), 'released: unmounted');
  await t.rejects(stat(dir), { code: 'ENOENT' }, 'and the folder is gone');
  await files.prepare(t1, secrets, configs);
  t.equal(await files.releaseAllExcept(new Set(['task1'])), 1, 'after a restart, the folders of tasks without a container go');
  t.ok(await isMountPoint(dir), 'the kept task keeps its files');
  t.notOk(await isMountPoint(join(root, 'task2')));
  await files.release('task1');
  t.same(mountsBelow(await readFile('/proc/self/mountinfo', 'utf8'), root), [], 'nothing left mounted');
});
