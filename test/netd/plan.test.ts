/**
 * plan as tables of cases: a desired state, what the host has, and the operations expected; then
 * a seeded simulation (printing its seed on failure) that drives a fake host through random desired
 * states and random crashes mid-apply, and checks that one plan + apply always converges (the next
 * plan is empty) and that nothing but the desired devices is left.
 */
import t from 'tap';
import { seededRng, type Rng } from '../../lib/rng.js';
import { ErrorCode, isTsswarmError } from '../../lib/errors.js';
import { type ClusterEndpoint, type ClusterService, desiredForHost } from '../../netd/desired.js';
import {
  type DesiredHostState,
  type DesiredNetwork,
  type LocalEndpoint,
  bridgeMac,
  bridgeName,
  emptyObservedState,
  endpointAlias,
  macFromAddress,
  vethName,
  vxlanName,
} from '../../netd/model.js';
import { type Operation, plan } from '../../netd/plan.js';
import { toBatches } from '../../netd/apply.js';
import { FakeHost, applyWithCrashes, show } from './fake-host.js';

const h1 = '198.18.0.1';
const h2 = '198.18.0.2';
const h3 = '198.18.0.3';
const appnet: DesiredNetwork = { id: 'appnet', vni: 4096, subnet: '10.0.0.0/24', gateway: '10.0.0.1', internal: false };
const back: DesiredNetwork = { id: 'back', vni: 4097, subnet: '10.0.1.0/24', gateway: '10.0.1.1', internal: true };

function ep(id: string, networkId: string, hostAddress: string, address: string, netns = `ns-${id}`): ClusterEndpoint {
  return { id, networkId, hostAddress, netns, address };
}

function desired(endpoints: ClusterEndpoint[], networks: DesiredNetwork[] = [appnet, back], host = h1, services: ClusterService[] = []): DesiredHostState {
  return desiredForHost({ hostAddress: host, underlayDevice: 'eth0', networks, endpoints, services });
}

const web: ClusterService = { id: 'web', networkId: 'appnet', vip: '10.0.0.100', ports: [{ protocol: 'tcp', port: 80 }] };

/** A host that has converged on `d`. */
function converged(d: DesiredHostState): FakeHost {
  const host = new FakeHost();
  host.applyAll(plan(d, host.observed()));
  return host;
}

const base = [ep('a', 'appnet', h1, '10.0.0.2'), ep('b', 'appnet', h2, '10.0.0.3')];
const baseState = desired(base);

t.test('a fresh host gets its network, endpoint and remote entries, in order', async (t) => {
  const vx = vxlanName(4096);
  const br = bridgeName(4096);
  const veth = vethName({ netns: 'ns-a', ifname: 'eth0' });
  const lines = show(plan(baseState, emptyObservedState));
  t.same(lines.slice(0, 2), ['nft table inet tsswarm_netd', 'sysctl net.ipv4.ip_forward=1']);
  t.match(lines[2], `ip link add ${br} address 02:`);
  t.same(lines.slice(3, 10), [
    `ip link add ${vx} mtu 1450 type vxlan id 4096 dstport 4789 local ${h1} dev eth0 nolearning`,
    `ip link set dev ${br} addrgenmode none`,
    `ip link set dev ${vx} addrgenmode none`,
    `ip link set dev ${vx} master ${br} up`,
    `ip link set dev ${vx} type bridge_slave learning off neigh_suppress on`,
    `ip addr add 10.0.0.1/24 dev ${br}`,
    `ip link set dev ${br} up`,
  ]);
  t.same(lines.slice(12), [
    `ip link add ${veth} mtu 1450 type veth peer name eth0 mtu 1450 address 02:42:0a:00:00:02 netns ns-a`,
    `ip link set dev ${veth} alias tsswarm:pending:at:ns-a/eth0`,
    'ip@ns-a link set dev lo up',
    'ip@ns-a addr add 10.0.0.2/24 dev eth0',
    'ip@ns-a link set dev eth0 addrgenmode none',
    'ip@ns-a link set dev eth0 up',
    'ip@ns-a route add default via 10.0.0.1 dev eth0',
    `ip link set dev ${veth} addrgenmode none`,
    `ip link set dev ${veth} master ${br}`,
    `ip link set dev ${veth} up`,
    `ip link set dev ${veth} alias ${endpointAlias(baseState.local[0] as LocalEndpoint, appnet, 'none')}`,
    `ip neigh replace 10.0.0.3 lladdr 02:42:0a:00:00:03 dev ${br} nud permanent`,
    `bridge fdb replace 02:42:0a:00:00:03 dev ${vx} dst ${h2} self permanent`,
    `bridge fdb replace 02:42:0a:00:00:03 dev ${vx} master static`,
  ]);
  t.notOk(lines.some((l) => l.includes('back') || l.includes('4097')), 'a network without local endpoints is not made here');
  t.same(show(plan(desired([ep('s', 'back', h1, '10.0.1.2')]), emptyObservedState)).filter((l) => l.startsWith('sysctl')), [], 'internal networks alone need no forwarding');
});

