/**
 * The network commands' pure parts for a host's bridge networks: `network create -d bridge` flags,
 * scope local in `network ls` and its filters, and a docker-style inspect document without the
 * overlay's VXLAN option.
 */
import t from 'tap';
import { bridgeDriver, filterNetworks, networkDocument, networkRow, networkSpec, networkTable, parseNetworkFilters, scopeOf } from '../../cli/network-view.js';
import { ErrorCode, isTsswarmError } from '../../lib/errors.js';
import { IPAMFamily, Network } from '../../proto/index.js';
import { timestampFromMs } from '../../proto/time.js';

const createdMs = Date.UTC(2026, 10, 23, 12, 0, 0);

/** A bridge network as a host's daemon lists it (daemon/local-networks.ts). */
const local = Network.create({
  id: 'b1b2b3b4b5b6b7b8b9b0b1b2b',
  meta: { createdAt: timestampFromMs(createdMs), updatedAt: timestampFromMs(createdMs) },
  spec: {
    annotations: { name: 'mine', labels: { team: 'red' } },
    driver: { name: 'bridge', options: {} },
    internal: true,
    attachable: true,
    ipam: { driver: { name: 'default', options: {} }, configs: [{ family: IPAMFamily.IPV4, subnet: '172.18.0.0/16', gateway: '172.18.0.1', ipRange: '', reserved: {} }] },
  },
  driverState: { name: 'bridge', options: {} },
  ipam: { driver: { name: 'default', options: {} }, configs: [{ family: IPAMFamily.IPV4, subnet: '172.18.0.0/16', gateway: '172.18.0.1', ipRange: '', reserved: {} }] },
  vni: 1,
});

/** An allocated overlay as the managers list it. */
const overlay = Network.create({
  id: 'o1o2o3o4o5o6o7o8o9o0o1o2o',
  meta: { createdAt: timestampFromMs(createdMs), updatedAt: timestampFromMs(createdMs) },
  spec: { annotations: { name: 'front', labels: {} }, driver: { name: 'overlay', options: {} } },
  driverState: { name: 'overlay', options: { 'com.docker.network.driver.overlay.vxlanid_list': '4097' } },
  ipam: { driver: { name: 'default', options: {} }, configs: [{ family: IPAMFamily.IPV4, subnet: '10.0.1.0/24', gateway: '10.0.1.1', ipRange: '', reserved: {} }] },
  vni: 4097,
});

/** The message a call refuses with (INVALID_ARGUMENT), or 'accepted'. */
function refusal(fn: () => unknown): string {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    if (!isTsswarmError(err, ErrorCode.INVALID_ARGUMENT)) throw err;
    return err.message;
  }
}

t.test('scopeOf: local for bridge networks, swarm for the rest; the driver state first, then the spec', async (t) => {
  t.equal(scopeOf(local), 'local');
  t.equal(scopeOf(overlay), 'swarm');
  t.equal(scopeOf(Network.create({ id: 'x', spec: { driver: { name: 'bridge', options: {} } } })), 'local', 'spec only (not allocated)');
  t.equal(scopeOf(Network.create({ id: 'x', spec: { driver: { name: 'bridge', options: {} } }, driverState: { name: '', options: {} } })), 'local', 'an empty driver state falls back to the spec');
  t.equal(scopeOf(Network.create({ id: 'x', spec: { driver: { name: 'bridge', options: {} } }, driverState: { name: 'overlay', options: {} } })), 'swarm', 'the driver state wins');
  t.equal(scopeOf(Network.create({ id: 'x' })), 'swarm', 'nothing said: a swarm network');
});

