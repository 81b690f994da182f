/**
 * Services end to end on a 3-host lab (h1 manager, h2 and h3 workers) with the busybox test image
 * loaded on every host: replicas spread and run as real containers, scale, an impossible
 * constraint explained in `service ps`, a killed worker's tasks rescheduled within heartbeat grace
 * + 5 s and stopped (never duplicated) when it returns, and bad input refused with nothing created.
 */
import t from 'tap';
import { labDown, labUp, hostSocket, startHostDaemon, stopHostDaemon, type LabHost, type LabRecord } from '../../deploy/lab/index.js';
import { eventually } from '../helpers/eventually.js';
import { execFile, spawn } from 'node:child_process';
import { tsswarmBin, tsswarmWith, type CliResult } from '../helpers/cli.js';
import { labCli, runningTasks } from '../helpers/lab-services.js';
import { loadTestImage } from '../helpers/lab-image.js';

const labName = `sv${process.pid % 100_000}`;
let record: LabRecord;

t.before(async () => {
  record = await labUp({ name: labName, hosts: 3, daemons: true, managers: 1 });
});
t.teardown(async () => {
  await labDown(labName).catch(() => undefined);
});

const { host, on, tasks } = labCli(() => record);
const running = runningTasks;

t.test('the test image is loaded on every host', async (t) => {
  await loadTestImage(t, record);
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

t.test('service logs: every task on every node, with its prefix; one task; --tail, -t, -f; bad input', async (t) => {
  const create = await on('h1', 'service', 'create', '--detach', '--name', 'talk', '--replicas', '3', '--replicas-max-per-node', '1', 'busybox', 'sh', '-c', 'echo "hello from $(hostname)"; echo err-line >&2; i=0; while [ $i -lt 600 ]; do sleep 1; echo "tick $i"; i=$((i+1)); done');
  t.equal(create.code, 0, create.stderr);
  await eventually('three talk tasks running, one per host', async () => running(await tasks('talk')).length, (n) => n === 3, 60_000);
  await eventually('the first line of all three tasks', async () => (await on('h1', 'service', 'logs', 'talk')).stdout.split('\n').filter((l) => l.includes('hello from')).length, (n) => n === 3, 20_000);

  const all = await on('h1', 'service', 'logs', 'talk');
  t.equal(all.code, 0, all.stderr);
  const hellos = all.stdout.split('\n').filter((l) => l.includes('hello from'));
  t.equal(hellos.length, 3, 'one hello per task');
  for (const line of hellos) t.match(line, /^talk\.[1-3]\.[a-z0-9]{12}@h[1-3] +\| hello from /, `prefixed as docker does: ${line}`);
  t.equal(new Set(hellos.map((l) => /@(h\d)/.exec(l)?.[1])).size, 3, 'lines came from all three hosts');
  t.equal(all.stderr.split('\n').filter((l) => l.endsWith('| err-line')).length, 3, 'stderr lines go to stderr');
  t.notMatch(all.stdout, /err-line/, 'and not to stdout');

  const raw = await on('h1', 'service', 'logs', '--raw', '--since', '1h', 'talk');
  t.equal(raw.stdout.split('\n').filter((l) => l.startsWith('hello from')).length, 3, '--raw: only the text');

  const stamped = await on('h1', 'service', 'logs', '-t', '--no-task-ids', '--tail', '1', 'talk');
  const stampedLines = [...stamped.stdout.split('\n'), ...stamped.stderr.split('\n')].filter((l) => l !== '');
  t.equal(stampedLines.length, 3, `--tail 1: one line per task (${JSON.stringify(stampedLines)})`);
  for (const line of stampedLines) t.match(line, /^talk\.[1-3]@h[1-3] +\| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /, '-t and --no-task-ids');

  const taskId = /^talk\.\d\.([a-z0-9]{12})@/.exec(hellos[0] ?? '')?.[1] ?? '';
  const one = await on('h1', 'service', 'logs', taskId);
  t.equal(one.code, 0, one.stderr);
  t.equal(one.stdout.split('\n').filter((l) => l.includes('hello from')).length, 1, 'a task ID gives that task only');

  // Following: new lines keep coming until the CLI is stopped.
  const follower = spawn(process.execPath, [tsswarmBin, 'service', 'logs', '-f', '--tail', '0', 'talk'], { env: { ...process.env, TSSWARM_HOST: `unix://${hostSocket(host('h1'))}` } });
  let followed = '';
  let followErr = '';
  follower.stdout.on('data', (b: Buffer) => (followed += b.toString()));
  follower.stderr.on('data', (b: Buffer) => (followErr += b.toString()));
  const ended = new Promise<number | null>((resolve) => follower.on('exit', (code) => resolve(code)));
  const timer = setTimeout(() => follower.kill('SIGKILL'), 60_000);
  await eventually('followed ticks from all three hosts', async () => ({ hosts: new Set([...followed.matchAll(/@(h\d) +\| tick/g)].map((m) => m[1])).size, out: followed.slice(-300), err: followErr.slice(-300) }), (v) => v.hosts === 3, 40_000);
  t.pass('a follower gets new lines from all three hosts');
  follower.kill('SIGINT');
  clearTimeout(timer);
  t.equal(await ended, 0, 'Ctrl-C ends a follower cleanly');

  const onWorker = await on('h2', 'service', 'logs', 'talk');
  t.not(onWorker.code, 0, 'a worker cannot serve service logs');
  t.match(onWorker.stderr, /not a swarm manager/);
  const missing = await on('h1', 'service', 'logs', 'nosuch');
  t.not(missing.code, 0, 'an unknown service fails');
  t.match(missing.stderr, /no such service or task: nosuch/);
  const badTail = await on('h1', 'service', 'logs', '--tail', 'x', 'talk');
  t.not(badTail.code, 0);
  t.match(badTail.stderr, /--tail must be a number/);
  t.equal((await on('h1', 'service', 'rm', 'talk')).code, 0);
});

/** What `http://ADDR:PORT/` answers from inside lab host `from` (empty when nothing answers); bounded to 2 s. */
function fetchFrom(from: string, addr: string, port: number, path = '/'): Promise<string> {
  return new Promise((resolve) => {
    // busybox's static wget crashes here (glibc NSS); nc speaks HTTP/1.0 just as well.
    const script = `printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 ${addr} ${port} | tail -1`;
    execFile('ip', ['netns', 'exec', host(from).netns, 'sh', '-c', script], { timeout: 5_000 }, (err, stdout) => resolve(err ? '' : stdout.trim()));
  });
}

t.test('host-mode publishing: each task answers on its own host only; a host port in use leaves a task pending', async (t) => {
  const httpd = ['busybox', 'sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www'];
  const create = await on('h1', 'service', 'create', '--detach', '--name', 'hostweb', '--replicas', '2', '--publish', 'mode=host,published=8081,target=80', ...httpd);
  t.equal(create.code, 0, create.stderr);
  const { value: rows } = await eventually('two hostweb tasks running', async () => running(await tasks('hostweb')), (r) => r.length === 2, 60_000);
  const busy = new Set(rows.map((r) => r.node));
  t.equal(busy.size, 2, 'on two different hosts: a host port is held once per node');
  const ports = await on('h1', 'service', 'ps', 'hostweb', '--format', '{{.Ports}}');
  t.same(ports.stdout.trim().split('\n'), ['*:8081->80/tcp', '*:8081->80/tcp'], 'service ps shows the host ports of running tasks');
  const names = ['h1', 'h2', 'h3'];
  for (const [i, name] of names.entries()) {
    const from = names[(i + 1) % 3] as string;
    if (busy.has(name)) {
      const { value } = await eventually(`${name}:8081 answering`, () => fetchFrom(from, host(name).address, 8081), (v) => v !== '', 20_000);
      t.match(value, /^[a-z0-9]{12}$/, `${name}:8081 answers from its own task (${value}), asked from ${from}`);
      t.not(await fetchFrom(name, host(name).address, 8081), '', `${name}:8081 answers the host itself too`);
    } else {
      t.equal(await fetchFrom(from, host(name).address, 8081), '', `${name} runs no task: nothing answers on its 8081 (no routing mesh)`);
    }
  }

  const second = await on('h1', 'service', 'create', '--detach', '--name', 'hostweb2', '--replicas', '2', '--publish', 'mode=host,published=8081,target=80', ...httpd);
  t.equal(second.code, 0, second.stderr);
  const { value: rows2 } = await eventually('one hostweb2 task running, one pending', async () => tasks('hostweb2'), (r) => running(r).length === 1 && r.some((x) => /host-mode port in use/.test(x.error)), 60_000);
  const free = names.find((n) => !busy.has(n));
  t.same(running(rows2).map((r) => r.node), [free], 'the one that runs took the only host with 8081 free');
  t.match(rows2.find((r) => r.error !== '')?.error, /no suitable node.*host-mode port in use/, 'the other waits, saying why');

  const zero = await on('h1', 'service', 'create', '--detach', '--publish', 'mode=host,target=80', 'busybox', 'sleep', '60');
  t.not(zero.code, 0, 'host mode without a published port is refused');
  t.match(zero.stderr, /host mode needs its published port/);
  for (const name of ['hostweb', 'hostweb2']) t.equal((await on('h1', 'service', 'rm', name)).code, 0, `${name} removed`);
});

t.test('mesh=local: every host sends the port to its own task only, and the task sees the client address', async (t) => {
  // A CGI that answers with the address the request came from.
  const script = 'mkdir -p /www/cgi-bin && printf "#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho \\$REMOTE_ADDR\\n" > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && exec httpd -f -p 80 -h /www';
  const local = await on('h1', 'service', 'create', '--detach', '--name', 'localweb', '--publish', 'published=8082,target=80,mesh=local', 'busybox', 'sh', '-c', script);
  t.equal(local.code, 0, local.stderr);
  const mesh = await on('h1', 'service', 'create', '--detach', '--name', 'meshweb', '--publish', 'published=8083,target=80', 'busybox', 'sh', '-c', script);
  t.equal(mesh.code, 0, mesh.stderr);
  const { value: rows } = await eventually('localweb and meshweb running', async () => [...running(await tasks('localweb')), ...running(await tasks('meshweb'))], (r) => r.length === 2, 60_000);
  const where = rows[0]?.node as string;
  const other = ['h1', 'h2', 'h3'].find((n) => n !== where) as string;
  // busybox httpd gives REMOTE_ADDR as an IPv4-mapped IPv6 address: [::ffff:198.18.0.1].
  const bare = (a: string): string => a.replace(/^\[::ffff:/, '').replace(/\]$/, '');
  const { value: seen } = await eventually(`${where}:8082 answering`, async () => bare(await fetchFrom(other, host(where).address, 8082, '/cgi-bin/ip')), (v) => v !== '', 20_000);
  t.equal(seen, host(other).address, `mesh=local: the task saw the client's own address ${host(other).address}`);
  for (const n of ['h1', 'h2', 'h3'].filter((x) => x !== where)) t.equal(await fetchFrom(n, host(n).address, 8082, '/cgi-bin/ip'), '', `${n} has no localweb task: its 8082 does not answer`);
  const { value: snat } = await eventually('meshweb answering through the mesh', async () => bare(await fetchFrom(other, host(other).address, 8083, '/cgi-bin/ip')), (v) => v !== '', 20_000);
  t.not(snat, host(other).address, `the ordinary mesh answers from every host and SNATs (the task saw ${snat})`);
  const inspect = await on('h1', 'service', 'inspect', '--pretty', 'localweb');
  t.match(inspect.stdout, /Mesh = local/, 'inspect --pretty says so');
  for (const name of ['localweb', 'meshweb']) t.equal((await on('h1', 'service', 'rm', name)).code, 0, `${name} removed`);
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

  // --endpoint-mode dnsrr: no VIP; the name itself answers with every task address.
  const rr = await on('h1', 'service', 'create', '--detach', '--name', 'rr', '--replicas', '2', '--endpoint-mode', 'dnsrr', '--network', 'appnet', 'busybox', 'sleep', '600');
  t.equal(rr.code, 0, rr.stderr);
  const rrLookup = await eventually('rr resolves to its 2 task addresses', () => cli('container', 'exec', id, 'nslookup', 'rr'), (r) => new Set(r.stdout.split('Name:').slice(1).join(' ').match(/10\.\d+\.\d+\.\d+/g) ?? []).size === 2, 60_000);
  t.pass(`rr (dnsrr): ${rrLookup.value.stdout.replace(/\s+/g, ' ').trim()}`);
  for (const name of ['client', 'db', 'rr']) t.equal((await on('h1', 'service', 'rm', name)).code, 0, `${name} removed`);
});

t.test('bad input is refused and nothing is created', async (t) => {
  // Services removed by earlier tests may still be going away: compare IDs, not counts.
  const ids = async (): Promise<string[]> => (await on('h1', 'service', 'ls', '-q')).stdout.trim().split('\n').filter((l) => l !== '');
  const before = new Set(await ids());
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
  t.same((await ids()).filter((id) => !before.has(id)), [], 'no service was created');
  t.equal((await on('h1', 'service', 'rm', 'web')).code, 0, 'web removed');
});
