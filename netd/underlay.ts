/**
 * The host's underlay: the interface holding the address the node advertises (VXLAN packets leave
 * by it, from that address). In a lab host that is `eth0` with the host's 198.18.x.y address; on a
 * real host whatever interface holds the advertise address. Read with `ip -j -4 addr show` in the
 * host's namespace.
 */
import { ErrorCode, TsswarmError } from '../lib/errors.js';
import type { NetdExecutor } from './executor.js';

/** The underlay of one host. */
export interface Underlay {
  readonly address: string;
  readonly device: string;
}

/** The interface holding `address` in `ip -j -4 addr show` output, if any (pure). */
export function deviceHolding(ipAddrJson: string, address: string): string | undefined {
  const links = JSON.parse(ipAddrJson === '' ? '[]' : ipAddrJson) as { ifname?: string; addr_info?: { family?: string; local?: string }[] }[];
  for (const link of links) {
    if ((link.addr_info ?? []).some((a) => a.family === 'inet' && a.local === address)) return link.ifname;
  }
  return undefined;
}

/** The host part of an IPv4 advertise address ("198.18.0.2:2377" → "198.18.0.2"); other text is returned as given. */
export function advertiseHost(advertiseAddr: string): string {
  return /^(\d{1,3}(?:\.\d{1,3}){3})(?::\d+)?$/.exec(advertiseAddr.trim())?.[1] ?? advertiseAddr.trim();
}

/** Finds the interface holding `address` in the host's namespace; NOT_FOUND when none does. */
export async function findUnderlay(exec: NetdExecutor, address: string): Promise<Underlay> {
  const device = deviceHolding(await exec.run('ip', ['-j', '-4', 'addr', 'show']), address);
  if (device === undefined) {
    throw new TsswarmError(ErrorCode.NOT_FOUND, `netd: no interface in ${exec.where} holds the advertise address ${address}; overlay traffic needs it as its underlay`);
  }
  return { address, device };
}
