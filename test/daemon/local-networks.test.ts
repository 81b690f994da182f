/**
 * LocalNetworks (`network create -d bridge`, `container run --network`) on a temp data folder with a
 * fake netd: subnets from docker's local pools, bridge numbers from 1, what a refused request leaves
 * (nothing), what survives a reopen, joining and leaving (addresses, DNS on the gateway, undo when
 * netd fails) and the hand-back after a daemon restart.
 */
import t from 'tap';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalNetworks, localAttachmentPrefix } from '../../daemon/local-networks.js';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { silentLogger } from '../../lib/log.js';
import { viewNetwork } from '../../manager/netview/view-network.js';
import { IPAMFamily, PortProtocol, PublishMode, type Network, type NetworkAttachmentConfig, type NetworkSpec, type Task } from '../../proto/index.js';
import type { JoinedNetworks } from '../../worker/engine/container-networks.js';
import type { TaskNetworks } from '../../worker/tasks/ports.js';
import { tempDir } from '../helpers/temp-dir.js';

const fileName = 'local-networks.json';

/** `text` as a literal part of a RegExp. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A pattern matching exactly `text` (t.rejects matches a string message as a substring). */
function exactly(text: string): RegExp {
  return new RegExp(`^${literal(text)}$`);
}

/** A `network create -d bridge NAME` spec with the given flags. */
function spec(name: string, more: Partial<NetworkSpec> & { subnet?: string; gateway?: string; ipRange?: string } = {}): NetworkSpec {
  const { subnet, gateway, ipRange, ...rest } = more;
  return {
    annotations: { name, labels: {} },
    driver: { name: 'bridge', options: {} },
    ipv6Enabled: false,
    internal: false,
    attachable: false,
    ingress: false,
    ...(subnet === undefined ? {} : { ipam: { driver: { name: 'default', options: {} }, configs: [{ family: IPAMFamily.IPV4, subnet, gateway: gateway ?? '', ipRange: ipRange ?? '', reserved: {} }] } }),
    ...rest,
  };
}

/** `--network TARGET [--network-alias ...]`. */
function on(target: string, aliases: string[] = []): NetworkAttachmentConfig {
  return { target, aliases, addresses: [], driverAttachmentOpts: {} };
}

function subnetOf(n: Network): string {
  return n.ipam?.configs[0]?.subnet ?? '';
}

interface FakeNetd extends TaskNetworks {
  /** `attach ID NAME net=address[aliases] ...` and `detach ID NETWORKS`, network IDs shown as names. */
  readonly calls: string[];
  /** The network objects of the last attach. */
  lastNetworks: ReadonlyMap<string, Network> | undefined;
  /** What attach answers (default: a namespace path named after the task). */
  answer: (task: Task) => Promise<string | undefined>;
  /** What detach does after recording the call. */
  onDetach: () => Promise<void>;
}

/** A netd whose calls name networks by their names (IDs are random). */
function fakeNetd(names: () => readonly Network[]): FakeNetd {
  const nameOf = (id: string): string => names().find((n) => n.id === id)?.spec?.annotations?.name ?? id;
  const netd: FakeNetd = {
    calls: [],
    lastNetworks: undefined,
    answer: (task) => Promise.resolve(`/run/netns/tss-${task.id}`),
    onDetach: () => Promise.resolve(),
    attach: (task, networks) => {
      netd.calls.push(`attach ${task.id} ${task.annotations?.name ?? ''} ${task.networks.map((a) => `${nameOf(a.networkId)}=${a.addresses.join(',')}[${a.aliases.join(',')}]`).join(' ')}`);
      netd.lastNetworks = networks;
      return netd.answer(task);
    },
    detach: (task) => {
      netd.calls.push(`detach ${task.id} ${task.networks.length}`);
      return netd.onDetach();
    },
  };
  return netd;
}

/** What every join gives, whatever else it gives. */
function core(j: JoinedNetworks): { netnsPath: string; dnsServers: readonly string[]; attachmentId: string } {
  return { netnsPath: j.netnsPath, dnsServers: j.dnsServers, attachmentId: j.attachmentId };
}

