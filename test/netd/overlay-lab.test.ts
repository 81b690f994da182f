/**
 * netd in a 3-host lab, as the acceptance of the netd issue words it: network appnet with 6
 * endpoints (2 per host) where every pair pings and a TCP connection holds across hosts; a second
 * network cannot reach the first (with IP forwarding on in the hosts, so the firewall is what stops
 * it); outbound traffic is NATed to other hosts; an internal network reaches nothing but itself;
 * a VIP spreads connections evenly; DNS answers by network; an encrypted network is refused; re-applying is a no-op; leftovers of a crashed
 * run are cleaned up; removing the networks leaves no device, route or rule. Needs root.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Ipam } from '../../manager/allocator/ipam.js';
import { type ClusterEndpoint, type ClusterIngress, type ClusterService, desiredForHost } from '../../netd/desired.js';
import { dnsZoneForHost } from '../../netd/dns-records.js';
import { hostExecutor } from '../../netd/executor.js';
import type { DesiredNetwork } from '../../netd/model.js';
import { observe } from '../../netd/observe.js';
import { reconcile } from '../../netd/apply.js';
import { downOnTeardown, uniqueLabName } from '../helpers/lab.js';
import { type LabHostInfo, addNamespaces, inNs, labUp, pings } from './lab-fixture.js';

const dnsMain = join(dirname(fileURLToPath(import.meta.url)), 'dns-main.ts');
const tcpPort = 7000;
const webPort = 8080;
const meshPort = 8088;
const meshTargetPort = 9090;
/** Connections made through the VIP, and how far from an even share a backend may be. */
const vipConnections = 999;
const vipTolerance = 0.2;

/** A node script that makes `count` connections to host:port (10 at a time, each bounded) and prints a JSON tally of the replies. */
function tallyScript(host: string, port: number, count: number): string {
  return `
    const net = require('net');
    const tally = {}; let started = 0, done = 0, failed = 0;
    setTimeout(() => { console.log(JSON.stringify({ tally, failed, timeout: true })); process.exit(1); }, 20000);
    function one() {
      if (started >= ${count}) return;
      started++;
      let got = '';
      const s = net.connect(${port}, '${host}');
      s.setTimeout(2000, () => s.destroy(new Error('timeout')));
      s.on('data', (d) => { got += d; });
      s.on('close', () => { if (got) tally[got] = (tally[got] || 0) + 1; else failed++; if (++done === ${count}) { console.log(JSON.stringify({ tally, failed })); process.exit(0); } one(); });
      s.on('error', () => {});
    }
    for (let i = 0; i < 10; i++) one();`;
}
/** How long the client holds its connection between two round trips. */
const holdMs = 1500;

function network(ipam: Ipam, id: string, internal = false): DesiredNetwork {
  const a = ipam.allocateNetwork({ id });
  return { id, vni: a.vni, subnet: a.subnet, gateway: a.gateway, internal };
}

