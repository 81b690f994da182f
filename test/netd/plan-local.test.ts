/**
 * plan for a host's own bridge networks (DesiredNetwork.local, `network create -d bridge`): a bridge
 * with MTU 1500 and the gateway address, no VXLAN device, no FDB or neighbour entries; a VXLAN
 * device under a local number is removed; the rules that keep local numbers and overlay VNIs apart;
 * and a seeded simulation (printing its seed on failure) mixing local and overlay networks with
 * crashes mid-apply, run against the fake host the way plan.test.ts does.
 */
import t, { type Test } from 'tap';
import { ErrorCode, isTsswarmError } from '../../lib/errors.js';
import { seededRng, type Rng } from '../../lib/rng.js';
import { type ClusterEndpoint, desiredForHost } from '../../netd/desired.js';
import { noLbFingerprint } from '../../netd/lb.js';
import {
  type DesiredHostState,
  type DesiredNetwork,
  type LocalEndpoint,
  bridgeMac,
  bridgeName,
  emptyObservedState,
  endpointAlias,
  networkFingerprint,
  vethName,
  vxlanName,
} from '../../netd/model.js';
import { type Operation, plan } from '../../netd/plan.js';
import { FakeHost, applyWithCrashes, show } from './fake-host.js';

const h1 = '198.18.0.1';
const h2 = '198.18.0.2';
const mine: DesiredNetwork = { id: 'mine', vni: 1, subnet: '172.18.0.0/16', gateway: '172.18.0.1', internal: false, local: true };
const walled: DesiredNetwork = { id: 'walled', vni: 2, subnet: '172.19.0.0/16', gateway: '172.19.0.1', internal: true, local: true };
const appnet: DesiredNetwork = { id: 'appnet', vni: 4096, subnet: '10.0.0.0/24', gateway: '10.0.0.1', internal: false };

function ep(id: string, networkId: string, hostAddress: string, address: string, netns = `ns-${id}`): ClusterEndpoint {
  return { id, networkId, hostAddress, netns, address };
}

function desired(endpoints: ClusterEndpoint[], networks: DesiredNetwork[] = [mine, walled, appnet]): DesiredHostState {
  return desiredForHost({ hostAddress: h1, underlayDevice: 'eth0', networks, endpoints });
}

/**
 * One expected operation: exact, or `~text` for a line containing text; a list is a group of
 * lines in any order (how plan orders the last steps of an endpoint is not about local networks).
 */
type Expected = string | readonly string[];

function matches(line: string, want: string): boolean {
  return want.startsWith('~') ? line.includes(want.slice(1)) : line === want;
}

/** Checks `lines` against `expect`, position by position and group by group. */
function expectOps(t: Test, lines: readonly string[], expect: readonly Expected[]): void {
  const count = expect.reduce((sum: number, e) => sum + (typeof e === 'string' ? 1 : e.length), 0);
  t.equal(lines.length, count, `${lines.length} operations:\n${lines.join('\n')}`);
  let i = 0;
  for (const want of expect) {
    if (typeof want === 'string') {
      t.ok(matches(lines[i] ?? '', want), `op ${i}: "${lines[i] ?? ''}" is "${want}"`);
      i++;
      continue;
    }
    const group = lines.slice(i, i + want.length);
    const unmatched = [...group];
    for (const w of want) {
      const at = unmatched.findIndex((l) => matches(l, w));
      t.ok(at >= 0, `ops ${i}..${i + want.length - 1} include "${w}": ${group.join(' | ')}`);
      if (at >= 0) unmatched.splice(at, 1);
    }
    i += want.length;
  }
}

/** A host that has converged on `d`. */
function converged(d: DesiredHostState): FakeHost {
  const host = new FakeHost();
  host.applyAll(plan(d, host.observed()));
  return host;
}

/** Names of netd's devices on `host`, sorted. */
function netdLinks(host: FakeHost): string[] {
  return [...host.links.keys()].filter((n) => /^ts[bve]-/.test(n)).sort();
}

const vethA = vethName({ netns: 'ns-a', ifname: 'eth0' });
const one = desired([ep('a', 'mine', h1, '172.18.0.2')]);

