/**
 * Secrets and configs end to end on a 2-host lab (h1 manager, h2 worker) with the busybox test
 * image: a secret is readable inside the task that has it at /run/secrets/NAME (and at an absolute
 * target) with the asked mode, absent from a task without it, found in no file of either host's
 * data folder nor in the daemons' logs; a config appears read-only at its target; `secret rm` is
 * refused while a service uses the secret; the per-task tmpfs survives a tsswarmd restart (the task
 * is adopted) and goes with the task; bad input is
 * refused in one line with nothing created.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostLogFile, hostSocket, labDown, labUp, startHostDaemon, stopHostDaemon, type LabHost, type LabRecord } from '../../deploy/lab/index.js';
import { mountsBelow } from '../../lib/mounts.js';
import { tsswarmWith, type CliResult } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { tempDir } from '../helpers/temp-dir.js';
import { loadTestImage } from '../helpers/lab-image.js';

const labName = `sec${process.pid % 100_000}`;
let record: LabRecord;
const plaintext = `s3cret-${randomBytes(16).toString('hex')}`;
const configText = `listen=8080 # config-${randomBytes(8).toString('hex')}`;

t.before(async () => {
  record = await labUp({ name: labName, hosts: 2, daemons: true, managers: 1 });
});
t.teardown(async () => {
  await labDown(labName).catch(() => undefined);
});

const host = (name: string): LabHost => record.hosts.find((h) => h.name === name) as LabHost;
const on = (name: string, ...args: string[]): Promise<CliResult> => tsswarmWith({ env: { TSSWARM_HOST: `unix://${hostSocket(host(name))}` } }, ...args);
const onWithInput = (name: string, input: string, ...args: string[]): Promise<CliResult> =>
  tsswarmWith({ env: { TSSWARM_HOST: `unix://${hostSocket(host(name))}` }, input }, ...args);

/** The ID of the running container of `service` on `hostName`, if any. */
async function containerOf(hostName: string, service: string): Promise<string | undefined> {
  const r = await on(hostName, 'container', 'ls', '--format', 'json');
  const list = JSON.parse(r.stdout || '[]') as { id: string; name: string; state?: string; status?: string }[];
  return list.find((c) => c.name.startsWith(`${service}.`))?.id;
}

/** Every regular file below `dir` (not following links; sockets and fifos skipped). */
async function regularFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir).catch(() => [] as string[]);
  for (const name of entries) {
    const path = join(dir, name);
    const st = await lstat(path).catch(() => undefined);
    if (st === undefined) continue;
    if (st.isDirectory()) out.push(...(await regularFiles(path)));
    else if (st.isFile()) out.push(path);
  }
  return out;
}

t.test('the test image is loaded on every host', async (t) => {
  await loadTestImage(t, record);
  t.pass('loaded');
});

t.test('secret and config create, ls, inspect: the value is never shown', async (t) => {
  const dir = await tempDir(t, 'secrets-data');
  const configFile = join(dir, 'app.conf');
  await writeFile(configFile, configText);
  const created = await onWithInput('h1', plaintext, 'secret', 'create', '--label', 'team=db', 'db_password', '-');
  t.equal(created.code, 0, created.stderr);
  t.match(created.stdout, /^[a-z0-9]{25}\n$/, 'prints the ID');
  const cfg = await on('h1', 'config', 'create', 'app.conf', configFile);
  t.equal(cfg.code, 0, cfg.stderr);

  const ls = await on('h1', 'secret', 'ls');
  t.match(ls.stdout, /^ID\s+NAME\s+CREATED\s+UPDATED\n/, `table header: ${ls.stdout}`);
  t.match(ls.stdout, /db_password\s+Less than a second ago|db_password\s+\d+ seconds ago|db_password\s+1 second ago/, 'row with its age');
  const inspect = await on('h1', 'secret', 'inspect', 'db_password');
  t.equal(inspect.code, 0, inspect.stderr);
  const doc = (JSON.parse(inspect.stdout) as { Spec: { Name: string; Labels: Record<string, string>; Data?: string } }[])[0];
  t.equal(doc?.Spec.Name, 'db_password');
  t.same(doc?.Spec.Labels, { team: 'db' });
  t.equal(doc?.Spec.Data, undefined, 'no data in the inspect document');
  const pretty = await on('h1', 'secret', 'inspect', '--pretty', 'db_password');
  t.match(pretty.stdout, /Name:\s+db_password/);
  for (const r of [ls, inspect, pretty, await on('h1', 'secret', 'ls', '--format', 'json')]) {
    t.notOk(r.stdout.includes(plaintext) || r.stdout.includes(Buffer.from(plaintext).toString('base64')), 'the value is not printed');
  }
  const cinspect = JSON.parse((await on('h1', 'config', 'inspect', 'app.conf')).stdout) as { Spec: { Data: string } }[];
  t.equal(Buffer.from(cinspect[0]?.Spec.Data ?? '', 'base64').toString(), configText, 'config inspect shows the data, as docker does');
});

