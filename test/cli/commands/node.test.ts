/**
 * `tsswarm node ...` against a fake tsswarmd (Control and Swarm services on a unix socket) holding
 * four nodes in memory: what the user sees, and what the CLI sends (or refuses to send).
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { NodeAvailability, NodeRole } from '../../../proto/index.js';
import { tsswarm } from '../../helpers/cli.js';
import { ids, startFakeDaemon } from '../../helpers/fake-control.js';
import { tempDir } from '../../helpers/temp-dir.js';

type Sent = { nodeId: string; nodeVersion?: { index: number }; spec?: { role: number; availability: number; annotations?: { labels: Record<string, string> } } };

/** A failed run: non-zero exit, one line on stderr, no stack trace. */
function oneLineFailure(t: Test, r: { code: number; stderr: string }, message: RegExp, what: string): void {
  t.not(r.code, 0, `${what}: exits non-zero`);
  t.match(r.stderr, message, `${what}: ${r.stderr.trim()}`);
  t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
  t.notMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
}

t.test('node ls: docker columns, sorted by host name, the local node marked with *', async (t) => {
  const d = await startFakeDaemon(t);
  const r = await d.cli('node', 'ls');
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  t.match(lines[0], /^ID\s+HOSTNAME\s+STATUS\s+AVAILABILITY\s+MANAGER STATUS\s+ENGINE VERSION$/);
  t.same(
    lines.slice(1).map((l) => l.split(/\s{2,}/)),
    [
      [`${ids.mgr1} *`, 'mgr-1', 'Ready', 'Active', 'Leader', '0.1.0'],
      [ids.mgr2, 'mgr-2', 'Ready', 'Active', 'Unreachable', '0.1.0'],
      [ids.wrk1, 'wrk-1', 'Ready', 'Active', '0.1.0'],
      [ids.wrk2, 'wrk-2', 'Down', 'Drain', '0.0.9'],
    ],
    'workers have an empty MANAGER STATUS',
  );
  const header = lines[0] ?? '';
  t.equal(lines[3]?.indexOf('0.1.0'), header.indexOf('ENGINE VERSION'), 'columns stay aligned when a cell is empty');
});

t.test('node ls -q, filters, json and templates', async (t) => {
  const d = await startFakeDaemon(t);
  t.equal((await d.cli('node', 'ls', '-q')).stdout, `${ids.mgr1}\n${ids.mgr2}\n${ids.wrk1}\n${ids.wrk2}\n`);
  t.equal((await d.cli('node', 'ls', '-q', '-f', 'role=manager')).stdout, `${ids.mgr1}\n${ids.mgr2}\n`);
  t.equal((await d.cli('node', 'ls', '-q', '-f', 'node.label=zone=b')).stdout, `${ids.wrk2}\n`);
  t.equal((await d.cli('node', 'ls', '-q', '-f', 'node.label=zone')).stdout, `${ids.mgr1}\n${ids.wrk2}\n`, 'a key alone matches any value');
  t.equal((await d.cli('node', 'ls', '-q', '-f', 'label=disk=ssd')).stdout, `${ids.wrk1}\n`, 'label= is the engine labels');
  t.equal((await d.cli('node', 'ls', '-q', '-f', 'name=wrk', '-f', 'role=worker', '-f', 'id=q9')).stdout, `${ids.wrk2}\n`, 'keys are ANDed');
  t.equal((await d.cli('node', 'ls', '-q', '-f', 'name=mgr-2', '-f', 'name=wrk-1')).stdout, `${ids.mgr2}\n${ids.wrk1}\n`, 'values of a key are ORed');
  t.equal((await d.cli('node', 'ls', '-q', '-f', 'membership=accepted')).stdout.split('\n').length, 5);
  oneLineFailure(t, await d.cli('node', 'ls', '-f', 'colour=red'), /invalid filter 'colour'/, 'unknown filter');
  oneLineFailure(t, await d.cli('node', 'ls', '-f', 'role=boss'), /use manager or worker/, 'bad role filter');

  const json = JSON.parse((await d.cli('node', 'ls', '--format', 'json')).stdout) as { ID: string; Spec: { Role: string; Availability: string }; ManagerStatus?: { Leader: boolean } }[];
  t.same(json.map((n) => [n.ID, n.Spec.Role, n.Spec.Availability]), [
    [ids.mgr1, 'manager', 'active'],
    [ids.mgr2, 'manager', 'active'],
    [ids.wrk1, 'worker', 'active'],
    [ids.wrk2, 'worker', 'drain'],
  ]);
  t.equal(json[0]?.ManagerStatus?.Leader, true);

  const tpl = await d.cli('node', 'ls', '--format', '{{.Hostname}}: {{.Status}} {{.ManagerStatus}} self={{.Self}}');
  t.equal(tpl.stdout, 'mgr-1: Ready Leader self=true\nmgr-2: Ready Unreachable self=false\nwrk-1: Ready  self=false\nwrk-2: Down  self=false\n');
  const table = await d.cli('node', 'ls', '-f', 'role=manager', '--format', 'table {{.Hostname}}\\t{{.ManagerStatus}}');
  t.equal(table.stdout, 'HOSTNAME   MANAGER STATUS\nmgr-1      Leader\nmgr-2      Unreachable\n');
  oneLineFailure(t, await d.cli('node', 'ls', '--format', '{{.Hostnme}}'), /no field "Hostnme".*Hostname/, 'a misspelt field');
  oneLineFailure(t, await d.cli('node', 'ls', '--format', '{{.ID'), /unclosed action/, 'an unclosed action');
});

