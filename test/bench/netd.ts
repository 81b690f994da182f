/**
 * Benchmark of netd in a lab (as root):
 *  1. iperf3 TCP between endpoints on two hosts over the VXLAN overlay vs between the same two
 *     hosts' underlay addresses, same run, same iperf3 arguments, alternating in ABBA order after a
 *     warm-up; the median of the pairs' ratios overlay ÷ underlay (target ≥ 0.85).
 *  2. Connections/s through a service VIP (nft DNAT in the client's namespace) vs straight to the
 *     task's address, same client, same server (target ≥ 0.9).
 *  3. Programming endpoints on one host (observe + plan + apply): 1,000 endpoints on one network
 *     (target ≥ 200 endpoints/s; median of 3 rounds, each checked converged and reachable, then
 *     removed), and 250 endpoints against a script of one `ip` call per step,
 *     as one would write by hand; ratio ours ÷ script in endpoints/s.
 * Run with `npm run bench:netd` (node dist/test/bench/netd.js). Everything is made in a lab that is
 * removed at the end, also on failure.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Ipam } from '../../manager/allocator/ipam.js';
import { reconcile } from '../../netd/apply.js';
import { type ClusterEndpoint, desiredForHost } from '../../netd/desired.js';
import { hostExecutor } from '../../netd/executor.js';
import type { DesiredNetwork } from '../../netd/model.js';
import { tsswarmBin } from '../helpers/cli.js';
import { addNamespaces, inNs, labUp, type LabHostInfo } from '../netd/lab-fixture.js';
import { median, recordComparisons, type Comparison } from './report.js';

/**
 * Seconds per iperf3 run (after `iperfOmitSeconds` of slow start left out of the figure), and runs
 * per side. Both sides use the same iperf3 arguments; runs alternate in ABBA order after one
 * discarded warm-up run of each, so work elsewhere on the machine hits both sides alike.
 */
const iperfSeconds = 3;
const iperfOmitSeconds = 1;
const iperfRuns = 7;
const iperfPort = 5201;
/** Endpoints programmed in one reconcile, and in the comparison with a script. */
const manyEndpoints = 1000;
/** Bounded wait for the first-to-last endpoint ping after programming (1 s each). */
const maxSettlePings = 20;
const scriptEndpoints = 250;
/** Rounds of programming (and removing) the 1,000 endpoints; the median is reported. */
const programmingRounds = 3;
/** The target for programming endpoints. */
const targetEndpointsPerSecond = 200;
/** The target for overlay ÷ underlay TCP throughput. */
const targetOverlayRatio = 0.85;

const children: ChildProcess[] = [];

function network(ipam: Ipam, id: string, subnet: string): DesiredNetwork {
  const a = ipam.allocateNetwork({ id, subnet });
  return { id, vni: a.vni, subnet: a.subnet, gateway: a.gateway, internal: false };
}

/** Starts a one-off iperf3 server in `netns` bound to `address`; resolves once it listens. */
async function iperfServer(netns: string, address: string): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', netns, 'iperf3', '-s', '-1', '--forceflush', '-B', address, '-p', String(iperfPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`iperf3 server in ${netns} did not start within 5 s`)), 5_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return child;
}

/** One bounded iperf3 TCP run; Gbit/s received. */
async function iperf(fromNetns: string, serverNetns: string, address: string): Promise<number> {
  const server = await iperfServer(serverNetns, address);
  const r = await inNs(fromNetns, ['iperf3', '-c', address, '-p', String(iperfPort), '-t', String(iperfSeconds), '-O', String(iperfOmitSeconds), '-J']);
  server.kill('SIGTERM');
  if (!r.ok) throw new Error(`iperf3 ${fromNetns} -> ${address}: ${r.out.slice(0, 300)}`);
  const json = JSON.parse(r.out) as { end?: { sum_received?: { bits_per_second?: number } } };
  return (json.end?.sum_received?.bits_per_second ?? 0) / 1e9;
}

/** Connections per side per run for the VIP comparison, and runs per side. */
const connectionsPerRun = 2000;
const connectionRuns = 3;
const connectPort = 8081;