t.test('a fresh host gets a local network as a bridge alone: MTU 1500, the gateway, no VXLAN, no FDB', async (t) => {
  const ops = plan(one, emptyObservedState);
  expectOps(t, show(ops), [
    'nft table inet tsswarm_netd',
    'sysctl net.ipv4.ip_forward=1',
    `ip link add tsb-1 address ${bridgeMac(h1, 1)} mtu 1500 type bridge`,
    'ip link set dev tsb-1 addrgenmode none',
    'ip addr add 172.18.0.1/16 dev tsb-1',
    'ip link set dev tsb-1 up',
    `ip link set dev tsb-1 alias ${networkFingerprint(mine, one)}`,
    `ip link add ${vethA} mtu 1500 type veth peer name eth0 mtu 1500 address 02:42:ac:12:00:02 netns ns-a`,
    `ip link set dev ${vethA} alias tsswarm:pending:at:ns-a/eth0`,
    'ip@ns-a link set dev lo up',
    'ip@ns-a addr add 172.18.0.2/16 dev eth0',
    'ip@ns-a link set dev eth0 addrgenmode none',
    'ip@ns-a link set dev eth0 up',
    'ip@ns-a route add default via 172.18.0.1 dev eth0',
    [
      `ip link set dev ${vethA} addrgenmode none`,
      `ip link set dev ${vethA} master tsb-1`,
      `ip link set dev ${vethA} alias ${endpointAlias(one.local[0] as LocalEndpoint, mine, noLbFingerprint)}`,
      `ip link set dev ${vethA} up`,
    ],
  ]);
  const nft = ops[0]?.command ?? '';
  t.match(nft, 'ip saddr 172.18.0.0/16 oifname != "tsb-*" masquerade', 'the outside through the host\'s NAT');
  t.match(nft, 'iifname "tsb-1" oifname "tsb-*" oifname != "tsb-1" drop', 'no route to other networks\' bridges');
  t.same(one.networks.map((n) => n.id), ['mine'], 'only the network with an endpoint here');

  const host = new FakeHost();
  host.applyAll(ops);
  t.same(netdLinks(host), ['tsb-1', vethA].sort(), 'a bridge and the veth; no tsv-1');
  t.same([host.fdb, host.neighbours], [[], []], 'no FDB or neighbour entries');
  t.same(host.namespaces.get('ns-a')?.get('eth0'), { addresses: ['172.18.0.2/16'], up: true, defaultRoute: true });
  t.same(plan(one, host.observed()), [], 'converged: planning again gives nothing');
});

t.test('an --internal local network: no forwarding, no NAT, only its gateway on the host', async (t) => {
  const d = desired([ep('w', 'walled', h1, '172.19.0.2')]);
  const ops = plan(d, emptyObservedState);
  const lines = show(ops);
  t.notOk(lines.some((l) => l.startsWith('sysctl')), 'forwarding is not needed');
  t.notOk(lines.some((l) => l.includes('route add default')), 'no default route out');
  const nft = ops[0]?.command ?? '';
  t.match(nft, 'iifname "tsb-2" oifname != "tsb-2" drop');
  t.match(nft, 'iifname "tsb-2" ip daddr != 172.19.0.1 drop');
  t.notMatch(nft, 'masquerade');
  t.ok(lines.includes(`ip link add tsb-2 address ${bridgeMac(h1, 2)} mtu 1500 type bridge`));
  const host = new FakeHost();
  host.applyAll(ops);
  t.same(plan(d, host.observed()), [], 'converged');
});