/** Addresses allocated in the saved IPAM state, per network name. */
async function savedAddresses(dir: string): Promise<Record<string, Record<string, string>>> {
  const state = JSON.parse(await readFile(join(dir, fileName), 'utf8')) as {
    networks: { id: string; name: string }[];
    ipam: { networks: { id: string; addresses: Record<string, string> }[] };
    attachments: unknown[];
  };
  const out: Record<string, Record<string, string>> = {};
  for (const n of state.ipam.networks) out[state.networks.find((r) => r.id === n.id)?.name ?? n.id] = n.addresses;
  return out;
}

t.test('create: subnets from docker local pools in order, bridge numbers from 1, a bridge network object', async (t) => {
  const dir = await tempDir(t, 'localnet');
  const local = await LocalNetworks.open(dir, silentLogger());
  t.same(local.list(), [], 'a fresh host has none');
  await t.rejects(stat(join(dir, fileName)), { code: 'ENOENT' }, 'opening writes nothing');

  const before = Date.now();
  const a = await local.create(spec('zeta', { annotations: { name: 'zeta', labels: { team: 'red' } } }));
  const b = await local.create(spec('alpha', { internal: true }));
  const c = await local.create(spec('mid'));
  t.same([a, b, c].map(subnetOf), ['172.18.0.0/16', '172.19.0.0/16', '172.20.0.0/16']);
  t.same([a, b, c].map((n) => n.ipam?.configs[0]?.gateway), ['172.18.0.1', '172.19.0.1', '172.20.0.1'], 'gateway: the first address');
  t.same([a, b, c].map((n) => n.vni), [1, 2, 3], 'bridge numbers from 1');
  t.match(a.id, /^[0-9a-z]{25}$/);
  t.equal(new Set([a.id, b.id, c.id]).size, 3, 'IDs differ');
  t.same(a.spec?.driver, { name: 'bridge', options: {} });
  t.same(a.driverState, { name: 'bridge', options: {} }, 'driverState bridge: netd and the CLI see a local network');
  t.same(a.spec?.annotations, { name: 'zeta', labels: { team: 'red' } });
  t.equal(a.spec?.attachable, true, 'containers always attach to bridge networks');
  t.equal(a.spec?.internal, false);
  t.equal(b.spec?.internal, true, '--internal kept');
  t.same(a.ipam?.configs, [{ subnet: '172.18.0.0/16', gateway: '172.18.0.1', ipRange: '', family: IPAMFamily.IPV4, reserved: {} }], 'no ip range when it is the subnet');
  t.same(a.ipam?.driver, { name: 'default', options: {} });
  t.ok((a.meta?.createdAt?.seconds ?? 0) >= Math.floor(before / 1000) - 1, 'created now');
  t.same(viewNetwork(a), { id: a.id, name: 'zeta', vni: 1, subnet: '172.18.0.0/16', gateway: '172.18.0.1', internal: false, encrypted: false, ingress: false, local: true }, 'netd builds it as a local bridge');

  t.same(local.list().map((n) => n.spec?.annotations?.name), ['alpha', 'mid', 'zeta'], 'listed by name');
  t.same(local.list().find((n) => n.id === a.id), a, 'list gives the same objects create gave');
  t.ok(local.isLocal('zeta') && local.isLocal(a.id), 'by exact name and ID');
  t.notOk(local.isLocal(a.id.slice(0, 12)), 'not by ID prefix: that may be a swarm network\'s name');
  t.notOk(local.isLocal('front'), 'a name it does not have');
  t.equal((await stat(join(dir, fileName))).mode & 0o777, 0o600, 'the state file is private');
});

t.test('the pools hold 30 networks: the /16s of 172.18-31, then /20s of 192.168; then CONFLICT unless --subnet', async (t) => {
  const dir = await tempDir(t, 'localnet');
  const local = await LocalNetworks.open(dir, silentLogger());
  const subnets: string[] = [];
  for (let i = 0; i < 30; i++) subnets.push(subnetOf(await local.create(spec(`n${i}`))));
  t.same(subnets, [
    ...Array.from({ length: 14 }, (_, i) => `172.${18 + i}.0.0/16`),
    ...Array.from({ length: 16 }, (_, i) => `192.168.${16 * i}.0/20`),
  ]);
  await t.rejects(local.create(spec('one-more')), {
    code: ErrorCode.CONFLICT,
    message: exactly('address pools exhausted: no free subnet left in 172.18.0.0/15 in /16s, 172.20.0.0/14 in /16s, 172.24.0.0/13 in /16s, 192.168.0.0/16 in /20s; give --subnet or add a pool'),
  });
  t.equal(local.list().length, 30, 'nothing added');
  const own = await local.create(spec('one-more', { subnet: '10.1.0.0/24' }));
  t.same([subnetOf(own), own.vni], ['10.1.0.0/24', 31], 'a subnet of its own still fits');
});

