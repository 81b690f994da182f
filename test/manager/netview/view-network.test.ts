/**
 * viewNetwork: a store Network as netd needs it. Overlays as before; a host's bridge network
 * (driverState bridge, daemon/local-networks.ts) says `local: true` so netd makes it without VXLAN.
 */
import t from 'tap';
import { viewNetwork } from '../../../manager/netview/view-network.js';
import { IPAMFamily, Network, NetworkViewNetwork } from '../../../proto/index.js';

function network(more: { driver?: string; driverState?: string; options?: Record<string, string>; vni?: number; configs?: { family: IPAMFamily; subnet: string; gateway: string }[]; internal?: boolean }): Network {
  return Network.create({
    id: 'net1',
    spec: { annotations: { name: 'web', labels: {} }, driver: { name: more.driver ?? 'overlay', options: more.options ?? {} }, internal: more.internal ?? false },
    ...(more.driverState === undefined ? {} : { driverState: { name: more.driverState, options: {} } }),
    ipam: { configs: (more.configs ?? [{ family: IPAMFamily.IPV4, subnet: '10.0.1.0/24', gateway: '10.0.1.1' }]).map((c) => ({ ...c, ipRange: '', reserved: {} })) },
    vni: more.vni ?? 4097,
  });
}

t.test('an overlay is not local: no local key at all', async (t) => {
  const v = viewNetwork(network({ driverState: 'overlay' }));
  t.same(v, { id: 'net1', name: 'web', vni: 4097, subnet: '10.0.1.0/24', gateway: '10.0.1.1', internal: false, encrypted: false, ingress: false });
  t.notOk(v !== undefined && Object.hasOwn(v, 'local'), 'no local: false either (the message stays as before)');
  t.notOk(Object.hasOwn(viewNetwork(network({})) ?? {}, 'local'), 'nor without a driver state');
});

t.test('driverState bridge: local, with its bridge number, subnet and gateway', async (t) => {
  const v = viewNetwork(network({ driver: 'bridge', driverState: 'bridge', vni: 1, internal: true, configs: [{ family: IPAMFamily.IPV4, subnet: '172.18.0.0/16', gateway: '172.18.0.1' }] }));
  t.same(v, { id: 'net1', name: 'web', vni: 1, subnet: '172.18.0.0/16', gateway: '172.18.0.1', internal: true, encrypted: false, ingress: false, local: true });
  t.same(NetworkViewNetwork.decode(NetworkViewNetwork.encode(v ?? NetworkViewNetwork.create({}))).local, true, 'local survives the wire');
});

t.test('the allocator\'s driver state decides, not the spec', async (t) => {
  t.notOk(viewNetwork(network({ driver: 'bridge', driverState: 'overlay' }))?.local, 'a bridge spec with an overlay driver state is not local');
  t.equal(viewNetwork(network({ driver: 'overlay', driverState: 'bridge', vni: 3 }))?.local, true);
  t.notOk(viewNetwork(network({ driver: 'bridge' }))?.local, 'a bridge spec without a driver state is not local');
});

t.test('a local network needs an allocation like any other: bridge number, IPv4 subnet and gateway', async (t) => {
  const bridge = { driver: 'bridge', driverState: 'bridge' };
  t.equal(viewNetwork(network({ ...bridge, vni: 0 })), undefined, 'no number yet');
  t.equal(viewNetwork(network({ ...bridge, configs: [] })), undefined, 'no subnet');
  t.equal(viewNetwork(network({ ...bridge, configs: [{ family: IPAMFamily.IPV4, subnet: '172.18.0.0/16', gateway: '' }] })), undefined, 'no gateway');
  t.equal(viewNetwork(network({ ...bridge, configs: [{ family: IPAMFamily.IPV6, subnet: 'fd00::/64', gateway: 'fd00::1' }] })), undefined, 'IPv6 only');
  t.same(
    viewNetwork(network({ ...bridge, vni: 5, configs: [{ family: IPAMFamily.IPV6, subnet: 'fd00::/64', gateway: 'fd00::1' }, { family: IPAMFamily.IPV4, subnet: '172.20.0.0/16', gateway: '172.20.0.1/16' }] })),
    { id: 'net1', name: 'web', vni: 5, subnet: '172.20.0.0/16', gateway: '172.20.0.1', internal: false, encrypted: false, ingress: false, local: true },
    'the IPv4 config, the gateway without its prefix',
  );
});
