/**
 * Volumes of services on a 1-host lab ("vol"): a service with `--mount type=volume,source=data,
 * target=/data` gets the volume created on the node where its task lands; each start of the task
 * appends a line to /data/log; the container is killed, the restarted task sees the earlier line;
 * `volume rm` is refused while the task uses it and works once the service is gone.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildBusyboxImage } from '../../deploy/images/build-busybox.js';
import { hostSocket, labDown, labUp, type LabHost, type LabRecord } from '../../deploy/lab/index.js';
import { ImageService } from '../../worker/images/image-service.js';
import { tsswarmWith, type CliResult } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { tempDir } from '../helpers/temp-dir.js';

const labName = 'vol';
let record: LabRecord;

t.before(async () => {
  record = await labUp({ name: labName, hosts: 1, daemons: true, managers: 1 });
});
t.teardown(async () => {
  await labDown(labName).catch(() => undefined);
});

const h1 = (): LabHost => record.hosts[0] as LabHost;
const on = (...args: string[]): Promise<CliResult> => tsswarmWith({ env: { TSSWARM_HOST: `unix://${hostSocket(h1())}` } }, ...args);

/** The running containers of service `name`: ID and PID. */
async function running(name: string): Promise<{ id: string; pid: number }[]> {
  const r = await on('container', 'ls', '--format', 'json');
  const list = JSON.parse(r.stdout || '[]') as { id: string; name: string; pid: number | string }[];
  return list.filter((c) => c.name.startsWith(`${name}.`)).map((c) => ({ id: c.id, pid: Number(c.pid) }));
}

t.test('a service volume keeps its data across a task restart on the same node', async (t) => {
  const dir = await tempDir(t, 'vol-image');
  await buildBusyboxImage(join(dir, 'busybox.tar'));
  await new ImageService({ dataDir: h1().dataDir }).load(join(dir, 'busybox.tar'));

  const create = await on('service', 'create', '-d', '--name', 'keeper', '--mount', 'type=volume,source=data,target=/data', 'busybox', 'sh', '-c', 'echo start $HOSTNAME >> /data/log; sleep 300');
  t.equal(create.code, 0, create.stderr);
  const first = (await eventually('the first task runs', () => running('keeper'), (l) => l.length === 1, 60_000, 250)).value[0] as { id: string; pid: number };
  const log = join(h1().dataDir, 'volumes', 'data', '_data', 'log');
  await eventually('the task wrote its line', () => readFile(log, 'utf8').catch(() => ''), (s) => s.split('\n').length === 2, 10_000, 100);
  const vols = await on('volume', 'ls', '-q');
  t.equal(vols.stdout, 'data\n', 'the volume was made on the node where the task landed');

  const refused = await on('volume', 'rm', 'data');
  t.equal(refused.code, 2);
  t.match(refused.stderr, /^tsswarm: cannot remove volume data: it is in use by keeper\.1\.\w+\n$/);

  process.kill(first.pid, 'SIGKILL');
  const second = (await eventually('a new task runs', () => running('keeper'), (l) => l.length === 1 && l[0]?.id !== first.id, 90_000, 250)).value[0];
  t.not(second?.id, first.id);
  const lines = (await eventually('the new task wrote its line', () => readFile(log, 'utf8'), (s) => s.trim().split('\n').length >= 2, 10_000, 100)).value.trim().split('\n');
  t.equal(lines.length, 2, 'the first line is still there, the second came from the new task');
  t.ok(lines.every((l) => l.startsWith('start ')), lines.join(' | '));
  const seen = await on('exec', second?.id ?? '', 'cat', '/data/log');
  t.equal(seen.stdout.trim().split('\n').length, 2, 'and the new task sees both');

  t.equal((await on('service', 'rm', 'keeper')).code, 0);
  await eventually('the service containers are gone', () => on('volume', 'rm', 'data'), (r) => r.code === 0, 60_000, 500);
  t.equal((await on('volume', 'ls', '-q')).stdout, '', 'removed once nothing uses it');
});