t.test('--subnet, --gateway and --ip-range are kept; pool subnets go around user ones; overlaps are refused', async (t) => {
  const dir = await tempDir(t, 'localnet');
  const local = await LocalNetworks.open(dir, silentLogger());
  const mine = await local.create(spec('mine', { subnet: '10.10.0.0/24', gateway: '10.10.0.254', ipRange: '10.10.0.128/25' }));
  t.same(mine.ipam?.configs, [{ subnet: '10.10.0.0/24', gateway: '10.10.0.254', ipRange: '10.10.0.128/25', family: IPAMFamily.IPV4, reserved: {} }]);
  t.same(mine.spec?.ipam?.configs, mine.ipam?.configs, 'the spec shows what was given');
  const taken = await local.create(spec('taken', { subnet: '172.18.0.0/16' }));
  const auto = await local.create(spec('auto'));
  t.equal(subnetOf(auto), '172.19.0.0/16', 'the pool skips the subnet a user took');
  t.same([mine.vni, taken.vni, auto.vni], [1, 2, 3]);
  await t.rejects(local.create(spec('overlap', { subnet: '172.19.128.0/20' })), {
    code: ErrorCode.CONFLICT,
    message: exactly(`subnet 172.19.128.0/20 overlaps network ${auto.id} (172.19.0.0/16)`),
  });
  t.same(local.list().map((n) => n.spec?.annotations?.name), ['auto', 'mine', 'taken'], 'the refused one is not there');
  t.equal((await local.create(spec('next'))).vni, 4, 'and took no bridge number');

  const netd = fakeNetd(() => local.list());
  const joined = await local.join(netd, 'c1', 'web1', [on('mine')]);
  t.same(joined.dnsServers, ['10.10.0.254'], 'DNS on the given gateway');
  t.same(netd.calls, ['attach local-c1 web1 mine=10.10.0.128/24[]'], 'the address comes from the ip range, with the prefix of the subnet');
});

t.test('bad specs are refused with the checker\'s messages and nothing is written', async (t) => {
  const dir = await tempDir(t, 'localnet');
  const local = await LocalNetworks.open(dir, silentLogger());
  const cases: [string, NetworkSpec | undefined, string][] = [
    ['no spec', undefined, 'invalid network spec: a spec is required'],
    ['no name', spec(''), 'invalid network spec: a network name is required'],
    ['docker\'s own name', spec('bridge'), 'invalid network spec: bridge is a pre-defined network and cannot be created'],
    ['a bad name', spec('-x'), 'invalid network spec: network name "-x" is invalid: it must start with a letter or digit and contain only letters, digits, _ . and -'],
    ['the overlay driver', spec('o', { driver: { name: 'overlay', options: {} } }), 'invalid network spec: network driver "overlay" is not a local driver: this host\'s own networks use the bridge driver'],
    ['ingress', spec('i', { ingress: true }), 'invalid network spec: a bridge network cannot be the ingress network (--ingress)'],
    [
      'encrypted and IPv6',
      spec('e', { driver: { name: 'bridge', options: { encrypted: '' } }, ipv6Enabled: true }),
      'invalid network spec: a bridge network cannot be encrypted (--opt encrypted): its traffic never leaves the host; IPv6 is not supported (--ipv6): overlay networks are IPv4 only',
    ],
    ['gateway outside the subnet', spec('g', { subnet: '10.0.0.0/24', gateway: '10.0.1.1' }), 'invalid network spec: ipam.configs[0].gateway (--gateway): subnet 10.0.0.0/24 does not contain gateway 10.0.1.1'],
    ['gateway without a subnet', spec('g', { ipam: { configs: [{ family: IPAMFamily.IPV4, subnet: '', gateway: '10.0.0.1', ipRange: '', reserved: {} }] } }), 'invalid network spec: ipam.configs[0]: --gateway and --ip-range need a --subnet to lie in'],
  ];
  for (const [what, s, message] of cases) {
    await t.rejects(local.create(s), { code: ErrorCode.INVALID_ARGUMENT, message: exactly(message) }, what);
  }
  t.same(local.list(), [], 'no network');
  await t.rejects(stat(join(dir, fileName)), { code: 'ENOENT' }, 'nothing written');
  t.same([subnetOf(await local.create(spec('ok'))), (await local.create(spec('ok2'))).vni], ['172.18.0.0/16', 2], 'no subnet or number was used up');
});

