/**
 * The demo (`npm run demo`, deploy/demo.sh) as a test: it must finish, every host's 8080 must reach
 * all 6 replicas, then all 9 after scaling, the drained and the killed host's tasks must move, and
 * the lab must be gone afterwards.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { listNetns } from '../../deploy/lab/netns.js';

/** The demo promises under 2 minutes; allow setup and a slow machine on top. */
const demoTimeoutMs = 240_000;

t.test('npm run demo', { timeout: demoTimeoutMs + 30_000 }, async (t) => {
  const child = spawn('bash', [join(repoRoot, 'deploy', 'demo.sh')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill('SIGTERM'), demoTimeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  t.equal(code, 0, `the demo exits 0:\n${out.slice(-3000)}`);
  for (const h of ['h1', 'h2', 'h3']) t.match(out, new RegExp(`${h}:8080 -> 6 distinct replicas`), `${h}:8080 reaches all 6 replicas`);
  t.match(out, /h2:8080 now reaches 9 distinct replicas/, 'after scaling, all 9');
  t.match(out, /verify: Service converged/, 'docker-style progress');
  t.match(out, /h3 drained, its tasks rescheduled/);
  t.match(out, /h2 lost: 9 replicas running again after \d+ ms; h1:8080 reaches 9 distinct replicas/);
  const took = Number(/demo took (\d+) ms/.exec(out)?.[1] ?? NaN);
  t.ok(took < 120_000, `the demo took ${took} ms (promised under 2 minutes)`);
  t.same((await listNetns()).filter((n) => n.startsWith('tss-demo')), [], 'the lab is gone');
});
