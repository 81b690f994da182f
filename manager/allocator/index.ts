/** The allocator: IPv4 CIDR arithmetic, VNI allocation, IPAM for overlay networks, published ports, and the leader's loop. */
export { type Cidr, parseAddress, formatAddress, parseCidr, formatCidr, cidrContains, cidrWithin, cidrOverlaps, lastAddress, blockSize } from './cidr.js';
export { VniAllocator, type VniState, defaultVniMin, maxVni } from './vni.js';
export {
  Ipam,
  type IpamConfig,
  type IpamState,
  type NetworkRequest,
  type NetworkAllocation,
  type NetworkState,
  type PoolConfig,
  defaultIpamConfig,
  maxSubnetPrefix,
} from './ipam.js';
export { PortAllocator, dynamicPortMin, dynamicPortMax } from './ports.js';
export {
  Allocator,
  publishesIngress,
  ingressNetworkName,
  vxlanIdOption,
  pendingSchedulingMessage,
  maxNetworksPerAllocatorPass,
  maxServicesPerAllocatorPass,
  maxTasksPerAllocatorPass,
  maxNodesPerAllocatorPass,
  nodeIngressKey,
  defaultSubnetSize,
  type AllocatorOptions,
} from './allocator.js';