t.test('local and overlay networks side by side: VXLAN, MTU 1450 and remote entries only on the overlay', async (t) => {
  const d = desired([ep('a', 'mine', h1, '172.18.0.2'), ep('o', 'appnet', h1, '10.0.0.2'), ep('r', 'appnet', h2, '10.0.0.3')]);
  const lines = show(plan(d, emptyObservedState));
  const vethO = vethName({ netns: 'ns-o', ifname: 'eth0' });
  t.ok(lines.includes(`ip link add ${vethA} mtu 1500 type veth peer name eth0 mtu 1500 address 02:42:ac:12:00:02 netns ns-a`), 'the local veth: 1500');
  t.ok(lines.includes(`ip link add ${vethO} mtu 1450 type veth peer name eth0 mtu 1450 address 02:42:0a:00:00:02 netns ns-o`), 'the overlay veth: 1450');
  t.ok(lines.includes(`ip link add tsv-4096 mtu 1450 type vxlan id 4096 dstport 4789 local ${h1} dev eth0 nolearning`));
  t.notOk(lines.some((l) => l.includes('tsv-1')), 'no VXLAN device for the local network');
  t.same(lines.filter((l) => l.includes(' fdb ') || l.includes(' neigh ')), [
    'ip neigh replace 10.0.0.3 lladdr 02:42:0a:00:00:03 dev tsb-4096 nud permanent',
    'bridge fdb replace 02:42:0a:00:00:03 dev tsv-4096 dst 198.18.0.2 self permanent',
    'bridge fdb replace 02:42:0a:00:00:03 dev tsv-4096 master static',
  ]);
  const host = converged(d);
  t.same(netdLinks(host), ['tsb-1', 'tsb-4096', 'tsv-4096', vethA, vethO].sort());
  t.same(host.links.get('tsv-4096')?.master, 'tsb-4096');
  t.same(plan(d, host.observed()), [], 'converged');

  const onlyOverlay = desired([ep('o', 'appnet', h1, '10.0.0.2'), ep('r', 'appnet', h2, '10.0.0.3')]);
  t.same(show(plan(onlyOverlay, host.observed())), [
    `ip link set dev ${vethA} group 4242`,
    'ip link set dev tsb-1 group 4242',
    'ip link del group 4242',
    'nft table inet tsswarm_netd',
  ], 'the local network goes alone; the overlay is untouched');
});

interface Case {
  readonly name: string;
  readonly desired: DesiredHostState;
  /** Changes the host suffered (a crash, a hand edit, an older netd). */
  readonly damage?: (host: FakeHost) => void;
  /** Exactly the expected operations (see Expected). */
  readonly expect: readonly Expected[];
}

/** The bridge and its endpoint made again, after the removals in `expect`. */
const remakeBridgeAndVeth: Expected[] = [
  '~ip link add tsb-1 ',
  'ip link set dev tsb-1 addrgenmode none',
  '~ip addr add 172.',
  'ip link set dev tsb-1 up',
  '~ip link set dev tsb-1 alias tsswarm:net:1:',
  `~ip link add ${vethA} mtu 1500 `,
  '~pending',
  'ip@ns-a link set dev lo up',
  '~ip@ns-a addr add 172.',
  '~ip@ns-a',
  '~ip@ns-a',
  '~ip@ns-a route add default via 172.',
  [`ip link set dev ${vethA} addrgenmode none`, `ip link set dev ${vethA} master tsb-1`, `~ip link set dev ${vethA} alias tsswarm:ep:`, `ip link set dev ${vethA} up`],
];

