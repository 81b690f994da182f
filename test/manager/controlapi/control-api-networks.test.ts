import t, { type Test } from 'tap';
import { EndpointMode, IPAMFamily, ObjectFilters, TaskState, type DeepPartial, type Network, type Service, type Task } from '../../../proto/index.js';
import { networkSpec, seed, serviceFixture, serviceSpec, serviceStoreState, task } from './service-helpers.js';

type Fixture = ReturnType<typeof serviceFixture>;

async function refused(t: Test, f: Fixture, promise: () => Promise<unknown>, code: string, message: RegExp | string): Promise<void> {
  const before = serviceStoreState(f.store);
  await t.rejects(promise(), { code, message });
  t.same(serviceStoreState(f.store), before, 'the store is unchanged');
}

const ipam = (subnet: string, gateway = '', ipRange = ''): DeepPartial<Network['spec']> => ({ ipam: { configs: [{ subnet, gateway, ipRange }] } });

t.test('CreateNetwork: overlay by default, unallocated, flags kept', async (t) => {
  const f = serviceFixture();
  const { network } = await f.api.createNetwork({ spec: networkSpec('front', { internal: true, attachable: true, annotations: { name: 'front', labels: { team: 'a' } }, driver: { options: { encrypted: '' } } }) });
  t.equal(network?.spec?.driver?.name, 'overlay');
  t.same(network?.spec?.driver?.options, { encrypted: '' });
  t.equal(network?.spec?.ipam?.driver?.name, 'default');
  t.equal(network?.spec?.internal, true);
  t.equal(network?.spec?.attachable, true);
  t.same(network?.spec?.annotations?.labels, { team: 'a' });
  t.equal(network?.ipam, undefined, 'no IPAM state until the allocator runs');
  t.equal(network?.vni, 0, 'no VNI until the allocator runs');
  t.same(f.store.memory.get('network', network?.id ?? ''), network);
  const withSubnet = (await f.api.createNetwork({ spec: networkSpec('back', ipam('10.20.0.0/24', '10.20.0.1', '10.20.0.128/25')) })).network;
  t.same(withSubnet?.spec?.ipam?.configs, [{ family: IPAMFamily.IPV4, subnet: '10.20.0.0/24', gateway: '10.20.0.1', ipRange: '10.20.0.128/25', reserved: {} }]);
});

t.test('CreateNetwork refuses bad specs and changes nothing', async (t) => {
  const f = serviceFixture();
  await refused(t, f, () => f.api.createNetwork({}), 'EINVAL', 'invalid network spec: a spec is required');
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('') }), 'EINVAL', /a network name is required/);
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('a b') }), 'EINVAL', /network name "a b" is invalid/);
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('host') }), 'EINVAL', /host is a pre-defined network and cannot be created/);
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('n', { driver: { name: 'bridge' } }) }), 'EINVAL', /network driver "bridge" is not supported/);
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('n', { ipv6Enabled: true }) }), 'EINVAL', /IPv6 is not supported/);
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('n', { ingress: true, attachable: true }) }), 'EINVAL', /an ingress network cannot be attachable/);
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('n', ipam('10.0.0.7/24')) }), 'EINVAL', /subnet \(--subnet\): invalid subnet 10\.0\.0\.7\/24: host bits are set/);
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('n', ipam('10.0.0.0/31')) }), 'EINVAL', /is too small: the longest prefix is \/30/);
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('n', ipam('10.0.0.0/24', '10.0.1.1')) }), 'EINVAL', /gateway \(--gateway\): subnet 10\.0\.0\.0\/24 does not contain gateway 10\.0\.1\.1/);
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('n', ipam('10.0.0.0/24', '10.0.0.0')) }), 'EINVAL', /is the network or broadcast address/);
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('n', ipam('10.0.0.0/24', 'gw')) }), 'EINVAL', /invalid gateway "gw"/);
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('n', ipam('10.0.0.0/24', '', '10.0.0.0/23')) }), 'EINVAL', /ip_range \(--ip-range\): subnet 10\.0\.0\.0\/24 does not contain range 10\.0\.0\.0\/23/);
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('n', ipam('10.0.0.0/24', '', '10.0.1.0/25')) }), 'EINVAL', /does not contain range/);
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('n', ipam('', '10.0.0.1')) }), 'EINVAL', /--gateway and --ip-range need a --subnet/);
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('n', { ipam: { configs: [{ subnet: '10.1.0.0/24' }, { subnet: '10.2.0.0/24' }] } }) }), 'EINVAL', /at most 1 subnet/);
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('n', { ipam: { driver: { name: 'dhcp' } } }) }), 'EINVAL', /IPAM driver "dhcp" is not supported/);
  f.membership.leader = undefined;
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('n') }), 'ENOQUORUM', /does not have a leader/);
});

