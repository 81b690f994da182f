/**
 * Where a standalone container's attachment put it, network by network, as the engine records it
 * for `container inspect` (pure).
 */
import { macFromAddress } from '../netd/model.js';
import type { Network, Task } from '../proto/index.js';
import type { JoinedEndpoint } from '../worker/engine/container-networks.js';

/** Where a task's attachments put it, by network (for `container inspect`). */
export function joinedEndpoints(task: Task, networks: ReadonlyMap<string, Network>): JoinedEndpoint[] {
  // The routing mesh's network is the daemon's business, not the container's (docker hides it too).
  return task.networks.filter((a) => networks.get(a.networkId)?.spec?.ingress !== true).map((a) => {
    const [address = '', prefix = '0'] = (a.addresses[0] ?? '').split('/');
    const n = networks.get(a.networkId);
    return {
      networkId: a.networkId,
      networkName: n?.spec?.annotations?.name ?? a.networkId,
      address,
      prefixLength: Number(prefix),
      mac: macFromAddress(address),
      gateway: (n?.ipam?.configs[0]?.gateway ?? '').split('/')[0] ?? '',
      aliases: [...a.aliases],
    };
  });
}
