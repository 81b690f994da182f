/**
 * Stacks end to end on a 2-host lab (h1 manager, h2 worker) with the busybox test image: a
 * 3-service stack (web published on 8080, api, kv) deploys from a compose file; its services reach
 * each other by their short names on the stack network; the secret is readable only in the service
 * that has it and the config appears at its target; editing one service and redeploying updates
 * only that one; `stack rm` removes the stack's services, network, secret and config and nothing else.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostSocket, labDown, labUp, type LabHost, type LabRecord } from '../../deploy/lab/index.js';
import { tsswarmWith, type CliResult } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { tempDir } from '../helpers/temp-dir.js';
import { loadTestImage } from '../helpers/lab-image.js';

const labName = 'stk';
let record: LabRecord;
let dir = '';

t.before(async () => {
  record = await labUp({ name: labName, hosts: 2, daemons: true, managers: 1 });
  dir = await tempDir(t, 'stack-files');
});
t.teardown(async () => {
  await labDown(labName).catch(() => undefined);
});

const host = (name: string): LabHost => record.hosts.find((h) => h.name === name) as LabHost;
const on = (name: string, ...args: string[]): Promise<CliResult> => tsswarmWith({ env: { TSSWARM_HOST: `unix://${hostSocket(host(name))}` } }, ...args);

const httpd = (body: string, port: number): string => `["sh", "-c", "mkdir -p /www && echo ${body} > /www/index.html && exec httpd -f -p ${port} -h /www"]`;

const compose = (apiExtra: string): string => `version: "3.8"
services:
  web:
    image: busybox
    command: ${httpd('web-ok', 80)}
    ports: ["8080:80"]
    configs:
      - source: webconf
        target: /etc/web.conf
  api:
    image: busybox
    command: ${httpd('api-ok', 80)}
    secrets: [token]${apiExtra}
  kv:
    image: busybox
    command: ${httpd('kv-ok', 6379)}
    depends_on: [api]
    volumes: ["kvdata:/data"]
    deploy:
      placement:
        constraints: [node.hostname == h1]
volumes:
  kvdata:
configs:
  webconf:
    file: ./web.conf
secrets:
  token:
    file: ./token.txt
`;

interface TaskRow {
  readonly name: string;
  readonly node: string;
  readonly desired: string;
  readonly current: string;
}

async function stackTasks(): Promise<TaskRow[]> {
  const r = await on('h1', 'stack', 'ps', labName, '--format', '{{.Name}}|{{.Node}}|{{.DesiredState}}|{{.CurrentState}}');
  if (r.code !== 0) throw new Error(`stack ps failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [name = '', node = '', desired = '', current = ''] = l.split('|');
      return { name: name.replace(/^[\\_ ]+/, ''), node, desired, current };
    });
}

const running = (rows: readonly TaskRow[]): TaskRow[] => rows.filter((r) => /running/i.test(r.desired) && /^running/i.test(r.current));

/** The running container of the stack's service `service` (short name; its task's node is asked). */
async function containerOf(service: string): Promise<{ hostName: string; id: string }> {
  const full = `${labName}_${service}`;
  const task = running(await stackTasks()).find((r) => r.name.startsWith(`${full}.`));
  if (task === undefined) throw new Error(`no running task of ${full}`);
  const r = await on(task.node, 'container', 'ls', '--format', 'json');
  const id = (JSON.parse(r.stdout || '[]') as { id: string; name: string }[]).find((c) => c.name.startsWith(`${full}.`))?.id;
  if (id === undefined) throw new Error(`no container of ${service} on ${task.node}`);
  return { hostName: task.node, id };
}

async function execIn(service: string, script: string): Promise<CliResult> {
  const c = await containerOf(service);
  return on(c.hostName, 'container', 'exec', c.id, 'sh', '-c', script);
}

/** One HTTP/1.0 request with busybox nc from inside `service`; the last line of the answer. */
async function ask(service: string, target: string, port: number): Promise<string> {
  const r = await execIn(service, `printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 2 ${target} ${port} | tail -1`);
  return r.code === 0 ? r.stdout.trim() : '';
}

/** One request from inside lab host `h` (3 s at most): the body, or ''. */
function wgetFrom(h: LabHost, url: string): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', h.netns, 'wget', '-q', '-T', '3', '-O', '-', url], { stdio: ['ignore', 'pipe', 'ignore'] });
    let body = '';
    p.stdout.on('data', (d: Buffer) => (body += d.toString()));
    p.on('exit', (code) => resolve(code === 0 ? body.trim() : ''));
    p.on('error', () => resolve(''));
  });
}

const version = async (service: string): Promise<number> => Number((await on('h1', 'service', 'inspect', '--format', '{{.Version.Index}}', service)).stdout.trim());

t.test('the test image is loaded on every host; unrelated objects exist', async (t) => {
  await loadTestImage(t, record);
  t.equal((await on('h1', 'network', 'create', 'keepnet')).code, 0, 'a network outside the stack');
  t.equal((await tsswarmWith({ env: { TSSWARM_HOST: `unix://${hostSocket(host('h1'))}` }, input: 'keep' }, 'secret', 'create', 'keepsecret', '-')).code, 0, 'a secret outside the stack');
});

