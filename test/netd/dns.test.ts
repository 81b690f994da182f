/**
 * The embedded DNS server's pure parts and its answer path, without sockets: wire format round
 * trips, malformed queries, names scoped by network, NXDOMAIN versus forwarding.
 */
import t from 'tap';
import { type ClusterView } from '../../netd/desired.js';
import { DnsType, Rcode, encodeQuery, encodeResponse, parseQuery, parseResponse } from '../../netd/dns-message.js';
import { dnsZoneForHost, resolve } from '../../netd/dns-records.js';
import { DnsServer, parseResolvConf } from '../../netd/dns-server.js';

const h1 = '198.18.0.1';
const h2 = '198.18.0.2';
const view: ClusterView = {
  hostAddress: h1,
  underlayDevice: 'eth0',
  networks: [
    { id: 'appnet', vni: 4096, subnet: '10.0.0.0/24', gateway: '10.0.0.1', internal: false },
    { id: 'other', vni: 4097, subnet: '10.0.1.0/24', gateway: '10.0.1.1', internal: false },
    { id: 'far', vni: 4098, subnet: '10.0.2.0/24', gateway: '10.0.2.1', internal: false },
  ],
  endpoints: [
    { id: 'c', networkId: 'appnet', hostAddress: h1, netns: 'ns-c', address: '10.0.0.2', dnsNames: ['client', 'Alias1'] },
    { id: 'w1', networkId: 'appnet', hostAddress: h1, netns: 'ns-w1', address: '10.0.0.10', serviceId: 'web' },
    { id: 'w2', networkId: 'appnet', hostAddress: h2, netns: 'ns-w2', address: '10.0.0.9', serviceId: 'web' },
    { id: 'o', networkId: 'other', hostAddress: h1, netns: 'ns-o', address: '10.0.1.2' },
    { id: 'f', networkId: 'far', hostAddress: h2, netns: 'ns-f', address: '10.0.2.2', dnsNames: ['faraway'] },
  ],
  services: [
    { id: 'web', networkId: 'appnet', vip: '10.0.0.100', ports: [{ protocol: 'tcp', port: 80 }] },
    { id: 'db', name: 'database', networkId: 'appnet', vip: '10.0.0.101', ports: [{ protocol: 'tcp', port: 5432 }] },
  ],
};
const zone = dnsZoneForHost(view);

t.test('wire format: a query round-trips, a response carries its A records', async (t) => {
  const q = parseQuery(encodeQuery(0xbeef, 'Tasks.Web.'));
  t.same({ id: q.id, rd: q.rd, name: q.name, type: q.type, qclass: q.qclass }, { id: 0xbeef, rd: true, name: 'tasks.web', type: DnsType.A, qclass: 1 });
  const r = parseResponse(encodeResponse(q, Rcode.NOERROR, ['10.0.0.9', '10.0.0.10'], 5));
  t.same(r, { id: 0xbeef, rcode: Rcode.NOERROR, addresses: ['10.0.0.9', '10.0.0.10'] });
});

t.test('malformed queries are refused', async (t) => {
  const good = encodeQuery(1, 'web');
  const bad: [string, Buffer][] = [
    ['short', Buffer.from([1, 2, 3])],
    ['a response', Buffer.from([...good.subarray(0, 2), 0x81, 0x00, ...good.subarray(4)])],
    ['two questions', Buffer.from([...good.subarray(0, 4), 0, 2, ...good.subarray(6)])],
    ['cut short', good.subarray(0, good.length - 3)],
    ['a compression pointer', Buffer.from([...good.subarray(0, 12), 0xc0, 0x0c, 0, 1, 0, 1])],
  ];
  for (const [what, msg] of bad) t.throws(() => parseQuery(msg), { name: 'DnsFormatError' }, what);
});

t.test('the zone: only this host\'s networks; services, tasks, names; scoped by network', async (t) => {
  t.same([...zone.gateways], [['10.0.0.1', 'appnet'], ['10.0.1.1', 'other']], 'a network without local endpoints is not served here');
  const cases: [string, string, number, string][] = [
    ['appnet', 'web', DnsType.A, 'answer 0 10.0.0.100'],
    ['appnet', 'WEB.', DnsType.A, 'answer 0 10.0.0.100'],
    ['appnet', 'tasks.web', DnsType.A, 'answer 0 10.0.0.9,10.0.0.10'],
    ['appnet', 'database', DnsType.A, 'answer 0 10.0.0.101'],
    ['appnet', 'tasks.database', DnsType.A, 'answer 0 '],
    ['appnet', 'db', DnsType.A, 'answer 3 '],
    ['appnet', 'alias1', DnsType.A, 'answer 0 10.0.0.2'],
    ['appnet', 'web', DnsType.AAAA, 'answer 0 '],
    ['other', 'web', DnsType.A, 'answer 3 '],
    ['other', 'tasks.web', DnsType.A, 'answer 3 '],
    ['appnet', 'faraway', DnsType.A, 'answer 3 '],
    ['appnet', 'example.com', DnsType.A, 'forward'],
  ];
  for (const [net, name, type, want] of cases) {
    const d = resolve(zone, net, name, type);
    t.equal(d.kind === 'answer' ? `answer ${d.rcode} ${d.addresses.join(',')}` : 'forward', want, `${net}: ${name} type ${type}`);
  }
});

t.test('the server answers from the zone; without upstreams a forward is SERVFAIL, garbage is FORMERR', async (t) => {
  const server = new DnsServer({ upstreams: [] });
  server.setZone(zone);
  t.same(parseResponse(await server.answer('appnet', encodeQuery(7, 'web'))), { id: 7, rcode: Rcode.NOERROR, addresses: ['10.0.0.100'] });
  t.same(parseResponse(await server.answer('other', encodeQuery(8, 'web'))), { id: 8, rcode: Rcode.NXDOMAIN, addresses: [] });
  t.equal(parseResponse(await server.answer('appnet', encodeQuery(9, 'example.com'))).rcode, Rcode.SERVFAIL);
  t.equal(parseResponse(await server.answer('appnet', Buffer.from([0, 10, 0x81, 0]))).rcode, Rcode.FORMERR);
  t.same(parseResolvConf('# x\nnameserver 10.1.2.3\nnameserver ::1\nsearch lan\nnameserver 127.0.0.53\n'), ['10.1.2.3', '127.0.0.53']);
});
