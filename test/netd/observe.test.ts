/**
 * Parsing what ip, bridge and nft print (samples captured from iproute2 6.1 and nftables 1.0.6 in
 * a lab host): only netd's devices and entries come through, with the fields plan relies on.
 */
import t from 'tap';
import { parseFdb, parseLinks, parseNeighbours } from '../../netd/observe.js';
import { nftFingerprint, nftReplaceScript, nftRules, parseNftFingerprint } from '../../netd/nft.js';
import { namespaceWorkerScript } from '../../netd/executor.js';

const links = JSON.stringify([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], mtu: 65536, linkinfo: undefined },
  { ifindex: 2, ifname: 'eth0', flags: ['BROADCAST', 'UP'], link_netnsid: 0, linkinfo: { info_kind: 'veth' } },
  { ifindex: 3, ifname: 'tsb-4096', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], ifalias: 'tsswarm:net:4096:ab', linkinfo: { info_kind: 'bridge', info_data: {} } },
  { ifindex: 4, ifname: 'tsv-4096', flags: ['BROADCAST', 'UP'], master: 'tsb-4096', linkinfo: { info_kind: 'vxlan', info_data: { id: 4096 }, info_slave_kind: 'bridge' } },
  { ifindex: 5, ifname: 'tse-a1', link: 'tse-a2', flags: ['BROADCAST'], master: 'tsb-4096', linkinfo: { info_kind: 'veth' } },
  { ifindex: 6, ifname: 'tse-b1', flags: ['UP'], group: '4242', link_netnsid: 1, master: 'tsb-4096', linkinfo: { info_kind: 'veth' } },
]);

t.test('links: kind, master, up, group, alias, and the peer only when it is local', async (t) => {
  t.same(parseLinks(links), [
    { name: 'lo', kind: '', up: true, group: 0 },
    { name: 'eth0', kind: 'veth', up: true, group: 0 },
    { name: 'tsb-4096', kind: 'bridge', up: true, group: 0, alias: 'tsswarm:net:4096:ab' },
    { name: 'tsv-4096', kind: 'vxlan', up: true, group: 0, master: 'tsb-4096' },
    { name: 'tse-a1', kind: 'veth', up: false, group: 0, master: 'tsb-4096', peer: 'tse-a2' },
    { name: 'tse-b1', kind: 'veth', up: true, group: 4242, master: 'tsb-4096' },
  ]);
  t.throws(() => parseLinks('not json'), /cannot parse ip link output/);
});

t.test('fdb: entries of netd VXLAN devices only', async (t) => {
  const fdb = JSON.stringify([
    { mac: '33:33:00:00:00:01', ifname: 'eth0', flags: ['self'], state: 'permanent' },
    { mac: '02:42:0a:00:00:03', ifname: 'tsv-4096', flags: [], master: 'tsb-4096', state: 'static' },
    { mac: '1e:a3:de:b7:e9:51', ifname: 'tsv-4096', flags: [], master: 'tsb-4096', state: 'permanent' },
    { mac: '02:42:0a:00:00:03', ifname: 'tsv-4096', dst: '198.18.0.2', flags: ['self'], state: 'permanent' },
    { mac: '02:42:0a:00:00:02', ifname: 'tse-a1', flags: [], master: 'tsb-4096', state: '' },
  ]);
  t.same(parseFdb(fdb), [
    { mac: '02:42:0a:00:00:03', dev: 'tsv-4096', self: false, state: 'static' },
    { mac: '1e:a3:de:b7:e9:51', dev: 'tsv-4096', self: false, state: 'permanent' },
    { mac: '02:42:0a:00:00:03', dev: 'tsv-4096', self: true, state: 'permanent', dst: '198.18.0.2' },
  ]);
  t.same(parseFdb(''), [], 'empty output is no entries');
});

t.test('neighbours: entries on netd bridges only, permanent flagged', async (t) => {
  const neigh = JSON.stringify([
    { dst: '198.18.0.2', dev: 'eth0', lladdr: '36:54:be:42:bf:5f', state: ['REACHABLE'] },
    { dst: '10.0.0.3', dev: 'tsb-4096', lladdr: '02:42:0a:00:00:03', state: ['PERMANENT'] },
    { dst: '10.0.0.2', dev: 'tsb-4096', lladdr: '02:42:0a:00:00:02', state: ['REACHABLE'] },
    { dst: '10.0.0.9', dev: 'tsb-4096', state: ['FAILED'] },
  ]);
  t.same(parseNeighbours(neigh), [
    { address: '10.0.0.3', dev: 'tsb-4096', permanent: true, mac: '02:42:0a:00:00:03' },
    { address: '10.0.0.2', dev: 'tsb-4096', permanent: false, mac: '02:42:0a:00:00:02' },
    { address: '10.0.0.9', dev: 'tsb-4096', permanent: false },
  ]);
});