/** A node script: `count` connections to host:port, 10 at a time, each reading the reply; prints connections/s. */
function connectScript(host: string, count: number): string {
  return `
    const net = require('net');
    let started = 0, done = 0, failed = 0; const t0 = process.hrtime.bigint();
    setTimeout(() => { console.log('timeout'); process.exit(1); }, 60000);
    function one() {
      if (started >= ${count}) return;
      started++;
      let got = false;
      const s = net.connect(${connectPort}, '${host}');
      s.on('data', () => { got = true; });
      s.on('close', () => { if (!got) failed++; if (++done === ${count}) { const s2 = Number(process.hrtime.bigint() - t0) / 1e9; console.log(JSON.stringify({ perSecond: ${count} / s2, failed })); process.exit(0); } one(); });
      s.on('error', () => {});
    }
    for (let i = 0; i < 10; i++) one();`;
}

async function connectionsPerSecond(fromNetns: string, host: string): Promise<number> {
  const r = await inNs(fromNetns, [process.execPath, '-e', connectScript(host, connectionsPerRun)]);
  const out = JSON.parse(r.ok ? r.out : '{"perSecond":0,"failed":-1}') as { perSecond: number; failed: number };
  if (out.failed !== 0) throw new Error(`connections to ${host} failed: ${r.out.slice(0, 200)}`);
  return out.perSecond;
}