t.test('a task with the secret reads it at /run/secrets/NAME with its mode; one without has nothing', async (t) => {
  const withSecret = await on(
    'h1', 'service', 'create', '--detach', '--name', 'withsec', '--constraint', 'node.hostname==h2',
    '--secret', 'source=db_password,mode=0400', '--secret', 'source=db_password,target=/etc/db/pw,uid=5,gid=6,mode=0440',
    '--config', 'source=app.conf,target=/etc/app.conf',
    'busybox', 'sleep', '600',
  );
  t.equal(withSecret.code, 0, withSecret.stderr);
  const without = await on('h1', 'service', 'create', '--detach', '--name', 'nosec', '--constraint', 'node.hostname==h2', 'busybox', 'sleep', '600');
  t.equal(without.code, 0, without.stderr);
  const ids = await eventually(
    'both containers running on h2',
    async () => [await containerOf('h2', 'withsec'), await containerOf('h2', 'nosec')],
    (v) => v.every((id) => id !== undefined),
    90_000,
    500,
  );
  const [secId, noId] = ids.value as [string, string];
  const exec = (id: string, ...cmd: string[]): Promise<CliResult> => on('h2', 'container', 'exec', id, ...cmd);

  const read = await exec(secId, 'cat', '/run/secrets/db_password');
  t.equal(read.code, 0, read.stderr);
  t.equal(read.stdout, plaintext, 'the secret is readable at /run/secrets/db_password');
  t.equal((await exec(secId, 'stat', '-c', '%a %u %g', '/run/secrets/db_password')).stdout.trim(), '400 0 0', 'mode 0400, owned by root');
  t.equal((await exec(secId, 'cat', '/etc/db/pw')).stdout, plaintext, 'and at the absolute target');
  t.equal((await exec(secId, 'stat', '-c', '%a %u %g', '/etc/db/pw')).stdout.trim(), '440 5 6', 'with its uid, gid and mode');
  t.equal((await exec(secId, 'cat', '/etc/app.conf')).stdout, configText, 'the config is at its target');
  const write = await exec(secId, 'sh', '-c', 'echo x > /run/secrets/db_password');
  t.not(write.code, 0, 'the secret file is read-only in the container');
  const writeConfig = await exec(secId, 'sh', '-c', 'echo x > /etc/app.conf');
  t.not(writeConfig.code, 0, 'the config file is read-only in the container');

  const none = await exec(noId, 'sh', '-c', 'ls -A /run/secrets 2>/dev/null; cat /etc/app.conf 2>/dev/null; grep -rl "' + plaintext + '" /run /etc 2>/dev/null; true');
  t.equal(none.stdout.trim(), '', `the task without the secret sees neither the secret nor the config: ${none.stdout}`);

  const inspected = JSON.parse((await on('h1', 'service', 'inspect', 'withsec')).stdout) as { Spec: { TaskTemplate: { ContainerSpec: { Secrets: { SecretName: string; File: { Name: string; Mode: number } }[]; Configs: { ConfigName: string }[] } } } }[];
  const cs = inspected[0]?.Spec.TaskTemplate.ContainerSpec;
  t.same(cs?.Secrets.map((r) => [r.SecretName, r.File.Name, r.File.Mode]), [['db_password', 'db_password', 0o400], ['db_password', '/etc/db/pw', 0o440]], 'service inspect lists the secret references');
  t.same(cs?.Configs.map((r) => r.ConfigName), ['app.conf']);

  const mounts = mountsBelow(await readFile('/proc/self/mountinfo', 'utf8'), join(host('h2').runDir, 'secrets'));
  t.equal(mounts.length, 1, `one tmpfs for the task with secrets on h2: ${mounts.join(' ')}`);
});

t.test('the plaintext is on no host disk: not in either data folder (WAL, snapshots, containers) nor in the logs', async (t) => {
  let files = 0;
  const searched: string[] = [];
  for (const h of record.hosts) {
    for (const path of [...(await regularFiles(h.dataDir)), hostLogFile(h)]) {
      const content = await readFile(path).catch(() => undefined);
      if (content === undefined) continue;
      files++;
      searched.push(path);
      if (content.includes(plaintext)) t.fail(`the plaintext is in ${path}`);
    }
  }
  t.ok(files > 10, `${files} files searched`);
  t.ok(searched.some((p) => p.endsWith('.wal')), "the manager's raft WAL was among them");
  t.ok(searched.some((p) => p.endsWith('tsswarmd.log')), 'and the daemon logs');
  t.pass('no file holds the plaintext');
});

