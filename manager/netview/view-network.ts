/**
 * A store Network as netd needs it (pure): only once the allocator has given it a VNI and an IPv4
 * subnet with a gateway; before that no node can build it and the view leaves it (and every
 * endpoint on it) out.
 */
import { IPAMFamily, type Network, type NetworkViewNetwork } from '../../proto/index.js';
import { bareIpv4, ipv4Subnet } from './addresses.js';

/** The driver of a host's one-host networks (daemon/local-networks.ts). */
export const localBridgeDriver = 'bridge';

/** The driver option that asks for an encrypted overlay (`--opt encrypted`). */
export const encryptedOption = 'encrypted';

/** The network as netd needs it, or undefined while it is not (fully) allocated or is being removed. */
export function viewNetwork(network: Network): NetworkViewNetwork | undefined {
  if (network.vni <= 0) return undefined;
  const pool = (network.ipam?.configs ?? []).find((c) => c.family !== IPAMFamily.IPV6 && ipv4Subnet(c.subnet) !== undefined);
  if (pool === undefined) return undefined;
  const subnet = ipv4Subnet(pool.subnet);
  const gateway = bareIpv4(pool.gateway);
  if (subnet === undefined || gateway === undefined) return undefined;
  const options = network.spec?.driver?.options ?? {};
  return {
    id: network.id,
    name: network.spec?.annotations?.name ?? '',
    vni: network.vni,
    subnet,
    gateway,
    internal: network.spec?.internal ?? false,
    encrypted: Object.hasOwn(options, encryptedOption),
    ingress: network.spec?.ingress ?? false,
    ...(network.driverState?.name === localBridgeDriver ? { local: true } : {}),
  };
}
