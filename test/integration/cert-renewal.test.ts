/**
 * Certificate renewal on a 3-host lab (2 managers, 1 worker). The daemons run with the test-only
 * TSSWARM_TEST_CERT_RENEW_MS, so each renews its certificate once, seconds after it got it,
 * instead of at 50-80% of its life. Every node gets a new certificate (new serial, same node ID
 * and role, from the same root), restarts its roles with it (the leader hands leadership over
 * first), and the cluster carries on: every node Ready, one leader, writes accepted. Then SIGTERM
 * stops a daemon cleanly: it exits, logs the end of its shutdown and removes its control socket.
 */
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostDaemonPid, hostLogFile, hostSocket, labDown, labUp, type LabHost, type LabRecord } from '../../deploy/lab/index.js';
import { tsswarmWith, type CliResult } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';

const labName = `cr${process.pid % 100_000}`;
const renewAfterMs = 12_000;
let record: LabRecord;
const before = new Map<string, X509Certificate>();

const certOf = async (h: LabHost): Promise<X509Certificate> => new X509Certificate(await readFile(join(h.dataDir, 'swarm', 'certificates', 'node.crt')));
const host = (name: string): LabHost => record.hosts.find((h) => h.name === name) as LabHost;
const on = (name: string, ...args: string[]): Promise<CliResult> => tsswarmWith({ env: { TSSWARM_HOST: `unix://${hostSocket(host(name))}` } }, ...args);

t.before(async () => {
  process.env['TSSWARM_TEST_CERT_RENEW_MS'] = String(renewAfterMs);
  try {
    record = await labUp({ name: labName, hosts: 3, daemons: true, managers: 2 });
  } finally {
    delete process.env['TSSWARM_TEST_CERT_RENEW_MS'];
  }
  for (const h of record.hosts) before.set(h.name, await certOf(h));
});
t.teardown(async () => {
  await labDown(labName).catch(() => undefined);
});

t.test('every node renews its certificate and the cluster carries on', async (t) => {
  for (const h of record.hosts) {
    await eventually(`${h.name} renewed`, () => readFile(hostLogFile(h), 'utf8'), (log) => log.includes('renewed the node certificate'), renewAfterMs + 30_000, 250);
    const old = before.get(h.name) as X509Certificate;
    const now = await certOf(h);
    t.not(now.serialNumber, old.serialNumber, `${h.name}: a new certificate`);
    t.equal(now.subject, old.subject, `${h.name}: same node ID, role and cluster`);
    t.equal(now.issuer, old.issuer, `${h.name}: from the same root`);
    t.ok(Date.parse(now.validTo) >= Date.parse(old.validTo), `${h.name}: valid at least as long`);
  }
  const rows = await eventually(
    'all Ready with one leader after the renewals',
    () => on('h1', 'node', 'ls', '--format', '{{.Hostname}}|{{.Status}}|{{.ManagerStatus}}'),
    (r) => {
      const lines = r.stdout.trim().split('\n');
      return r.code === 0 && lines.length === 3 && lines.every((l) => l.split('|')[1] === 'Ready') && lines.filter((l) => l.endsWith('|Leader')).length === 1;
    },
    30_000,
    250,
  );
  t.pass(`node ls: ${rows.value.stdout.trim().split('\n').join(', ')}`);
  const write = await on('h2', 'node', 'update', '--label-add', 'renewed=yes', 'h3');
  t.equal(write.code, 0, `a write through the other manager: ${write.stderr}`);
  const read = await on('h1', 'node', 'inspect', '--format', '{{json .Spec.Labels}}', 'h3');
  t.same(JSON.parse(read.stdout), { renewed: 'yes' });
  const h1log = await readFile(hostLogFile(host('h1')), 'utf8');
  t.match(h1log, /certificate renewal planned/, 'the plan is logged');
});

t.test('SIGTERM stops a daemon cleanly', async (t) => {
  const h3 = host('h3');
  const pid = await hostDaemonPid(h3);
  t.ok(pid !== undefined, 'h3 runs tsswarmd');
  const started = Date.now();
  process.kill(pid as number, 'SIGTERM');
  const alive = (): boolean => {
    try {
      process.kill(pid as number, 0);
      return true;
    } catch {
      return false;
    }
  };
  while (alive() && Date.now() - started < 15_000) await new Promise((r) => setTimeout(r, 50));
  t.notOk(alive(), `exited after ${Date.now() - started} ms`);
  const log = await readFile(hostLogFile(h3), 'utf8');
  t.match(log, /shutting down; containers keep running[\s\S]*tsswarmd stopped/, 'it finished its shutdown (logged)');
  t.notOk(existsSync(hostSocket(h3)), 'the control socket is gone');
});