t.test('secret rm and config rm are refused while a service uses them; the tmpfs outlives a daemon restart and goes with the task', async (t) => {
  const add = await on('h1', 'service', 'update', '--detach', '--secret-add', 'source=db_password,target=added', 'nosec');
  t.equal(add.code, 0, add.stderr);
  const added = await eventually(
    'the updated nosec task reads the added secret',
    async () => {
      const id = await containerOf('h2', 'nosec');
      return id === undefined ? undefined : await on('h2', 'container', 'exec', id, 'cat', '/run/secrets/added');
    },
    (r) => r?.code === 0,
    90_000,
    500,
  );
  t.equal(added.value?.stdout, plaintext, 'service update --secret-add: the new task has it');
  // A restart of the worker's daemon: the running task keeps its secret (the tmpfs outlives tsswarmd).
  const before = await containerOf('h2', 'withsec');
  await stopHostDaemon(host('h2'));
  await startHostDaemon(host('h2'));
  const kept = await eventually('withsec answers after the restart', async () => on('h2', 'container', 'exec', before ?? '', 'cat', '/run/secrets/db_password'), (r) => r.code === 0, 30_000, 500);
  t.equal(kept.value.stdout, plaintext, 'after a tsswarmd restart the adopted task still reads its secret');
  t.equal(await containerOf('h2', 'withsec'), before, 'the same container (adopted, not replaced)');
  const both = await on('h1', 'secret', 'rm', 'db_password');
  t.match(both.stderr, /secret 'db_password' is in use by the following services: nosec, withsec/, both.stderr);
  const drop = await on('h1', 'service', 'update', '--detach', '--secret-rm', 'db_password', 'nosec');
  t.equal(drop.code, 0, drop.stderr);
  const rm = await on('h1', 'secret', 'rm', 'db_password');
  t.equal(rm.code, 2, 'exit 2');
  t.match(rm.stderr, /^tsswarm: secret 'db_password' is in use by the following service: withsec/, rm.stderr);
  t.equal(rm.stderr.trim().split('\n').length, 1, 'one line');
  const crm = await on('h1', 'config', 'rm', 'app.conf');
  t.equal(crm.code, 2);
  t.match(crm.stderr, /config 'app.conf' is in use by the following service: withsec/);
  t.match((await on('h1', 'secret', 'ls', '-q')).stdout, /\S/, 'the secret is still there');

  for (const name of ['withsec', 'nosec']) t.equal((await on('h1', 'service', 'rm', name)).code, 0, `${name} removed`);
  await eventually('containers gone from h2', async () => [await containerOf('h2', 'withsec'), await containerOf('h2', 'nosec')], (v) => v.every((id) => id === undefined), 60_000, 500);
  await eventually(
    'the secrets tmpfs unmounted on h2',
    async () => mountsBelow(await readFile('/proc/self/mountinfo', 'utf8'), join(host('h2').runDir, 'secrets')),
    (m) => m.length === 0,
    30_000,
    250,
  );
  const removed = await eventually('secret rm succeeds once no service uses it', () => on('h1', 'secret', 'rm', 'db_password'), (r) => r.code === 0, 10_000, 250);
  t.equal(removed.value.stdout, 'db_password\n');
  t.equal((await on('h1', 'config', 'rm', 'app.conf')).code, 0);
  t.equal((await on('h1', 'secret', 'ls', '-q')).stdout, '', 'no secrets left');
});

t.test('bad input: one line on stderr, exit 2, nothing created', async (t) => {
  const dir = await tempDir(t, 'secrets-bad');
  const file = join(dir, 'data');
  await writeFile(file, 'x');
  const big = join(dir, 'big');
  await writeFile(big, Buffer.alloc(500 * 1024 + 1, 1));
  t.equal((await on('h1', 'secret', 'create', 'dup', file)).code, 0, 'a secret to collide with');
  for (const [args, pattern] of [
    [['secret', 'create', 'bad name', file], /invalid secret name "bad name"/],
    [['secret', 'create', 'ok', join(dir, 'missing')], /cannot read the secret data from .*missing: no such file/],
    [['secret', 'create', 'toobig', big], /at most 500 KiB/],
    [['secret', 'create', 'dup', file], /secret dup already exists/],
    [['secret', 'inspect', 'nosuch'], /secret nosuch not found/],
    [['config', 'create', '-bad', file], /invalid config name|unknown option/],
    [['service', 'create', '--detach', '--secret', 'nosuch', 'busybox'], /^tsswarm: secret nosuch not found$/m],
    [['service', 'create', '--detach', '--secret', 'source=dup,mode=999', 'busybox'], /--secret: invalid mode "999"/],
    [['service', 'create', '--detach', '--config', 'target=/x', 'busybox'], /--config: .* names no source/],
  ] as const) {
    const r = await on('h1', ...args);
    t.equal(r.code, 2, `${args.join(' ')}: exit 2 (${r.stderr.trim()})`);
    t.match(r.stderr, pattern, args.join(' '));
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
  }
  t.same((await on('h1', 'secret', 'ls', '--format', '{{.Name}}')).stdout.trim().split('\n'), ['dup'], 'only the secret made on purpose exists');
  t.equal((await on('h1', 'service', 'ls', '-q')).stdout.trim(), '', 'no service was created');
  t.equal((await on('h1', 'secret', 'rm', 'dup')).code, 0);
});
