/**
 * netd's nftables rules for a host (pure): one table, replaced whole in one `nft -f` transaction,
 * whose comment is a fingerprint of its body so an unchanged ruleset costs nothing to check.
 *  - isolation: nothing is routed from one overlay bridge to another;
 *  - `--internal` networks: nothing is routed in or out, and their endpoints reach only their own
 *    gateway address on the host;
 *  - outbound traffic of other networks leaves through the host's routes, masqueraded to the
 *    host's address (what Docker's gwbridge does, without a second interface per endpoint);
 *  - the routing mesh: published ports on any of the host's addresses DNAT to the service's tasks
 *    on the ingress network, SNATed to this host's ingress address (Docker's ingress-sbox);
 *    A local-only port goes to this host's tasks only and is not SNATed (the client's address is kept);
 *  - host-mode ports: this host's port DNATs to one local task, keeping the client's address.
 * Traffic inside one network is bridged; it meets these rules only when br_netfilter is loaded, and
 * then it passes (in and out by the same bridge).
 */
import { createHash } from 'node:crypto';
import { type DesiredNetwork, type HostPort, bridgeName, devicePrefix, nftTable } from './model.js';

/** The conntrack mark of routing-mesh connections sent to a local task only (not SNATed). */
export const localOnlyMark = '0x7473';

/** The body of netd's table for these networks (without the comment). */
export function nftRules(networks: readonly DesiredNetwork[], hostPorts: readonly HostPort[] = []): string[] {
  const anyBridge = `"${devicePrefix.bridge}*"`;
  const forward: string[] = [];
  const input: string[] = [];
  const postrouting: string[] = [];
  const published: string[] = [];
  for (const n of [...networks].sort((a, b) => a.vni - b.vni)) {
    const br = `"${bridgeName(n.vni)}"`;
    // With br_netfilter loaded, bridged traffic inside a network shows up here with iif = oif =
    // its bridge: it must pass, so rules compare against the network's own bridge.
    for (const p of n.published ?? []) {
      // The routing mesh: a published port on any local address goes to a task, round robin,
      // and leaves with this host's ingress address so the reply comes back here.
      const match = `fib daddr type local ${p.protocol} dport ${p.publishedPort}`;
      if (p.backends.length === 0) continue;
      const map = p.backends.map((b, i) => `${i} : ${b}`).join(', ');
      // Local-only ports mark their connections so that the SNAT below leaves them alone.
      const mark = p.localOnly === true ? `ct mark set ${localOnlyMark} ` : '';
      published.push(`${match} ${mark}dnat ip to numgen inc mod ${p.backends.length} map { ${map} } : ${p.targetPort}`);
    }
    if (n.hostAddress !== undefined && (n.published ?? []).length > 0) {
      const keep = (n.published ?? []).some((p) => p.localOnly === true) ? `ct mark != ${localOnlyMark} ` : '';
      postrouting.push(`ip daddr ${n.subnet} oifname ${br} ct status dnat ${keep}snat ip to ${n.hostAddress}`);
    }
    if (n.internal) {
      forward.push(`iifname ${br} oifname != ${br} drop`, `oifname ${br} iifname != ${br} drop`);
      input.push(`iifname ${br} ip daddr != ${n.gateway} drop`);
    } else {
      forward.push(`iifname ${br} oifname ${anyBridge} oifname != ${br} drop`);
      // Outbound: leaves by the host's own routes with the host's address (Docker's gwbridge NAT).
      postrouting.push(`ip saddr ${n.subnet} oifname != ${anyBridge} masquerade`);
    }
  }
  // Host mode: this host's port goes to one local task, the client's address kept (no SNAT).
  for (const p of hostPorts) published.push(`fib daddr type local ${p.protocol} dport ${p.publishedPort} dnat ip to ${p.address}:${p.targetPort}`);
  return [
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    ...forward.map((r) => `    ${r}`),
    '  }',
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    ...input.map((r) => `    ${r}`),
    '  }',
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    ...published.map((r) => `    ${r}`),
    '  }',
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    ...published.map((r) => `    ${r}`),
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    ...postrouting.map((r) => `    ${r}`),
    '  }',
  ];
}

/** Fingerprint of a ruleset body. */
export function nftFingerprint(rules: readonly string[]): string {
  return `tsswarm:nft:${createHash('sha256').update(rules.join('\n')).digest('hex').slice(0, 16)}`;
}

/** An `nft -f` script that atomically replaces netd's table with `rules` (creating it if absent). */
export function nftReplaceScript(rules: readonly string[]): string {
  return [
    `table inet ${nftTable}`,
    `delete table inet ${nftTable}`,
    `table inet ${nftTable} {`,
    `  comment "${nftFingerprint(rules)}"`,
    ...rules,
    '}',
    '',
  ].join('\n');
}

/** An `nft -f` script that removes netd's table. */
export function nftDeleteScript(): string {
  return `delete table inet ${nftTable}\n`;
}

/** The fingerprint in `nft list table` output, or undefined when it carries none. */
export function parseNftFingerprint(listing: string): string | undefined {
  return /^\s*comment "([^"]*)"/m.exec(listing)?.[1];
}
