/**
 * The manager's port (2377 by default), owned by us rather than by grpc-js: every connection's
 * first byte is checked before gRPC sees it. A TLS handshake starts with a handshake record (0x16);
 * anything else (plain HTTP, port scanners, garbage) is refused and logged with the peer's address,
 * and a connection that sends nothing is dropped after `firstByteTimeoutMs`. TLS connections are
 * handed to the gRPC server through a connection injector, so mutual TLS and the authorization
 * interceptor work as with `bindAsync`. Refusal lines are rate limited: at most
 * `maxRefusalLogsPerMinute` a minute, then one line with the number left out.
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Server, ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from '../lib/log.js';
import { hostOf, portOf } from '../daemon/addresses.js';

/** The first byte of a TLS record carrying a handshake message (RFC 8446, 5.1). */
const tlsHandshakeRecord = 0x16;
/** How long a new connection may stay silent before it is dropped. */
export const firstByteTimeoutMs = 10_000;
/** Most refusal lines logged per minute. */
export const maxRefusalLogsPerMinute = 20;

/** The listening port; close() stops accepting and drops connections not yet handed to gRPC. */
export interface PeerListener {
  readonly port: number;
  close(): void;
}

/** Why a connection was refused before gRPC saw it. */
export type Refusal = 'not TLS' | 'silent';

/** Counts refusals and says which to log: the first `limit` of each minute, then a summary. */
export class RefusalLog {
  private windowStart = 0;
  private logged = 0;
  private skipped = 0;

  constructor(
    private readonly log: Logger,
    private readonly limit = maxRefusalLogsPerMinute,
    private readonly now: () => number = Date.now,
    private readonly silentMs = firstByteTimeoutMs,
  ) {}

  refused(peer: string, why: Refusal): void {
    const now = this.now();
    if (now - this.windowStart >= 60_000) {
      if (this.skipped > 0) this.log.warn({ skipped: this.skipped }, `refused ${this.skipped} more connections on the manager port in the last minute (not logged one by one)`);
      this.windowStart = now;
      this.logged = 0;
      this.skipped = 0;
    }
    if (this.logged >= this.limit) {
      this.skipped++;
      return;
    }
    this.logged++;
    this.log.warn({ peer, why }, why === 'not TLS' ? `refused a connection from ${peer}: it does not speak TLS` : `refused a connection from ${peer}: it sent nothing for ${this.silentMs} ms`);
  }
}

/** Listens on `addr` ("host:port" or "[v6]:port") and feeds TLS connections to `server`. */
export async function listenForPeers(server: Server, addr: string, credentials: ServerCredentials, log: Logger, silentMs = firstByteTimeoutMs): Promise<PeerListener> {
  const injector = server.createConnectionInjector(credentials);
  const refusals = new RefusalLog(log, maxRefusalLogsPerMinute, Date.now, silentMs);
  const pending = new Set<Socket>();
  const net: NetServer = createServer((socket) => {
    pending.add(socket);
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const refuse = (why: Refusal): void => {
      refusals.refused(peer, why);
      socket.destroy();
    };
    socket.setTimeout(silentMs, () => refuse('silent'));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => pending.delete(socket));
    socket.once('readable', () => {
      pending.delete(socket);
      socket.setTimeout(0);
      const first = socket.read(1) as Buffer | null;
      if (first === null) return; // closed before sending anything
      socket.unshift(first);
      if (first[0] !== tlsHandshakeRecord) return refuse('not TLS');
      injector.injectConnection(socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    net.once('error', reject);
    net.listen({ host: hostOf(addr), port: portOf(addr) }, () => {
      net.off('error', reject);
      resolve();
    });
  });
  net.on('error', (err) => log.warn(`manager port: ${err.message}`));
  const address = net.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : portOf(addr),
    close: () => {
      net.close();
      for (const socket of pending) socket.destroy();
      injector.destroy();
    },
  };
}
