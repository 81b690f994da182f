/**
 * Addresses of `swarm init|join`: `--listen-addr` and `--advertise-addr` take host, host:port or
 * (for listening) 0.0.0.0; the port defaults to 2377. When no advertise address is given, the one
 * non-loopback IPv4 address of the host is used, and more than one is an error that asks for
 * `--advertise-addr`, as docker does.
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { ErrorCode, TsswarmError, invalidArgument } from '../lib/errors.js';

/** The manager port. */
export const defaultManagerPort = 2377;

/** "host:port" from "host", "host:port" or "[v6]:port"; INVALID_ARGUMENT for anything else. */
export function normalizeAddr(text: string, what: string): string {
  const value = text.trim();
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(value);
  let host: string;
  let port: string | undefined;
  if (bracketed) {
    host = bracketed[1] as string;
    port = bracketed[2];
  } else {
    const parts = value.split(':');
    if (parts.length > 2) throw invalidArgument(`${what} ${JSON.stringify(text)}: write IPv6 addresses as [addr]:port`);
    host = parts[0] ?? '';
    port = parts[1];
  }
  if (host === '' || !/^[A-Za-z0-9.:-]+$/.test(host)) throw invalidArgument(`${what} ${JSON.stringify(text)} is not an address`);
  const portNumber = port === undefined ? defaultManagerPort : Number(port);
  if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) throw invalidArgument(`${what} ${JSON.stringify(text)}: port must be 1-65535`);
  return isIP(host) === 6 ? `[${host}]:${portNumber}` : `${host}:${portNumber}`;
}

/** The host part of "host:port". */
export function hostOf(addr: string): string {
  const bracketed = /^\[(.+)\]:\d+$/.exec(addr);
  return bracketed ? (bracketed[1] as string) : (addr.split(':')[0] as string);
}

/** The port of "host:port". */
export function portOf(addr: string): number {
  return Number(addr.slice(addr.lastIndexOf(':') + 1));
}

/**
 * The address this node advertises: the one given, else the listen address when it names one
 * host, else the host's only non-loopback IPv4 address.
 */
export function chooseAdvertiseAddr(advertise: string, listenAddr: string): string {
  const port = portOf(listenAddr);
  if (advertise !== '') {
    const addr = normalizeAddr(advertise, '--advertise-addr');
    return advertise.includes(':') && !advertise.startsWith('[') ? addr : `${addr.slice(0, addr.lastIndexOf(':'))}:${port}`;
  }
  const listenHost = hostOf(listenAddr);
  if (listenHost !== '0.0.0.0' && listenHost !== '::') return listenAddr;
  const candidates: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) candidates.push(a.address);
  }
  if (candidates.length === 1) return `${candidates[0] as string}:${port}`;
  if (candidates.length === 0) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'could not find an address to advertise: this host has no non-loopback IPv4 address; use --advertise-addr');
  throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `could not choose an IP address to advertise since this system has multiple addresses (${candidates.join(', ')}); use --advertise-addr`);
}
