/**
 * The network view of one node (pure): what netd on that node needs from the cluster, computed
 * from the store's nodes, tasks, services and networks. The node gets
 * - the networks it has endpoint tasks on, plus the ingress network while some service publishes
 *   a port through the routing mesh (every node is in the mesh);
 * - every endpoint on those networks, cluster-wide, with the underlay address of its node (the
 *   node's status.addr; endpoints of other nodes without a known address are left out, nobody
 *   could reach them);
 * - the VIPs of services on those networks, and the mesh (nodes' ingress addresses, published ports);
 * - the host-mode ports of its own tasks.
 * The node fills in what only it knows: its underlay device and its endpoints' namespaces.
 * Equal stores give equal views (everything is sorted), so a stream can compare encodings.
 */
import type { NetworkViewEndpoint, NetworkViewMessage, NetworkViewNetwork, NetworkViewService } from '../../proto/index.js';
import { bareIpv4, compareStrings } from './addresses.js';
import { hostPortsForNode } from './host-ports.js';
import { ingressNetworkOf, ingressView, publishedPorts } from './ingress.js';
import { serviceVips } from './service-vips.js';
import type { NetworkViewSource } from './source.js';
import { isEndpointTask, taskEndpoints } from './task-endpoints.js';
import { viewNetwork } from './view-network.js';

/** The view of node `nodeId` (sequence 0: the stream numbers what it sends). */
export function networkViewForNode(nodeId: string, source: NetworkViewSource): NetworkViewMessage {
  const hostAddrs = new Map<string, string>();
  for (const node of source.nodes) {
    const addr = bareIpv4(node.status?.addr ?? '');
    if (addr !== undefined) hostAddrs.set(node.id, addr);
  }
  const allocated = new Map<string, NetworkViewNetwork>();
  for (const n of source.networks) {
    const v = viewNetwork(n);
    if (v !== undefined) allocated.set(n.id, v);
  }

  const here = new Set<string>();
  const liveTasks = source.tasks.filter(isEndpointTask);
  for (const task of liveTasks) {
    if (task.nodeId !== nodeId) continue;
    for (const a of task.networks) if (allocated.has(a.networkId)) here.add(a.networkId);
  }
  const ingressNet = ingressNetworkOf(source.networks);
  const published = publishedPorts(source.services);
  const mesh = ingressNet !== undefined && allocated.has(ingressNet.id) && published.length > 0 ? ingressNet : undefined;
  if (mesh !== undefined) here.add(mesh.id);
  const wanted = (networkId: string): boolean => here.has(networkId);

  const endpoints: NetworkViewEndpoint[] = [];
  for (const task of liveTasks) {
    const hostAddr = hostAddrs.get(task.nodeId) ?? '';
    if (hostAddr === '' && task.nodeId !== nodeId) continue;
    endpoints.push(...taskEndpoints(task, hostAddr, wanted));
  }
  endpoints.sort((a, b) => compareStrings(a.networkId, b.networkId) || compareStrings(a.id, b.id));

  const services: NetworkViewService[] = source.services.flatMap((s) => serviceVips(s, wanted));
  services.sort((a, b) => compareStrings(a.networkId, b.networkId) || compareStrings(a.id, b.id));

  const networks = [...here].map((id) => allocated.get(id)).filter((n): n is NetworkViewNetwork => n !== undefined);
  networks.sort((a, b) => compareStrings(a.id, b.id));

  const hosts = [...hostAddrs.entries()].map(([id, hostAddr]) => ({ nodeId: id, hostAddr }));
  return {
    nodeId,
    hostAddr: hostAddrs.get(nodeId) ?? '',
    sequence: 0,
    networks,
    endpoints,
    services,
    ...(mesh !== undefined ? { ingress: ingressView(mesh, hosts, published) } : {}),
    hostPorts: hostPortsForNode(nodeId, source.tasks),
  };
}