t.test('a name is taken once (ALREADY_EXISTS) and the refusal uses up nothing', async (t) => {
  const dir = await tempDir(t, 'localnet');
  const local = await LocalNetworks.open(dir, silentLogger());
  const web = await local.create(spec('web'));
  await t.rejects(local.create(spec('web', { subnet: '10.5.0.0/24' })), { code: ErrorCode.ALREADY_EXISTS, message: exactly('network with name web already exists') });
  t.same(local.list(), [web]);
  const next = await local.create(spec('other'));
  t.same([subnetOf(next), next.vni], ['172.19.0.0/16', 2]);
  t.equal(subnetOf(await local.create(spec('third', { subnet: '10.5.0.0/24' }))), '10.5.0.0/24', 'the refused subnet is free');
  await local.remove('web');
  t.equal(subnetOf(await local.create(spec('web'))), '172.18.0.0/16', 'the name and the subnet are free again once removed');
});

t.test('requests run one at a time: concurrent creates and joins get distinct subnets and addresses', async (t) => {
  const dir = await tempDir(t, 'localnet');
  const local = await LocalNetworks.open(dir, silentLogger());
  const made = await Promise.all(['a', 'b', 'c'].map((name) => local.create(spec(name))));
  t.same(made.map(subnetOf).sort(), ['172.18.0.0/16', '172.19.0.0/16', '172.20.0.0/16']);
  t.same(made.map((n) => n.vni).sort(), [1, 2, 3]);
  const netd = fakeNetd(() => local.list());
  netd.answer = (task) => new Promise((resolve) => setTimeout(() => resolve(`/run/netns/tss-${task.id}`), 5));
  await Promise.all(['c1', 'c2', 'c3'].map((id) => local.join(netd, id, id, [on('a')])));
  t.same(Object.keys((await savedAddresses(dir)).a ?? {}).sort(), ['172.18.0.2', '172.18.0.3', '172.18.0.4']);
  const reopened = await LocalNetworks.open(dir, silentLogger());
  t.same(reopened.list().map((n) => n.spec?.annotations?.name), ['a', 'b', 'c'], 'every create was saved');
});

t.test('state survives a reopen: networks, attachments and the IPAM cursors', async (t) => {
  const dir = await tempDir(t, 'localnet');
  const first = await LocalNetworks.open(dir, silentLogger());
  await first.create(spec('front', { annotations: { name: 'front', labels: { a: 'b' } } }));
  await first.create(spec('back', { internal: true }));
  const netd = fakeNetd(() => first.list());
  await first.join(netd, 'c1', 'web1', [on('front', ['www'])]);

  const second = await LocalNetworks.open(dir, silentLogger());
  t.same(second.list(), first.list(), 'the same networks, IDs, subnets, numbers, labels and dates');
  await t.rejects(second.remove('front'), { code: ErrorCode.CONFLICT, message: exactly('network front is in use by container web1 (remove the container first)') }, 'the attachment is known');
  const netd2 = fakeNetd(() => second.list());
  await second.join(netd2, 'c2', 'web2', [on('front')]);
  t.same(netd2.calls, ['attach local-c2 web2 front=172.18.0.3/16[]'], 'the next address after the one handed out before');
  const third = await LocalNetworks.open(dir, silentLogger());
  t.equal((await third.create(spec('more'))).vni, 3, 'the bridge numbers go on');
  await third.leave(undefined, 'local-c1');
  await third.leave(undefined, 'local-c2');
  await third.remove('front');
  const fourth = await LocalNetworks.open(dir, silentLogger());
  t.same(fourth.list().map((n) => n.spec?.annotations?.name), ['back', 'more'], 'the removal was saved');
});

