/** From the managers' network view plus this host's side to netd's ClusterView and desired state (pure). */
import t from 'tap';
import { networkViewForNode, sourceFromStore } from '../../manager/netview/index.js';
import { clusterViewFor, type LocalAttachment } from '../../netd/cluster-view.js';
import { desiredForHost } from '../../netd/desired.js';
import { dnsZoneForHost } from '../../netd/dns-records.js';
import { addr, fixtureStore } from '../manager/netview/fixture.js';

const ns = (taskId: string): string => `tss-lab-h1.${taskId}`;

t.test("this host's endpoints are the ones with a namespace here; the others are remote", async (t) => {
  const { memory } = await fixtureStore();
  const message = networkViewForNode('n1', sourceFromStore(memory));
  const { view, skipped } = clusterViewFor(message, {
    hostAddress: addr.n1,
    underlayDevice: 'eth0',
    attachments: new Map(),
    netnsOf: (taskId) => (taskId === 'w1' ? ns('w1') : undefined),
  });
  t.same(skipped, []);
  t.same(
    view.endpoints.map((e) => `${e.id} ${e.hostAddress} ${e.netns} ${e.serviceId ?? '-'}`),
    [
      `w1.appnet ${addr.n1} ${ns('w1')} web`,
      `w2.appnet ${addr.n2} - web`,
      `w3.appnet ${addr.n2} - -`,
      `w4.appnet ${addr.n2} - -`,
      `w1.ingress ${addr.n1} ${ns('w1')} web`,
      `w2.ingress ${addr.n2} - web`,
      `w3.ingress ${addr.n2} - -`,
    ],
  );
  t.same(view.ingress?.hostAddresses, { [addr.n1]: '10.255.0.2', [addr.n2]: '10.255.0.3' });
  t.same(view.services?.map((s) => `${s.name}@${s.networkId} ${s.vip} ${s.ports.map((p) => `${p.port}/${p.protocol}`).join(',')}`), ['web@appnet 10.0.1.2 80/tcp', 'web@ingress 10.255.0.10 80/tcp']);
  const desired = desiredForHost(view);
  t.same(desired.local.map((l) => `${l.netns}/${l.ifname} ${l.address}${l.defaultRoute ? ' default' : ''}`), [`${ns('w1')}/eth0 10.0.1.3 default`, `${ns('w1')}/eth1 10.255.0.11`]);
  t.same(desired.remote.map((r) => r.id), ['w2.appnet', 'w3.appnet', 'w4.appnet', 'w2.ingress', 'w3.ingress', `ingress@${addr.n2}`]);
  t.same(desired.networks.find((n) => n.id === 'ingress')?.published?.[0]?.backends, ['10.255.0.11', '10.255.0.12'], 'published port balanced over the running tasks');
  const zone = dnsZoneForHost(view);
  t.same(zone.names.get('appnet')?.get('web'), ['10.0.1.2'], 'DNS: service name to VIP');
  t.same(zone.names.get('appnet')?.get('tasks.web'), ['10.0.1.3', '10.0.1.4'], 'DNS: backends only');
  t.same(zone.names.get('appnet')?.get('www'), ['10.0.1.3'], 'DNS: aliases');
});

t.test('a task attached here before the managers list it gets its interfaces from its own attachments', async (t) => {
  const { memory } = await fixtureStore();
  const message = networkViewForNode('n3', sourceFromStore(memory));
  const appnet = networkViewForNode('n1', sourceFromStore(memory)).networks.find((n) => n.id === 'appnet');
  if (appnet === undefined) throw new Error('fixture has no appnet');
  const attachment: LocalAttachment = { taskId: 'new1', netns: ns('new1'), endpoints: [{ networkId: 'appnet', address: '10.0.1.50', dnsNames: ['web.new1'] }], networks: [appnet] };
  const { view } = clusterViewFor(message, { hostAddress: addr.n3, underlayDevice: 'eth0', attachments: new Map([['new1', attachment]]), netnsOf: () => undefined });
  const desired = desiredForHost(view);
  t.same(desired.networks.map((n) => n.id), ['appnet'], 'its network comes from the attachment (n3 has no ingress address, so no mesh)');
  t.same(desired.local.map((l) => `${l.id} ${l.netns}`), [`new1.appnet ${ns('new1')}`]);
  t.same(desired.services.find((s) => s.networkId === 'appnet'), undefined, 'no VIP the view did not give');
});

t.test("the host's own address wins over what the managers saw; impostors and unknown networks are left out", async (t) => {
  const { memory } = await fixtureStore();
  const message = { ...networkViewForNode('n1', sourceFromStore(memory)), hostAddr: '127.0.0.1' };
  const tampered = {
    ...message,
    endpoints: [
      ...message.endpoints,
      { id: 'x.appnet', networkId: 'appnet', taskId: 'x', nodeId: 'n9', hostAddr: '10.1.1.1', address: '10.0.1.77', serviceId: '', dnsNames: [] },
      { id: 'y.appnet', networkId: 'appnet', taskId: 'y', nodeId: 'n8', hostAddr: '10.1.1.2', address: '10.0.1.78', serviceId: '', dnsNames: [] },
      { id: 'z.nonet', networkId: 'nonet', taskId: 'z', nodeId: 'n2', hostAddr: addr.n2, address: '10.7.0.2', serviceId: '', dnsNames: [] },
    ],
  };
  const { view, skipped } = clusterViewFor(tampered, { hostAddress: '10.1.1.1', underlayDevice: 'ens3', attachments: new Map(), netnsOf: (id) => (id === 'w1' ? ns('w1') : undefined) });
  t.same(view.endpoints.filter((e) => e.hostAddress === '10.1.1.1').map((e) => e.id), ['w1.appnet', 'w1.ingress'], 'own endpoints carry the local underlay address');
  t.same(skipped, [
    'endpoint x.appnet: node n9 has underlay address "10.1.1.1", which is this host\'s or none',
    'endpoint z.nonet: network nonet is not in the view',
  ]);
  t.equal(view.ingress?.hostAddresses['10.1.1.1'], '10.255.0.2', 'the mesh knows this host by its own underlay address');
  t.doesNotThrow(() => desiredForHost(view));
});

t.test("a standalone container's -p ports become host ports to its first address, without any view", async (t) => {
  const appnet = { id: 'mynet', name: 'mynet', vni: 1, subnet: '10.0.1.0/24', gateway: '10.0.1.1', internal: false, encrypted: false, ingress: false, local: true };
  const attachment: LocalAttachment = {
    taskId: 'local-c1',
    netns: ns('local-c1'),
    endpoints: [{ networkId: 'mynet', address: '10.0.1.60', dnsNames: ['web'] }],
    networks: [appnet],
    hostPorts: [{ protocol: 'tcp', publishedPort: 8080, targetPort: 80 }, { protocol: 'udp', publishedPort: 5353, targetPort: 53 }],
  };
  const { view } = clusterViewFor(undefined, { hostAddress: addr.n3, underlayDevice: 'eth0', attachments: new Map([['local-c1', attachment]]), netnsOf: () => undefined });
  t.same(view.hostPorts, [
    { protocol: 'tcp', publishedPort: 8080, targetPort: 80, address: '10.0.1.60' },
    { protocol: 'udp', publishedPort: 5353, targetPort: 53, address: '10.0.1.60' },
  ]);
  const bare = clusterViewFor(undefined, { hostAddress: addr.n3, underlayDevice: 'eth0', attachments: new Map([['local-c1', { ...attachment, hostPorts: [] }]]), netnsOf: () => undefined });
  t.equal(bare.view.hostPorts, undefined, 'none without -p');
});
