/**
 * Names, limits and addresses of a lab (pure). A lab is a cluster of "hosts" on one machine: one
 * network namespace per host, joined by a bridge in a switch namespace, never linked to the root
 * namespace or any real interface.
 */
import { invalidArgument } from '../../lib/errors.js';

/** Longest lab name, so namespace and cgroup names stay short. */
export const maxLabNameChars = 20;
/** Most hosts one lab may have. */
export const maxLabHosts = 64;
/** Prefix of every network namespace a lab makes; `lab down --all` sweeps it. */
export const labNetnsPrefix = 'tss-';
/** Underlay address block for labs (RFC 2544 benchmarking range). */
export const labUnderlayBase = [198, 18] as const;
/** Number of /24 subnets in the 198.18.0.0/15 block, one per lab. */
export const labSubnetCount = 512;
/** Prefix length of a lab's underlay subnet. */
export const labPrefixLength = 24;
/** Bridge device in the switch namespace. */
export const labBridgeName = 'br0';
/** Underlay device in each host namespace. */
export const labHostDevice = 'eth0';

const labNamePattern = /^[a-z0-9][a-z0-9-]*$/;

/** Throws INVALID_ARGUMENT unless `name` is a usable lab name. */
export function validateLabName(name: string): void {
  if (name.length === 0) throw invalidArgument('lab name must not be empty');
  if (name.length > maxLabNameChars) {
    throw invalidArgument(`lab name "${name}" is too long (at most ${maxLabNameChars} characters)`);
  }
  if (!labNamePattern.test(name)) {
    throw invalidArgument(
      `invalid lab name ${JSON.stringify(name)}: use lowercase letters, digits and '-', starting with a letter or digit`,
    );
  }
}

/** Parses and checks a host count given on the command line. */
export function parseHostCount(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > maxLabHosts) {
    throw invalidArgument(`--hosts must be a whole number from 1 to ${maxLabHosts}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** The name of host `i` (1-based): h1, h2, ... */
export function hostName(i: number): string {
  return `h${i}`;
}

/** The network namespace of a lab host. */
export function hostNetns(lab: string, host: string): string {
  return `${labNetnsPrefix}${lab}-${host}`;
}

/** A namespace that something on a lab host makes for itself (an endpoint, a container): tss-LAB-hN.SUFFIX. */
export function hostSubNetns(hostNetnsName: string, suffix: string): string {
  return `${hostNetnsName}.${suffix}`;
}

/** The network namespace holding a lab's switch bridge. */
export function switchNetns(lab: string): string {
  return `${labNetnsPrefix}${lab}-sw`;
}

/** The switch port (veth end in the switch namespace) of host `i`. */
export function switchPort(i: number): string {
  return `p${i}`;
}

/** The /24 subnet with index `k` of the lab block, as "198.18.x.0/24". */
export function labSubnet(k: number): string {
  return `${subnetPrefix(k)}.0/${labPrefixLength}`;
}

/** The underlay address of host `i` in the subnet with index `k`. */
export function hostAddress(k: number, i: number): string {
  return `${subnetPrefix(k)}.${i}`;
}

function subnetPrefix(k: number): string {
  if (!Number.isInteger(k) || k < 0 || k >= labSubnetCount) throw invalidArgument(`lab subnet index ${k} out of range`);
  return `${labUnderlayBase[0]}.${labUnderlayBase[1] + (k >> 8)}.${k & 255}`;
}

/** The cgroup (relative to each controller's root) under which a lab host's containers go. */
export function hostCgroupParent(lab: string, host: string): string {
  return `tsswarm-lab-${lab}/${host}`;
}

/** The top cgroup of a lab, removed on `lab down`. */
export function labCgroupRoot(lab: string): string {
  return `tsswarm-lab-${lab}`;
}
