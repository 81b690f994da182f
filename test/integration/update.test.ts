/**
 * Rolling updates end to end on a 3-host lab ("upd"): a 6-replica web service behind the routing
 * mesh is updated to a new image (the busybox test image retagged, with another env) with
 * parallelism 2, delay 1 s and start-first while a bounded client loop inside h2 sends requests
 * through the mesh: no request fails and at least 4 replicas run at every moment. Then a manual
 * rollback; rebalancing (a host that comes back after a failure gets its share back when it is on,
 * nothing moves when it is off); and bad input refused with nothing changed.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusyboxImage } from '../../deploy/images/build-busybox.js';
import { labDown, labUp, startHostDaemon, stopHostDaemon, type LabHost, type LabRecord } from '../../deploy/lab/index.js';
import { ImageService } from '../../worker/images/image-service.js';
import { eventually } from '../helpers/eventually.js';
import { tempDir } from '../helpers/temp-dir.js';
import { labCli, runningTasks } from '../helpers/lab-services.js';

const labName = 'upd';
const image = (v: string): string => `127.0.0.1:5000/busybox:${v}`;
/** Most requests the client loop sends, and the longest it runs (seconds). */
const maxClientRequests = 4_000;
const maxClientSeconds = 150;
let record: LabRecord;

t.before(async () => {
  await labDown(labName).catch(() => undefined);
  record = await labUp({ name: labName, hosts: 3, daemons: true, managers: 1 });
});
t.teardown(async () => {
  await labDown(labName).catch(() => undefined);
});

const { host, on, tasks: rows } = labCli(() => record);
const running = runningTasks;