t.test('a state file that cannot be read gives CORRUPT naming the file', async (t) => {
  const dir = await tempDir(t, 'localnet');
  const file = join(dir, fileName);
  await writeFile(file, '{"version": 1, "networks": [');
  await t.rejects(LocalNetworks.open(dir, silentLogger()), { code: ErrorCode.CORRUPT, message: new RegExp(`^${literal(`cannot read the local networks in ${file}: `)}.*JSON`) });
  await writeFile(file, JSON.stringify({ version: 2, networks: [], attachments: [] }));
  await t.rejects(LocalNetworks.open(dir, silentLogger()), { code: ErrorCode.CORRUPT, message: exactly(`cannot read the local networks in ${file}: unknown version 2`) });
  await writeFile(file, 'null');
  await t.rejects(LocalNetworks.open(dir, silentLogger()), { code: ErrorCode.CORRUPT, message: new RegExp(`^${literal(`cannot read the local networks in ${file}: `)}Cannot read properties of null`) });
  await writeFile(file, JSON.stringify({ version: 1, ipam: { version: 1, pools: [], vni: { min: 1, max: 4095, cursor: 0, used: [] }, networks: [] }, networks: [], attachments: [] }));
  await t.rejects(LocalNetworks.open(dir, silentLogger()), { code: ErrorCode.CORRUPT, message: exactly('bad IPAM state: at least one address pool is needed') }, 'an IPAM state that does not hang together');
  t.equal(await readFile(file, 'utf8'), JSON.stringify({ version: 1, ipam: { version: 1, pools: [], vni: { min: 1, max: 4095, cursor: 0, used: [] }, networks: [] }, networks: [], attachments: [] }), 'left as it was');
  const lost = { version: 1, ipam: { version: 1, pools: [{ base: '172.18.0.0/15', size: 16 }], vni: { min: 1, max: 4095, cursor: 0, used: [] }, networks: [] }, networks: [{ id: 'n1', name: 'lost', labels: {}, options: {}, internal: false, createdAtMs: 0 }], attachments: [] };
  await writeFile(file, JSON.stringify(lost));
  await t.rejects(LocalNetworks.open(dir, silentLogger()), { code: ErrorCode.CORRUPT, message: exactly(`cannot read the local networks in ${file}: network lost (n1) has no address allocation`) }, 'a network without its allocation');
});

t.test('join: an address on each network, DNS on the gateways, netd gets the attachment as a task', async (t) => {
  const dir = await tempDir(t, 'localnet');
  const local = await LocalNetworks.open(dir, silentLogger());
  const front = await local.create(spec('front'));
  const back = await local.create(spec('back', { internal: true }));
  const netd = fakeNetd(() => local.list());
  t.equal(local.hasAttachments(), false);
  const joined = await local.join(netd, 'c1', 'web1', [on('front', ['www', 'api']), on(back.id.slice(0, 10), ['www'])]);
  t.same(core(joined), { netnsPath: '/run/netns/tss-local-c1', dnsServers: ['172.18.0.1', '172.19.0.1'], attachmentId: `${localAttachmentPrefix}c1` });
  t.equal(local.hasAttachments(), true);
  const endpoints = (joined as { endpoints?: unknown }).endpoints;
  if (endpoints !== undefined) {
    t.same(endpoints, [
      { networkId: front.id, networkName: 'front', address: '172.18.0.2', prefixLength: 16, mac: '02:42:ac:12:00:02', gateway: '172.18.0.1', aliases: ['www', 'api'] },
      { networkId: back.id, networkName: 'back', address: '172.19.0.2', prefixLength: 16, mac: '02:42:ac:13:00:02', gateway: '172.19.0.1', aliases: ['www', 'api'] },
    ], 'where the container is on each network (container inspect)');
  }
  t.same(netd.calls, ['attach local-c1 web1 front=172.18.0.2/16[www,api] back=172.19.0.2/16[www,api]'], 'one task, the container\'s name and aliases on each network');
  t.same([...(netd.lastNetworks?.keys() ?? [])].sort(), [front.id, back.id].sort(), 'netd gets every local network object');
  t.same(netd.lastNetworks?.get(back.id), back);
  t.same(await savedAddresses(dir), { front: { '172.18.0.2': 'local-c1' }, back: { '172.19.0.2': 'local-c1' } }, 'saved before netd is asked');

  const second = await local.join(netd, 'c2', 'web2', [on('front')]);
  t.same(core(second), { netnsPath: '/run/netns/tss-local-c2', dnsServers: ['172.18.0.1'], attachmentId: 'local-c2' });
  t.equal(netd.calls[1], 'attach local-c2 web2 front=172.18.0.3/16[]');

  netd.calls.length = 0;
  await t.rejects(local.join(netd, 'c3', 'web3', [on('front'), on('nope')]), { code: ErrorCode.NOT_FOUND, message: exactly('network nope not found') });
  await t.rejects(local.join(netd, 'c3', 'web3', [on('front'), on(front.id)]), { code: ErrorCode.INVALID_ARGUMENT, message: exactly('a network is named twice') });
  t.same(netd.calls, [], 'netd is not asked');
  t.same(await savedAddresses(dir), { front: { '172.18.0.2': 'local-c1', '172.18.0.3': 'local-c2' }, back: { '172.19.0.2': 'local-c1' } }, 'no address taken');
});

