/**
 * VIP load balancing (pure): in each endpoint's namespace, an nftables table of its own
 * (`ip tsswarm_lb_<ifname>`, so a namespace on two networks has two) whose output NAT chain sends
 * a connection to VIP:port to one of the service's task addresses, round robin (`numgen inc`), so
 * backends get an even share. No IPVS on these kernels; conntrack keeps a connection on its backend
 * and undoes the translation on replies. A service without backends rejects at once (TCP reset,
 * ICMP unreachable for UDP) instead of letting clients time out. A table is replaced whole in one
 * `nft -f` transaction, so clients never see a half-updated backend set.
 */
import { createHash } from 'node:crypto';
import type { DesiredService } from './model.js';

/** nft table of the load balancer of the endpoint with interface `ifname`. */
export function lbTable(ifname: string): string {
  return `tsswarm_lb_${ifname.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** Fingerprint of an endpoint without services (no table). */
export const noLbFingerprint = 'none';

/** The rules for these services, in a stable order. */
export function lbRules(services: readonly DesiredService[]): string[] {
  const rules: string[] = [];
  for (const s of [...services].sort((a, b) => (a.vip < b.vip ? -1 : a.vip > b.vip ? 1 : 0))) {
    // The service's known ports first, then every other port and protocol of the VIP (as docker's
    // IPVS firewall mark does): a service that publishes nothing is still reached by its VIP.
    const ports: { readonly protocol: string; readonly port: number | undefined }[] = [
      ...[...s.ports].sort((a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : 1)),
      { protocol: 'any', port: undefined },
    ];
    for (const p of ports) {
      const match = p.port === undefined ? `ip daddr ${s.vip}` : `ip daddr ${s.vip} ${p.protocol} dport ${p.port}`;
      if (s.backends.length === 0) {
        rules.push(`${match} ${p.protocol === 'tcp' ? 'reject with tcp reset' : 'reject'}`);
      } else if (s.backends.length === 1) {
        rules.push(`${match} dnat to ${s.backends[0] ?? ''}`);
      } else {
        const map = s.backends.map((b, i) => `${i} : ${b}`).join(', ');
        rules.push(`${match} dnat to numgen inc mod ${s.backends.length} map { ${map} }`);
      }
    }
  }
  return rules;
}

/** Fingerprint of an endpoint's load balancer; `noLbFingerprint` when it has no services. */
export function lbFingerprint(services: readonly DesiredService[]): string {
  const rules = lbRules(services);
  return rules.length === 0 ? noLbFingerprint : createHash('sha256').update(rules.join('\n')).digest('hex').slice(0, 16);
}

/** An `nft -f` script that makes the endpoint's table exactly `rules` (or removes it when there are none). */
export function lbScript(ifname: string, services: readonly DesiredService[]): string {
  const table = lbTable(ifname);
  const rules = lbRules(services);
  const lines = [`table ip ${table}`, `delete table ip ${table}`];
  if (rules.length > 0) {
    lines.push(
      `table ip ${table} {`,
      '  chain output {',
      '    type nat hook output priority -100; policy accept;',
      ...rules.filter((r) => !r.includes(' reject')).map((r) => `    ${r}`),
      '  }',
      // Rejects need a filter chain: nat chains may not reject.
      '  chain filter_output {',
      '    type filter hook output priority 0; policy accept;',
      ...rules.filter((r) => r.includes(' reject')).map((r) => `    ${r}`),
      '  }',
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}
