/**
 * Three raft members as three processes on loopback with real WALs. While clients write, a random
 * member is killed with SIGKILL at a random moment and restarted, again and again. Afterwards every
 * acknowledged write is on every member, the members applied exactly the same state, and their
 * logs (read back from the WAL files once they are stopped) agree on every committed index that
 * two of them hold.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { seededRng } from '../../../../lib/rng.js';
import { Wal } from '../../../../manager/raft/wal/wal.js';
import { repoRoot } from '../../../helpers/cli.js';
import { httpCall, keepAliveAgent } from '../../../helpers/http.js';
import { tempDir } from '../../../helpers/temp-dir.js';
import { freeLoopbackPort } from '../../../worker/images/registry-helper.js';

/** Crash rounds, writers, and bounds on every wait. */
const rounds = 8;
const writers = 6;
const roundMs = 900;
const settleTimeoutMs = 30_000;

interface Member {
  readonly id: number;
  readonly peer: string;
  readonly port: number;
  readonly dir: string;
  proc: ChildProcess | undefined;
}

const agent = keepAliveAgent();

function call(method: string, port: number, path: string, body?: string, timeoutMs = 2_000): Promise<{ status: number; text: string }> {
  return httpCall(agent, method, port, path, body, timeoutMs);
}

function start(m: Member, spec: string): void {
  m.proc = spawn(process.execPath, [join(repoRoot, 'dist/test/manager/raft/node/kv-server.js'), String(m.id), spec, String(m.port), m.dir, '50', '6'], { stdio: 'ignore' });
}

function kill(m: Member): Promise<void> {
  const p = m.proc;
  m.proc = undefined;
  if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  });
}

t.test('kill -9 members during a write load: no acknowledged write is lost, members agree', async (t) => {
  const base = await tempDir(t, 'raft-crash');
  const members: Member[] = [];
  for (const id of [1, 2, 3]) members.push({ id, peer: `127.0.0.1:${await freeLoopbackPort()}`, port: await freeLoopbackPort(), dir: join(base, `m${id}`), proc: undefined });
  const spec = members.map((m) => `${m.id}=${m.peer}`).join(',');
  t.teardown(async () => {
    for (const m of members) await kill(m);
    agent.destroy();
  });
  for (const m of members) start(m, spec);

  const acked = new Set<string>();
  let stop = false;
  let attempts = 0;
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; !stop && i < 100_000; i++) {
      const m = members[(w + i) % members.length] as Member;
      const key = `w${w}-${i}`;
      attempts++;
      const r = await call('PUT', m.port, `/kv/${key}`, `value-${key}`).catch(() => undefined);
      if (r?.status === 204) acked.add(key);
      else await new Promise((res) => setTimeout(res, 20));
    }
  };
  const load = Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));

  const rng = seededRng(20261123);
  for (let round = 0; round < rounds; round++) {
    await new Promise((r) => setTimeout(r, rng.range(roundMs / 3, roundMs * 1.5)));
    const victim = rng.pick(members);
    await kill(victim);
    await new Promise((r) => setTimeout(r, rng.range(50, 400)));
    start(victim, spec);
  }
  await new Promise((r) => setTimeout(r, roundMs));
  stop = true;
  await load;
  t.ok(acked.size > 20, `${acked.size} writes acknowledged of ${attempts} attempts`);

  // Let everyone catch up, then compare.
  const end = Date.now() + settleTimeoutMs;
  let digests: string[] = [];
  while (Date.now() < end) {
    const ds = await Promise.all(members.map((m) => call('GET', m.port, '/digest').then((r) => r.text, () => '')));
    if (ds.every((d) => d !== '' && d === ds[0]) && (JSON.parse(ds[0] ?? '{}') as { keys?: number }).keys !== undefined) {
      const keys = (JSON.parse(ds[0] as string) as { keys: number }).keys;
      if (keys >= acked.size) {
        digests = ds;
        break;
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(digests.length, 3, 'all three members applied the same state');
  for (const m of members) {
    let missing = 0;
    for (const key of acked) {
      const r = await call('GET', m.port, `/kv/${key}`).catch(() => undefined);
      if (r?.status !== 200 || r.text !== `value-${key}`) missing++;
    }
    t.equal(missing, 0, `member ${m.id} has every acknowledged write`);
  }

  // The logs themselves: stop everyone, read each WAL back, compare every committed index that
  // two members hold (compaction leaves each member a different suffix).
  for (const m of members) await kill(m);
  const logs = await Promise.all(
    members.map(async (m) => {
      const { wal, recovered } = await Wal.open(join(m.dir, 'wal'));
      await wal.close();
      return { commit: recovered.hardState.commit, entries: new Map(recovered.entries.map((e) => [e.index, e])) };
    }),
  );
  const commit = Math.min(...logs.map((l) => l.commit));
  let compared = 0;
  let disagreements = 0;
  for (const [i, a] of logs.entries()) {
    for (const b of logs.slice(i + 1)) {
      for (const [index, ea] of a.entries) {
        const eb = b.entries.get(index);
        if (index > commit || eb === undefined) continue;
        compared++;
        if (ea.term !== eb.term || ea.type !== eb.type || !Buffer.from(ea.data).equals(Buffer.from(eb.data))) disagreements++;
      }
    }
  }
  t.ok(compared > 0, `${compared} committed entries compared across the members' WALs (commit ${commit})`);
  t.equal(disagreements, 0, 'the logs agree on every one');
});
