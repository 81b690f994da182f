/**
 * Runs netd's HostAgent for a lab test inside a lab host's namespace (spawned with `ip netns exec`,
 * as tsswarmd runs there): argv[2] is the host's namespace, argv[3] its advertise address. Commands
 * come as JSON lines on stdin, replies go as JSON lines to stdout:
 *   {"id":1,"op":"view","message":"<base64 NetworkViewMessage>"}   → {"id":1,"ok":true}
 *   {"id":2,"op":"attach","task":"<base64 Task>"}                  → {"id":2,"ok":true,"result":"/run/netns/…"}
 *   {"id":3,"op":"detach","task":"<base64 Task>"}                  → {"id":3,"ok":true}
 *   {"id":4,"op":"stop","removeAll":true}                          → {"id":4,"ok":true}, then exits
 *   {"id":5,"op":"stats"}                                          → {"id":5,"ok":true,"result":{…}}
 * Prints {"ready":true} once started; errors come back as {"id":N,"ok":false,"error":"…"}.
 */
import { createInterface } from 'node:readline';
import { errorMessage } from '../../lib/errors.js';
import { createLogger } from '../../lib/log.js';
import { startHostAgent } from '../../netd/host-agent.js';
import { NetworkViewMessage, Task } from '../../proto/index.js';

const netns = process.argv[2] ?? '';
const advertiseAddr = process.argv[3] ?? '';
const agent = await startHostAgent({ advertiseAddr, place: { netns }, log: createLogger('netd-lab', process.env['TSSWARM_LOG_LEVEL'] === undefined ? { level: 'warn' } : {}) });
const reply = (m: unknown): void => {
  process.stdout.write(`${JSON.stringify(m)}\n`);
};
reply({ ready: true });

const decode = (b64: unknown): Uint8Array => Buffer.from(String(b64), 'base64');
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const cmd = JSON.parse(line) as { id: number; op: string; message?: string; task?: string; removeAll?: boolean };
  void (async () => {
    try {
      switch (cmd.op) {
        case 'view':
          agent.setView(NetworkViewMessage.decode(decode(cmd.message)));
          return reply({ id: cmd.id, ok: true });
        case 'attach':
          return reply({ id: cmd.id, ok: true, result: await agent.attach(Task.decode(decode(cmd.task)), new Map()) });
        case 'detach':
          await agent.detach(Task.decode(decode(cmd.task)));
          return reply({ id: cmd.id, ok: true });
        case 'stats':
          return reply({ id: cmd.id, ok: true, result: agent.stats() });
        case 'stop':
          await agent.stop({ removeAll: cmd.removeAll === true });
          reply({ id: cmd.id, ok: true });
          return process.exit(0);
        default:
          return reply({ id: cmd.id, ok: false, error: `unknown op ${cmd.op}` });
      }
    } catch (err) {
      return reply({ id: cmd.id, ok: false, error: errorMessage(err) });
    }
  })();
}