const cases: Case[] = [
  { name: 'converged: nothing to do', desired: one, expect: [] },
  {
    name: 'a VXLAN device left under a local network\'s number (an older netd, a hand edit) is removed, the bridge kept',
    desired: one,
    damage: (h) => h.links.set('tsv-1', { kind: 'vxlan', up: true, master: 'tsb-1', alias: networkFingerprint(mine, one) }),
    expect: ['ip link set dev tsv-1 group 4242', 'ip link del group 4242'],
  },
  {
    name: 'a local bridge without its fingerprint (crash while making it) is remade with its endpoint',
    desired: one,
    damage: (h) => {
      const l = h.links.get('tsb-1');
      if (l) delete l.alias;
    },
    expect: [`ip link set dev ${vethA} group 4242`, 'ip link set dev tsb-1 group 4242', 'ip link del group 4242', ...remakeBridgeAndVeth],
  },
  {
    name: 'a local bridge that is down is remade',
    desired: one,
    damage: (h) => {
      const l = h.links.get('tsb-1');
      if (l) l.up = false;
    },
    expect: [`ip link set dev ${vethA} group 4242`, 'ip link set dev tsb-1 group 4242', 'ip link del group 4242', ...remakeBridgeAndVeth],
  },
  {
    name: 'a local network whose subnet changed (same number) is remade with its endpoint',
    desired: desired([ep('a', 'mine', h1, '172.30.0.2')], [{ ...mine, subnet: '172.30.0.0/16', gateway: '172.30.0.1' }]),
    expect: [`ip link set dev ${vethA} group 4242`, 'ip link set dev tsb-1 group 4242', 'ip link del group 4242', '~nft table inet tsswarm_netd', ...remakeBridgeAndVeth],
  },
  {
    name: 'a stray endpoint FDB or neighbour entry on a local bridge is the kernel\'s: left alone',
    desired: one,
    damage: (h) => {
      h.fdb.push({ mac: '02:42:ac:12:00:02', dev: vethA, self: false, state: '' });
      h.neighbours.push({ address: '172.18.0.9', dev: 'tsb-1', mac: '02:42:ac:12:00:09', permanent: false });
    },
    expect: [],
  },
  {
    name: 'a second container on the network: one veth more, the bridge untouched',
    desired: desired([ep('a', 'mine', h1, '172.18.0.2'), ep('b', 'mine', h1, '172.18.0.3')]),
    expect: [
      `~ip link add ${vethName({ netns: 'ns-b', ifname: 'eth0' })} mtu 1500 type veth peer name eth0 mtu 1500 address 02:42:ac:12:00:03 netns ns-b`,
      '~pending',
      'ip@ns-b link set dev lo up',
      'ip@ns-b addr add 172.18.0.3/16 dev eth0',
      'ip@ns-b link set dev eth0 addrgenmode none',
      'ip@ns-b link set dev eth0 up',
      'ip@ns-b route add default via 172.18.0.1 dev eth0',
      ['~addrgenmode none', '~master tsb-1', '~alias tsswarm:ep:', '~ up'],
    ],
  },
  {
    name: 'the last container gone: the bridge and the nft table go',
    desired: desired([]),
    expect: [`ip link set dev ${vethA} group 4242`, 'ip link set dev tsb-1 group 4242', 'ip link del group 4242', 'nft delete table inet tsswarm_netd'],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const host = converged(one);
    c.damage?.(host);
    const ops = plan(c.desired, host.observed());
    expectOps(t, show(ops), c.expect);
    host.applyAll(ops);
    t.same(show(plan(c.desired, host.observed())), [], 'applying them converges');
    t.notOk(host.links.has('tsv-1'), 'no VXLAN device under the local number');
  });
}

t.test('local numbers and overlay VNIs are kept apart; a local network has no other hosts and no routing mesh', async (t) => {
  const local = one.local[0] as LocalEndpoint;
  const bad: [string, DesiredHostState, string][] = [
    ['a local number of 0', { ...one, networks: [{ ...mine, vni: 0 }] }, 'local network mine has number 0, outside 1..4095'],
    ['a local number in the overlay range', { ...one, networks: [{ ...mine, vni: 4096 }] }, 'local network mine has number 4096, outside 1..4095'],
    ['an overlay VNI in the local range', { ...one, networks: [mine, { ...appnet, vni: 4095 }] }, 'overlay network appnet has VNI 4095, which is in the local networks\' range'],
    ['an overlay VNI of 1', { ...one, networks: [{ ...mine, vni: 7 }, { ...appnet, vni: 1 }] }, 'overlay network appnet has VNI 1, which is in the local networks\' range'],
    ['a host address on a local network', { ...one, networks: [{ ...mine, hostAddress: '172.18.255.254' }] }, 'local network mine cannot carry the routing mesh'],
    [
      'published ports on a local network',
      { ...one, networks: [{ ...mine, hostAddress: '172.18.255.254', published: [{ protocol: 'tcp', publishedPort: 80, targetPort: 80, backends: ['172.18.0.2'] }] }] },
      'local network mine cannot carry the routing mesh',
    ],
    [
      'a remote endpoint on a local network',
      { ...one, remote: [{ id: 'r', networkId: 'mine', address: '172.18.0.3', mac: '02:42:ac:12:00:03', hostAddress: h2 }] },
      'remote endpoint r is on local network mine, which has no other hosts',
    ],
  ];
  for (const [what, d, message] of bad) {
    let got: unknown;
    try {
      plan(d, emptyObservedState);
    } catch (err) {
      got = err;
    }
    t.ok(isTsswarmError(got, ErrorCode.INVALID_ARGUMENT), `${what}: INVALID_ARGUMENT`);
    t.equal(got instanceof Error ? got.message : String(got), message, what);
  }
  const edges: [string, DesiredHostState][] = [
    ['local number 4095', { ...one, networks: [{ ...mine, vni: 4095 }] }],
    ['overlay VNI 4096 beside local number 1', desired([{ ...ep('a', 'mine', h1, '172.18.0.2') }, ep('o', 'appnet', h1, '10.0.0.2')])],
  ];
  for (const [what, d] of edges) t.ok(plan(d, emptyObservedState).length > 0, `${what} is fine`);
  t.ok(plan({ ...one, local: [{ ...local, defaultRoute: false }] }, emptyObservedState).length > 0, 'an endpoint without a default route is fine');
});

