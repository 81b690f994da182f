/**
 * The embedded DNS server (thin): UDP and TCP on each network's gateway address, answers from the
 * current DnsZone, other names forwarded over UDP to the host's resolvers. The network of a query
 * is the address it arrived on, so names are scoped by network. Every forward is bounded in count
 * and time; a query the server cannot serve gets SERVFAIL, never silence.
 */
import { type Socket as UdpSocket, createSocket } from 'node:dgram';
import { type Server, type Socket, createServer } from 'node:net';
import { ErrorCode, TsswarmError } from '../lib/errors.js';
import { DnsFormatError, Rcode, encodeError, encodeResponse, messageId, parseQuery } from './dns-message.js';
import { type DnsZone, resolve } from './dns-records.js';

/** TTL of answers: short, because tasks come and go. */
export const dnsTtlSeconds = 5;
/** Time a forwarded query may take. */
export const dnsForwardTimeoutMs = 2_000;
/** Forwarded queries in flight at once; more get SERVFAIL at once. */
export const maxInflightForwards = 256;
/** Largest TCP message accepted (the 2-byte length prefix allows 65535). */
const maxTcpMessageBytes = 65_535;
/** Time an idle TCP connection is kept. */
const tcpIdleMs = 10_000;

/** Options of a DnsServer. */
export interface DnsServerOptions {
  /** Resolvers other names go to, `ip` or `ip:port` (from the host's resolv.conf). */
  readonly upstreams: readonly string[];
  /** Port to listen on (53). */
  readonly port?: number;
}

/** One embedded DNS server for a host. */
export class DnsServer {
  private zone: DnsZone = { names: new Map(), gateways: new Map() };
  /** Listeners per gateway address. */
  private readonly listeners = new Map<string, { readonly udp: UdpSocket; readonly tcp: Server }>();
  private inflight = 0;
  private nextUpstream = 0;

  constructor(private readonly options: DnsServerOptions) {}

  /** Replaces what the server answers (takes effect for the next query; call listen() to follow new gateways). */
  setZone(zone: DnsZone): void {
    this.zone = zone;
  }

  /**
   * Listens (UDP and TCP) on every gateway address of the current zone and stops listening on
   * gateways it no longer has. The network of a listener is looked up per query, so a gateway that
   * moves to another network needs no new socket.
   */
  async listen(): Promise<void> {
    const port = this.options.port ?? 53;
    for (const [address, l] of [...this.listeners]) {
      if (this.zone.gateways.has(address)) continue;
      this.listeners.delete(address);
      await closeListener(l);
    }
    for (const address of this.zone.gateways.keys()) {
      if (this.listeners.has(address)) continue;
      const networkOf = (): string => this.zone.gateways.get(address) ?? '';
      const udp = createSocket('udp4');
      udp.on('message', (msg, rinfo) => {
        void this.answer(networkOf(), msg).then((reply) => udp.send(reply, rinfo.port, rinfo.address));
      });
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, address, () => resolve());
      });
      const tcp = createServer((conn) => this.serveTcp(networkOf(), conn));
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, address, () => resolve());
        });
      } catch (err) {
        udp.close();
        throw err;
      }
      this.listeners.set(address, { udp, tcp });
    }
  }

  /** Stops listening everywhere. */
  async close(): Promise<void> {
    const all = [...this.listeners.values()];
    this.listeners.clear();
    await Promise.all(all.map(closeListener));
  }

  /** The reply to one query message that arrived for network `networkId`. Never rejects. */
  async answer(networkId: string, msg: Buffer): Promise<Buffer> {
    let q;
    try {
      q = parseQuery(msg);
    } catch (err) {
      if (!(err instanceof DnsFormatError)) throw err;
      return encodeError(messageId(msg) ?? 0, Rcode.FORMERR);
    }
    const decision = resolve(this.zone, networkId, q.name, q.type);
    if (decision.kind === 'answer') return encodeResponse(q, decision.rcode, decision.addresses, dnsTtlSeconds);
    return (await this.forward(msg).catch(() => undefined)) ?? encodeResponse(q, Rcode.SERVFAIL, [], 0);
  }

  private serveTcp(networkId: string, conn: Socket): void {
    let buffered = Buffer.alloc(0);
    conn.setTimeout(tcpIdleMs, () => conn.destroy());
    conn.on('error', () => conn.destroy());
    conn.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (len === 0 || len > maxTcpMessageBytes) return void conn.destroy();
        if (buffered.length < 2 + len) return;
        const msg = buffered.subarray(2, 2 + len);
        buffered = buffered.subarray(2 + len);
        void this.answer(networkId, Buffer.from(msg)).then((reply) => {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(reply.length);
          if (!conn.destroyed) conn.write(Buffer.concat([prefix, reply]));
        });
      }
    });
  }

  /** Sends the query to the next upstream; resolves with its reply, or undefined. */
  private async forward(msg: Buffer): Promise<Buffer | undefined> {
    const upstreams = this.options.upstreams;
    if (upstreams.length === 0) return undefined;
    if (this.inflight >= maxInflightForwards) {
      throw new TsswarmError(ErrorCode.QUEUE_FULL, `more than ${maxInflightForwards} forwarded DNS queries in flight`);
    }
    const target = upstreams[this.nextUpstream++ % upstreams.length] ?? '';
    const [host, portText] = target.split(':');
    this.inflight++;
    const sock = createSocket('udp4');
    try {
      return await new Promise<Buffer | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), dnsForwardTimeoutMs);
        sock.on('error', () => {
          clearTimeout(timer);
          resolve(undefined);
        });
        sock.on('message', (reply) => {
          if (messageId(reply) !== messageId(msg)) return;
          clearTimeout(timer);
          resolve(reply);
        });
        sock.send(msg, Number(portText ?? 53) || 53, host ?? '');
      });
    } finally {
      this.inflight--;
      sock.close();
    }
  }
}

function closeListener(l: { readonly udp: UdpSocket; readonly tcp: Server }): Promise<void> {
  l.udp.close();
  return new Promise<void>((resolve) => l.tcp.close(() => resolve()));
}

/** IPv4 nameservers of a resolv.conf text (the server runs on the host, so loopback ones are reachable). */
export function parseResolvConf(text: string): string[] {
  return text
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(l)?.[1])
    .filter((a): a is string => a !== undefined);
}
