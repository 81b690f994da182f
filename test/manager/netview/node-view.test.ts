/** The network view of a node, computed from a MemoryStore (pure). */
import t from 'tap';
import { networkViewForNode, sourceFromStore } from '../../../manager/netview/index.js';
import { NetworkViewMessage, PortProtocol, TaskState, type NetworkViewEndpoint } from '../../../proto/index.js';
import { addr, fixtureStore, task } from './fixture.js';

function summary(eps: readonly NetworkViewEndpoint[]): string[] {
  return eps.map((e) => `${e.networkId} ${e.taskId}@${e.nodeId}(${e.hostAddr}) ${e.address}${e.serviceId === '' ? '' : ` backend-of:${e.serviceId}`}`);
}

t.test("a node with tasks gets its networks, every endpoint on them, the VIPs and the mesh", async (t) => {
  const { memory } = await fixtureStore();
  const view = networkViewForNode('n1', sourceFromStore(memory));
  t.equal(view.nodeId, 'n1');
  t.equal(view.hostAddr, addr.n1);
  t.same(view.networks.map((n) => n.id), ['appnet', 'ingress'], "n1's task network plus ingress (not 'other', not the unallocated network)");
  t.same(view.networks[0], { id: 'appnet', name: 'appnet', vni: 4097, subnet: '10.0.1.0/24', gateway: '10.0.1.1', internal: false, encrypted: false, ingress: false });
  t.same(summary(view.endpoints), [
    `appnet w1@n1(${addr.n1}) 10.0.1.3 backend-of:web`,
    `appnet w2@n2(${addr.n2}) 10.0.1.4 backend-of:web`,
    `appnet w3@n2(${addr.n2}) 10.0.1.5`,
    `appnet w4@n2(${addr.n2}) 10.0.1.6`,
    `ingress w1@n1(${addr.n1}) 10.255.0.11 backend-of:web`,
    `ingress w2@n2(${addr.n2}) 10.255.0.12 backend-of:web`,
    `ingress w3@n2(${addr.n2}) 10.255.0.13`,
  ], 'live tasks cluster-wide; only running, wanted tasks are backends; no finished, unplaced or unreachable task; IPv4-mapped node address made plain');
  t.same(view.endpoints[0]?.dnsNames, ['web.w1', 'www'], 'task name and aliases for DNS');
  t.same(view.services.map((s) => `${s.networkId} ${s.name} ${s.vip} ${s.ports.map((p) => `${p.port}/${p.protocol === PortProtocol.TCP ? 'tcp' : 'udp'}`).join(',')}`), [
    'appnet web 10.0.1.2 80/tcp',
    'ingress web 10.255.0.10 80/tcp',
  ]);
  t.same(view.ingress, {
    networkId: 'ingress',
    hosts: [
      { nodeId: 'n1', hostAddr: addr.n1, address: '10.255.0.2' },
      { nodeId: 'n2', hostAddr: addr.n2, address: '10.255.0.3' },
    ],
    published: [{ serviceId: 'web', protocol: PortProtocol.TCP, publishedPort: 8080, targetPort: 80 }],
  }, 'nodes with a reserved ingress address are in the mesh');
});

t.test('a node without tasks is still in the routing mesh while ports are published', async (t) => {
  const { memory, store } = await fixtureStore();
  const view = networkViewForNode('n3', sourceFromStore(memory));
  t.same(view.networks.map((n) => n.id), ['ingress']);
  t.same(view.endpoints.map((e) => e.id), ['w1.ingress', 'w2.ingress', 'w3.ingress']);
  t.same(view.services.map((s) => s.networkId), ['ingress']);
  t.ok(view.ingress, 'the mesh is in the view');

  await store.update((tx) => tx.remove('service', 'web'));
  const quiet = networkViewForNode('n3', sourceFromStore(memory));
  t.same(quiet.networks, [], 'no published port: no ingress network');
  t.same(quiet.endpoints, []);
  t.equal(quiet.ingress, undefined);
});

t.test('a dnsrr service has no VIP; its tasks are still endpoints', async (t) => {
  const { memory } = await fixtureStore();
  const view = networkViewForNode('n2', sourceFromStore(memory));
  t.same(view.networks.map((n) => n.id), ['appnet', 'ingress', 'other']);
  t.same(view.services.filter((s) => s.networkId === 'other'), [], 'no VIP for db');
  t.same(summary(view.endpoints.filter((e) => e.networkId === 'other')), [`other o1@n2(${addr.n2}) 10.0.2.3 backend-of:db`]);
});

t.test("a node's own tasks are in its view even before its address is known", async (t) => {
  const { memory } = await fixtureStore();
  const view = networkViewForNode('n4', sourceFromStore(memory));
  t.equal(view.hostAddr, '');
  t.same(summary(view.endpoints.filter((e) => e.nodeId === 'n4')), ['appnet far@n4() 10.0.1.9 backend-of:web']);
  t.same(view.ingress?.hosts.map((h) => h.nodeId), ['n1', 'n2'], 'but it is not in the mesh yet');
});

t.test('the view is deterministic: the order of the store lists does not matter', async (t) => {
  const { memory } = await fixtureStore();
  const source = sourceFromStore(memory);
  const reversed = { nodes: [...source.nodes].reverse(), tasks: [...source.tasks].reverse(), services: [...source.services].reverse(), networks: [...source.networks].reverse() };
  for (const node of ['n1', 'n2', 'n3', 'n4']) {
    t.same(NetworkViewMessage.encode(networkViewForNode(node, reversed)), NetworkViewMessage.encode(networkViewForNode(node, source)), `${node}: same bytes`);
  }
});

t.test('changes the view must follow', async (t) => {
  const { memory, store } = await fixtureStore();
  const before = networkViewForNode('n1', sourceFromStore(memory));
  await store.update((tx) => {
    const w3 = tx.get('task', 'w3');
    if (w3 !== undefined) tx.update('task', { ...w3, status: { state: TaskState.RUNNING, message: '', err: '' } });
    tx.create('task', task('w5', { node: 'n3', state: TaskState.ASSIGNED, service: 'web', nets: [['appnet', '10.0.1.10/24']] }));
    const w2 = tx.get('task', 'w2');
    if (w2 !== undefined) tx.update('task', { ...w2, status: { state: TaskState.FAILED, message: '', err: '' } });
  });
  const after = networkViewForNode('n1', sourceFromStore(memory));
  t.same(summary(after.endpoints.filter((e) => e.networkId === 'appnet')), [
    `appnet w1@n1(${addr.n1}) 10.0.1.3 backend-of:web`,
    `appnet w3@n2(${addr.n2}) 10.0.1.5 backend-of:web`,
    `appnet w4@n2(${addr.n2}) 10.0.1.6`,
    `appnet w5@n3(${addr.n3}) 10.0.1.10`,
  ], 'a task that started becomes a backend, a new one appears, a failed one is gone');
  t.not(Buffer.from(NetworkViewMessage.encode(after)).toString('hex'), Buffer.from(NetworkViewMessage.encode(before)).toString('hex'));
});

t.test('an encrypted or internal network says so', async (t) => {
  const { memory, store } = await fixtureStore();
  await store.update((tx) => {
    const other = tx.get('network', 'other');
    const spec = other?.spec;
    if (other !== undefined && spec !== undefined) tx.update('network', { ...other, spec: { ...spec, internal: true, driver: { name: 'overlay', options: { encrypted: '' } } } });
  });
  const other = networkViewForNode('n2', sourceFromStore(memory)).networks.find((n) => n.id === 'other');
  t.equal(other?.internal, true);
  t.equal(other?.encrypted, true);
});