/** A random host with local networks (numbers 1..6, endpoints here only) and overlays (some endpoints elsewhere). */
function randomState(rng: Rng): DesiredHostState {
  const networks: DesiredNetwork[] = [];
  /** Network ID → the first three octets of its addresses. */
  const prefixes = new Map<string, string>();
  const numbers = new Set<number>();
  const localCount = rng.int(4);
  for (let i = 0; i < localCount; i++) {
    const vni = 1 + rng.int(6);
    if (numbers.has(vni)) continue;
    numbers.add(vni);
    networks.push({ id: `l${i}`, vni, subnet: `172.${18 + i}.0.0/16`, gateway: `172.${18 + i}.0.1`, internal: rng.chance(0.3), local: true });
    prefixes.set(`l${i}`, `172.${18 + i}.0`);
  }
  const overlayCount = rng.int(3);
  for (let i = 0; i < overlayCount; i++) {
    networks.push({ id: `o${i}`, vni: 4096 + i * 3 + rng.int(3), subnet: `10.0.${i}.0/24`, gateway: `10.0.${i}.1`, internal: rng.chance(0.3) });
    prefixes.set(`o${i}`, `10.0.${i}`);
  }
  const eps: ClusterEndpoint[] = [];
  if (networks.length > 0) {
    const used = new Set<string>();
    const count = rng.int(9);
    for (let i = 0; i < count; i++) {
      const n = rng.pick(networks);
      const host = n.local === true ? h1 : rng.pick([h1, h1, h2]);
      const address = `${prefixes.get(n.id) ?? ''}.${2 + rng.int(20)}`;
      const netns = `ns${rng.int(4)}`;
      if (used.has(`${n.id}/${address}`) || eps.some((e) => e.netns === netns && e.networkId === n.id && e.hostAddress === host)) continue;
      used.add(`${n.id}/${address}`);
      eps.push(ep(`e${i}`, n.id, host, address, netns));
    }
  }
  return desired(eps, networks);
}

t.test('simulation: local and overlay networks, random states and crashes, always converge in one plan + apply', async (t) => {
  const seeds = 300;
  let failures = 0;
  for (let seed = 1; seed <= seeds && failures < 3; seed++) {
    const rng = seededRng(seed);
    const host = new FakeHost();
    try {
      for (let step = 0; step < 6; step++) {
        const d = randomState(rng);
        applyWithCrashes(host, d, rng);
        const want = [...d.networks.flatMap((n) => (n.local === true ? [bridgeName(n.vni)] : [bridgeName(n.vni), vxlanName(n.vni)])), ...d.local.map((l) => vethName(l))].sort();
        if (JSON.stringify(netdLinks(host)) !== JSON.stringify(want)) throw new Error(`devices ${netdLinks(host).join(',')} != ${want.join(',')}`);
        const localBridges = new Set(d.networks.filter((n) => n.local === true).map((n) => bridgeName(n.vni)));
        if (host.neighbours.some((nb) => localBridges.has(nb.dev))) throw new Error('a neighbour entry on a local bridge');
        if (host.fdb.some((f) => !f.dev.startsWith('tsv-'))) throw new Error('an FDB entry off the VXLAN devices');
        for (const l of d.local) {
          const iface = host.namespaces.get(l.netns)?.get(l.ifname);
          if (!iface?.up || iface.addresses.length !== 1 || iface.defaultRoute !== l.defaultRoute) throw new Error(`endpoint ${l.id} badly configured`);
        }
      }
    } catch (err) {
      failures++;
      t.fail(`seed ${seed}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  t.equal(failures, 0, `${seeds} seeds × 6 steps`);
});
