/**
 * IPv4 addresses and CIDR blocks as unsigned 32-bit numbers (pure). Parsing is strict: a CIDR must
 * name its network address (10.0.0.0/24, not 10.0.0.7/24), so a typo never silently becomes a
 * different subnet.
 */
import { assert } from '../../lib/assert.js';
import { invalidArgument } from '../../lib/errors.js';

/** A CIDR block: its first address and prefix length. */
export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  readonly base: number;
  /** Prefix length, 0..32. */
  readonly prefix: number;
}

const octetPattern = /^(0|[1-9]\d{0,2})$/;

/** Parses a dotted-quad IPv4 address; throws INVALID_ARGUMENT naming `what` on bad input. */
export function parseAddress(text: string, what = 'address'): number {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => octetPattern.test(p) && Number(p) <= 255)) {
    throw invalidArgument(`invalid ${what} ${JSON.stringify(text)}: want an IPv4 address like 10.0.0.1`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** Formats an unsigned 32-bit number as a dotted quad. */
export function formatAddress(n: number): string {
  assert(Number.isInteger(n) && n >= 0 && n <= 0xffffffff, `address out of range: ${n}`);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Number of addresses in a block of this prefix length. */
export function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

/** Parses `a.b.c.d/len` strictly (host bits must be zero); throws INVALID_ARGUMENT naming `what`. */
export function parseCidr(text: string, what = 'subnet'): Cidr {
  const slash = text.indexOf('/');
  if (slash < 0) throw invalidArgument(`invalid ${what} ${JSON.stringify(text)}: want CIDR notation like 10.0.0.0/24`);
  const base = parseAddress(text.slice(0, slash), what);
  const lenText = text.slice(slash + 1);
  const prefix = /^\d{1,2}$/.test(lenText) ? Number(lenText) : Number.NaN;
  if (!(prefix >= 0 && prefix <= 32)) {
    throw invalidArgument(`invalid ${what} ${JSON.stringify(text)}: prefix length must be 0 to 32`);
  }
  if (base % blockSize(prefix) !== 0) {
    const net = base - (base % blockSize(prefix));
    throw invalidArgument(`invalid ${what} ${text}: host bits are set (did you mean ${formatAddress(net)}/${prefix}?)`);
  }
  return { base, prefix };
}

/** Formats a block as `a.b.c.d/len`. */
export function formatCidr(c: Cidr): string {
  return `${formatAddress(c.base)}/${c.prefix}`;
}

/** Last address of a block (its broadcast address). */
export function lastAddress(c: Cidr): number {
  return c.base + blockSize(c.prefix) - 1;
}

/** True when `address` lies inside block `c`. */
export function cidrContains(c: Cidr, address: number): boolean {
  return address >= c.base && address <= lastAddress(c);
}

/** True when block `inner` lies wholly inside block `outer`. */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return inner.prefix >= outer.prefix && cidrContains(outer, inner.base);
}

/** True when the two blocks share any address. */
export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return a.base <= lastAddress(b) && b.base <= lastAddress(a);
}