t.test('overlay networks across a 3-host lab', async (t) => {
  const lab = uniqueLabName('nd');
  downOnTeardown(t, lab);
  const children: ChildProcess[] = [];
  t.teardown(() => {
    for (const c of children) if (c.exitCode === null && c.pid !== undefined) c.kill('SIGKILL');
  });

  const hosts = await labUp(lab, 3);
  const hostAt = (i: number): LabHostInfo => hosts[i] as LabHostInfo;

  const ipam = Ipam.create();
  const appnet = network(ipam, 'appnet');
  const other = network(ipam, 'othernet');
  const secret = network(ipam, 'secret', true);
  const networks = [appnet, other, secret];
  const endpoints: ClusterEndpoint[] = [];
  const addEp = (hostIndex: number, name: string, net: DesiredNetwork, serviceId?: string): ClusterEndpoint => {
    const h = hostAt(hostIndex);
    const id = `${h.name}.${name}`;
    const ep = {
      id,
      networkId: net.id,
      hostAddress: h.address,
      netns: `${h.netns}.${name}`,
      address: ipam.allocateAddress(net.id, id),
      ...(serviceId === undefined ? {} : { serviceId }),
    };
    endpoints.push(ep);
    return ep;
  };
  const app: ClusterEndpoint[] = [];
  // The second endpoint on each host is a task of service web, reached through its VIP.
  for (let i = 0; i < 3; i++) app.push(addEp(i, 'ep1', appnet), addEp(i, 'ep2', appnet, 'web'));
  const web: ClusterService = { id: 'web', networkId: appnet.id, vip: ipam.allocateAddress(appnet.id, 'vip-web'), ports: [{ protocol: 'tcp', port: webPort }] };
  const oth = [addEp(0, 'ep3', other), addEp(1, 'ep3', other)];
  const sec = [addEp(0, 'ep4', secret), addEp(2, 'ep4', secret)];
  await addNamespaces(endpoints.map((e) => e.netns));

  // h1 enters endpoint namespaces with iproute2, the others with whatever the host has (busybox here).
  const execs = hosts.map((h, i) => (i === 0 ? hostExecutor({ netns: h.netns }, 'iproute2') : hostExecutor({ netns: h.netns })));
  const reconcileAll = (eps: readonly ClusterEndpoint[], nets: readonly DesiredNetwork[], services: readonly ClusterService[] = [web]) =>
    Promise.all(
      hosts.map((h, i) =>
        reconcile(desiredForHost({ hostAddress: h.address, underlayDevice: 'eth0', networks: nets, endpoints: eps, services }), execs[i] as (typeof execs)[number]),
      ),
    );

  const first = await reconcileAll(endpoints, networks);
  t.ok(first.every((r) => r.operations > 0), `first reconcile did work on every host (${first.map((r) => r.operations).join(', ')} operations)`);
  // netd turns forwarding on (outbound NAT needs it), so isolation is the firewall's doing, not a default.
  for (const h of hosts) t.equal((await inNs(h.netns, ['sysctl', '-n', 'net.ipv4.ip_forward'])).out.trim(), '1', `forwarding on in ${h.name}`);

  await t.test('every pair on appnet pings', async (t) => {
    const failures: string[] = [];
    await Promise.all(
      app.map(async (from) => {
        for (const to of app) if (to !== from && !(await pings(from.netns, to.address))) failures.push(`${from.id} -> ${to.id}`);
      }),
    );
    t.same(failures, [], `30 pairs ping (${app.map((e) => `${e.id}=${e.address}`).join(' ')})`);
    const v6: string[] = [];
    for (const e of app) if ((await inNs(e.netns, ['ip', 'addr', 'show', 'eth0'])).out.includes('inet6')) v6.push(e.id);
    t.same(v6, [], 'no IPv6 link-local on IPv4 overlays (iproute2 on h1, busybox elsewhere)');
  });

  await t.test('a TCP connection across hosts holds', async (t) => {
    const server = app[5] as ClusterEndpoint;
    const client = app[0] as ClusterEndpoint;
    const child = spawn('ip', ['netns', 'exec', server.netns, process.execPath, '-e',
      `require('net').createServer((s) => s.pipe(s)).listen(${tcpPort}, '${server.address}', () => console.log('ready'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('server did not start within 10 s')), 10_000);
      child.stdout?.once('data', () => { clearTimeout(timer); resolve(); });
    });
    const script = `
      const s = require('net').connect(${tcpPort}, '${server.address}');
      const timer = setTimeout(() => { console.log('timeout'); process.exit(1); }, 8000);
      let got = '';
      s.on('data', (d) => {
        got += d;
        if (got === 'one') setTimeout(() => s.write('two'), ${holdMs});
        if (got === 'onetwo') { console.log('held ' + s.localAddress + ' -> ' + s.remoteAddress); clearTimeout(timer); s.end(); }
      });
      s.on('error', (e) => { console.log('error ' + e.message); process.exit(1); });
      s.write('one');`;
    const r = await inNs(client.netns, [process.execPath, '-e', script]);
    t.ok(r.ok, `client: ${r.out.trim()}`);
    t.match(r.out, `held ${client.address} -> ${server.address}`, 'two round trips over one connection, 1.5 s apart');
    child.kill('SIGTERM');
  });

  await t.test('networks are isolated; internal networks reach nothing outside', async (t) => {
    const [o1, o2] = oth as [ClusterEndpoint, ClusterEndpoint];
    const [s1, s3] = sec as [ClusterEndpoint, ClusterEndpoint];
    t.ok(await pings(o1.netns, o2.address), 'othernet endpoints reach each other');
    t.ok(await pings(s1.netns, s3.address), 'secret (internal) endpoints reach each other');
    const blocked: [ClusterEndpoint, ClusterEndpoint][] = [
      [o1, app[0] as ClusterEndpoint], // same host, other network
      [o1, app[2] as ClusterEndpoint], // other host
      [app[1] as ClusterEndpoint, o2],
      [s1, app[0] as ClusterEndpoint],
      [app[0] as ClusterEndpoint, s1],
    ];
    const leaks: string[] = [];
    await Promise.all(blocked.map(async ([a, b]) => { if (await pings(a.netns, b.address)) leaks.push(`${a.id} -> ${b.id}`); }));
    t.same(leaks, [], 'no endpoint reaches another network');
    t.ok(await pings(app[0]?.netns ?? '', hostAt(0).address), 'an appnet endpoint reaches its host');
    t.notOk(await pings(s1.netns, hostAt(0).address), 'an internal endpoint does not reach its host');
    t.ok(await pings(s1.netns, secret.gateway), 'but it reaches its gateway');
    // Outbound NAT: h3 has no othernet and no route back to it, so only a masqueraded ping returns.
    t.ok(await pings(o1.netns, hostAt(2).address), 'an endpoint reaches another host through outbound NAT');
    t.notOk(await pings(s1.netns, hostAt(1).address), 'an internal endpoint does not get out');
  });

  await t.test('a VIP spreads connections evenly over its tasks; a removed task stops getting them', async (t) => {
    const backends = [app[1], app[3], app[5]] as ClusterEndpoint[];
    for (const b of backends) {
      const child = spawn('ip', ['netns', 'exec', b.netns, process.execPath, '-e',
        `require('net').createServer((s) => s.end('${b.id}')).listen(${webPort}, '${b.address}', () => console.log('ready'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`backend ${b.id} did not start within 10 s`)), 10_000);
        child.stdout?.once('data', () => { clearTimeout(timer); resolve(); });
      });
    }
    const client = app[0] as ClusterEndpoint;
    const run = async (count: number): Promise<{ tally: Record<string, number>; failed: number }> => {
      const r = await inNs(client.netns, [process.execPath, '-e', tallyScript(web.vip, webPort, count)]);
      t.ok(r.ok, `client ran: ${r.out.trim().slice(0, 200)}`);
      return JSON.parse(r.out.trim() || '{"tally":{},"failed":-1}') as { tally: Record<string, number>; failed: number };
    };
    const first = await run(vipConnections);
    t.equal(first.failed, 0, 'every connection answered');
    const share = vipConnections / backends.length;
    for (const b of backends) {
      const n = first.tally[b.id] ?? 0;
      t.ok(Math.abs(n - share) <= share * vipTolerance, `${b.id} got ${n} of ${vipConnections} (a third is ${share})`);
    }

    const removed = backends[2] as ClusterEndpoint;
    const without = endpoints.map((e) => (e === removed ? { ...e, serviceId: 'none' } : e));
    const start = Date.now();
    const changed = await reconcileAll(without, networks);
    const tookMs = Date.now() - start;
    t.ok(tookMs < 1000, `backend removed on every host in ${tookMs} ms (${changed.map((c) => c.operations).join(', ')} operations)`);
    const after = await run(99);
    t.equal(after.tally[removed.id] ?? 0, 0, `no connection reaches the removed task (${JSON.stringify(after.tally)})`);
    t.equal((after.tally[(backends[0] as ClusterEndpoint).id] ?? 0) + (after.tally[(backends[1] as ClusterEndpoint).id] ?? 0), 99, 'the others take them all');
    await reconcileAll(endpoints, networks);
  });

  await t.test('routing mesh: a published port answers on every host, from every task', async (t) => {
    const ingressNet = network(ipam, 'ingress');
    const backends = [app[1], app[3], app[5]] as ClusterEndpoint[];
    const onIngress: ClusterEndpoint[] = backends.map((b) => ({
      id: `${b.id}-ingress`,
      networkId: ingressNet.id,
      hostAddress: b.hostAddress,
      netns: b.netns,
      address: ipam.allocateAddress(ingressNet.id, `${b.id}-ingress`),
      serviceId: 'pub',
    }));
    const ingress: ClusterIngress = {
      networkId: ingressNet.id,
      hostAddresses: Object.fromEntries(hosts.map((h) => [h.address, ipam.allocateAddress(ingressNet.id, `node-${h.name}`)])),
      published: [{ serviceId: 'pub', protocol: 'tcp', publishedPort: meshPort, targetPort: meshTargetPort }],
    };
    const meshState = (eps: readonly ClusterEndpoint[]) =>
      Promise.all(
        hosts.map((h, i) =>
          reconcile(
            desiredForHost({ hostAddress: h.address, underlayDevice: 'eth0', networks: [...networks, ingressNet], endpoints: eps, services: [web], ingress }),
            execs[i] as (typeof execs)[number],
          ),
        ),
      );
    await meshState([...endpoints, ...onIngress]);
    for (const b of onIngress) {
      const child = spawn('ip', ['netns', 'exec', b.netns, process.execPath, '-e',
        `require('net').createServer((s) => s.end('${b.id}')).listen(${meshTargetPort}, '${b.address}', () => console.log('ready'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`mesh backend ${b.id} did not start within 10 s`)), 10_000);
        child.stdout?.once('data', () => { clearTimeout(timer); resolve(); });
      });
    }
    // From every host to every host's underlay address (its own included), 30 connections each.
    for (const from of hosts) {
      for (const to of hosts) {
        const r = await inNs(from.netns, [process.execPath, '-e', tallyScript(to.address, meshPort, 30)]);
        const out = JSON.parse(r.ok ? r.out : '{"tally":{},"failed":-1}') as { tally: Record<string, number>; failed: number };
        t.same(
          Object.keys(out.tally).sort(),
          onIngress.map((b) => b.id).sort(),
          `${from.name} -> ${to.name}:${meshPort} reaches every task (${JSON.stringify(out.tally)}, ${out.failed} failed)`,
        );
      }
    }
    // A task removed from the service stops getting published traffic.
    const gone = onIngress[0] as ClusterEndpoint;
    await meshState([...endpoints, ...onIngress.map((b) => (b === gone ? { ...b, serviceId: 'none' } : b))]);
    const r = await inNs(hostAt(2).netns, [process.execPath, '-e', tallyScript(hostAt(0).address, meshPort, 20)]);
    t.notOk(r.out.includes(gone.id), `a removed task gets no published traffic (${r.out.trim()})`);
    // Back to the state the other tests expect: no mesh.
    const back = await reconcileAll(endpoints, networks);
    t.ok(back.every((x) => x.operations > 0), 'the mesh is taken down again');
  });

  await t.test('DNS on the gateway: service names, tasks, container names, scoped by network, others forwarded', async (t) => {
    const h1 = hostAt(0);
    const h2 = hostAt(1);
    const view = { hostAddress: h1.address, underlayDevice: 'eth0', networks, endpoints: endpoints.map((e) => (e === app[0] ? { ...e, dnsNames: ['client1'] } : e)), services: [web] };
    const zone = dnsZoneForHost(view);
    const start = async (netns: string, zoneJson: unknown, upstreams: string): Promise<void> => {
      const child = spawn('ip', ['netns', 'exec', netns, process.execPath, ...process.execArgv, dnsMain, JSON.stringify(zoneJson), upstreams], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`DNS server in ${netns} did not start within 15 s`)), 15_000);
        child.stdout?.once('data', () => { clearTimeout(timer); resolve(); });
      });
    };
    // h2 plays the host's upstream resolver, on its underlay address, for names outside the cluster.
    await start(h2.netns, { names: [['up', [['example.lab', ['192.0.2.7']]]]], gateways: [[h2.address, 'up']] }, '');
    await start(h1.netns, { names: [...zone.names].map(([n, m]) => [n, [...m]]), gateways: [...zone.gateways] }, h2.address);

    const client = app[0] as ClusterEndpoint;
    const lookup = async (netns: string, name: string, server: string): Promise<string> => (await inNs(netns, ['sh', '-c', `busybox nslookup -type=a ${name} ${server} 2>&1; true`])).out;
    t.match(await lookup(client.netns, 'web', appnet.gateway), `Address: ${web.vip}`, 'web resolves to its VIP');
    const tasks = await lookup(client.netns, 'tasks.web', appnet.gateway);
    for (const b of [app[1], app[3], app[5]] as ClusterEndpoint[]) t.match(tasks, `Address: ${b.address}`, `tasks.web includes ${b.id}`);
    t.match(await lookup(client.netns, 'CLIENT1', appnet.gateway), `Address: ${client.address}`, 'container names resolve, case-insensitively');
    const o1 = oth[0] as ClusterEndpoint;
    t.match(await lookup(o1.netns, 'web', other.gateway), /NXDOMAIN/, 'another network does not see the service');
    t.match(await lookup(client.netns, 'nosuchservice', appnet.gateway), /NXDOMAIN/, 'unknown single names are NXDOMAIN');
    t.match(await lookup(client.netns, 'example.lab', appnet.gateway), 'Address: 192.0.2.7', 'other names are forwarded to the host resolver');
    const tcp = await inNs(client.netns, [process.execPath, '-e', `
      const s = require('net').connect(53, '${appnet.gateway}');
      const q = Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 119, 101, 98, 0, 0, 1, 0, 1]);
      const len = Buffer.alloc(2); len.writeUInt16BE(q.length);
      s.write(Buffer.concat([len, q]));
      let got = Buffer.alloc(0);
      setTimeout(() => { console.log('timeout'); process.exit(1); }, 3000);
      s.on('data', (d) => { got = Buffer.concat([got, d]); if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) { console.log([...got.subarray(got.length - 4)].join('.')); process.exit(0); } });`]);
    t.equal(tcp.out.trim(), web.vip, 'and over TCP');
  });

  await t.test('re-applying the same state is a no-op', async (t) => {
    const again = await reconcileAll(endpoints, networks);
    t.same(again.map((r) => r.operations), [0, 0, 0]);
  });

  await t.test('an encrypted network is refused with a clear reason; nothing of it is made, the rest stays', async (t) => {
    const secure: DesiredNetwork = { ...network(ipam, 'secure'), encrypted: true };
    const h1 = hostAt(0);
    const ep5 = { id: 'h1.ep5', networkId: 'secure', hostAddress: h1.address, netns: `${h1.netns}.ep5`, address: ipam.allocateAddress('secure', 'h1.ep5') };
    const r = await reconcile(
      desiredForHost({ hostAddress: h1.address, underlayDevice: 'eth0', networks: [...networks, secure], endpoints: [...endpoints, ep5], services: [web] }),
      execs[0] as (typeof execs)[number],
    );
    t.equal(r.refused.length, 1, 'one network refused');
    t.match(r.refused[0]?.reason ?? '', /network secure asks for encryption .*(kernel ESP support|not implement)/, `reason: ${r.refused[0]?.reason ?? ''}`);
    t.equal(r.operations, 0, 'nothing else changed');
    const links = (await observe(execs[0] as (typeof execs)[number])).links.map((l) => l.name);
    t.notOk(links.includes(`tsb-${secure.vni}`), 'no device for the refused network');
    const xfrm = await inNs(h1.netns, ['ip', 'xfrm', 'state', 'list']);
    t.equal(xfrm.out.trim(), '', 'the ESP probe left no security association behind');
  });

  await t.test('leftovers of a crashed run are removed and the overlay heals', async (t) => {
    const h2 = hostAt(1);
    const victim = app[2] as ClusterEndpoint; // on h2
    // A crash mid-run: a stray veth, a bridge without its fingerprint, a stale FDB entry, a stray nft table.
    const setup = await inNs(h2.netns, ['sh', '-c', [
      'ip link add tse-deadbeef00 type veth peer name tse-deadbeef01',
      `ip link set dev tsb-${appnet.vni} alias half-made`,
      `bridge fdb append 00:00:00:00:00:00 dev tsv-${appnet.vni} dst 198.18.255.254 self permanent`,
      `bridge fdb replace 02:42:0a:63:63:63 dev tsv-${appnet.vni} dst 198.18.255.253 self permanent`,
    ].join(' && ')]);
    t.ok(setup.ok, `made leftovers: ${setup.out}`);
    const r = await reconcile(desiredForHost({ hostAddress: h2.address, underlayDevice: 'eth0', networks, endpoints, services: [web] }), execs[1] as (typeof execs)[number]);
    t.ok(r.operations > 0, `reconcile did ${r.operations} operations`);
    const links = (await observe(execs[1] as (typeof execs)[number])).links.map((l) => l.name);
    t.notOk(links.includes('tse-deadbeef00'), 'stray veth removed');
    const fdb = (await inNs(h2.netns, ['bridge', 'fdb', 'show', 'dev', `tsv-${appnet.vni}`])).out;
    t.notMatch(fdb, /00:00:00:00:00:00|02:42:0a:63:63:63/, 'flooding and stale FDB entries removed');
    t.ok(await pings(victim.netns, (app[0] as ClusterEndpoint).address), 'remade endpoint on h2 reaches h1');
    t.ok(await pings((app[4] as ClusterEndpoint).netns, victim.address), 'h3 reaches the remade endpoint');
    const again = await reconcileAll(endpoints, networks);
    t.same(again.map((x) => x.operations), [0, 0, 0], 'converged again');
  });

  await t.test('removing an endpoint and then every network leaves nothing behind', async (t) => {
    const gone = app[5] as ClusterEndpoint;
    await reconcileAll(endpoints.filter((e) => e !== gone), networks);
    t.notOk(await pings((app[0] as ClusterEndpoint).netns, gone.address), 'a removed endpoint is unreachable');
    t.notOk((await inNs(gone.netns, ['ip', 'link', 'show', 'eth0'])).ok, 'its interface is gone');

    const removal = await reconcileAll([], []);
    t.ok(removal.every((r) => r.operations > 0), 'every host removed something');
    for (const [i, h] of hosts.entries()) {
      const obs = await observe(execs[i] as (typeof execs)[number]);
      t.same(obs.links.map((l) => l.name).filter((n) => /^ts[bve]-/.test(n)), [], `${h.name}: no netd device left`);
      t.equal(obs.nftFingerprint, undefined, `${h.name}: no netd nft table left`);
      const routes = (await inNs(h.netns, ['ip', 'route', 'show'])).out;
      t.notMatch(routes, /10\.0\./, `${h.name}: no overlay route left`);
      const neigh = (await inNs(h.netns, ['ip', 'neigh', 'show'])).out;
      t.notMatch(neigh, /10\.0\./, `${h.name}: no overlay neighbour left`);
    }
    for (const ep of endpoints) {
      const inside = (await inNs(ep.netns, ['ip', '-o', 'link', 'show'])).out;
      t.notMatch(inside, /eth\d/, `${ep.id}: no interface left in the endpoint namespace`);
      const tables = await inNs(ep.netns, ['nft', 'list', 'tables']);
      t.ok(tables.ok && !tables.out.includes('tsswarm'), `${ep.id}: no load-balancer table left`);
    }
    const again = await reconcileAll([], []);
    t.same(again.map((r) => r.operations), [0, 0, 0], 'removing twice is a no-op');
  });
});
