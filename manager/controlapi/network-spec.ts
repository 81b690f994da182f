/**
 * Checking a NetworkSpec a user sends with CreateNetwork (`tsswarm network create`), with docker's
 * rules: a valid name that is not one of docker's predefined networks, the overlay driver (the
 * default; tsswarm has no other), IPv4 only, at most one user-given subnet with its `--gateway`
 * and `--ip-range` inside it (the allocator's CIDR helpers), an ingress network that is not
 * attachable. Every problem is reported at once, in one INVALID_ARGUMENT error. Overlaps with other
 * networks are checked against the store by CreateNetwork.
 */
import { ErrorCode, TsswarmError, errorMessage } from '../../lib/errors.js';
import { cidrContains, cidrWithin, lastAddress, maxSubnetPrefix, parseAddress, parseCidr, type Cidr } from '../allocator/index.js';
import { IPAMFamily, type IPAMConfig, type NetworkSpec } from '../../proto/index.js';
import { labelProblems } from './node-spec.js';
import { nameProblem } from './spec-checks.js';

/** The only network driver tsswarm has (and the default). */
export const overlayDriver = 'overlay';
/** The only IPAM driver tsswarm has (and the default). */
export const defaultIpamDriver = 'default';
/** The driver of one-host networks (a host's daemon makes them, not the managers). */
export const bridgeDriver = 'bridge';
/** Names docker keeps for its own networks; a swarm network cannot take them. */
export const predefinedNetworkNames: readonly string[] = ['bridge', 'host', 'none', 'default'];
/** Most labels a network's spec may carry. */
export const maxNetworkLabels = 256;
/** Most user-given IPAM configs (subnets) per network: the allocator gives a network one subnet. */
export const maxIpamConfigs = 1;

/** The user-given subnet of a checked spec, parsed (undefined when the allocator picks one). */
export function requestedSubnet(spec: NetworkSpec): Cidr | undefined {
  const subnet = spec.ipam?.configs[0]?.subnet ?? '';
  return subnet === '' ? undefined : parseCidr(subnet);
}

/**
 * The spec to store: `spec` checked, with the overlay driver and the default IPAM driver filled in
 * when left out, and IPv4 as the family of each IPAM config. Throws INVALID_ARGUMENT listing every
 * problem.
 */
export function validateNetworkSpec(spec: NetworkSpec | undefined, expectedDriver: typeof overlayDriver | typeof bridgeDriver = overlayDriver): NetworkSpec {
  if (spec === undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'invalid network spec: a spec is required');
  const problems: string[] = [];
  const name = spec.annotations?.name ?? '';
  if (name === '') problems.push('a network name is required');
  else {
    const bad = nameProblem('network', name);
    if (bad !== undefined) problems.push(bad);
    else if (predefinedNetworkNames.includes(name)) problems.push(`${name} is a pre-defined network and cannot be created`);
  }
  problems.push(...labelProblems(spec.annotations?.labels ?? {}, maxNetworkLabels));
  const driver = spec.driver?.name ?? '';
  if (driver !== '' && driver !== expectedDriver) {
    problems.push(
      expectedDriver === overlayDriver
        ? `network driver ${JSON.stringify(driver)} is not supported (--driver): swarm networks use the ${overlayDriver} driver, one-host networks the ${bridgeDriver} driver`
        : `network driver ${JSON.stringify(driver)} is not a local driver: this host's own networks use the ${bridgeDriver} driver`,
    );
  }
  if (expectedDriver === bridgeDriver) {
    if (spec.ingress) problems.push('a bridge network cannot be the ingress network (--ingress)');
    if (Object.hasOwn(spec.driver?.options ?? {}, 'encrypted')) problems.push('a bridge network cannot be encrypted (--opt encrypted): its traffic never leaves the host');
  }
  if (spec.ingress && spec.attachable) problems.push('an ingress network cannot be attachable (--ingress with --attachable)');
  if (spec.ipv6Enabled) problems.push('IPv6 is not supported (--ipv6): overlay networks are IPv4 only');
  const ipamDriver = spec.ipam?.driver?.name ?? '';
  if (ipamDriver !== '' && ipamDriver !== defaultIpamDriver) {
    problems.push(`IPAM driver ${JSON.stringify(ipamDriver)} is not supported (--ipam-driver): only ${defaultIpamDriver}`);
  }
  const configs = spec.ipam?.configs ?? [];
  if (configs.length > maxIpamConfigs) problems.push(`a network has at most ${maxIpamConfigs} subnet (--subnet), not ${configs.length}`);
  configs.slice(0, maxIpamConfigs).forEach((c, i) => problems.push(...ipamConfigProblems(c, `ipam.configs[${i}]`)));
  if (problems.length > 0) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `invalid network spec: ${problems.join('; ')}`);

  const normalized = structuredClone(spec);
  normalized.driver = { name: expectedDriver, options: spec.driver?.options ?? {} };
  normalized.ipam = {
    driver: { name: defaultIpamDriver, options: spec.ipam?.driver?.options ?? {} },
    configs: configs.map((c) => ({ ...c, family: IPAMFamily.IPV4 })),
  };
  return normalized;
}

/** The problems of one IPAM config: subnet, ip-range and gateway. */
function ipamConfigProblems(c: IPAMConfig, field: string): string[] {
  const problems: string[] = [];
  if (c.family === IPAMFamily.IPV6) problems.push(`${field}: IPv6 subnets are not supported`);
  else if (c.family !== IPAMFamily.IPV4 && c.family !== IPAMFamily.UNKNOWN) problems.push(`${field}.family ${c.family} is not an address family`);
  if (c.subnet === '') {
    if (c.ipRange !== '' || c.gateway !== '') problems.push(`${field}: --gateway and --ip-range need a --subnet to lie in`);
    return problems;
  }
  let subnet: Cidr;
  try {
    subnet = parseCidr(c.subnet, 'subnet');
  } catch (err) {
    problems.push(`${field}.subnet (--subnet): ${errorMessage(err)}`);
    return problems;
  }
  if (subnet.prefix > maxSubnetPrefix) problems.push(`${field}.subnet (--subnet) ${c.subnet} is too small: the longest prefix is /${maxSubnetPrefix}`);
  if (c.ipRange !== '') {
    try {
      const range = parseCidr(c.ipRange, 'ip-range');
      if (!cidrWithin(range, subnet)) problems.push(`${field}.ip_range (--ip-range): subnet ${c.subnet} does not contain range ${c.ipRange}`);
    } catch (err) {
      problems.push(`${field}.ip_range (--ip-range): ${errorMessage(err)}`);
    }
  }
  if (c.gateway !== '') {
    try {
      const gateway = parseAddress(c.gateway, 'gateway');
      if (!cidrContains(subnet, gateway)) problems.push(`${field}.gateway (--gateway): subnet ${c.subnet} does not contain gateway ${c.gateway}`);
      else if (subnet.prefix < 31 && (gateway === subnet.base || gateway === lastAddress(subnet))) {
        problems.push(`${field}.gateway (--gateway) ${c.gateway} is the network or broadcast address of ${c.subnet}`);
      }
    } catch (err) {
      problems.push(`${field}.gateway (--gateway): ${errorMessage(err)}`);
    }
  }
  return problems;
}
