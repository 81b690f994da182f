/**
 * `tsswarm network ...` against a fake tsswarmd holding two overlay networks (front, back) in
 * memory: what the user sees, and what the CLI sends (or refuses to send).
 */
import t, { type Test } from 'tap';
import { IPAMFamily, type NetworkSpec } from '../../../proto/index.js';
import { ids, startFakeDaemon } from '../../helpers/fake-control.js';

function oneLineFailure(t: Test, r: { code: number; stderr: string }, message: RegExp, what: string): void {
  t.not(r.code, 0, `${what}: exits non-zero`);
  t.match(r.stderr, message, `${what}: ${r.stderr.trim()}`);
  t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
  t.notMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
}

t.test('network create: flags become the NetworkSpec; the ID is printed', async (t) => {
  const d = await startFakeDaemon(t);
  const r = await d.cli(
    'network', 'create', '-d', 'overlay', '--subnet', '10.20.0.0/16', '--gateway', '10.20.0.1', '--ip-range', '10.20.5.0/24',
    '--subnet', '10.30.0.0/24', '--internal', '--attachable', '--label', 'team=red', '--opt', 'encrypted', 'secure',
  );
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^n0+\d+\n$/);
  const [req] = d.requests('createNetwork') as { spec: NetworkSpec }[];
  const spec = req?.spec;
  t.same(spec?.annotations, { name: 'secure', labels: { team: 'red' } });
  t.same(spec?.driver, { name: 'overlay', options: { encrypted: '' } });
  t.equal(spec?.internal, true);
  t.equal(spec?.attachable, true);
  t.same(spec?.ipam?.configs, [
    { family: IPAMFamily.IPV4, subnet: '10.20.0.0/16', ipRange: '10.20.5.0/24', gateway: '10.20.0.1', reserved: {} },
    { family: IPAMFamily.IPV4, subnet: '10.30.0.0/24', ipRange: '', gateway: '', reserved: {} },
  ], 'gateway and range go to the subnet that holds them');
  const plain = await d.cli('network', 'create', 'plain');
  t.equal(plain.code, 0, plain.stderr);
  const second = (d.requests('createNetwork')[1] as { spec: NetworkSpec }).spec;
  t.same(second.driver, { name: 'overlay', options: {} }, 'overlay by default');
  t.equal(second.ipam, undefined, 'no IPAM: the manager picks a subnet');
});

t.test('network create: bad flags are refused before anything is sent', async (t) => {
  const d = await startFakeDaemon(t);
  const cases: [string[], RegExp][] = [
    [['-d', 'bridge', 'n'], /--driver: "bridge" is not supported: swarm networks use the overlay driver/],
    [['--subnet', '10.0.0.1/24', 'n'], /--subnet: invalid subnet 10\.0\.0\.1\/24: host bits are set \(did you mean 10\.0\.0\.0\/24\?\)/],
    [['--subnet', 'ten', 'n'], /--subnet: invalid subnet "ten"/],
    [['--subnet', '10.0.0.0/16', '--subnet', '10.0.1.0/24', 'n'], /--subnet: 10\.0\.1\.0\/24 overlaps 10\.0\.0\.0\/16/],
    [['--gateway', '10.0.0.1', 'n'], /--gateway needs a --subnet/],
    [['--subnet', '10.0.0.0/24', '--gateway', '10.9.0.1', 'n'], /--gateway: 10\.9\.0\.1 is not inside any --subnet/],
    [['--subnet', '10.0.0.0/24', '--ip-range', '10.0.0.0/16', 'n'], /--ip-range: 10\.0\.0\.0\/16 is not inside any --subnet/],
    [['bad name'], /invalid network name "bad name"/],
    [['--opt', '=x', 'n'], /--opt: invalid option "=x"/],
  ];
  for (const [args, message] of cases) {
    const r = await d.cli('network', 'create', ...args);
    oneLineFailure(t, r, message, args.join(' '));
    t.equal(r.code, 2);
  }
  t.same(d.calls, [], 'no request at all');
  oneLineFailure(t, await d.cli('network', 'create', 'front'), /network with name front already exists/, 'a taken name');
});

t.test('network ls: docker columns sorted by name, -q, filters, json, templates', async (t) => {
  const d = await startFakeDaemon(t);
  const r = await d.cli('network', 'ls');
  t.equal(r.code, 0, r.stderr);
  t.equal(
    r.stdout,
    'NETWORK ID     NAME    DRIVER    SCOPE\n' + `${ids.back.slice(0, 12)}   back    overlay   swarm\n` + `${ids.front.slice(0, 12)}   front   overlay   swarm\n`,
  );
  t.equal((await d.cli('network', 'ls', '-q', '--no-trunc')).stdout, `${ids.back}\n${ids.front}\n`);
  t.equal((await d.cli('network', 'ls', '-q', '-f', 'label=team=web')).stdout, `${ids.front.slice(0, 12)}\n`);
  t.equal((await d.cli('network', 'ls', '--format', '{{.Name}} {{.Internal}}')).stdout, 'back true\nfront false\n');
  const json = JSON.parse((await d.cli('network', 'ls', '--format', 'json')).stdout) as { ID: string; Name: string }[];
  t.same(json.map((n) => [n.ID, n.Name]), [
    [ids.back, 'back'],
    [ids.front, 'front'],
  ]);
  oneLineFailure(t, await d.cli('network', 'ls', '-f', 'colour=red'), /invalid filter "colour=red"/, 'unknown filter');
});

t.test('network inspect: docker JSON by name, ID or prefix; --format', async (t) => {
  const d = await startFakeDaemon(t);
  const docs = JSON.parse((await d.cli('network', 'inspect', 'front', ids.back)).stdout) as { Name: string; Id: string; Driver: string; Scope: string; Attachable: boolean; Internal: boolean; IPAM: { Config: unknown[] }; Options: Record<string, string> }[];
  t.same(docs.map((n) => [n.Name, n.Id, n.Driver, n.Scope, n.Attachable, n.Internal]), [
    ['front', ids.front, 'overlay', 'swarm', true, false],
    ['back', ids.back, 'overlay', 'swarm', false, true],
  ]);
  t.same(docs[0]?.IPAM.Config, [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }]);
  t.equal(docs[0]?.Options['com.docker.network.driver.overlay.vxlanid_list'], '4097');
  t.equal((await d.cli('network', 'inspect', '--format', '{{.Name}}', 'n1e2t')).stdout, 'front\n', 'unique prefix');
  oneLineFailure(t, await d.cli('network', 'inspect', 'n1e2'), /network n1e2 is ambiguous/, 'ambiguous prefix');
  const unknown = await d.cli('network', 'inspect', 'nowhere');
  oneLineFailure(t, unknown, /network nowhere not found/, 'unknown');
  t.equal(unknown.code, 2);
});

t.test('network rm: by name; unknown and in-use ones fail, the rest are removed', async (t) => {
  const d = await startFakeDaemon(t);
  t.equal((await d.cli('service', 'create', '-d', '--network', 'front', 'nginx')).code, 0);
  const r = await d.cli('network', 'rm', 'front', 'ghost', 'back');
  t.not(r.code, 0);
  t.equal(r.stdout, 'back\n');
  t.match(r.stderr, /network front is in use by service/);
  t.match(r.stderr, /network ghost not found/);
  t.same(d.requests('removeNetwork'), [{ networkId: ids.front }, { networkId: ids.back }]);
  t.equal((await d.cli('network', 'ls', '-q', '--no-trunc')).stdout, `${ids.front}\n`);
});