t.test('network ls: a bridge network is driver bridge, scope local; filters see it so', async (t) => {
  t.same(networkRow(local), { ID: 'b1b2b3b4b5b6', Name: 'mine', Driver: 'bridge', Scope: 'local', Internal: true, Labels: 'team=red' });
  t.same(networkRow(overlay, true), { ID: overlay.id, Name: 'front', Driver: 'overlay', Scope: 'swarm', Internal: false, Labels: '' });
  t.equal(
    networkTable([networkRow(overlay), networkRow(local)]),
    ['NETWORK ID     NAME    DRIVER    SCOPE', 'o1o2o3o4o5o6   front   overlay   swarm', 'b1b2b3b4b5b6   mine    bridge    local', ''].join('\n'),
  );
  const both = [overlay, local];
  t.same(filterNetworks(both, parseNetworkFilters(['scope=local'])).map((n) => n.id), [local.id]);
  t.same(filterNetworks(both, parseNetworkFilters(['scope=swarm'])).map((n) => n.id), [overlay.id]);
  t.same(filterNetworks(both, parseNetworkFilters(['driver=bridge'])).map((n) => n.id), [local.id]);
  t.same(filterNetworks(both, parseNetworkFilters(['driver=overlay', 'scope=local'])).map((n) => n.id), [], 'every key must match');
});

t.test('network create -d bridge: the spec asks for the bridge driver; --attachable is refused', async (t) => {
  t.equal(bridgeDriver, 'bridge');
  t.same(networkSpec('mine', { driver: 'bridge', subnet: ['172.30.0.0/16'], gateway: ['172.30.0.254'], ipRange: ['172.30.1.0/24'], internal: true, label: ['team=red'] }), {
    annotations: { name: 'mine', labels: { team: 'red' } },
    driver: { name: 'bridge', options: {} },
    ipv6Enabled: false,
    internal: true,
    ipam: { driver: { name: 'default', options: {} }, configs: [{ family: IPAMFamily.IPV4, subnet: '172.30.0.0/16', ipRange: '172.30.1.0/24', gateway: '172.30.0.254', reserved: {} }] },
    attachable: false,
    ingress: false,
  });
  t.same(networkSpec('plain', { driver: 'bridge' }).driver, { name: 'bridge', options: {} });
  t.equal(networkSpec('plain', { driver: 'bridge' }).ipam, undefined, 'no IPAM: the host picks a subnet from its pools');
  t.equal(refusal(() => networkSpec('mine', { driver: 'bridge', attachable: true })), '--attachable is for overlay networks: containers always attach to bridge networks');
  t.equal(refusal(() => networkSpec('mine', { driver: 'bridge', attachable: false })), 'accepted', '--attachable=false is no request');
  t.equal(refusal(() => networkSpec('mine', { driver: 'overlay', attachable: true })), 'accepted');
  t.equal(
    refusal(() => networkSpec('mine', { driver: 'macvlan' })),
    '--driver: "macvlan" is not supported: swarm networks use the overlay driver, this host\'s own networks the bridge driver',
  );
  t.equal(refusal(() => networkSpec('mine', { driver: 'bridge', gateway: ['172.30.0.1'] })), '--gateway needs a --subnet', 'the flag checks hold for bridge too');
});

t.test('network inspect of a bridge network: scope local, no VXLAN ID among its options', async (t) => {
  const doc = networkDocument(local);
  t.same(doc, {
    Name: 'mine',
    Id: local.id,
    Created: '2026-11-23T12:00:00.000Z',
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }] },
    Internal: true,
    Attachable: true,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: { team: 'red' },
  });
  const spare = networkDocument(Network.create({ ...local, driverState: { name: 'bridge', options: {} }, vni: 4097 }));
  t.same(spare.Options, {}, 'whatever its number, a local network has no vxlanid_list');
  const swarmOnly = networkDocument(Network.create({ ...overlay, driverState: { name: 'overlay', options: {} } }));
  t.same(swarmOnly.Options, { 'com.docker.network.driver.overlay.vxlanid_list': '4097' }, 'an overlay shows its VNI');
  t.equal(swarmOnly.Scope, 'swarm');
});
