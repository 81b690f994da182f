/** netview: the network view of one node (what netd there needs from the cluster), computed from the store (pure). */
export { networkViewForNode } from './node-view.js';
export { hostPortsForNode } from './host-ports.js';
export { sourceFromStore, type NetworkViewSource } from './source.js';
export { viewNetwork, encryptedOption } from './view-network.js';
export { isEndpointTask, isBackendTask, endpointId, taskEndpoints } from './task-endpoints.js';
export { serviceVips, vipPorts } from './service-vips.js';
export { ingressAddressKey, ingressAddressOf, ingressNetworkOf, ingressView, publishedPorts } from './ingress.js';
export { bareIpv4, ipv4Subnet, compareStrings } from './addresses.js';