t.test('a join netd fails leaves no attachment and frees its addresses', async (t) => {
  const cases: [string, (netd: FakeNetd) => void, { code: string; message: string }][] = [
    ['netd refuses', (n) => (n.answer = () => Promise.reject(new TsswarmError(ErrorCode.EXTERNAL, 'veth creation failed'))), { code: ErrorCode.EXTERNAL, message: 'veth creation failed' }],
    ['netd makes no namespace', (n) => (n.answer = () => Promise.resolve(undefined)), { code: ErrorCode.EXTERNAL, message: 'netd made no network namespace for container web1' }],
    [
      'netd refuses and cannot undo either',
      (n) => {
        n.answer = () => Promise.reject(new TsswarmError(ErrorCode.TIMEOUT, 'interfaces not made in time'));
        n.onDetach = () => Promise.reject(new Error('ip netns del failed'));
      },
      { code: ErrorCode.TIMEOUT, message: 'interfaces not made in time' },
    ],
  ];
  for (const [what, breakIt, error] of cases) {
    t.test(what, async (t) => {
      const dir = await tempDir(t, 'localnet');
      const local = await LocalNetworks.open(dir, silentLogger());
      await local.create(spec('front'));
      await local.create(spec('back'));
      const netd = fakeNetd(() => local.list());
      breakIt(netd);
      await t.rejects(local.join(netd, 'c1', 'web1', [on('front'), on('back')]), { code: error.code, message: exactly(error.message) });
      t.same(netd.calls, ['attach local-c1 web1 front=172.18.0.2/16[] back=172.19.0.2/16[]', 'detach local-c1 2'], 'netd is told to take back what it made');
      t.same(await savedAddresses(dir), { front: {}, back: {} }, 'the addresses are free again (saved)');
      const reopened = await LocalNetworks.open(dir, silentLogger());
      await reopened.remove('front');
      t.same(reopened.list().map((n) => n.spec?.annotations?.name), ['back'], 'no attachment holds the network');
    });
  }
});

t.test('remove: by name, ID or prefix; refused while a container is on it; NOT_FOUND for others', async (t) => {
  const dir = await tempDir(t, 'localnet');
  const local = await LocalNetworks.open(dir, silentLogger());
  const front = await local.create(spec('front'));
  const back = await local.create(spec('back'));
  const netd = fakeNetd(() => local.list());
  await local.join(netd, 'c1', 'web1', [on('back'), on('front')]);
  for (const ref of ['front', front.id, front.id.slice(0, 8)]) {
    await t.rejects(local.remove(ref), { code: ErrorCode.CONFLICT, message: exactly('network front is in use by container web1 (remove the container first)') }, ref);
  }
  t.equal(local.list().length, 2, 'both still there');
  await t.rejects(local.remove('nope'), { code: ErrorCode.NOT_FOUND, message: exactly('network nope not found') });
  await t.rejects(local.remove(''), { code: ErrorCode.INVALID_ARGUMENT, message: exactly('a network ID or name is required') });
  await local.leave(netd, 'local-c1');
  await local.remove(front.id.slice(0, 8));
  await local.remove(back.id);
  t.same(local.list(), []);
  t.same(await savedAddresses(dir), {}, 'their IPAM is gone');
  await t.rejects(local.remove('front'), { code: ErrorCode.NOT_FOUND, message: exactly('network front not found') });
});

