/**
 * Runs netd's DNS server for a lab test inside a lab host's namespace (spawned with
 * `ip netns exec`): the zone comes as JSON in argv[2] ({ names: [[net, [[name, [addr]]]]], gateways:
 * [[addr, net]] }), upstreams in argv[3] (comma-separated); prints "ready" once it listens and
 * stops on SIGTERM.
 */
import { DnsServer } from '../../netd/dns-server.js';

const raw = JSON.parse(process.argv[2] ?? '{}') as { names: [string, [string, string[]][]][]; gateways: [string, string][] };
const server = new DnsServer({ upstreams: (process.argv[3] ?? '').split(',').filter((u) => u !== '') });
server.setZone({ names: new Map(raw.names.map(([net, names]) => [net, new Map(names)])), gateways: new Map(raw.gateways) });
await server.listen();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
