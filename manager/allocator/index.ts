/** The allocator's pure pieces: IPv4 CIDR arithmetic, VNI allocation, and IPAM for overlay networks. */
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