t.test('leave gives back the namespace and the addresses; idempotent; a freed address is used again', async (t) => {
  const dir = await tempDir(t, 'localnet');
  const local = await LocalNetworks.open(dir, silentLogger());
  await local.create(spec('small', { subnet: '10.9.0.0/29' }));
  const netd = fakeNetd(() => local.list());
  for (const c of ['c1', 'c2', 'c3', 'c4', 'c5']) await local.join(netd, c, `web-${c}`, [on('small')]);
  t.same(Object.keys((await savedAddresses(dir)).small ?? {}), ['10.9.0.2', '10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6'], '5 usable addresses (.1 is the gateway)');
  netd.calls.length = 0;
  await t.rejects(local.join(netd, 'c6', 'web-c6', [on('small')]), { code: ErrorCode.CONFLICT, message: /^no free address left on network [0-9a-z]{25} \(range 10\.9\.0\.0\/29: 5 usable, all allocated\)$/ });
  t.same(netd.calls, [], 'a full network: netd is not asked');

  await local.leave(netd, 'local-c3');
  t.same(netd.calls, ['detach local-c3 0'], 'netd removes the namespace');
  t.same((await savedAddresses(dir)).small, { '10.9.0.2': 'local-c1', '10.9.0.3': 'local-c2', '10.9.0.5': 'local-c4', '10.9.0.6': 'local-c5' });
  await local.leave(netd, 'local-c3');
  await local.leave(undefined, 'local-c3');
  t.same(netd.calls, ['detach local-c3 0', 'detach local-c3 0'], 'again: netd is told again, nothing else happens');
  await local.join(netd, 'c6', 'web-c6', [on('small')]);
  t.equal(netd.calls[2], 'attach local-c6 web-c6 small=10.9.0.4/29[]', 'the freed address');
  await local.leave(undefined, 'local-c1');
  t.same(Object.keys((await savedAddresses(dir)).small ?? {}), ['10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6'], 'without netd the addresses still go');
  t.equal(local.hasAttachments(), true);
  for (const c of ['c2', 'c4', 'c5', 'c6']) await local.leave(netd, `local-${c}`);
  t.equal(local.hasAttachments(), false, 'the last one gone');
});

t.test('restore: attachments of running containers go back to netd, those of gone containers are given back', async (t) => {
  const dir = await tempDir(t, 'localnet');
  const before = await LocalNetworks.open(dir, silentLogger());
  const front = await before.create(spec('front'));
  await before.create(spec('back'));
  const joining = fakeNetd(() => before.list());
  await before.join(joining, 'c1', 'web1', [on('front', ['www']), on('back')]);
  await before.join(joining, 'c2', 'web2', [on('front')]);
  await before.join(joining, 'c3', 'web3', [on('back')]);

  // The daemon restarts: c1 and c3 still exist, c2 was removed while it was down; c3's namespace is gone.
  const local = await LocalNetworks.open(dir, silentLogger());
  const calls: string[] = [];
  let adoptedNetworks: ReadonlyMap<string, Network> | undefined;
  const netd = {
    adopt: (task: Task, networks: ReadonlyMap<string, Network>): boolean => {
      calls.push(`adopt ${task.id} ${task.annotations?.name ?? ''} ${task.networks.map((a) => `${a.addresses.join(',')}[${a.aliases.join(',')}]`).join(' ')}`);
      adoptedNetworks = networks;
      return task.id !== 'local-c3';
    },
    detach: (task: Task): Promise<void> => {
      calls.push(`detach ${task.id}`);
      return task.id === 'local-c2' ? Promise.reject(new Error('no such namespace')) : Promise.resolve();
    },
  };
  await local.restore(netd, new Set(['c1', 'c3', 'c-other']));
  t.same(calls, ['adopt local-c1 web1 172.18.0.2/16[www] 172.19.0.2/16[www]', 'detach local-c2', 'adopt local-c3 web3 172.19.0.3/16[]', 'detach local-c3'], 'a failing detach does not stop the hand-back');
  t.same([...(adoptedNetworks?.keys() ?? [])].sort(), local.list().map((n) => n.id).sort(), 'netd gets the network objects');
  t.same(await savedAddresses(dir), { front: { '172.18.0.2': 'local-c1' }, back: { '172.19.0.2': 'local-c1' } }, 'only c1 keeps addresses');
  await t.rejects(local.remove('front'), { code: ErrorCode.CONFLICT, message: exactly('network front is in use by container web1 (remove the container first)') });
  calls.length = 0;
  await local.restore(netd, new Set(['c1']));
  t.same(calls, ['adopt local-c1 web1 172.18.0.2/16[www] 172.19.0.2/16[www]'], 'the given-back ones are gone for good');
  await local.restore(netd, new Set());
  t.same(await savedAddresses(dir), { front: {}, back: {} }, 'no container left: every address back');
  await local.remove(front.id);
  t.same(local.list().map((n) => n.spec?.annotations?.name), ['back']);
});