t.test('CreateNetwork: names are unique, one ingress network, subnets do not overlap', async (t) => {
  const f = serviceFixture();
  const first = (await f.api.createNetwork({ spec: networkSpec('front', ipam('10.10.0.0/16')) })).network as Network;
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('front') }), 'EEXIST', 'network with name front already exists');
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('inner', ipam('10.10.5.0/24')) }), 'ECONFLICT', `subnet 10.10.5.0/24 overlaps with subnet 10.10.0.0/16 of network front (${first.id}); choose another --subnet`);
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('outer', ipam('10.0.0.0/8')) }), 'ECONFLICT', /overlaps with subnet 10\.10\.0\.0\/16/);
  // A subnet the allocator gave a network counts too.
  const auto = (await f.api.createNetwork({ spec: networkSpec('auto') })).network as Network;
  await f.store.update((tx) => tx.update('network', { ...auto, ipam: { configs: [{ family: IPAMFamily.IPV4, subnet: '10.0.0.0/24', gateway: '10.0.0.1', ipRange: '', reserved: {} }] }, vni: 4096 }));
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('clash', ipam('10.0.0.128/25')) }), 'ECONFLICT', /overlaps with subnet 10\.0\.0\.0\/24 of network auto/);
  t.ok((await f.api.createNetwork({ spec: networkSpec('beside', ipam('10.11.0.0/16')) })).network, 'adjacent subnets are fine');
  const ingress = (await f.api.createNetwork({ spec: networkSpec('ingress', { ingress: true }) })).network as Network;
  t.equal(ingress.spec?.ingress, true);
  await refused(t, f, () => f.api.createNetwork({ spec: networkSpec('mesh2', { ingress: true }) }), 'EEXIST', `ingress network ingress (${ingress.id}) is already present; a swarm has only one`);
});

t.test('GetNetwork and ListNetworks with filters', async (t) => {
  const f = serviceFixture();
  const a = (await f.api.createNetwork({ spec: networkSpec('front', { annotations: { name: 'front', labels: { env: 'prod' } } }) })).network as Network;
  await f.api.createNetwork({ spec: networkSpec('front-admin') });
  await f.api.createNetwork({ spec: networkSpec('back', { annotations: { name: 'back', labels: { env: 'dev' } } }) });
  t.same((await f.api.getNetwork({ networkId: a.id })).network, a);
  await t.rejects(f.api.getNetwork({ networkId: 'front' }), { code: 'ENOTFOUND', message: 'network front not found' }, 'by ID only; the CLI resolves names');
  const names = async (filters?: DeepPartial<ObjectFilters>): Promise<string[]> =>
    (await f.api.listNetworks(filters === undefined ? {} : { filters: ObjectFilters.create(filters) })).networks.map((n) => n.spec?.annotations?.name ?? '');
  t.same(await names(), ['front', 'front-admin', 'back']);
  t.same(await names({ names: ['back'] }), ['back']);
  t.same(await names({ namePrefixes: ['front'] }), ['front', 'front-admin']);
  t.same(await names({ idPrefixes: [a.id] }), ['front']);
  t.same(await names({ labels: { env: '' } }), ['front', 'back']);
  t.same(await names({ labels: { env: 'dev' }, namePrefixes: ['b'] }), ['back']);
});

