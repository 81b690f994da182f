/**
 * Which registries may be spoken to over plain HTTP. Only loopback (127.0.0.0/8, ::1, localhost)
 * and lab (198.18.0.0/15) addresses may be named with `--insecure-registry`; anything else is
 * refused, so a typo cannot send credentials or images in clear text across a real network. Pure.
 */
import { invalidArgument } from '../../lib/errors.js';

const hostPortRe = /^(?:\[([0-9a-fA-F:.]+)\]|([a-zA-Z0-9.-]+))(?::([0-9]{1,5}))?$/;

/** A registry host split into name and port. */
export interface RegistryHost {
  readonly hostname: string;
  readonly port?: number;
}

/** Parses `host[:port]` (IPv6 in brackets); INVALID_ARGUMENT when malformed. */
export function parseRegistryHost(text: string): RegistryHost {
  const m = hostPortRe.exec(text);
  const port = m?.[3] !== undefined ? Number(m[3]) : undefined;
  if (!m || (port !== undefined && (port < 1 || port > 65535))) {
    throw invalidArgument(`invalid registry ${JSON.stringify(text)}: want host[:port], e.g. 127.0.0.1:5000`);
  }
  return { hostname: (m[1] ?? m[2] ?? '').toLowerCase(), ...(port !== undefined ? { port } : {}) };
}

function ipv4(text: string): [number, number, number, number] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number) as [number, number, number, number];
}

/** True for loopback addresses and names (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '::1') return true;
  return ipv4(hostname)?.[0] === 127;
}

/** True for the lab underlay 198.18.0.0/15. */
export function isLabHost(hostname: string): boolean {
  const a = ipv4(hostname);
  return a !== undefined && a[0] === 198 && (a[1] === 18 || a[1] === 19);
}

/**
 * Checks the `--insecure-registry` values and returns them normalised (lowercase host[:port]).
 * Throws INVALID_ARGUMENT naming the first one that is not a loopback or lab address.
 */
export function validateInsecureRegistries(values: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const v of values) {
    const h = parseRegistryHost(v);
    if (!isLoopbackHost(h.hostname) && !isLabHost(h.hostname)) {
      throw invalidArgument(
        `--insecure-registry ${v} refused: plain HTTP is allowed only for loopback (127.0.0.0/8, ::1, localhost) or lab (198.18.0.0/15) addresses`,
      );
    }
    out.add(v.toLowerCase());
  }
  return out;
}

/** The base URL of a registry: http:// only when the host is in the validated insecure set. */
export function registryBaseUrl(host: string, insecure: ReadonlySet<string>): string {
  return `${insecure.has(host.toLowerCase()) ? 'http' : 'https'}://${host}`;
}