t.test('-p: published ports go to netd with the attachment, survive a reopen, clash with another container, and go with it', async (t) => {
  const dir = await tempDir(t, 'localnet');
  const local = await LocalNetworks.open(dir, silentLogger());
  await local.create(spec('front'));
  const netd = fakeNetd(() => local.list());
  let attached: Task | undefined;
  netd.answer = (task) => ((attached = task), Promise.resolve(`/run/netns/tss-${task.id}`));
  const http = { name: '', protocol: PortProtocol.TCP, targetPort: 80, publishedPort: 8080, publishMode: PublishMode.HOST };
  const dns = { name: '', protocol: PortProtocol.UDP, targetPort: 53, publishedPort: 5353, publishMode: PublishMode.HOST };
  await local.join(netd, 'c1', 'web', [on('front')], [http, dns]);
  t.same(attached?.endpoint?.ports, [http, dns], 'netd gets the ports as host-mode ports of the attachment');

  await t.rejects(local.join(netd, 'c2', 'web2', [on('front')], [{ ...http, targetPort: 81 }]), { code: ErrorCode.CONFLICT, message: 'port 8080/tcp is already published by container web' });
  await local.join(netd, 'c3', 'other', [on('front')], [{ ...http, protocol: PortProtocol.UDP }]);
  t.pass('the same number over udp is another port');
  await t.rejects(local.join(netd, 'c4', 'twice', [on('front')], [http, { ...http, targetPort: 81 }]), { code: ErrorCode.INVALID_ARGUMENT, message: 'port 8080/tcp is published twice' });
  await t.rejects(local.join(netd, 'c5', 'sctp', [on('front')], [{ ...http, protocol: PortProtocol.SCTP, publishedPort: 9000 }]), { code: ErrorCode.INVALID_ARGUMENT, message: 'only tcp and udp ports can be published' });
  await t.rejects(local.join(netd, 'c6', 'zero', [on('front')], [{ ...http, publishedPort: 0 }]), { code: ErrorCode.INVALID_ARGUMENT, message: '-p needs a host port and a container port from 1 to 65535 (got 0:80)' });

  const reopened = await LocalNetworks.open(dir, silentLogger());
  const adopted: Task[] = [];
  await reopened.restore({ adopt: (task) => (adopted.push(task), true), detach: () => Promise.resolve() }, new Set(['c1', 'c3']));
  t.same(adopted.find((a) => a.id === `${localAttachmentPrefix}c1`)?.endpoint?.ports, [http, dns], 'after a restart netd gets the ports back');

  await reopened.leave(netd, `${localAttachmentPrefix}c1`);
  await reopened.join(netd, 'c2', 'web2', [on('front')], [{ ...http, targetPort: 81 }]);
  t.pass('the port is free once its container left');
});

t.test('join and leave call netd outside the lock: a netd that starts meanwhile hands attachments back through restore', async (t) => {
  const dir = await tempDir(t, 'localnet');
  const local = await LocalNetworks.open(dir, silentLogger());
  await local.create(spec('front'));
  const adopted: string[] = [];
  let starting: Promise<void> | undefined;
  // netd's start (as SwarmNode.startNetd does) runs restore before attach or detach can go on.
  const start = (): Promise<void> => (starting ??= local.restore({ adopt: (task) => (adopted.push(task.id), true), detach: () => Promise.resolve() }, new Set(['c0'])));
  const netd: TaskNetworks = {
    attach: async (task) => (await start(), `/run/netns/tss-${task.id}`),
    detach: async () => void (await start()),
  };
  const within = <T>(p: Promise<T>, what: string): Promise<T> =>
    Promise.race([p, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`${what}: deadlock`)), 2_000).unref())]);
  const joined = await within(local.join(netd, 'c1', 'web', [on('front')]), 'join');
  t.equal(joined.attachmentId, `${localAttachmentPrefix}c1`, 'the join goes through while netd starts');
  t.same(adopted, [], 'restore left the attachment being joined alone (its join hands it to netd)');
  t.ok(local.hasAttachments(), 'and did not give it back');
  starting = undefined;
  await within(local.leave(netd, joined.attachmentId), 'leave');
  t.notOk(local.hasAttachments(), 'the leave goes through while netd starts');
});
