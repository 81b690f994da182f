/**
 * Calls from one manager to another (the leader) over mutual TLS: forwarded Control calls and raft
 * joins. One client per address, kept while it is used; every call has a deadline.
 */
import { Client, type ChannelCredentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { fromServiceError } from '../lib/rpc-errors.js';
import type { GrpcMethod } from '../proto/index.js';

/** Deadline of a forwarded call. */
export const forwardedCallTimeoutMs = 10_000;
/** Most clients kept open (one per manager address). */
export const maxLeaderClients = 16;

/** Unary calls to other managers. */
export class LeaderClient {
  private readonly clients = new Map<string, Client>();

  constructor(private readonly credentials: ChannelCredentials) {}

  /**
   * Calls `method` on the manager at `addr`; its error comes back as a TsswarmError. When `signal`
   * aborts first, the call is cancelled and fails with the signal's reason.
   */
  call<Req, Res>(addr: string, method: GrpcMethod<Req, Res>, request: Req, timeoutMs = forwardedCallTimeoutMs, signal?: AbortSignal): Promise<Res> {
    const client = this.client(addr);
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) return reject(signal.reason as Error);
      const onAbort = (): void => {
        reject(signal?.reason as Error);
        call.cancel();
      };
      const call = client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, { deadline: Date.now() + timeoutMs }, (err: ServiceError | null, response?: Res) => {
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(fromServiceError(err, `manager ${addr}`));
        else if (response === undefined) reject(new Error(`${method.path} returned nothing`));
        else resolve(response);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Opens a server stream of `method` on the manager at `addr` (no deadline: it lasts as long as the caller's). */
  stream<Req, Res>(addr: string, method: GrpcMethod<Req, Res>, request: Req): ClientReadableStream<Res> {
    return this.client(addr).makeServerStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, request);
  }

  private client(addr: string): Client {
    let client = this.clients.get(addr);
    if (client) return client;
    if (this.clients.size >= maxLeaderClients) {
      const [oldest] = this.clients.keys();
      if (oldest !== undefined) {
        this.clients.get(oldest)?.close();
        this.clients.delete(oldest);
      }
    }
    client = new Client(addr, this.credentials);
    this.clients.set(addr, client);
    return client;
  }

  /** Closes every client. */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
