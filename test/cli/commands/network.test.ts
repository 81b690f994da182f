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
    [['-d', 'macvlan', 'n'], /--driver: "macvlan" is not supported: swarm networks use the overlay driver, this host's own networks the bridge driver/],
    [['-d', 'bridge', '--attachable', 'n'], /--attachable is for overlay networks/],
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

t.test("-d bridge: this host's own networks, listed with the swarm's (scope local), removed locally", async (t) => {
  const d = await startFakeDaemon(t);
  const made = await d.cli('network', 'create', '-d', 'bridge', '--subnet', '192.168.7.0/24', '--internal', 'mynet');
  t.equal(made.code, 0, made.stderr);
  t.equal(d.requests('createNetwork').length, 0, 'the managers are not asked');
  const [req] = d.requests('createLocalNetwork') as { spec: NetworkSpec }[];
  t.same(req?.spec.driver, { name: 'bridge', options: {} });
  t.equal(req?.spec.internal, true);
  t.same(req?.spec.ipam?.configs.map((c) => c.subnet), ['192.168.7.0/24']);
  t.equal(made.stdout, `${d.localNetworks[0]?.id}\n`, 'prints the ID');

  const ls = await d.cli('network', 'ls', '--format', '{{.Name}}|{{.Driver}}|{{.Scope}}');
  t.same(ls.stdout.split('\n').filter((l) => l !== ''), ['back|overlay|swarm', 'front|overlay|swarm', 'mynet|bridge|local'], 'both kinds, by name, with their scope');
  const local = await d.cli('network', 'ls', '-f', 'scope=local', '-q');
  t.equal(local.stdout.trim().length, 12, 'filtered by scope');
  const inspect = await d.cli('network', 'inspect', '--format', '{{.Scope}} {{.Driver}} {{.Internal}}', 'mynet');
  t.equal(inspect.stdout.trim(), 'local bridge true');

  oneLineFailure(t, await d.cli('network', 'create', '-d', 'bridge', 'front'), /network with name front already exists \(a swarm network\)/, 'a swarm network name');
  t.equal(d.requests('createLocalNetwork').length, 1, 'nothing more made');

  const mynetId = d.localNetworks[0]?.id;
  const rm = await d.cli('network', 'rm', 'mynet', 'back');
  t.equal(rm.code, 0, rm.stderr);
  t.equal(rm.stdout, 'mynet\nback\n');
  t.same(d.requests('removeLocalNetwork'), [{ ref: mynetId }], 'the local one removed locally, by ID');
  t.same(d.localNetworks, [], 'gone');
  t.equal((d.requests('removeNetwork') as { networkId: string }[])[0]?.networkId, ids.back, 'the swarm one by the managers');

  d.info = { ...d.info, controlAvailable: false };
  await d.cli('network', 'create', '-d', 'bridge', 'solo');
  const worker = await d.cli('network', 'ls', '--format', '{{.Name}}');
  t.equal(worker.code, 0, worker.stderr);
  t.same(worker.stdout.split('\n').filter((l) => l !== ''), ['solo'], 'a node that cannot list the swarm networks lists its own');
});
