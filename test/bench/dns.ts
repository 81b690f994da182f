/**
 * Benchmark of netd's embedded DNS server (`npm run bench:dns`): sequential A queries for a
 * service name (VIP), `tasks.NAME` (100 task addresses) and a missing name (NXDOMAIN) against a
 * DnsServer on a loopback address, beside a bare UDP echo server in the same process and run (the
 * floor a Node UDP round trip costs here). Reports p50/p99 per kind; the ratio is echo p99 ÷ DNS
 * p99 (as throughput: higher is better). Target from the netd issue: DNS p99 < 2 ms. Loopback only;
 * bounded in count.
 */
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { DnsType, encodeQuery, parseResponse } from '../../netd/dns-message.js';
import { dnsZoneForHost } from '../../netd/dns-records.js';
import { DnsServer } from '../../netd/dns-server.js';
import type { ClusterView } from '../../netd/desired.js';
import { recordComparisons } from './report.js';

const gateway = '127.0.0.53';
const port = 5353;
const echoPort = 5354;
const warmup = 500;
const queries = 10_000;
const rounds = 10;
const replyTimeoutMs = 2_000;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

/** Sequential request/response round trips to `host:port`; returns the latencies in ms. */
async function roundTrips(host: string, target: number, count: number, message: (i: number) => Buffer, check: (reply: Buffer) => void): Promise<number[]> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      const reply = await new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no reply within ${replyTimeoutMs} ms`)), replyTimeoutMs);
        socket.once('message', (m) => {
          clearTimeout(timer);
          resolve(m);
        });
        socket.send(message(i), target, host);
      });
      times.push(performance.now() - start);
      check(reply);
    }
  } finally {
    socket.close();
  }
  return times;
}

async function main(): Promise<void> {
  const endpoints = Array.from({ length: 100 }, (_, i) => ({
    id: `t${i}.net`,
    networkId: 'net',
    hostAddress: i % 2 === 0 ? '198.18.0.1' : '198.18.0.2',
    netns: i % 2 === 0 ? `ns${i}` : '-',
    address: `10.0.${Math.floor(i / 200)}.${(i % 200) + 10}`,
    serviceId: 'web',
    dnsNames: [`web.${i + 1}`],
  }));
  const view: ClusterView = {
    hostAddress: '198.18.0.1',
    underlayDevice: 'eth0',
    networks: [{ id: 'net', vni: 4097, subnet: '10.0.0.0/16', gateway, internal: false }],
    endpoints,
    services: [{ id: 'web', name: 'web', networkId: 'net', vip: '10.0.0.2', ports: [] }],
  };
  const server = new DnsServer({ upstreams: [], port });
  const echo = createSocket('udp4');
  try {
    server.setZone(dnsZoneForHost(view));
    await server.listen();
    echo.on('message', (m, r) => echo.send(m, r.port, r.address));
    await new Promise<void>((resolve) => echo.bind(echoPort, '127.0.0.1', resolve));

    // Checked from the header (answer count, rcode) so the client adds little garbage of its own.
    const kinds: [string, string, (answers: number, rcode: number) => boolean][] = [
      ['service name (VIP)', 'web', (n) => n === 1],
      ['tasks.NAME (100 tasks)', 'tasks.web', (n) => n === 100],
      ['missing name (NXDOMAIN)', 'nosuch', (_n, rcode) => rcode === 3],
    ];
    const comparisons = [];
    for (const [label, name, ok] of kinds) {
      // DNS and echo alternate in rounds, so both sides meet the same noise of a busy machine.
      const dnsTimes: number[] = [];
      const echoTimes: number[] = [];
      await roundTrips(gateway, port, warmup, (i) => encodeQuery(i & 0xffff, name), () => undefined);
      await roundTrips('127.0.0.1', echoPort, warmup, (i) => encodeQuery(i & 0xffff, name), () => undefined);
      for (let round = 0; round < rounds; round++) {
        dnsTimes.push(
          ...(await roundTrips(gateway, port, queries / rounds, (i) => encodeQuery(i & 0xffff, name, DnsType.A), (reply) => {
            if (!ok(reply.readUInt16BE(6), reply.readUInt16BE(2) & 0xf)) throw new Error(`${name}: unexpected answer ${JSON.stringify(parseResponse(reply))}`);
          })),
        );
        echoTimes.push(...(await roundTrips('127.0.0.1', echoPort, queries / rounds, (i) => encodeQuery(i & 0xffff, name), () => undefined)));
      }
      const [p50, p99, echoP50, echoP99] = [percentile(dnsTimes, 50), percentile(dnsTimes, 99), percentile(echoTimes, 50), percentile(echoTimes, 99)];
      console.log(`${label}: p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms (echo p50 ${echoP50.toFixed(3)} ms, p99 ${echoP99.toFixed(3)} ms)`);
      comparisons.push({
        name: `netd DNS vs bare UDP echo, ${label}, p99 latency`,
        ratio: echoP99 / p99,
        detail: `${queries} sequential queries on loopback, alternating with as many echoes in ${rounds} rounds: DNS p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms (target p99 < 2 ms: ${p99 < 2 ? 'met' : 'MISSED'}); echo p50 ${echoP50.toFixed(3)} ms, p99 ${echoP99.toFixed(3)} ms`,
      });
    }
    await recordComparisons('netd', comparisons);
  } finally {
    echo.close();
    await server.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
