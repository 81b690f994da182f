/**
 * A TCP proxy on 127.0.0.1 for raft transport tests: forwards every connection to a target port,
 * and when armed, breaks the connections (both sides destroyed, as a network fault would) once
 * that many bytes went from client to target, once. What passes is never altered.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class CuttingProxy {
  private armedBytes: number | undefined;
  private passedBytes = 0;
  private readonly sockets = new Set<Socket>();
  /** How many times the proxy broke its connections. */
  cuts = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on a free loopback port and forwards to `targetPort`. */
  static async start(targetPort: number): Promise<CuttingProxy> {
    let proxy: CuttingProxy | undefined;
    const server = createServer((client) => proxy?.forward(client, targetPort));
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
    proxy = new CuttingProxy(server, port);
    return proxy;
  }

  /** Breaks every connection once `bytes` more bytes went from client to target. */
  cutAfter(bytes: number): void {
    this.armedBytes = bytes;
    this.passedBytes = 0;
  }

  private forward(client: Socket, targetPort: number): void {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      if (this.armedBytes !== undefined) {
        this.passedBytes += chunk.length;
        if (this.passedBytes >= this.armedBytes) {
          this.armedBytes = undefined;
          this.cuts++;
          for (const s of [...this.sockets]) s.destroy();
          return;
        }
      }
      upstream.write(chunk);
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