interface Case {
  readonly name: string;
  /** Desired state now (the host converged on baseState first). */
  readonly desired: DesiredHostState;
  /** Changes the host suffered before planning (a crash, a hand edit). */
  readonly damage?: (host: FakeHost) => void;
  /** Exactly the expected operations (`tool[@ns] command`); `~text` matches a line containing text. */
  readonly expect: readonly string[];
}

const vx = vxlanName(4096);
const br = bridgeName(4096);
const vethA = vethName({ netns: 'ns-a', ifname: 'eth0' });

const cases: Case[] = [
  { name: 'converged: nothing to do', desired: baseState, expect: [] },
  {
    name: 'a new remote endpoint: one neighbour and two FDB entries',
    desired: desired([...base, ep('c', 'appnet', h3, '10.0.0.4')]),
    expect: [
      `ip neigh replace 10.0.0.4 lladdr 02:42:0a:00:00:04 dev ${br} nud permanent`,
      `bridge fdb replace 02:42:0a:00:00:04 dev ${vx} dst ${h3} self permanent`,
      `bridge fdb replace 02:42:0a:00:00:04 dev ${vx} master static`,
    ],
  },
  {
    name: 'a remote endpoint gone: its entries are removed',
    desired: desired([base[0] as ClusterEndpoint]),
    expect: [`bridge fdb del 02:42:0a:00:00:03 dev ${vx} self`, `bridge fdb del 02:42:0a:00:00:03 dev ${vx} master`, `ip neigh del 10.0.0.3 dev ${br}`],
  },
  {
    name: 'a remote endpoint moved host: only its VTEP changes',
    desired: desired([base[0] as ClusterEndpoint, ep('b', 'appnet', h3, '10.0.0.3')]),
    expect: [`bridge fdb replace 02:42:0a:00:00:03 dev ${vx} dst ${h3} self permanent`],
  },
  {
    name: 'a bridge without its fingerprint (crash while making it): network and endpoints are remade',
    desired: baseState,
    damage: (h) => {
      const l = h.links.get(br);
      if (l) delete l.alias;
    },
    expect: [
      `ip link set dev ${vethA} group 4242`,
      `ip link set dev ${vx} group 4242`,
      `ip link set dev ${br} group 4242`,
      'ip link del group 4242',
      `~ip link add ${br} `,
      `~ip link add ${vx} `,
      '~addrgenmode none',
      '~addrgenmode none',
      '~',
      '~',
      '~',
      '~',
      '~alias',
      '~alias',
      `~ip link add ${vethA} `,
      '~alias tsswarm:pending:at:ns-a/eth0',
      '~ip@ns-a',
      '~ip@ns-a',
      '~ip@ns-a',
      '~ip@ns-a',
      '~ip@ns-a',
      `ip link set dev ${vethA} addrgenmode none`,
      `ip link set dev ${vethA} master ${br}`,
      `ip link set dev ${vethA} up`,
      `~ip link set dev ${vethA} alias`,
      '~ip neigh replace 10.0.0.3',
      '~bridge fdb replace 02:42:0a:00:00:03',
      '~bridge fdb replace 02:42:0a:00:00:03',
    ],
  },
  {
    name: 'an endpoint veth that never got enslaved (crash before the last step) is remade alone',
    desired: baseState,
    damage: (h) => {
      const l = h.links.get(vethA);
      if (l) delete l.master;
    },
    expect: [`ip link set dev ${vethA} group 4242`, 'ip link del group 4242', `~ip link add ${vethA}`, '~pending', '~ip@ns-a', '~ip@ns-a', '~ip@ns-a', '~ip@ns-a', '~ip@ns-a', '~addrgenmode', '~master', '~up', '~alias'],
  },
  {
    name: 'an endpoint veth fingerprinted but never brought up (crash before the last step) is remade alone',
    desired: baseState,
    damage: (h) => {
      const l = h.links.get(vethA);
      if (l) l.up = false;
    },
    expect: [`ip link set dev ${vethA} group 4242`, 'ip link del group 4242', `~ip link add ${vethA}`, '~pending', '~ip@ns-a', '~ip@ns-a', '~ip@ns-a', '~ip@ns-a', '~ip@ns-a', '~addrgenmode', '~master', '~up', '~alias'],
  },
  {
    name: 'strays of netd are removed, other devices are left alone',
    desired: baseState,
    damage: (h) => {
      h.links.set('tse-0000000001', { kind: 'veth', up: false, peer: 'tse-0000000002' });
      h.links.set('tse-0000000002', { kind: 'veth', up: false, peer: 'tse-0000000001' });
      h.links.set('tsv-5000', { kind: 'vxlan', up: true });
      h.links.set('tsb-5000', { kind: 'bridge', up: true });
      h.links.set('docker0', { kind: 'bridge', up: true });
    },
    expect: ['ip link set dev tse-0000000001 group 4242', 'ip link set dev tsv-5000 group 4242', 'ip link set dev tsb-5000 group 4242', 'ip link del group 4242'],
  },
  {
    name: 'devices left in the delete group by a crash are deleted, even if they look right',
    desired: baseState,
    damage: (h) => {
      const l = h.links.get(vethA);
      if (l) l.group = 4242;
    },
    expect: ['ip link del group 4242', `~ip link add ${vethA}`, '~pending', '~ip@ns-a', '~ip@ns-a', '~ip@ns-a', '~ip@ns-a', '~ip@ns-a', '~addrgenmode', '~master', '~up', '~alias'],
  },
  {
    name: 'a flooding entry and a stray neighbour are removed; kernel-made entries are not',
    desired: baseState,
    damage: (h) => {
      h.fdb.push({ mac: '00:00:00:00:00:00', dev: vx, self: true, dst: h3, state: 'permanent' });
      h.fdb.push({ mac: '1e:a3:de:b7:e9:51', dev: vx, self: false, state: 'permanent' });
      h.fdb.push({ mac: '02:42:0a:00:00:02', dev: vethA, self: false, state: '' });
      h.neighbours.push({ address: '10.0.0.9', dev: br, mac: '02:42:0a:00:00:09', permanent: true });
      h.neighbours.push({ address: '10.0.0.2', dev: br, mac: '02:42:0a:00:00:02', permanent: false });
    },
    expect: [`bridge fdb del 00:00:00:00:00:00 dev ${vx} self`, `ip neigh del 10.0.0.9 dev ${br}`],
  },
  {
    name: 'a remote MAC with two VTEPs (appended by hand) gets exactly one',
    desired: baseState,
    damage: (h) => h.fdb.push({ mac: '02:42:0a:00:00:03', dev: vx, self: true, dst: h3, state: 'permanent' }),
    expect: [`bridge fdb del 02:42:0a:00:00:03 dev ${vx} self`, `bridge fdb replace 02:42:0a:00:00:03 dev ${vx} dst ${h2} self permanent`],
  },
  {
    name: 'an nft table changed by hand is replaced in one transaction',
    desired: baseState,
    damage: (h) => {
      h.nftFingerprint = '';
    },
    expect: ['~nft table inet tsswarm_netd'],
  },
  {
    name: 'an endpoint on a second, internal network: no default route there, isolation rules change',
    desired: desired([...base, ep('s', 'back', h1, '10.0.1.2', 'ns-a')]),
    expect: [
      '~nft table inet tsswarm_netd',
      '~ip link add tsb-4097',
      '~ip link add tsv-4097',
      '~addrgenmode none',
      '~addrgenmode none',
      '~',
      '~',
      '~ip addr add 10.0.1.1/24 dev tsb-4097',
      '~',
      '~alias',
      '~alias',
      '~ip link add tse-',
      '~alias tsswarm:pending:at:ns-a/eth1',
      'ip@ns-a link set dev lo up',
      'ip@ns-a addr add 10.0.1.2/24 dev eth1',
      'ip@ns-a link set dev eth1 addrgenmode none',
      'ip@ns-a link set dev eth1 up',
      '~addrgenmode none',
      '~master tsb-4097',
      '~up',
      '~alias',
    ],
  },
  {
    name: 'a service VIP appears: the endpoint gets its load balancer, nothing is remade',
    desired: desired([{ ...(base[0] as ClusterEndpoint), serviceId: 'web' }, { ...(base[1] as ClusterEndpoint), serviceId: 'web' }], undefined, h1, [web]),
    expect: ['nft@ns-a table ip tsswarm_lb_eth0', `~ip link set dev ${vethA} alias tsswarm:ep:`],
  },
  {
    name: 'a service with a VIP but no tasks rejects',
    desired: desired(base, undefined, h1, [web]),
    expect: ['nft@ns-a table ip tsswarm_lb_eth0', `~ip link set dev ${vethA} alias tsswarm:ep:`],
  },
  {
    name: 'everything removed: devices and the nft table go, entries go with their devices',
    desired: desired([]),
    expect: [
      `ip link set dev ${vethA} group 4242`,
      `ip link set dev ${vx} group 4242`,
      `ip link set dev ${br} group 4242`,
      'ip link del group 4242',
      'nft delete table inet tsswarm_netd',
    ],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const host = converged(baseState);
    c.damage?.(host);
    const ops = plan(c.desired, host.observed());
    const lines = show(ops);
    t.equal(lines.length, c.expect.length, `${lines.length} operations:\n${lines.join('\n')}`);
    c.expect.forEach((want, i) => {
      if (want.startsWith('~')) t.ok((lines[i] ?? '').includes(want.slice(1)), `op ${i}: "${lines[i] ?? ''}" contains "${want.slice(1)}"`);
      else t.equal(lines[i], want, `op ${i}`);
    });
    host.applyAll(ops);
    t.same(show(plan(c.desired, host.observed())), [], 'applying them converges');
  });
}