t.test('NODE by ID, unique ID prefix, host name or self; ambiguous and unknown ones fail', async (t) => {
  const d = await startFakeDaemon(t);
  const role = async (ref: string): Promise<string> => {
    const r = await d.cli('node', 'inspect', '--format', '{{.ID}} {{.Spec.Role}} {{.Description.Hostname}}', ref);
    t.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  t.equal(await role(ids.wrk2), `${ids.wrk2} worker wrk-2\n`, 'exact ID');
  t.equal(await role('wrk-1'), `${ids.wrk1} worker wrk-1\n`, 'host name');
  t.equal(await role('r7t'), `${ids.mgr2} manager mgr-2\n`, 'unique prefix');
  t.equal(await role('self'), `${ids.mgr1} manager mgr-1\n`, 'self');
  t.equal(await role('a1b2c'), `${ids.mgr1} manager mgr-1\n`, 'a longer prefix is unique again');

  const ambiguous = await d.cli('node', 'inspect', 'a1b2');
  oneLineFailure(t, ambiguous, /ambiguous/, 'ambiguous prefix');
  t.match(ambiguous.stderr, ids.mgr1);
  t.match(ambiguous.stderr, ids.wrk1);
  t.equal(ambiguous.code, 2);

  const unknown = await d.cli('node', 'inspect', 'ghost');
  oneLineFailure(t, unknown, /node ghost not found/, 'unknown node');
  t.equal(unknown.code, 2);
  for (const args of [['node', 'update', '--availability', 'drain', 'ghost'], ['node', 'promote', 'a1b2'], ['node', 'rm', 'ghost'], ['node', 'ps', 'ghost']]) {
    oneLineFailure(t, await d.cli(...args), /not found|ambiguous/, args.join(' '));
  }
  t.same(d.requests('updateNode'), [], 'nothing was updated');
  t.same(d.requests('removeNode'), [], 'nothing was removed');
});

t.test('node inspect: JSON array, --pretty, several nodes', async (t) => {
  const d = await startFakeDaemon(t);
  const json = JSON.parse((await d.cli('node', 'inspect', 'mgr-1', 'wrk-2')).stdout) as { ID: string; Version: { Index: number }; Status: { State: string; Addr: string }; Spec: { Labels: Record<string, string> } }[];
  t.same(json.map((n) => [n.ID, n.Version.Index, n.Status.State, n.Status.Addr]), [
    [ids.mgr1, 7, 'ready', '10.0.0.1'],
    [ids.wrk2, 12, 'down', '10.0.0.3'],
  ]);
  t.same(json[1]?.Spec.Labels, { zone: 'b', gpu: '' });
  const pretty = await d.cli('node', 'inspect', '--pretty', 'self');
  t.equal(pretty.code, 0, pretty.stderr);
  t.match(pretty.stdout, /^ID:\s+a1b2c3d4e5f6g7h8i9j0k1l2m\n/);
  t.match(pretty.stdout, /Hostname:\s+mgr-1\n/);
  t.match(pretty.stdout, /Manager Status:\n Address:\s+10\.0\.0\.1:2377\n Raft Status:\s+Reachable\n Leader:\s+Yes\n/);
  t.match(pretty.stdout, /Availability:\s+Active/);
  t.match(pretty.stdout, /Memory:\s+8\.00GiB/);
  oneLineFailure(t, await d.cli('node', 'inspect', '--pretty', '--format', '{{.ID}}', 'self'), /cannot be used together/, '--pretty with --format');
});

t.test('node update: GetNode, then UpdateNode with the version it read', async (t) => {
  const d = await startFakeDaemon(t);
  const r = await d.cli('node', 'update', '--availability', 'pause', '--label-add', 'zone=c', '--label-add', 'ssd', '--label-rm', 'gpu', 'wrk-2');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'wrk-2\n');
  t.same(d.requests('getNode'), [{ nodeId: ids.wrk2 }]);
  const [sent] = d.requests('updateNode') as Sent[];
  t.equal(sent?.nodeId, ids.wrk2);
  t.same(sent?.nodeVersion, { index: 12 }, 'the version GetNode returned');
  t.equal(sent?.spec?.availability, NodeAvailability.PAUSE);
  t.equal(sent?.spec?.role, NodeRole.WORKER, 'the role is kept');
  t.same(sent?.spec?.annotations?.labels, { zone: 'c', ssd: '' }, 'added, changed, removed');
  const after = await d.cli('node', 'inspect', '--format', '{{.Spec.Availability}} {{json .Spec.Labels}} {{.Version.Index}}', 'wrk-2');
  t.equal(after.stdout, 'pause {"ssd":"","zone":"c"} 13\n', 'the store bumped the version');

  const role = await d.cli('node', 'update', '--role', 'manager', 'wrk-1');
  t.equal(role.code, 0, role.stderr);
  t.equal((d.requests('updateNode')[1] as Sent).spec?.role, NodeRole.MANAGER);
});