t.test('a 3-service stack deploys; services reach each other by name; secret and config', async (t) => {
  await writeFile(join(dir, 'web.conf'), 'listen 80\n');
  await writeFile(join(dir, 'token.txt'), 'tok-123\n');
  await writeFile(join(dir, 'docker-compose.yml'), compose(''));
  const r = await on('h1', 'stack', 'deploy', '-c', join(dir, 'docker-compose.yml'), labName);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, `Creating network stk_default\nCreating secret stk_token\nCreating config stk_webconf\nCreating service stk_api\nCreating service stk_kv\nCreating service stk_web\n`);
  t.match(r.stderr, /^Ignoring unsupported options: depends_on$/m);
  await eventually('3 tasks running', stackTasks, (rows) => running(rows).length === 3, 120_000, 500);
  const ls = await on('h1', 'stack', 'ls');
  t.match(ls.stdout, /^stk\s+3$/m, ls.stdout);

  t.equal((await eventually('web reaches api by name', () => ask('web', 'api', 80), (s) => s === 'api-ok', 30_000, 500)).value, 'api-ok');
  t.equal((await eventually('web reaches kv by name', () => ask('web', 'kv', 6379), (s) => s === 'kv-ok', 30_000, 500)).value, 'kv-ok');
  t.equal((await eventually('api reaches web by name', () => ask('api', 'web', 80), (s) => s === 'web-ok', 30_000, 500)).value, 'web-ok');
  const published = await eventually('web published on 8080 of every host', () => wgetFrom(host('h2'), `http://${host('h1').address}:8080/`), (s) => s === 'web-ok', 30_000, 500);
  t.equal(published.value, 'web-ok');

  const secret = await execIn('api', 'cat /run/secrets/token');
  t.equal(secret.stdout, 'tok-123\n', `the secret inside api: ${secret.stderr}`);
  const noSecret = await execIn('web', 'cat /run/secrets/token');
  t.not(noSecret.code, 0, 'web has no secret');
  const config = await execIn('web', 'cat /etc/web.conf');
  t.equal(config.stdout, 'listen 80\n', `the config at its target: ${config.stderr}`);
});

t.test('the volume of kv keeps its data across a task restart on the same node', async (t) => {
  const first = await containerOf('kv');
  t.equal(first.hostName, 'h1', 'kv is placed on h1');
  const write = await on('h1', 'container', 'exec', first.id, 'sh', '-c', 'echo kept > /data/mark');
  t.equal(write.code, 0, write.stderr);
  const vols = await on('h1', 'volume', 'ls', '--format', '{{.Name}}');
  t.match(vols.stdout, /^stk_kvdata$/m, `the volume is named after the stack: ${vols.stdout}${vols.stderr}`);
  t.equal((await on('h1', 'container', 'stop', '-t', '1', first.id)).code, 0, 'the task container is stopped');
  const next = await eventually('a new kv task runs', () => containerOf('kv').catch(() => undefined), (c) => c !== undefined && c.id !== first.id, 90_000, 1000);
  const read = await on('h1', 'container', 'exec', next.value?.id ?? '', 'cat', '/data/mark');
  t.equal(read.stdout, 'kept\n', `the data survived: ${read.stderr}`);
});

t.test('editing one service and redeploying updates only that service', async (t) => {
  const before = { web: await version('stk_web'), api: await version('stk_api'), kv: await version('stk_kv') };
  const same = await on('h1', 'stack', 'deploy', '-c', join(dir, 'docker-compose.yml'), labName);
  t.equal(same.code, 0, same.stderr);
  t.equal(same.stdout, '', 'an unchanged file changes nothing');
  await writeFile(join(dir, 'docker-compose.yml'), compose('\n    environment:\n      EDITED: "1"'));
  const r = await on('h1', 'stack', 'deploy', '-c', join(dir, 'docker-compose.yml'), labName);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^Updating service stk_api \(id: \w+\)\n$/);
  t.equal(await version('stk_web'), before.web, 'web untouched');
  t.equal(await version('stk_kv'), before.kv, 'kv untouched');
  t.ok((await version('stk_api')) > before.api, 'api updated');
  await eventually('api runs the edited spec', () => execIn('api', 'echo $EDITED'), (x) => x.stdout.trim() === '1', 90_000, 1000);
});

t.test('stack rm removes the stack and nothing else', async (t) => {
  const r = await on('h1', 'stack', 'rm', labName);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /Removing service stk_api\nRemoving service stk_kv\nRemoving service stk_web\nRemoving network stk_default\nRemoving secret stk_token\nRemoving config stk_webconf\n/);
  const services = await on('h1', 'service', 'ls', '--format', '{{.Name}}');
  t.notMatch(services.stdout, /stk_/, 'no service of the stack');
  const networks = await on('h1', 'network', 'ls', '--format', '{{.Name}}');
  t.notMatch(networks.stdout, /stk_default/);
  t.match(networks.stdout, /keepnet/, 'the unrelated network stays');
  const secrets = await on('h1', 'secret', 'ls', '--format', '{{.Name}}');
  t.notMatch(secrets.stdout, /stk_token/);
  t.match(secrets.stdout, /keepsecret/, 'the unrelated secret stays');
  const configs = await on('h1', 'config', 'ls', '--format', '{{.Name}}');
  t.notMatch(configs.stdout, /stk_webconf/);
  const again = await on('h1', 'stack', 'rm', labName);
  t.equal(again.stderr, 'Nothing found in stack: stk\n');
});