t.test('load balancer: rules follow the backends, one transaction per change, removal deletes the table', async (t) => {
  const withBackends = (n: number): DesiredHostState =>
    desired([...base, ...[3, 4, 5].slice(0, n).map((i) => ep(`t${i}`, 'appnet', h2, `10.0.0.${i + 10}`))].map((e) => (e.id.startsWith('t') ? { ...e, serviceId: 'web' } : e)), undefined, h1, [web]);
  const host = converged(withBackends(3));
  const script = host.lbTables.get('ns-a')?.get('tsswarm_lb_eth0') ?? '';
  t.match(script, 'ip daddr 10.0.0.100 tcp dport 80 dnat to numgen inc mod 3 map { 0 : 10.0.0.13, 1 : 10.0.0.14, 2 : 10.0.0.15 }');
  const shrink = plan(withBackends(1), host.observed());
  const lines = show(shrink);
  t.equal(lines.filter((l) => l.startsWith('nft@ns-a ')).length, 1, 'one nft transaction in the endpoint namespace');
  t.equal(lines.filter((l) => l.includes(' alias ')).length, 1, 'the fingerprint follows');
  t.notOk(lines.some((l) => l.includes('link add') || l.includes('group')), 'nothing is remade');
  t.equal(lines.filter((l) => l.includes('fdb del')).length, 4, 'two gone backends lose their FDB entries');
  host.applyAll(shrink);
  t.match(host.lbTables.get('ns-a')?.get('tsswarm_lb_eth0') ?? '', 'ip daddr 10.0.0.100 tcp dport 80 dnat to 10.0.0.13\n');
  t.same(plan(withBackends(1), host.observed()), [], 'converged');
  host.applyAll(plan(desired(base), host.observed()));
  t.equal(host.lbTables.get('ns-a')?.size, 0, 'the table is gone with the service');
  t.same(plan(desired(base), host.observed()), [], 'converged');

  // Disconnected while its namespace lives on (network disconnect): the alias says where to clean.
  const again = converged(withBackends(2));
  const gone = plan(desired([ep('b', 'appnet', h1, '10.0.0.3', 'ns-b'), ep('t3', 'appnet', h2, '10.0.0.13')], undefined, h1, [web]), again.observed());
  t.equal(show(gone)[0], 'nft@ns-a table ip tsswarm_lb_eth0', 'the load balancer goes first');
  again.applyAll(gone);
  t.notOk(again.lbTables.get('ns-a')?.has('tsswarm_lb_eth0'), 'ns-a has no load balancer left');
});

