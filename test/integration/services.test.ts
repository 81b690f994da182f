/**
 * Services end to end on a 3-host lab (h1 manager, h2 and h3 workers) with the busybox test image
 * loaded on every host: replicas spread and run as real containers, scale, an impossible
 * constraint explained in `service ps`, a killed worker's tasks rescheduled within heartbeat grace
 * + 5 s and stopped (never duplicated) when it returns, and bad input refused with nothing created.
 */
import t from 'tap';
import { join } from 'node:path';
import { buildBusyboxImage } from '../../deploy/images/build-busybox.js';
import { labDown, labUp, hostSocket, startHostDaemon, stopHostDaemon, type LabHost, type LabRecord } from '../../deploy/lab/index.js';
import { ImageService } from '../../worker/images/image-service.js';
import { eventually } from '../helpers/eventually.js';
import { tsswarmWith, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp-dir.js';

const labName = `sv${process.pid % 100_000}`;
let record: LabRecord;

t.before(async () => {
  record = await labUp({ name: labName, hosts: 3, daemons: true, managers: 1 });
});
t.teardown(async () => {
  await labDown(labName).catch(() => undefined);
});

const host = (name: string): LabHost => record.hosts.find((h) => h.name === name) as LabHost;
const on = (name: string, ...args: string[]): Promise<CliResult> => tsswarmWith({ env: { TSSWARM_HOST: `unix://${hostSocket(host(name))}` } }, ...args);

interface TaskRow {
  name: string;
  node: string;
  desired: string;
  current: string;
  error: string;
}

async function tasks(service: string): Promise<TaskRow[]> {
  const r = await on('h1', 'service', 'ps', service, '--no-trunc', '--format', '{{.Name}}|{{.Node}}|{{.DesiredState}}|{{.CurrentState}}|{{.Error}}');
  if (r.code !== 0) throw new Error(`service ps failed: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const [name, node, desired, current, error] = line.split('|');
      return { name: (name ?? '').replace(/^[\\_ ]+/, ''), node: node ?? '', desired: desired ?? '', current: current ?? '', error: error ?? '' };
    });
}

const running = (rows: TaskRow[]): TaskRow[] => rows.filter((r) => r.desired.toLowerCase() === 'running' && r.current.toLowerCase().startsWith('running'));

t.test('the test image is loaded on every host', async (t) => {
  const dir = await tempDir(t, 'services-image');
  const tar = join(dir, 'busybox.tar');
  await buildBusyboxImage(tar);
  for (const h of record.hosts) await new ImageService({ dataDir: h.dataDir }).load(tar);
  t.equal((await on('h1', 'swarm', 'update', '--dispatcher-heartbeat', '1s')).code, 0, 'a 1 s heartbeat keeps failure detection short');
});

t.test('replicas run as containers spread over the hosts; scale up and down', async (t) => {
  const create = await on('h1', 'service', 'create', '--detach', '--name', 'web', '--replicas', '4', 'busybox', 'sleep', '600');
  t.equal(create.code, 0, create.stderr);
  const { value } = await eventually('4 running', () => tasks('web'), (rows) => running(rows).length === 4, 60_000);
  t.same([...new Set(running(value).map((r) => r.node))].sort(), ['h1', 'h2', 'h3'], 'spread over all three hosts');
  const ls = await on('h1', 'service', 'ls');
  t.match(ls.stdout, /web\s+replicated\s+4\/4\s+busybox/, `service ls: ${ls.stdout}`);

  t.equal((await on('h1', 'service', 'scale', '--detach', 'web=6')).code, 0);
  await eventually('6 running', () => tasks('web'), (rows) => running(rows).length === 6, 60_000);
  t.equal((await on('h1', 'service', 'scale', '--detach', 'web=3')).code, 0);
  const down = await eventually('3 running', () => tasks('web'), (rows) => running(rows).length === 3, 60_000);
  t.equal(running(down.value).length, 3, 'scaled down to 3');
});

t.test('an impossible constraint leaves the task pending with the reason', async (t) => {
  const create = await on('h1', 'service', 'create', '--detach', '--name', 'nowhere', '--constraint', 'node.labels.zone==mars', 'busybox', 'sleep', '600');
  t.equal(create.code, 0, create.stderr);
  const { value } = await eventually('pending with a reason', () => tasks('nowhere'), (rows) => rows.some((r) => /no suitable node/.test(r.error)), 30_000);
  t.match(value[0]?.error ?? '', /no suitable node \(3 nodes: .*constraint/, `the reason names the filter: ${value[0]?.error}`);
  t.match(value[0]?.current ?? '', /pending/i);
  t.equal((await on('h1', 'service', 'rm', 'nowhere')).code, 0);
});

t.test('a killed worker: its tasks move within heartbeat grace + 5 s; back, its old tasks stop', async (t) => {
  const before = running(await tasks('web'));
  const victim = before.find((r) => r.node !== 'h1')?.node as string;
  t.ok(victim, `a worker runs a task: ${victim}`);
  await stopHostDaemon(host(victim), true);
  const grace = 3 * 1_000;
  const moved = await eventually('tasks rescheduled', () => tasks('web'), (rows) => running(rows).length === 3 && running(rows).every((r) => r.node !== victim), grace + 5_000 + 10_000);
  t.ok(moved.ms <= grace + 5_000, `rescheduled after ${moved.ms} ms (limit ${grace + 5_000} ms)`);

  await startHostDaemon(host(victim));
  // Its old containers are stopped: count running containers of the service on every host.
  const containers = async (): Promise<number> => {
    let n = 0;
    for (const h of record.hosts) {
      const r = await tsswarmWith({ env: { TSSWARM_HOST: `unix://${hostSocket(h)}` } }, 'container', 'ls', '--format', 'json');
      n += (JSON.parse(r.stdout) as { name: string }[]).filter((c) => c.name.startsWith('web.')).length;
    }
    return n;
  };
  const settled = await eventually('exactly 3 containers running', containers, (n) => n === 3, 30_000);
  t.equal(settled.value, 3, 'no duplicates after the worker came back');
});

