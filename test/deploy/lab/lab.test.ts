/**
 * The lab as a user drives it: up, ls, exec, down, and bad input. Needs root (namespaces).
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tsswarm } from '../../helpers/cli.js';
import { downOnTeardown, uniqueLabName } from '../../helpers/lab.js';

interface LsEntry {
  name: string;
  state: string;
  healthy: boolean;
  subnet: string;
  hosts: { name: string; address: string; netns: string; dataDir: string }[];
}

function netnsList(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

async function lsJson(): Promise<LsEntry[]> {
  const r = await tsswarm('lab', 'ls', '--format', 'json');
  if (r.code !== 0) throw new Error(`lab ls failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as LsEntry[];
}

t.test('a 3-host lab: hosts reach each other, ls shows them, down leaves nothing', async (t) => {
  const name = uniqueLabName('lt');
  downOnTeardown(t, name);
  const up = await tsswarm('lab', 'up', name, '--hosts', '3', '--no-daemons');
  t.equal(up.code, 0, `lab up: ${up.stderr}`);

  const lab = (await lsJson()).find((l) => l.name === name);
  t.ok(lab, 'lab ls lists the new lab');
  if (!lab) return;
  t.equal(lab.state, 'up');
  t.equal(lab.healthy, true);
  t.same(
    lab.hosts.map((h) => h.name),
    ['h1', 'h2', 'h3'],
  );
  t.match(lab.subnet, /^198\.1[89]\.\d+\.0\/24$/);
  const addresses = lab.hosts.map((h) => h.address);
  t.equal(new Set(addresses).size, 3, 'every host has its own address');

  const table = await tsswarm('lab', 'ls');
  for (const h of lab.hosts) t.match(table.stdout, new RegExp(`${name}\\s+${h.name}\\s+${h.address.replace(/\./g, '\\.')}`));

  const h3 = addresses[2] ?? '';
  const ping = await tsswarm('lab', 'exec', name, 'h1', '--', 'ping', '-c1', '-W1', h3);
  t.equal(ping.code, 0, `h1 pings h3: ${ping.stderr}`);
  t.match(ping.stdout, /1 received/);

  const exit = await tsswarm('lab', 'exec', name, 'h2', '--', 'sh', '-c', 'exit 7');
  t.equal(exit.code, 7, 'lab exec passes the exit code through');

  const addr = await tsswarm('lab', 'exec', name, 'h2', '--', 'ip', '-br', 'addr', 'show', 'eth0');
  t.match(addr.stdout, addresses[1] ?? 'missing', 'h2 has its underlay address');

  const rootLinks = execFileSync('ip', ['-br', 'link'], { encoding: 'utf8' });
  t.notMatch(rootLinks, /\bp[0-9]+@|br0/, 'nothing of the lab appears in the root namespace');

  for (const h of lab.hosts) t.ok(netnsList().includes(h.netns), `${h.netns} exists`);
  const down = await tsswarm('lab', 'down', name);
  t.equal(down.code, 0, `lab down: ${down.stderr}`);
  t.same(
    netnsList().filter((n) => n.startsWith(`tss-${name}-`)),
    [],
    'no namespace of the lab remains',
  );
  t.notOk((await lsJson()).some((l) => l.name === name), 'lab ls no longer shows it');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  t.notMatch(mounts, `tss-${name}-`, 'no mount of the lab remains');
});

t.test('lab down stops processes left running inside the lab', async (t) => {
  const name = uniqueLabName('lp');
  downOnTeardown(t, name);
  t.equal((await tsswarm('lab', 'up', name, '--hosts', '2', '--no-daemons')).code, 0);
  const sleeper = tsswarm('lab', 'exec', name, 'h2', '--', 'sleep', '300');
  let pids = '';
  for (let tries = 0; tries < 100 && pids === ''; tries++) {
    await new Promise((r) => setTimeout(r, 50));
    pids = execFileSync('ip', ['netns', 'pids', `tss-${name}-h2`], { encoding: 'utf8' }).trim();
  }
  t.match(pids, /^\d+$/, 'a process runs inside h2');
  const down = await tsswarm('lab', 'down', name);
  t.equal(down.code, 0);
  t.match(down.stdout, /1 processes/);
  const ended = await sleeper;
  t.not(ended.code, 0, 'the process was stopped');
  const pid = Number(pids);
  if (pid > 1) t.throws(() => process.kill(pid, 0), 'the process is gone');
});

t.test('lab down removes a lab whose record was never written (crash right after the name was claimed)', async (t) => {
  const name = uniqueLabName('lc');
  downOnTeardown(t, name);
  execFileSync('mkdir', ['-p', `/var/lib/tsswarm/labs/${name}`]);
  execFileSync('ip', ['netns', 'add', `tss-${name}-h1`]);
  execFileSync('ip', ['netns', 'add', `tss-${name}-h1.ep1`]);
  const down = await tsswarm('lab', 'down', name);
  t.equal(down.code, 0, down.stderr);
  t.notOk(netnsList().includes(`tss-${name}-h1`));
  t.notOk(netnsList().includes(`tss-${name}-h1.ep1`), 'namespaces made on a host go with the lab');
});

t.test('bad input: one clear line, exit code 2, nothing changed', async (t) => {
  const name = uniqueLabName('lb');
  downOnTeardown(t, name);
  t.equal((await tsswarm('lab', 'up', name, '--hosts', '2', '--no-daemons')).code, 0);
  const before = netnsList();
  const cases: [string[], RegExp][] = [
    [['lab', 'up', 'x1', '--hosts', '0', '--no-daemons'], /--hosts must be a whole number from 1 to 64/],
    [['lab', 'up', 'x1', '--hosts', '1000', '--no-daemons'], /--hosts must be a whole number from 1 to 64/],
    [['lab', 'up', 'x1', '--hosts', 'three', '--no-daemons'], /--hosts must be a whole number/],
    [['lab', 'up', 'a/b', '--hosts', '2', '--no-daemons'], /invalid lab name "a\/b"/],
    [['lab', 'up', 'a b', '--hosts', '2', '--no-daemons'], /invalid lab name "a b"/],
    [['lab', 'up', name, '--hosts', '2', '--no-daemons'], /already exists/],
    [['lab', 'exec', name, 'h9', '--', 'true'], /has no host "h9"/],
    [['lab', 'exec', 'nosuchlab', 'h1', '--', 'true'], /no lab named "nosuchlab"/],
    [['lab', 'down', 'nosuchlab'], /no lab named "nosuchlab"/],
    [['lab', 'down'], /needs a lab name or --all/],
    [['lab', 'nosuchcommand'], /unknown command/],
  ];
  for (const [args, message] of cases) {
    const r = await tsswarm(...args);
    t.equal(r.code, 2, `${args.join(' ')} exits 2`);
    t.match(r.stderr, message, `${args.join(' ')} says why`);
    t.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')} prints one line`);
    t.notMatch(r.stderr, /\bat .*\.js:\d+/, 'no stack trace');
  }
  t.same(netnsList(), before, 'no namespace was made or removed');
  const lab = (await lsJson()).find((l) => l.name === name);
  t.equal(lab?.hosts.length, 2, 'the existing lab is untouched');
});