async function inspect(service: string): Promise<{ Version: { Index: number }; UpdateStatus?: { State: string; Message: string }; Spec: { TaskTemplate: { ContainerSpec: { Image: string } } } }> {
  const r = await on('h1', 'service', 'inspect', service);
  if (r.code !== 0) throw new Error(`service inspect failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as [never])[0];
}

t.test('the test image is loaded on every host, tagged v1 and v2', async (t) => {
  const dir = await tempDir(t, 'update-image');
  const tar = join(dir, 'busybox.tar');
  await buildBusyboxImage(tar);
  for (const h of record.hosts) {
    const images = new ImageService({ dataDir: h.dataDir });
    await images.load(tar);
    // Loopback registry names: resolving their digest never leaves the lab (it fails fast).
    for (const v of ['v1', 'v2']) await images.tag('busybox', image(v));
  }
  t.pass('loaded');
});

t.test('a 6-replica service behind the mesh updates start-first, 2 at a time, with no failed request', async (t) => {
  const create = await on(
    'h1',
    'service',
    'create',
    '--detach',
    '--name',
    'web',
    '--replicas',
    '6',
    '-p',
    '8080:80',
    '--env',
    'VERSION=v1',
    '--update-parallelism',
    '2',
    '--update-delay',
    '1s',
    '--update-order',
    'start-first',
    image('v1'),
    'sh',
    '-c',
    'mkdir -p /www && echo "$VERSION $(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www',
  );
  t.equal(create.code, 0, create.stderr);
  await eventually('6 running', () => rows('web'), (list) => running(list).length === 6, 90_000, 500);

  const client = host('h2');
  const dir = await tempDir(t, 'update-client');
  const stop = join(dir, 'stop');
  const url = `http://${client.address}:8080/`;
  // Every host's 8080 reaches the replicas through the mesh before the clock starts.
  await eventually(
    'the mesh answers',
    () => curlOnce(client, url),
    (body) => body.startsWith('v1 '),
    60_000,
    500,
  );

  // The client loop: bounded in requests and time; one line per request, FAIL for a failed one.
  const script = `i=0; end=$(( $(date +%s) + ${maxClientSeconds} )); while [ $i -lt ${maxClientRequests} ] && [ ! -e ${stop} ] && [ $(date +%s) -lt $end ]; do wget -q -T 3 -O - ${url} 2>/dev/null || echo FAIL; i=$((i+1)); sleep 0.02; done`;
  const loop = spawn('ip', ['netns', 'exec', client.netns, 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  loop.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const ended = new Promise<void>((resolve) => loop.on('exit', () => resolve()));
  const killer = setTimeout(() => loop.kill('SIGKILL'), (maxClientSeconds + 10) * 1000);

  // The watcher: replicas running, sampled while the update goes on.
  let fewest = Number.POSITIVE_INFINITY;
  let watching = true;
  const watcher = (async (): Promise<void> => {
    while (watching) {
      try {
        fewest = Math.min(fewest, running(await rows('web')).length);
      } catch {
        // A failed `service ps` is no sample.
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();

  const started = Date.now();
  await new Promise((r) => setTimeout(r, 2_000));
  const update = await on('h1', 'service', 'update', '--detach', '--image', image('v2'), '--env-add', 'VERSION=v2', 'web');
  t.equal(update.code, 0, update.stderr);
  const done = await eventually('update completed', () => inspect('web'), (s) => s.UpdateStatus?.State === 'completed', 150_000, 500);
  const tookMs = Date.now() - started - 2_000;
  await new Promise((r) => setTimeout(r, 2_000));
  watching = false;
  await watcher;
  writeFileSync(stop, '');
  await ended;
  clearTimeout(killer);

  const lines = out.split('\n').filter((l) => l !== '');
  const failed = lines.filter((l) => l === 'FAIL').length;
  t.ok(lines.length > 50, `the client sent ${lines.length} requests`);
  t.equal(failed, 0, `no failed request (${failed} of ${lines.length})`);
  t.ok(lines.some((l) => l.startsWith('v1 ')) && lines.some((l) => l.startsWith('v2 ')), 'answers came from the old and the new replicas');
  t.ok(fewest >= 4, `at least 4 replicas running at every sample (fewest: ${fewest})`);
  t.equal(done.value.Spec.TaskTemplate.ContainerSpec.Image, image('v2'));
  const now = running(await rows('web'));
  t.equal(now.length, 6);
  t.ok(now.every((r) => r.image === image('v2')), 'every replica runs the new image');
  t.comment(`update of 6 replicas took ${tookMs} ms; ${lines.length} requests, ${failed} failed`);
});

t.test('service rollback returns to the previous spec; inspect --pretty says so', async (t) => {
  const r = await on('h1', 'service', 'rollback', '--detach', 'web');
  t.equal(r.code, 0, r.stderr);
  await eventually('rollback completed', () => inspect('web'), (s) => s.UpdateStatus?.State === 'rollback_completed', 150_000, 500);
  const pretty = await on('h1', 'service', 'inspect', '--pretty', 'web');
  t.match(pretty.stdout, /UpdateStatus:\n State:\t\trollback_completed\n/);
  t.match(pretty.stdout, /Message:\trollback completed \(manually requested rollback\)/);
  const now = running(await rows('web'));
  t.equal(now.length, 6);
  t.ok(now.every((x) => x.image === image('v1')), `back on the old image: ${JSON.stringify(now.map((x) => x.image))}`);
});

t.test('a host back after a failure gets its share with rebalancing on; nothing moves when off', async (t) => {
  t.equal((await on('h1', 'swarm', 'update', '--dispatcher-heartbeat', '1s')).code, 0, 'a 1 s heartbeat keeps failure detection short');
  for (const [name, mode] of [
    ['bal', 'on'],
    ['still', 'off'],
  ] as const) {
    const r = await on('h1', 'service', 'create', '--detach', '--name', name, '--replicas', '6', '--rebalance', mode, '--update-parallelism', '2', image('v1'), 'sleep', '600');
    t.equal(r.code, 0, r.stderr);
  }
  const perNode = async (service: string): Promise<Record<string, number>> => {
    const r = await on('h1', 'service', 'ps', service, '--format', '{{.Node}}|{{.DesiredState}}|{{.CurrentState}}');
    const out: Record<string, number> = {};
    for (const line of r.stdout.split('\n')) {
      const [node, desired, current] = line.split('|');
      if (node && desired?.toLowerCase() === 'running' && (current ?? '').toLowerCase().startsWith('running')) out[node] = (out[node] ?? 0) + 1;
    }
    return out;
  };
  const even = (m: Record<string, number>): boolean => m['h1'] === 2 && m['h2'] === 2 && m['h3'] === 2;
  for (const name of ['bal', 'still']) await eventually(`${name}: 2 per host`, () => perNode(name), even, 90_000, 500);

  await stopHostDaemon(host('h3'), true);
  const off3 = (m: Record<string, number>): boolean => m['h1'] === 3 && m['h2'] === 3 && m['h3'] === undefined;
  for (const name of ['bal', 'still']) await eventually(`${name}: h3's tasks run on h1 and h2`, () => perNode(name), off3, 60_000, 500);

  await startHostDaemon(host('h3'));
  const back = await eventually('bal: h3 has its share back', () => perNode('bal'), even, 90_000, 500);
  t.same(back.value, { h1: 2, h2: 2, h3: 2 }, `rebalanced ${back.ms} ms after h3 came back`);
  const why = await on('h1', 'service', 'ps', 'bal', '-f', 'desired-state=running', '--format', '{{.Node}}|{{.Placement}}');
  const onH3 = why.stdout.split('\n').filter((l) => l.startsWith('h3|'));
  t.equal(onH3.length, 2);
  for (const line of onH3) t.match(line, /^h3\|rebalanced from node h[12]; fewest tasks of the service on the node/, 'service ps says why the task sits on h3');
  await new Promise((r) => setTimeout(r, 5_000));
  t.same(await perNode('still'), { h1: 3, h2: 3 }, 'rebalancing off: nothing moved to h3');
  t.equal((await on('h1', 'service', 'rm', 'bal', 'still')).code, 0);
});

t.test('an update whose new tasks fail is rolled back (failure action rollback), with the reason in inspect --pretty', async (t) => {
  const create = await on('h1', 'service', 'create', '--detach', '--name', 'flaky', '--replicas', '2', '--update-failure-action', 'rollback', '--update-monitor', '10s', image('v1'), 'sleep', '600');
  t.equal(create.code, 0, create.stderr);
  await eventually('2 running', () => rows('flaky'), (list) => running(list).length === 2, 90_000, 500);
  const update = await on('h1', 'service', 'update', '--detach', '--args', "sh -c 'sleep 1; exit 3'", 'flaky');
  t.equal(update.code, 0, update.stderr);
  const done = await eventually('rolled back', () => inspect('flaky'), (s) => s.UpdateStatus?.State === 'rollback_completed', 120_000, 500);
  t.match(done.value.UpdateStatus?.Message, /^rollback completed \(update rolled back due to failure or early termination of task [a-z0-9]+/);
  const pretty = await on('h1', 'service', 'inspect', '--pretty', 'flaky');
  t.match(pretty.stdout, /State:\t\trollback_completed\n/);
  t.match(pretty.stdout, /Message:\trollback completed \(update rolled back due to failure or early termination of task [a-z0-9]+: .+\)/, 'the reason is shown');
  t.notMatch(pretty.stdout, /Args:\t\tsh -c/, 'the spec is the previous one again');
  await eventually('2 running the old spec', () => rows('flaky'), (list) => running(list).length === 2, 60_000, 500);
  t.equal((await on('h1', 'service', 'rm', 'flaky')).code, 0);
});

t.test('a replicated job of 10 completions, at most 3 at once, ends with exactly 10 completed tasks', async (t) => {
  const create = await on('h1', 'service', 'create', '--detach', '--name', 'job', '--mode', 'replicated-job', '--replicas', '10', '--max-concurrent', '3', image('v1'), 'sh', '-c', 'sleep 2');
  t.equal(create.code, 0, create.stderr);
  let most = 0;
  const done = await eventually(
    '10 complete',
    async () => {
      const list = await rows('job');
      most = Math.max(most, running(list).length);
      return list;
    },
    (list) => list.filter((r) => r.current.startsWith('complete')).length >= 10,
    180_000,
    300,
  );
  await new Promise((r) => setTimeout(r, 3_000));
  const after = await rows('job');
  t.equal(after.filter((r) => r.current.startsWith('complete')).length, 10, 'exactly 10 completed tasks, no more');
  t.ok(most <= 3, `never more than 3 running at a sample (most: ${most})`);
  t.ok(done.value.length >= 10, 'the history of the job is kept');
  t.equal((await on('h1', 'service', 'rm', 'job')).code, 0);
});

t.test('bad input: clear errors, nothing changed', async (t) => {
  const before = await inspect('web');
  const cases: [string[], RegExp][] = [
    [['service', 'update', '--update-parallelism', '-1', 'web'], /--update-parallelism: invalid value "-1"/],
    [['service', 'update', '--update-delay', '10x', 'web'], /--update-delay: invalid duration "10x"/],
    [['service', 'update', '--update-failure-action', 'explode', 'web'], /--update-failure-action: invalid value "explode"/],
  ];
  for (const [args, pattern] of cases) {
    const r = await on('h1', ...args);
    t.not(r.code, 0, args.join(' '));
    t.match(r.stderr, pattern, r.stderr.trim());
  }
  const fresh = await on('h1', 'service', 'create', '--detach', '--name', 'fresh', image('v1'), 'sleep', '600');
  t.equal(fresh.code, 0, fresh.stderr);
  const freshBefore = await inspect('fresh');
  for (const args of [
    ['service', 'rollback', 'fresh'],
    ['service', 'update', '--rollback', 'fresh'],
  ]) {
    const r = await on('h1', ...args);
    t.not(r.code, 0, args.join(' '));
    t.match(r.stderr, /service fresh has no previous spec to roll back to/);
  }
  t.equal((await inspect('fresh')).Version.Index, freshBefore.Version.Index, 'fresh unchanged');
  t.equal((await inspect('web')).Version.Index, before.Version.Index, 'web unchanged');
});

/** One request from inside `h` (bounded: 3 s); the body, or '' on failure. */
function curlOnce(h: LabHost, url: string): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', h.netns, 'wget', '-q', '-T', '3', '-O', '-', url], { stdio: ['ignore', 'pipe', 'ignore'] });
    let body = '';
    p.stdout.on('data', (d: Buffer) => (body += d.toString()));
    p.on('exit', (code) => resolve(code === 0 ? body : ''));
    p.on('error', () => resolve(''));
  });
}