t.test('a service reaches another by name over an overlay network; tasks.NAME lists every replica', async (t) => {
  t.equal((await on('h1', 'network', 'create', '-d', 'overlay', 'appnet')).code, 0, 'network created');
  const db = await on('h1', 'service', 'create', '--detach', '--name', 'db', '--replicas', '2', '--network', 'appnet', 'busybox', 'sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www');
  t.equal(db.code, 0, db.stderr);
  const client = await on('h1', 'service', 'create', '--detach', '--name', 'client', '--network', 'appnet', 'busybox', 'sleep', '600');
  t.equal(client.code, 0, client.stderr);
  await eventually('db and client running', async () => [...running(await tasks('db')), ...running(await tasks('client'))], (rows) => rows.length === 3, 60_000);
  const where = running(await tasks('client'))[0]?.node as string;
  const cli = (...args: string[]): Promise<CliResult> => tsswarmWith({ env: { TSSWARM_HOST: `unix://${hostSocket(host(where))}` } }, ...args);
  const containers = JSON.parse((await cli('container', 'ls', '--format', 'json')).stdout) as { id: string; name: string }[];
  const id = containers.find((c) => c.name.startsWith('client.'))?.id as string;
  t.ok(id, `the client container runs on ${where}`);
  const lookup = await eventually('tasks.db resolves to 2 addresses', () => cli('container', 'exec', id, 'nslookup', 'tasks.db'), (r) => new Set(r.stdout.split('Name:').slice(1).join(' ').match(/10\.\d+\.\d+\.\d+/g) ?? []).size === 2, 30_000);
  t.pass(`tasks.db: ${lookup.value.stdout.replace(/\s+/g, ' ').trim()}`);
  const answers = new Set<string>();
  for (let i = 0; i < 12; i++) {
    // busybox's static wget crashes in a container (glibc NSS); nc speaks HTTP/1.0 just as well.
    const r = await cli('container', 'exec', id, 'sh', '-c', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 2 db 80 | tail -1');
    if (r.code === 0 && r.stdout.trim() !== '') answers.add(r.stdout.trim());
  }
  t.equal(answers.size, 2, `db (its VIP) answered from both replicas: ${[...answers].join(', ')}`);
  for (const name of ['client', 'db']) t.equal((await on('h1', 'service', 'rm', name)).code, 0, `${name} removed`);
});

t.test('bad input is refused and nothing is created', async (t) => {
  const count = async (): Promise<number> => (await on('h1', 'service', 'ls', '-q')).stdout.trim().split('\n').filter((l) => l !== '').length;
  const before = await count();
  for (const [args, pattern] of [
    [['service', 'create', '--detach', 'bad image!'], /invalid reference|image/i],
    [['service', 'create', '--detach', '--replicas', '-1', 'busybox'], /replicas/],
    [['service', 'create', '--detach', '--no-such-flag', 'busybox'], /unknown option/],
    [['service', 'create', '--detach', '--name', 'web', 'busybox'], /already exists/],
    [['service', 'create', '--detach', '--network', 'missing-net', 'busybox'], /network/],
  ] as const) {
    const r = await on('h1', ...args);
    t.not(r.code, 0, `${args.join(' ')} fails`);
    t.match(r.stderr, pattern, r.stderr.trim());
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  t.equal(await count(), before, 'no service was created');
  t.equal((await on('h1', 'service', 'rm', 'web')).code, 0, 'web removed');
});