async function throughput(hosts: readonly LabHostInfo[]): Promise<Comparison[]> {
  const [a, b] = hosts as [LabHostInfo, LabHostInfo];
  const ipam = Ipam.create();
  const net = network(ipam, 'bench', '10.77.0.0/24');
  const eps: ClusterEndpoint[] = [a, b].map((h) => ({
    id: h.name,
    networkId: net.id,
    hostAddress: h.address,
    netns: `${h.netns}.perf`,
    address: ipam.allocateAddress(net.id, h.name),
    ...(h === b ? { serviceId: 'svc' } : {}),
  }));
  const svc = { id: 'svc', networkId: net.id, vip: ipam.allocateAddress(net.id, 'vip'), ports: [{ protocol: 'tcp' as const, port: connectPort }] };
  await addNamespaces(eps.map((e) => e.netns));
  const program = (services: (typeof svc)[]) =>
    Promise.all(
      [a, b].map((h) =>
        reconcile(desiredForHost({ hostAddress: h.address, underlayDevice: 'eth0', networks: [net], endpoints: eps, services }), hostExecutor({ netns: h.netns })),
      ),
    );
  // The overlay alone first; the VIP (and the conntrack its NAT brings) only for the connection test.
  await program([]);
  const [ea, eb] = eps as [ClusterEndpoint, ClusterEndpoint];
  const under: number[] = [];
  const over: number[] = [];
  const underRun = (): Promise<number> => iperf(a.netns, b.netns, b.address);
  const overRun = (): Promise<number> => iperf(ea.netns, eb.netns, eb.address);
  await underRun();
  await overRun();
  for (let r = 0; r < iperfRuns; r++) {
    if (r % 2 === 0) {
      under.push(await underRun());
      over.push(await overRun());
    } else {
      over.push(await overRun());
      under.push(await underRun());
    }
  }
  const u = median(under);
  const o = median(over);
  // Runs alternate, so the median of each pair's ratio is steadier than the ratio of medians when
  // other work on the machine comes and goes.
  const ratios = over.map((x, i) => x / (under[i] ?? x));
  const pairRatio = median(ratios);
  const cc = (await inNs(a.netns, ['cat', '/proc/sys/net/ipv4/tcp_congestion_control'])).out.trim();
  const line = `iperf3 TCP ${iperfSeconds} s (${cc}), median of ${iperfRuns} alternating pairs: overlay ${o.toFixed(2)} Gbit/s, underlay ${u.toFixed(2)} Gbit/s; median per-pair ratio ${pairRatio.toFixed(2)} (range ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`;
  process.stdout.write(`${line}\n  overlay runs ${over.map((x) => x.toFixed(2)).join(', ')}; underlay runs ${under.map((x) => x.toFixed(2)).join(', ')}\n`);
  if (pairRatio < targetOverlayRatio) process.stdout.write(`  MISSED TARGET: ${pairRatio.toFixed(2)} < ${targetOverlayRatio} (see netd/README.md, Known limits)\n`);
  const missed = pairRatio < targetOverlayRatio ? `; target ${targetOverlayRatio} not met, why: netd/README.md, Performance notes` : '';
  const iperfComparison = { name: 'VXLAN overlay vs underlay, iperf3 TCP between two lab hosts, Gbit/s', ratio: pairRatio, detail: `${line}${missed}` };

  await program([svc]);
  const server = spawn('ip', ['netns', 'exec', eb.netns, process.execPath, '-e',
    `require('net').createServer((s) => s.end('x')).listen(${connectPort}, '${eb.address}', () => console.log('ready'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(server);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connection server did not start within 10 s')), 10_000);
    server.stdout?.once('data', () => { clearTimeout(timer); resolve(); });
  });
  const viaVip: number[] = [];
  const direct: number[] = [];
  for (let r = 0; r < connectionRuns; r++) {
    direct.push(await connectionsPerSecond(ea.netns, eb.address));
    viaVip.push(await connectionsPerSecond(ea.netns, svc.vip));
  }
  server.kill('SIGTERM');
  const v = median(viaVip);
  const d = median(direct);
  const connLine = `${connectionsPerRun} connections, 10 at a time, median of ${connectionRuns}: via VIP ${v.toFixed(0)}/s, direct ${d.toFixed(0)}/s`;
  process.stdout.write(`${connLine}\n`);
  return [iperfComparison, { name: 'connections/s through a service VIP vs straight to the task, across two lab hosts', ratio: v / d, detail: connLine }];
}

/** Endpoints for `count` namespaces on host `h` (namespaces made here, outside the timing). */
async function manyOn(h: LabHostInfo, ipam: Ipam, net: DesiredNetwork, count: number, tag: string): Promise<ClusterEndpoint[]> {
  const eps: ClusterEndpoint[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${tag}${i}`;
    eps.push({ id, networkId: net.id, hostAddress: h.address, netns: `${h.netns}.${id}`, address: ipam.allocateAddress(net.id, id) });
  }
  await addNamespaces(eps.map((e) => e.netns));
  return eps;
}

async function programming(hosts: readonly LabHostInfo[]): Promise<Comparison[]> {
  const h = hosts[2] as LabHostInfo;
  const exec = hostExecutor({ netns: h.netns });
  const ipam = Ipam.create();
  const net = network(ipam, 'many', '10.80.0.0/20');
  const eps = await manyOn(h, ipam, net, manyEndpoints, 'm');
  const desiredMany = desiredForHost({ hostAddress: h.address, underlayDevice: 'eth0', networks: [net], endpoints: eps });
  const nothing = desiredForHost({ hostAddress: h.address, underlayDevice: 'eth0', networks: [], endpoints: [] });
  const rounds: { ms: number; operations: number; batches: number; noopMs: number; settleMs: number; removeMs: number }[] = [];
  for (let round = 0; round < programmingRounds; round++) {
    let start = performance.now();
    const first = await reconcile(desiredMany, exec);
    const ms = performance.now() - start;
    const programmedAt = performance.now();
    start = performance.now();
    const noop = await reconcile(desiredMany, exec);
    const noopMs = performance.now() - start;
    if (noop.operations !== 0) throw new Error(`re-apply of ${manyEndpoints} endpoints was not a no-op: ${noop.operations} operations`);
    const sample = eps[manyEndpoints - 1] as ClusterEndpoint;
    // Reachability settles after the kernel's linkwatch has started every new veth's queue (it does
    // 100 devices at a time); measure how long that takes for the first and last endpoint.
    let reached = false;
    for (let attempt = 0; attempt < maxSettlePings && !reached; attempt++) reached = (await inNs((eps[0] as ClusterEndpoint).netns, ['ping', '-c1', '-W1', '-q', sample.address])).ok;
    if (!reached) throw new Error(`programmed endpoints do not reach each other (${maxSettlePings} pings of 1 s)`);
    const settleMs = performance.now() - programmedAt;
    // Remove them all (also timed, for the record), so the next round starts from nothing again.
    start = performance.now();
    await reconcile(nothing, exec);
    const removeMs = performance.now() - start;
    rounds.push({ ms, operations: first.operations, batches: first.batches, noopMs, settleMs, removeMs });
    process.stdout.write(`  round ${round + 1}: ${ms.toFixed(0)} ms (${(manyEndpoints / (ms / 1000)).toFixed(0)}/s), re-check ${noopMs.toFixed(0)} ms, settled ${settleMs.toFixed(0)} ms, removed in ${removeMs.toFixed(0)} ms\n`);
  }
  const manyMs = median(rounds.map((r) => r.ms));
  const firstRound = rounds[0] as (typeof rounds)[number];
  const manyRate = manyEndpoints / (manyMs / 1000);
  const manyLine =
    `${manyEndpoints} endpoints, median of ${programmingRounds}: ${manyMs.toFixed(0)} ms (${firstRound.operations} operations in ${firstRound.batches} batches; runs ${rounds.map((r) => r.ms.toFixed(0)).join(', ')} ms) = ${manyRate.toFixed(0)} endpoints/s; ` +
    `converged re-check ${median(rounds.map((r) => r.noopMs)).toFixed(0)} ms; first endpoint reaches the last ${median(rounds.map((r) => r.settleMs)).toFixed(0)} ms after programming; removal ${median(rounds.map((r) => r.removeMs)).toFixed(0)} ms`;
  process.stdout.write(`${manyLine}\n`);
  if (manyRate < targetEndpointsPerSecond) process.stdout.write(`  MISSED TARGET: ${manyRate.toFixed(0)} < ${targetEndpointsPerSecond} endpoints/s\n`);

  // Same work, smaller, against a script of one `ip` call per step.
  const ipam2 = Ipam.create();
  const net2 = network(ipam2, 'cmp', '10.90.0.0/22');
  const oursEps = await manyOn(h, ipam2, net2, scriptEndpoints, 'o');
  let start = performance.now();
  await reconcile(desiredForHost({ hostAddress: h.address, underlayDevice: 'eth0', networks: [net2], endpoints: oursEps }), exec);
  const oursMs = performance.now() - start;
  await reconcile(desiredForHost({ hostAddress: h.address, underlayDevice: 'eth0', networks: [], endpoints: [] }), exec);
  const lines = ['set -e', `H=${h.netns}`,
    'ip -n $H link add sb0 mtu 1450 type bridge', 'ip -n $H link add sv0 mtu 1450 type vxlan id 9999 dstport 4789 local ' + h.address + ' dev eth0 nolearning',
    'ip -n $H link set sv0 master sb0 up', 'ip -n $H addr add 10.91.0.1/22 dev sb0', 'ip -n $H link set sb0 up'];
  const scriptNs: string[] = [];
  for (let i = 0; i < scriptEndpoints; i++) {
    const ns = `${h.netns}.s${i}`;
    scriptNs.push(ns);
    const addr = `10.91.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`;
    lines.push(
      `ip -n $H link add sx${i} mtu 1450 type veth peer name eth0 mtu 1450 netns ${ns}`,
      `ip -n ${ns} link set lo up`,
      `ip -n ${ns} addr add ${addr}/22 dev eth0`,
      `ip -n ${ns} link set eth0 up`,
      `ip -n ${ns} route add default via 10.91.0.1 dev eth0`,
      `ip -n $H link set sx${i} master sb0 up`,
    );
  }
  await addNamespaces(scriptNs);
  start = performance.now();
  execFileSync('bash', ['-c', lines.join('\n')], { timeout: 300_000 });
  const scriptMs = performance.now() - start;
  const oursRate = scriptEndpoints / (oursMs / 1000);
  const scriptRate = scriptEndpoints / (scriptMs / 1000);
  const cmpLine = `${scriptEndpoints} endpoints: netd ${oursMs.toFixed(0)} ms (${oursRate.toFixed(0)}/s), one-ip-call-per-step script ${scriptMs.toFixed(0)} ms (${scriptRate.toFixed(0)}/s)`;
  process.stdout.write(`${cmpLine}\n`);
  return [
    { name: `netd programming ${manyEndpoints} endpoints on one host vs target ${targetEndpointsPerSecond}/s, endpoints/s`, ratio: manyRate / targetEndpointsPerSecond, detail: manyLine },
    { name: `netd programming ${scriptEndpoints} endpoints vs one-ip-call-per-step script, endpoints/s`, ratio: oursRate / scriptRate, detail: cmpLine },
  ];
}

async function main(): Promise<void> {
  const lab = `bnd${process.pid % 100000}`;
  try {
    const hosts = await labUp(lab, 3);
    const comparisons = [...(await throughput(hosts)), ...(await programming(hosts))];
    await recordComparisons('netd', comparisons);
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    execFileSync(process.execPath, [tsswarmBin, 'lab', 'down', lab], { stdio: 'inherit' });
  }
}

await main();
