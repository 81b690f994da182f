/**
 * Encrypted overlays (`--opt encrypted`). They need kernel ESP (xfrm with esp4); netd probes for it
 * and, where it is missing, refuses the network with a clear reason instead of making it
 * unencrypted. Where ESP exists the IPsec key exchange is not built yet, so the network is refused
 * too, with that reason. A refused network, its endpoints and services are left out of the host's
 * desired state; everything else is still made.
 */
import { ErrorCode, isTsswarmError } from '../lib/errors.js';
import type { NetdExecutor } from './executor.js';
import type { DesiredHostState } from './model.js';

/** A network netd would not make, and why. */
export interface RefusedNetwork {
  readonly networkId: string;
  readonly reason: string;
}

/** Addresses and SPI of the throwaway security association the probe adds and deletes (TEST-NET-1). */
const probe = { src: '192.0.2.1', dst: '192.0.2.2', spi: '0x74530001' } as const;

/** True when the host's kernel can do ESP: adding an ESP security association works (it is deleted again). */
export async function espSupported(exec: NetdExecutor): Promise<boolean> {
  const key = `0x${'00'.repeat(16)}`;
  const auth = `0x${'00'.repeat(32)}`;
  const sa = ['src', probe.src, 'dst', probe.dst, 'proto', 'esp', 'spi', probe.spi];
  try {
    await exec.run('ip', ['xfrm', 'state', 'add', ...sa, 'enc', 'cbc(aes)', key, 'auth', 'hmac(sha256)', auth]);
  } catch (err) {
    if (isTsswarmError(err, ErrorCode.EXTERNAL)) return false;
    throw err;
  }
  await exec.run('ip', ['xfrm', 'state', 'delete', ...sa]);
  return true;
}

/** The encrypted networks of `desired` and why each is refused (pure). */
export function refuseEncrypted(desired: DesiredHostState, espAvailable: boolean): RefusedNetwork[] {
  return desired.networks
    .filter((n) => n.encrypted === true)
    .map((n) => ({
      networkId: n.id,
      reason: espAvailable
        ? `network ${n.id} asks for encryption (--opt encrypted), which netd does not implement yet; it is not created rather than left unencrypted`
        : `network ${n.id} asks for encryption (--opt encrypted), which needs kernel ESP support (xfrm with esp4); this host's kernel has none, so the network is not created rather than left unencrypted`,
    }));
}

/** `desired` without the refused networks and everything on them (pure). */
export function withoutNetworks(desired: DesiredHostState, networkIds: ReadonlySet<string>): DesiredHostState {
  if (networkIds.size === 0) return desired;
  const keep = <T extends { readonly networkId: string }>(xs: readonly T[]): T[] => xs.filter((x) => !networkIds.has(x.networkId));
  return {
    ...desired,
    networks: desired.networks.filter((n) => !networkIds.has(n.id)),
    local: keep(desired.local),
    remote: keep(desired.remote),
    services: keep(desired.services),
  };
}