t.test('node update: bad flags are refused before anything is sent', async (t) => {
  const d = await startFakeDaemon(t);
  const cases: [string[], RegExp][] = [
    [['--label-add', '=v'], /invalid --label-add "=v": the key is empty/],
    [['--label-add', ''], /the key is empty/],
    [['--label-rm', 'a=b'], /give the key alone/],
    [['--availability', 'sleepy'], /invalid --availability "sleepy": use active, pause or drain/],
    [['--role', 'boss'], /invalid --role "boss"/],
    [[], /nothing to update/],
  ];
  for (const [flags, message] of cases) {
    const r = await d.cli('node', 'update', ...flags, 'wrk-1');
    oneLineFailure(t, r, message, flags.join(' ') || 'no flags');
    t.equal(r.code, 2);
  }
  t.same(d.calls, [], 'no request at all');
  const missing = await d.cli('node', 'update', '--label-rm', 'nosuch', 'wrk-1');
  oneLineFailure(t, missing, /key nosuch doesn't exist in node's labels/, 'removing a missing label');
  t.same(d.requests('updateNode'), [], 'no UpdateNode');
});

t.test('node promote / demote: docker messages, the read version, nothing for a no-op', async (t) => {
  const d = await startFakeDaemon(t);
  const promote = await d.cli('node', 'promote', 'wrk-1', 'mgr-1');
  t.equal(promote.code, 0, promote.stderr);
  t.equal(promote.stdout, 'Node wrk-1 promoted to a manager in the swarm.\nNode mgr-1 is already a manager.\n');
  const sent = d.requests('updateNode') as Sent[];
  t.equal(sent.length, 1, 'only the worker was updated');
  t.same(sent[0]?.nodeVersion, { index: 11 });
  t.equal(sent[0]?.spec?.role, NodeRole.MANAGER);
  t.equal(sent[0]?.spec?.availability, NodeAvailability.ACTIVE, 'availability kept');

  const demote = await d.cli('node', 'demote', 'mgr-2', 'wrk-2');
  t.equal(demote.code, 0, demote.stderr);
  t.equal(demote.stdout, 'Manager mgr-2 demoted in the swarm.\nNode wrk-2 is already a worker.\n');
  const last = d.requests('updateNode').at(-1) as Sent;
  t.same(last.nodeVersion, { index: 9 });
  t.equal(last.spec?.role, NodeRole.WORKER);

  const partly = await d.cli('node', 'promote', 'ghost', 'wrk-2');
  t.equal(partly.code, 2, 'one bad reference fails the command');
  t.match(partly.stdout, /Node wrk-2 promoted/, 'the good one is still done');
  t.match(partly.stderr, /node ghost not found/);
});