t.test('RemoveNetwork: refused while in use by a service or a live task', async (t) => {
  const f = serviceFixture();
  const front = (await f.api.createNetwork({ spec: networkSpec('front') })).network as Network;
  const web = (await f.api.createService({ spec: serviceSpec('web', { task: { container: { image: 'nginx' }, networks: [{ target: 'front' }] } }) })).service as Service;
  await refused(t, f, () => f.api.removeNetwork({ networkId: front.id }), 'ECONFLICT', `network front is in use by service web (${web.id})`);
  await f.api.removeService({ serviceId: web.id });
  await seed(f.store, { tasks: [task('t1', { serviceId: 'gone', networks: [{ networkId: front.id, addresses: ['10.0.0.3/24'] }] })] });
  await refused(t, f, () => f.api.removeNetwork({ networkId: front.id }), 'ECONFLICT', 'network front is in use by task t1');
  const t1 = f.store.memory.get('task', 't1')!;
  await f.store.update((tx) => tx.update('task', { ...t1, desiredState: TaskState.SHUTDOWN, status: { ...t1.status!, state: TaskState.SHUTDOWN } }));
  await f.api.removeNetwork({ networkId: front.id });
  t.equal(f.store.memory.get('network', front.id), undefined, 'removed once nothing uses it');
  await refused(t, f, () => f.api.removeNetwork({ networkId: front.id }), 'ENOTFOUND', `network ${front.id} not found`);
});

t.test('RemoveNetwork: refused while a standalone container is attached to it', async (t) => {
  const f = serviceFixture();
  const front = (await f.api.createNetwork({ spec: networkSpec('front', { attachable: true }) })).network as Network;
  const back = (await f.api.createNetwork({ spec: networkSpec('back', { attachable: true }) })).network as Network;
  const attachment = (id: string, name: string, nodeId: string, init: DeepPartial<Task>): Task =>
    task(id, { nodeId, status: { state: TaskState.NEW }, annotations: { name }, ...init, spec: { attachment: { containerId: `c${id}` }, ...init.spec } });
  // Asked for (not yet allocated): the network is named in its spec.
  await seed(f.store, { tasks: [attachment('a1', 'web1', 'node1', { spec: { networks: [{ target: front.id }] } })] });
  await refused(t, f, () => f.api.removeNetwork({ networkId: front.id }), 'ECONFLICT', 'network front is in use by container web1 on node node1 (remove the container first)');
  // Allocated: the network is named by the task's addresses.
  await seed(f.store, { tasks: [attachment('a2', 'db1', 'node2', { networks: [{ networkId: back.id, addresses: ['10.0.1.2/24'] }] })] });
  await refused(t, f, () => f.api.removeNetwork({ networkId: back.id }), 'ECONFLICT', 'network back is in use by container db1 on node node2 (remove the container first)');
  // DetachNetwork removed the tasks: the networks go.
  await f.store.update((tx) => {
    tx.remove('task', 'a1');
    tx.remove('task', 'a2');
  });
  await f.api.removeNetwork({ networkId: front.id });
  await f.api.removeNetwork({ networkId: back.id });
  t.same(f.store.memory.list('network'), [], 'removed once no container uses them');
});

t.test('RemoveNetwork: the ingress network only while no service publishes through the routing mesh', async (t) => {
  const f = serviceFixture();
  const ingress = (await f.api.createNetwork({ spec: networkSpec('ingress', { ingress: true }) })).network as Network;
  const web = (await f.api.createService({ spec: serviceSpec('web', { endpoint: { mode: EndpointMode.VIP, ports: [{ targetPort: 80, publishedPort: 8080 }] } }) })).service as Service;
  await refused(t, f, () => f.api.removeNetwork({ networkId: ingress.id }), 'ECONFLICT', `ingress network ingress cannot be removed because service web (${web.id}) depends on it: it publishes ports through the routing mesh`);
  await f.api.removeService({ serviceId: web.id });
  await f.api.removeNetwork({ networkId: ingress.id });
  t.equal(f.store.memory.list('network').length, 0);
});
