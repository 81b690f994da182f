/**
 * Addresses as the store keeps them and as netd wants them (pure): the allocator writes task
 * addresses and VIPs in CIDR notation ("10.0.1.5/24"), netd takes bare IPv4 addresses; a node's
 * status.addr is the address its session came from, which grpc-js may report IPv4-mapped.
 */

const ipv4Pattern = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The bare IPv4 address of `text` ("10.0.1.5/24", "10.0.1.5", "::ffff:10.0.1.5"), or undefined when it holds none. */
export function bareIpv4(text: string): string | undefined {
  let s = text.trim();
  const slash = s.indexOf('/');
  if (slash >= 0) s = s.slice(0, slash);
  if (s.toLowerCase().startsWith('::ffff:')) s = s.slice('::ffff:'.length);
  return ipv4Pattern.test(s) ? s : undefined;
}

/** The IPv4 subnet of `text` in CIDR notation, or undefined when it is not one. */
export function ipv4Subnet(text: string): string | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text.trim());
  if (!m) return undefined;
  const prefix = Number(m[2]);
  const address = bareIpv4(m[1] ?? '');
  return address !== undefined && prefix >= 1 && prefix <= 32 ? `${address}/${prefix}` : undefined;
}

/** Compares two strings by code unit (a stable order independent of locale). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