t.test('routing mesh: every host gets the ingress network, its own address on it, and DNAT/SNAT rules', async (t) => {
  const ingressNet: DesiredNetwork = { id: 'ingress', vni: 4200, subnet: '10.255.0.0/16', gateway: '10.255.0.1', internal: false };
  const view = {
    hostAddress: h3,
    underlayDevice: 'eth0',
    networks: [appnet, ingressNet],
    endpoints: [
      { ...ep('t1', 'ingress', h1, '10.255.0.10'), serviceId: 'pub' },
      { ...ep('t2', 'ingress', h2, '10.255.0.11'), serviceId: 'pub' },
    ],
    ingress: {
      networkId: 'ingress',
      hostAddresses: { [h1]: '10.255.0.2', [h2]: '10.255.0.3', [h3]: '10.255.0.4' },
      published: [{ serviceId: 'pub', protocol: 'tcp' as const, publishedPort: 80, targetPort: 8080 }],
    },
  };
  const d = desiredForHost(view);
  t.same(d.networks.map((n) => `${n.id} ${n.hostAddress ?? '-'}`), ['ingress 10.255.0.4'], 'h3 has no tasks but is in the mesh');
  t.same(d.networks[0]?.published, [{ protocol: 'tcp', publishedPort: 80, targetPort: 8080, backends: ['10.255.0.10', '10.255.0.11'] }]);
  t.same(
    d.remote.filter((r) => r.id.startsWith('ingress@')).map((r) => `${r.address} ${r.mac} @${r.hostAddress}`),
    [`10.255.0.2 ${bridgeMac(h1, 4200)} @${h1}`, `10.255.0.3 ${bridgeMac(h2, 4200)} @${h2}`],
    'other hosts\' ingress addresses are reached at their bridges',
  );
  const host = new FakeHost();
  const ops = plan(d, host.observed());
  const lines = show(ops);
  t.ok(lines.includes('ip addr add 10.255.0.4/16 dev tsb-4200'), 'the host address is on the bridge');
  const nft = ops.find((o) => o.tool === 'nft')?.command ?? '';
  t.match(nft, 'fib daddr type local tcp dport 80 dnat ip to numgen inc mod 2 map { 0 : 10.255.0.10, 1 : 10.255.0.11 } : 8080');
  t.match(nft, 'ip daddr 10.255.0.0/16 oifname "tsb-4200" ct status dnat snat ip to 10.255.0.4');
  host.applyAll(ops);
  t.same(plan(d, host.observed()), [], 'converged');
});