t.test('nft: the fingerprint round-trips through the listing nft prints', async (t) => {
  const rules = nftRules([
    { id: 'a', vni: 4096, subnet: '10.0.0.0/24', gateway: '10.0.0.1', internal: false },
    { id: 'b', vni: 4097, subnet: '10.0.1.0/24', gateway: '10.0.1.1', internal: true },
  ]);
  const listing = `table inet tsswarm_netd {\n\tcomment "${nftFingerprint(rules)}"\n\tchain forward {\n\t}\n}\n`;
  t.equal(parseNftFingerprint(listing), nftFingerprint(rules));
  t.equal(parseNftFingerprint('table inet tsswarm_netd {\n}\n'), undefined);
  t.match(nftReplaceScript(rules), /iifname "tsb-4096" oifname "tsb-\*" oifname != "tsb-4096" drop/);
  t.match(nftReplaceScript(rules), /iifname "tsb-4097" ip daddr != 10\.0\.1\.1 drop/);
  t.match(nftReplaceScript(rules), /ip saddr 10\.0\.0\.0\/24 oifname != "tsb-\*" masquerade/, 'outbound NAT for a normal network');
  t.notMatch(nftReplaceScript(rules), /10\.0\.1\.0\/24 .*masquerade/, 'none for an internal one');
  t.not(nftFingerprint(rules), nftFingerprint(nftRules([])), 'different rules, different fingerprints');
});

t.test('namespace worker scripts: one batch per namespace, failures named, nothing unsafe let through', async (t) => {
  const jobs = [
    { netns: 'tss-l-h1.ep1', tool: 'ip' as const, input: 'link set dev lo up\naddr add 10.0.0.2/24 dev eth0\nlink set dev eth0 addrgenmode none\n' },
    { netns: 'tss-l-h1.ep2', tool: 'ip' as const, input: 'link set dev lo up\n' },
    { netns: 'tss-l-h1.ep2', tool: 'nft' as const, input: 'table ip t {\n}\n' },
  ];
  const ip = namespaceWorkerScript(jobs, 'iproute2');
  t.match(ip, /^rc=0\nip=\$\(command -v ip\) \|\| \{ echo "netd: no ip on PATH" >&2; exit 1; \}\n/, 'iproute2 ip by path');
  t.match(ip, "\"$ip\" -n tss-l-h1.ep1 -force -batch - <<'TSSWARM_NETD_EOF' || { echo \"netd: batch in tss-l-h1.ep1 failed\" >&2; rc=1; }\nlink set dev lo up\naddr add 10.0.0.2/24 dev eth0\nlink set dev eth0 addrgenmode none\nTSSWARM_NETD_EOF\n");
  t.match(ip, /exit \$rc\n$/);
  t.match(ip, "ip netns exec tss-l-h1.ep2 nft -f - <<'TSSWARM_NETD_EOF' ||");
  // nsenter enters the network namespace only and runs the same batch with iproute2's ip there
  // (by path, never busybox's own ip applet): one namespace, one ip process.
  const bb = namespaceWorkerScript(jobs, 'busybox');
  t.match(bb, "busybox nsenter --net=/run/netns/tss-l-h1.ep1 \"$ip\" -force -batch - <<'TSSWARM_NETD_EOF' ||");
  t.match(bb, 'addr add 10.0.0.2/24 dev eth0\nlink set dev eth0 addrgenmode none\nTSSWARM_NETD_EOF\n');
  t.match(bb, "busybox nsenter --net=/run/netns/tss-l-h1.ep2 nft -f - <<'TSSWARM_NETD_EOF' ||");
  t.match(namespaceWorkerScript(jobs, 'nsenter'), "\nnsenter --net=/run/netns/tss-l-h1.ep1 \"$ip\" -force -batch - <<'TSSWARM_NETD_EOF' ||");
  t.equal((bb.match(/^if \[ -e \/run\/netns\/tss-l-h1\.ep2 \]; then$/gm) ?? []).length, 2, 'a namespace that is gone is skipped');
  t.throws(() => namespaceWorkerScript([{ netns: 'x; rm -rf /', tool: 'ip', input: 'link set dev lo up\n' }]), /unsafe namespace batch/);
  t.throws(() => namespaceWorkerScript([{ netns: 'ok', tool: 'ip', input: 'link set dev lo up\nTSSWARM_NETD_EOF\nreboot\n' }], 'busybox'), /unsafe namespace batch/);
});
