/**
 * A small HTTP client for tests and benchmarks that talk to servers they started on 127.0.0.1.
 */
import { Agent, request } from 'node:http';

/** A keep-alive agent with no socket limit, for load loops. */
export function keepAliveAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: Infinity });
}

/** One request to 127.0.0.1:`port`; rejects on connection errors and after `timeoutMs`. */
export function httpCall(agent: Agent, method: string, port: number, path: string, body?: string, timeoutMs = 5_000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent, timeout: timeoutMs }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}