t.test('bad desired state is refused before anything is planned', async (t) => {
  const bad: [string, DesiredHostState][] = [
    ['two networks with one VNI', { ...baseState, networks: [appnet, { ...back, vni: 4096 }] }],
    ['endpoint outside its subnet', desired([ep('a', 'appnet', h1, '10.0.5.2')])],
    ['endpoint on an unknown network', { ...baseState, local: [{ ...(baseState.local[0] as DesiredHostState['local'][number]), networkId: 'nope' }] }],
    ['a namespace name that could inject a command', desired([ep('a', 'appnet', h1, '10.0.0.2', 'ns a\nlink del eth0')])],
    ['two default routes in one namespace', { ...baseState, local: [...baseState.local, { ...(baseState.local[0] as DesiredHostState['local'][number]), ifname: 'eth1' }] }],
    ['gateway outside the subnet', { ...baseState, networks: [{ ...appnet, gateway: '10.9.9.1' }] }],
  ];
  for (const [what, d] of bad) {
    let code = 'no error';
    try {
      plan(d, emptyObservedState);
    } catch (err) {
      code = isTsswarmError(err) ? err.code : String(err);
    }
    t.equal(code, ErrorCode.INVALID_ARGUMENT, what);
  }
});

t.test('desiredForHost: only networks with local endpoints; one default route per namespace', async (t) => {
  const d = desired([
    ep('a', 'appnet', h1, '10.0.0.2', 'ns-x'),
    ep('s', 'back', h1, '10.0.1.2', 'ns-x'),
    ep('t', 'back', h1, '10.0.1.3', 'ns-y'),
    ep('r', 'appnet', h2, '10.0.0.3'),
    ep('q', 'back', h3, '10.0.1.4'),
  ]);
  t.same(d.networks.map((n) => n.id), ['appnet', 'back']);
  t.same(
    d.local.map((l) => `${l.netns}/${l.ifname} ${l.address} ${l.mac} route=${l.defaultRoute}`),
    ['ns-x/eth0 10.0.0.2 02:42:0a:00:00:02 route=true', 'ns-x/eth1 10.0.1.2 02:42:0a:00:01:02 route=false', 'ns-y/eth0 10.0.1.3 02:42:0a:00:01:03 route=false'],
  );
  t.same(d.remote.map((r) => `${r.id}@${r.hostAddress}`), ['r@198.18.0.2', 'q@198.18.0.3']);
  t.same(desired([ep('r', 'appnet', h2, '10.0.0.3')]).networks, [], 'a host with no endpoints has no networks');
  t.equal(macFromAddress('172.16.254.3'), '02:42:ac:10:fe:03');
});

