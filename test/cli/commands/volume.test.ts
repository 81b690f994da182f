/**
 * `tsswarm volume ...` and volume mounts of `run`, against a real tsswarmd, as a user would type them.
 */
import t, { type Test } from 'tap';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMountPoint } from '../../../lib/mounts.js';
import type { CliResult } from '../../helpers/cli.js';
import { testDaemon } from '../../helpers/daemon.js';
import { eventually } from '../../helpers/eventually.js';
import { tempDir } from '../../helpers/temp-dir.js';

const d = await testDaemon(t);
const volumesDir = join(d.dataDir, 'volumes');

function ok(t: Test, r: CliResult, what: string): void {
  t.equal(r.code, 0, `${what}: ${r.stderr.trim()}`);
}

async function names(): Promise<string[]> {
  return (await d.cli('volume', 'ls', '-q')).stdout.split('\n').filter((l) => l !== '');
}

t.test('create, ls, inspect; one container writes, the next reads; rm refused while used', async (t) => {
  const create = await d.cli('volume', 'create', '--label', 'team=a', 'data');
  ok(t, create, 'create');
  t.equal(create.stdout, 'data\n');
  t.equal((await d.cli('volume', 'create', 'data')).stdout, 'data\n', 'creating it again returns it, as docker');
  const ls = await d.cli('volume', 'ls');
  t.match(ls.stdout, /^DRIVER\s+VOLUME NAME\nlocal\s+data\n/);
  const doc = JSON.parse((await d.cli('volume', 'inspect', 'data')).stdout) as Record<string, unknown>[];
  t.match(doc, [{ Name: 'data', Driver: 'local', Scope: 'local', Labels: { team: 'a' }, Options: null, Mountpoint: join(volumesDir, 'data', '_data') }]);
  t.match(doc[0]?.['CreatedAt'], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  t.equal((await d.cli('volume', 'inspect', '-f', '{{.Mountpoint}}', 'data')).stdout, `${join(volumesDir, 'data', '_data')}\n`);

  ok(t, await d.cli('run', '--rm', '-v', 'data:/data', 'busybox', 'sh', '-c', 'echo written by one > /data/f'), 'writer');
  const read = await d.cli('run', '--rm', '--mount', 'type=volume,source=data,target=/mnt,readonly', 'busybox', 'sh', '-c', 'cat /mnt/f; echo x > /mnt/g || echo refused');
  ok(t, read, 'reader');
  t.match(read.stdout, /^written by one\n(.|\n)*refused\n$/, 'the second container reads it; readonly is read-only');

  ok(t, await d.cli('run', '-d', '--name', 'holder', '-v', 'data:/data', 'busybox', 'sleep', '300'), 'holder');
  const holder = JSON.parse((await d.cli('container', 'inspect', 'holder')).stdout) as { Mounts: unknown }[];
  t.same(holder[0]?.Mounts, [{ Type: 'volume', Name: 'data', Source: join(volumesDir, 'data', '_data'), Driver: 'local', Destination: '/data', Mode: '', RW: true, Propagation: '' }], 'container inspect shows the volume as docker does');

  const refused = await d.cli('volume', 'rm', 'data');
  t.equal(refused.code, 2);
  t.equal(refused.stderr, 'tsswarm: cannot remove volume data: it is in use by holder\n');
  t.equal((await d.cli('volume', 'rm', '-f', 'data')).code, 2, '-f does not remove a volume in use');
  const json = JSON.parse((await d.cli('volume', 'ls', '--format', 'json')).stdout) as { Name: string; Links: string }[];
  t.match(json, [{ Name: 'data', Links: '1' }]);
  t.equal((await d.cli('volume', 'ls', '-q', '-f', 'dangling=true')).stdout, '', 'a used volume is not dangling');
  ok(t, await d.cli('container', 'rm', '-f', 'holder'), 'rm holder');
  const stopped = await d.cli('container', 'create', '--name', 'parked', '-v', 'data:/data', 'busybox', 'true');
  ok(t, stopped, 'a created (never started) container');
  t.match((await d.cli('volume', 'rm', 'data')).stderr, /in use by parked/, 'any container, running or not, holds it');
  ok(t, await d.cli('container', 'rm', 'parked'), 'rm parked');
  const rm = await d.cli('volume', 'rm', 'data');
  ok(t, rm, 'rm');
  t.equal(rm.stdout, 'data\n');
  t.same(await names(), []);
  t.equal((await d.cli('volume', 'rm', '-f', 'data')).code, 0, '-f: a missing volume is fine');
  const missing = await d.cli('volume', 'inspect', 'data');
  t.equal(missing.code, 2);
  t.equal(missing.stderr, 'tsswarm: no such volume: data\n');
});

t.test('first use creates the volume and copies the image content into it, unless nocopy', async (t) => {
  const r = await d.cli('run', '--rm', '-v', 'site:/var/www', 'busybox', 'ls', '/var/www');
  ok(t, r, 'run');
  t.equal(r.stdout, 'index.html\n', 'the image content at the target');
  t.same(await readdir(join(volumesDir, 'site', '_data')), ['index.html'], 'copied into the volume');
  await writeFile(join(volumesDir, 'site', '_data', 'index.html'), 'mine\n');
  t.equal((await d.cli('run', '--rm', '-v', 'site:/var/www', 'busybox', 'cat', '/var/www/index.html')).stdout, 'mine\n', 'a volume with data is not copied over');
  const nocopy = await d.cli('run', '--rm', '--mount', 'type=volume,src=bare,dst=/var/www,volume-nocopy', 'busybox', 'ls', '-A', '/var/www');
  ok(t, nocopy, 'nocopy');
  t.equal(nocopy.stdout, '', 'volume-nocopy: empty');
  t.same((await names()).sort(), ['bare', 'site']);
  ok(t, await d.cli('volume', 'rm', 'bare', 'site'), 'rm both');
});

t.test('a tmpfs volume: mounted while a container uses it, gone with its last user', async (t) => {
  ok(t, await d.cli('volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=1m,mode=1777', 'scratch'), 'create');
  const mountpoint = join(volumesDir, 'scratch', '_data');
  t.equal(await isMountPoint(mountpoint), false, 'not mounted before use');
  ok(t, await d.cli('run', '-d', '--name', 'tmpuser', '-v', 'scratch:/s', 'busybox', 'sh', '-c', 'echo in memory > /s/f; sleep 300'), 'run');
  const inside = await d.cli('exec', 'tmpuser', 'sh', '-c', 'grep " /s " /proc/mounts; cat /s/f');
  t.match(inside.stdout, /^tmpfs \/s tmpfs rw.*size=1024k.*\nin memory\n$/);
  t.equal(await isMountPoint(mountpoint), true);
  t.match(JSON.parse((await d.cli('volume', 'inspect', 'scratch')).stdout), [{ Options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m,mode=1777' } }]);
  ok(t, await d.cli('container', 'rm', '-f', 'tmpuser'), 'rm container');
  t.equal(await isMountPoint(mountpoint), false, 'unmounted with its last user');
  ok(t, await d.cli('volume', 'rm', 'scratch'), 'rm volume');
});

t.test('a bind volume shows a host folder, and removing it leaves the folder alone', async (t) => {
  const host = await tempDir(t, 'bindvol');
  await mkdir(join(host, 'sub'));
  await writeFile(join(host, 'sub', 'note'), 'from the host\n');
  ok(t, await d.cli('volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', `device=${host}`, 'hostdir'), 'create');
  const r = await d.cli('run', '--rm', '-v', 'hostdir:/h', 'busybox', 'sh', '-c', 'cat /h/sub/note; echo from the container > /h/back');
  ok(t, r, 'run');
  t.equal(r.stdout, 'from the host\n');
  ok(t, await d.cli('volume', 'rm', 'hostdir'), 'rm');
  t.equal(await readFile(join(host, 'back'), 'utf8'), 'from the container\n');
  t.same((await readdir(host)).sort(), ['back', 'sub']);
});

t.test('anonymous volumes: --rm removes them; prune removes unused ones, -a the named too', async (t) => {
  ok(t, await d.cli('run', '--rm', '-v', '/cache', 'busybox', 'sh', '-c', 'echo x > /cache/f'), 'run --rm');
  t.same(await names(), [], 'run --rm took its anonymous volume with it');
  ok(t, await d.cli('run', '-d', '--name', 'anon', '--mount', 'type=volume,target=/cache', 'busybox', 'sh', '-c', 'echo 12345 > /cache/f; sleep 300'), 'run -d');
  const [anon = ''] = await names();
  t.match(anon, /^[0-9a-f]{64}$/);
  ok(t, await d.cli('volume', 'create', 'named'), 'named');
  const busy = await d.cli('volume', 'prune', '-f');
  t.equal(busy.stdout, 'Total reclaimed space: 0B\n', 'nothing unused yet');
  ok(t, await d.cli('container', 'rm', '-f', 'anon'), 'rm container');
  t.same((await names()).sort(), [anon, 'named'].sort(), 'docker rm keeps anonymous volumes');
  const asked = await d.cliInput('n\n', 'volume', 'prune');
  t.match(asked.stderr, /WARNING! This will remove anonymous local volumes not used by at least one container/);
  t.equal(asked.stdout, '', 'declined: nothing removed');
  t.equal((await names()).length, 2);
  const prune = await d.cli('volume', 'prune', '-f');
  t.equal(prune.stdout, `Deleted Volumes:\n${anon}\n\nTotal reclaimed space: 6B\n`);
  t.same(await names(), ['named'], 'named volumes stay');
  const all = await d.cli('volume', 'prune', '-f', '--all');
  t.equal(all.stdout, 'Deleted Volumes:\nnamed\n\nTotal reclaimed space: 0B\n');
  t.same(await names(), []);
  ok(t, await d.cli('run', '-d', '--name', 'anon2', '-v', '/y', '-v', 'keepme:/z', 'busybox', 'sleep', '300'), 'run -d');
  t.equal((await names()).length, 2);
  ok(t, await d.cli('container', 'rm', '-f', '-v', 'anon2'), 'rm -v');
  t.same(await names(), ['keepme'], 'rm -v takes the anonymous volume, not the named one');
  ok(t, await d.cli('volume', 'rm', 'keepme'), 'rm keepme');
});


t.test('bad input: one clear line, exit 2, nothing made', async (t) => {
  const cases: [string[], RegExp][] = [
    [['volume', 'create', 'bad name'], /invalid volume name "bad name"/],
    [['volume', 'create', '-d', 'nfs', 'v1'], /unknown volume driver "nfs"/],
    [['volume', 'create', '-o', 'type=none', '-o', 'o=bind', 'v2'], /missing required option "device"/],
    [['volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', 'device=/nonexistent/dir', 'v3'], /bind device \/nonexistent\/dir does not exist/],
    [['volume', 'create', '-o', 'colour=red', 'v4'], /invalid option "colour"/],
    [['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=big', 'v5'], /invalid tmpfs option "size=big"/],
    [['volume', 'create', '-o', 'novalue', 'v6'], /invalid --opt "novalue"/],
    [['volume', 'ls', '-f', 'colour=red'], /invalid filter "colour=red"/],
    [['run', '--rm', '--mount', 'type=volume,source=v7,target=/x,volume-opt=type=tmpfs', 'busybox', 'true'], /missing required option "device"/],
    [['run', '--rm', '-v', 'v8:/x', '-v', 'v9:/y', '--mount', 'type=volume,source=v10,target=/z,volume-driver=nfs', 'busybox', 'true'], /unknown volume driver "nfs"/],
    [['run', '--rm', '-v', 'v11:/x', '--name', 'bad name', 'busybox', 'true'], /invalid container name/],
    [['run', '--rm', '-v', 'v12:/x', 'nosuchimage', 'true'], /unable to find image/],
  ];
  for (const [args, message] of cases) {
    const r = await d.cli(...args);
    t.equal(r.code, 2, `${args.join(' ')} exits 2`);
    t.match(r.stderr, message, `${args.join(' ')}: ${r.stderr.trim()}`);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  }
  t.same(await names(), [], 'no volume was made');
  t.same(await readdir(volumesDir), [], 'and no folder either');
  t.equal((await d.cli('ps', '-a', '-q')).stdout, '', 'no container was made');
});

t.test('volumes and their data outlive a tsswarmd restart', async (t) => {
  ok(t, await d.cli('run', '--rm', '-v', 'durable:/d', 'busybox', 'sh', '-c', 'echo before > /d/f'), 'write');
  await d.kill();
  await d.restart();
  // The killed daemon's socket file is still there until the new one replaces it.
  await eventually('tsswarmd answers again', () => d.cli('volume', 'ls', '-q'), (r) => r.code === 0, 15_000, 250);
  const r = await d.cli('run', '--rm', '-v', 'durable:/d', 'busybox', 'cat', '/d/f');
  ok(t, r, 'read');
  t.equal(r.stdout, 'before\n');
  ok(t, await d.cli('volume', 'rm', 'durable'), 'rm');
});
