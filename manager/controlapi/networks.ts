/**
 * What CreateNetwork and RemoveNetwork decide, as pure functions of the store's contents: the
 * network to create (checked spec, new ID, no allocation yet: the allocator loop gives it a subnet
 * and VNI from the store), or the network to remove, with SwarmKit's refusals: a name taken, a
 * second ingress network, a subnet that overlaps another network's, a network still used by a
 * service or a running task, the ingress network while a service publishes through the routing mesh.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { cidrOverlaps, formatCidr, parseCidr, type Cidr } from '../allocator/index.js';
import { Network, TaskState, type NetworkSpec } from '../../proto/index.js';
import { needsIngress } from './endpoint-spec.js';
import { requestedSubnet, validateNetworkSpec } from './network-spec.js';
import { ingressNetworkOf } from './service-references.js';
import type { StoreView } from './store-access.js';

/** How a network is named in messages: its name, or its ID when it has none. */
export function networkLabel(network: Network): string {
  return network.spec?.annotations?.name || network.id;
}

/** The subnets a network holds: the ones its spec asks for and the ones the allocator gave it. */
export function subnetsOf(network: Network): Cidr[] {
  const texts = [...(network.spec?.ipam?.configs ?? []), ...(network.ipam?.configs ?? [])].map((c) => c.subnet).filter((s) => s !== '');
  const subnets: Cidr[] = [];
  for (const text of new Set(texts)) {
    try {
      subnets.push(parseCidr(text));
    } catch {
      // A stored subnet that does not parse (not written by this API) cannot be compared; skip it.
    }
  }
  return subnets;
}

/**
 * The network CreateNetwork stores for `spec`. INVALID_ARGUMENT for a bad spec, ALREADY_EXISTS for a
 * name in use or a second ingress network, CONFLICT for a subnet overlapping another network's.
 */
export function planNetworkCreate(view: StoreView, spec: NetworkSpec | undefined, newId: () => string): Network {
  const checked = validateNetworkSpec(spec);
  const name = checked.annotations?.name ?? '';
  if (view.byName('network', name) !== undefined) throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `network with name ${name} already exists`);
  const networks = view.list('network');
  if (checked.ingress) {
    const ingress = ingressNetworkOf(networks);
    if (ingress !== undefined) {
      throw new TsswarmError(ErrorCode.ALREADY_EXISTS, `ingress network ${networkLabel(ingress)} (${ingress.id}) is already present; a swarm has only one`);
    }
  }
  const subnet = requestedSubnet(checked);
  if (subnet !== undefined) {
    for (const other of networks) {
      const clash = subnetsOf(other).find((s) => cidrOverlaps(s, subnet));
      if (clash !== undefined) {
        throw new TsswarmError(
          ErrorCode.CONFLICT,
          `subnet ${formatCidr(subnet)} overlaps with subnet ${formatCidr(clash)} of network ${networkLabel(other)} (${other.id}); choose another --subnet`,
        );
      }
    }
  }
  return Network.create({ id: newId(), spec: checked });
}

/** True while a task may still use its network attachments (neither it nor its container is done). */
function taskHoldsNetworks(state: number, desired: number): boolean {
  return desired <= TaskState.RUNNING && state <= TaskState.RUNNING;
}

/**
 * The network RemoveNetwork removes. NOT_FOUND for an unknown ID, CONFLICT while a service attaches
 * to it or a live task holds an address on it ("network X is in use by service Y"), and for the
 * ingress network while a service publishes a port through the routing mesh.
 */
export function planNetworkRemoval(view: StoreView, networkId: string): Network {
  if (networkId === '') throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'a network ID is required');
  const network = view.get('network', networkId);
  if (network === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, `network ${networkId} not found`);
  const label = networkLabel(network);
  const services = view.list('service');
  if (network.spec?.ingress === true) {
    const user = services.find((s) => needsIngress(s.spec));
    if (user !== undefined) {
      throw new TsswarmError(
        ErrorCode.CONFLICT,
        `ingress network ${label} cannot be removed because service ${user.spec?.annotations?.name ?? user.id} (${user.id}) depends on it: it publishes ports through the routing mesh`,
      );
    }
    return network;
  }
  const user = services.find((s) => (s.spec?.task?.networks ?? []).some((n) => n.target === network.id));
  if (user !== undefined) {
    throw new TsswarmError(ErrorCode.CONFLICT, `network ${label} is in use by service ${user.spec?.annotations?.name ?? user.id} (${user.id})`);
  }
  const tasks = view.list('task');
  const container = tasks.find((t) => t.spec?.attachment !== undefined && (t.spec.networks.some((n) => n.target === network.id) || t.networks.some((n) => n.networkId === network.id)));
  if (container !== undefined) {
    throw new TsswarmError(ErrorCode.CONFLICT, `network ${label} is in use by container ${container.annotations?.name ?? container.spec?.attachment?.containerId} on node ${container.nodeId} (remove the container first)`);
  }
  const task = tasks.find((t) => taskHoldsNetworks(t.status?.state ?? TaskState.NEW, t.desiredState) && t.networks.some((n) => n.networkId === network.id));
  if (task !== undefined) throw new TsswarmError(ErrorCode.CONFLICT, `network ${label} is in use by task ${task.id}`);
  return network;
}