t.test('operations are batched by tool and namespace, order kept', async (t) => {
  const batches = toBatches(plan(baseState, emptyObservedState));
  t.same(
    batches.map((b) => `${b.tool}${b.netns === undefined ? '' : `@${b.netns}`}×${b.lines.length}`),
    ['nft×1', 'sysctl×1', 'ip×12', 'ip@ns-a×5', 'ip×5', 'bridge×2'],
  );
});

/** A random cluster view around host h1. */
function randomState(rng: Rng): DesiredHostState {
  const nets: DesiredNetwork[] = [];
  const netCount = rng.int(4);
  for (let i = 0; i < netCount; i++) {
    nets.push({ id: `n${i}`, vni: 4096 + rng.int(6) * 7 + i, subnet: `10.0.${i}.0/24`, gateway: `10.0.${i}.1`, internal: rng.chance(0.3) });
  }
  const uniqueVni = new Set(nets.map((n) => n.vni)).size === nets.length;
  const networks = uniqueVni ? nets : nets.map((n, i) => ({ ...n, vni: 4096 + i }));
  const eps: ClusterEndpoint[] = [];
  if (networks.length > 0) {
    const count = rng.int(9);
    const used = new Set<string>();
    for (let i = 0; i < count; i++) {
      const n = rng.pick(networks);
      const host = rng.pick([h1, h1, h2, h3]);
      const address = `10.0.${n.id.slice(1)}.${2 + rng.int(20)}`;
      if (used.has(`${n.id}/${address}`)) continue;
      used.add(`${n.id}/${address}`);
      const netns = `ns${rng.int(4)}`;
      if (eps.some((e) => e.netns === netns && e.networkId === n.id && e.hostAddress === host)) continue;
      eps.push({ ...ep(`e${i}`, n.id, host, address, netns), ...(rng.chance(0.5) ? { serviceId: `svc-${n.id}` } : {}) });
    }
  }
  const services: ClusterService[] = networks
    .filter(() => rng.chance(0.5))
    .map((n) => ({ id: `svc-${n.id}`, networkId: n.id, vip: `10.0.${n.id.slice(1)}.200`, ports: [{ protocol: rng.pick(['tcp', 'udp'] as const), port: 80 }] }));
  return desired(eps, networks, h1, services);
}

t.test('simulation: random states and crashes always converge in one plan + apply', async (t) => {
  const seeds = 300;
  let failures = 0;
  for (let seed = 1; seed <= seeds && failures < 3; seed++) {
    const rng = seededRng(seed);
    const host = new FakeHost();
    try {
      for (let step = 0; step < 6; step++) {
        const d = randomState(rng);
        applyWithCrashes(host, d, rng);
        const netdLinks = [...host.links.keys()].filter((n) => /^ts[bve]-/.test(n)).sort();
        const want = [...d.networks.flatMap((n) => [bridgeName(n.vni), vxlanName(n.vni)]), ...d.local.map((l) => vethName(l))].sort();
        if (JSON.stringify(netdLinks) !== JSON.stringify(want)) throw new Error(`devices ${netdLinks.join(',')} != ${want.join(',')}`);
        if ((d.networks.length > 0) !== (host.nftFingerprint !== undefined)) throw new Error('nft table presence wrong');
        for (const l of d.local) {
          const iface = host.namespaces.get(l.netns)?.get(l.ifname);
          if (!iface?.up || iface.addresses.length !== 1 || iface.defaultRoute !== l.defaultRoute) throw new Error(`endpoint ${l.id} badly configured`);
          const svc = d.services.find((x) => x.networkId === l.networkId);
          const table = host.lbTables.get(l.netns)?.get(`tsswarm_lb_${l.ifname}`);
          if ((svc === undefined) !== (table === undefined)) throw new Error(`endpoint ${l.id}: load balancer ${table === undefined ? 'missing' : 'left over'}`);
          if (svc && table && !svc.backends.every((b) => table.includes(b))) throw new Error(`endpoint ${l.id}: load balancer misses backends`);
        }
      }
    } catch (err) {
      failures++;
      t.fail(`seed ${seed}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  t.equal(failures, 0, `${seeds} seeds × 6 steps`);
});