t.test('node rm: refused for a live node without --force; prints what it removed', async (t) => {
  const d = await startFakeDaemon(t);
  const live = await d.cli('node', 'rm', 'wrk-1');
  oneLineFailure(t, live, /is not down/, 'live node');
  const rm = await d.cli('node', 'rm', 'wrk-2');
  t.equal(rm.code, 0, rm.stderr);
  t.equal(rm.stdout, 'wrk-2\n');
  const forced = await d.cli('node', 'rm', '--force', 'a1b2z');
  t.equal(forced.code, 0, forced.stderr);
  t.same(d.requests('removeNode').at(-1), { nodeId: ids.wrk1, force: true });
  t.equal((await d.cli('node', 'ls', '-q')).stdout, `${ids.mgr1}\n${ids.mgr2}\n`);
});

t.test('node ps: the tasks on this node by default, slot history indented', async (t) => {
  const d = await startFakeDaemon(t);
  const r = await d.cli('node', 'ps');
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  t.match(lines[0], /^ID\s+NAME\s+IMAGE\s+NODE\s+DESIRED STATE\s+CURRENT STATE\s+ERROR$/);
  t.match(lines[1], /^task1aaaaaaa\s+web\.1\s+nginx:1\.25\s+mgr-1\s+Running\s+Running 5 minutes ago$/);
  t.match(lines[2], /^task0aaaaaaa\s+ \\_ web\.1\s+nginx:1\.25\s+mgr-1\s+Shutdown\s+Failed about an hour ago\s+"task: non-zero exit \(1\) while…"$/);
  t.equal(lines.length, 3, 'only the tasks of this node');
  t.same(d.requests('listTasks'), [{ filters: { nodeIds: [ids.mgr1], serviceIds: [], desiredStates: [], slots: [] } }]);

  const other = await d.cli('node', 'ps', '--no-trunc', '--format', '{{.ID}} {{.Node}} {{.Image}}', 'wrk-1');
  t.equal(other.stdout, 'task2bbbbbbbbbbbbbbbbbbbb wrk-1 nginx:1.25@sha256:0123456789abcdef\n');
  t.equal((await d.cli('node', 'ps', '-q', 'self', 'wrk-1')).stdout.split('\n').length, 4, 'tasks of both nodes');
});

t.test('on a node that is not a manager the commands say so in one line', async (t) => {
  const d = await startFakeDaemon(t);
  d.info = { ...d.info, controlAvailable: false };
  for (const args of [['node', 'ls'], ['node', 'inspect', 'self'], ['node', 'ps']]) {
    const r = await d.cli(...args);
    oneLineFailure(t, r, /this node is not a swarm manager/i, args.join(' '));
  }
});

t.test('without a daemon: a clear line, not a stack', async (t) => {
  const r = await tsswarm('-H', 'unix:///nonexistent/tsswarmd.sock', 'node', 'ls');
  oneLineFailure(t, r, /cannot reach tsswarmd: no socket at \/nonexistent/, 'no socket');
});

t.test('a tsswarmd without the Control service: says which call it lacks', async (t) => {
  const socket = join(await tempDir(t, 'bare-daemon'), 'tsswarmd.sock');
  const server = new Server();
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  t.teardown(() => server.forceShutdown());
  const r = await tsswarm('-H', `unix://${socket}`, 'node', 'rm', 'wrk-1');
  oneLineFailure(t, r, /does not serve (Control\.ListNodes|Swarm\.Info)/, 'no Control service');
});
