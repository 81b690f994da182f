/** --endpoint-mode dnsrr end to end through the pure parts: netview entry without VIP → DNS answers with task addresses, no load balancer. */
import t from 'tap';
import { serviceVips } from '../../manager/netview/index.js';
import { desiredForHost, type ClusterView } from '../../netd/desired.js';
import { dnsZoneForHost, resolve } from '../../netd/dns-records.js';
import { DnsType, Rcode } from '../../netd/dns-message.js';
import { EndpointMode, Service } from '../../proto/index.js';

t.test('a dnsrr service: its name answers with every task address; nothing is balanced', async (t) => {
  const svc = Service.create({ id: 'db', spec: { annotations: { name: 'db' }, endpoint: { mode: EndpointMode.DNSRR, ports: [] }, task: { networks: [{ target: 'appnet', aliases: [], addresses: [], driverAttachmentOpts: {} }, { target: 'far', aliases: [], addresses: [], driverAttachmentOpts: {} }] } } });
  const entries = serviceVips(svc, (id) => id === 'appnet');
  t.same(entries, [{ id: 'db', name: 'db', networkId: 'appnet', vip: '', ports: [] }], 'one entry per wanted network, without a VIP');

  const view: ClusterView = {
    hostAddress: '198.18.0.1',
    underlayDevice: 'eth0',
    networks: [{ id: 'appnet', vni: 4097, subnet: '10.0.1.0/24', gateway: '10.0.1.1', internal: false }],
    endpoints: [
      { id: 'c.appnet', networkId: 'appnet', hostAddress: '198.18.0.1', netns: 'tss-l-h1.c', address: '10.0.1.9', dnsNames: ['client.1'] },
      { id: 'd2.appnet', networkId: 'appnet', hostAddress: '198.18.0.2', netns: '-', address: '10.0.1.4', serviceId: 'db', dnsNames: ['db.2'] },
      { id: 'd1.appnet', networkId: 'appnet', hostAddress: '198.18.0.1', netns: 'tss-l-h1.d1', address: '10.0.1.3', serviceId: 'db', dnsNames: ['db.1'] },
    ],
    services: entries.map((e) => ({ id: e.id, name: e.name, networkId: e.networkId, vip: e.vip, ports: [] })),
  };
  const zone = dnsZoneForHost(view);
  t.same(resolve(zone, 'appnet', 'db', DnsType.A), { kind: 'answer', rcode: Rcode.NOERROR, addresses: ['10.0.1.3', '10.0.1.4'] }, 'db → every task');
  t.same(resolve(zone, 'appnet', 'tasks.db', DnsType.A), { kind: 'answer', rcode: Rcode.NOERROR, addresses: ['10.0.1.3', '10.0.1.4'] });
  t.same(desiredForHost(view).services, [], 'no VIP, no load balancer');

  const empty = dnsZoneForHost({ ...view, endpoints: view.endpoints.filter((e) => e.serviceId !== 'db') });
  t.same(resolve(empty, 'appnet', 'db', DnsType.A), { kind: 'answer', rcode: Rcode.NOERROR, addresses: [] }, 'a dnsrr service without tasks: no addresses, but the name exists');
});
