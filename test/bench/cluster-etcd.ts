/**
 * The etcd 3.4 anchor of the cluster benchmark: three members on loopback with etcd's default timing
 * (heartbeat 100 ms, election 1000 ms), each one a child process that can be killed with -9 and
 * started again on its own data dir. Everything started here is stopped by pid in `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { freeLoopbackPort } from '../worker/images/registry-helper.js';

/** How long one status probe of a member may take, in milliseconds. */
const statusTimeoutMs = 1_000;

/** One etcd member: its name, client endpoint, command line and process (undefined while killed). */
export interface EtcdMember {
  readonly name: string;
  readonly endpoint: string;
  readonly args: readonly string[];
  proc: ChildProcess | undefined;
}

/** A three-member etcd cluster on loopback. */
export class EtcdCluster {
  private constructor(readonly members: readonly EtcdMember[]) {}

  /** Starts three members with data dirs in a new folder under `base`; does not wait for a leader. */
  static async start(base: string): Promise<EtcdCluster> {
    const dir = await mkdtemp(join(base, 'etcd-'));
    const names = ['e1', 'e2', 'e3'] as const;
    const peers: number[] = [];
    const clients: number[] = [];
    for (const _ of names) {
      peers.push(await freeLoopbackPort());
      clients.push(await freeLoopbackPort());
    }
    const initial = names.map((n, i) => `${n}=http://127.0.0.1:${peers[i]}`).join(',');
    const members = names.map((name, i): EtcdMember => {
      const peer = `http://127.0.0.1:${peers[i]}`;
      const client = `http://127.0.0.1:${clients[i]}`;
      const args = [
        '--name', name,
        '--data-dir', join(dir, name),
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--listen-client-urls', client,
        '--advertise-client-urls', client,
        '--initial-cluster', initial,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', 'tsswarm-bench-cluster',
        '--log-level', 'error',
      ];
      return { name, endpoint: client, args, proc: undefined };
    });
    const cluster = new EtcdCluster(members);
    for (const m of members) cluster.startMember(m);
    return cluster;
  }

  /** (Re)starts a member on its data dir. */
  startMember(m: EtcdMember): void {
    m.proc = spawn('etcd', [...m.args], { stdio: 'ignore' });
  }

  /** kill -9 one member (by its pid) and waits for it to exit. */
  async killMember(m: EtcdMember): Promise<void> {
    await killAndWait(m.proc);
    m.proc = undefined;
  }

  /** The member that leads, by asking every running member for its status; undefined when none answers as leader. */
  async leader(): Promise<EtcdMember | undefined> {
    for (const m of this.members) {
      if (!m.proc) continue;
      const s = await status(m.endpoint);
      if (s !== undefined && s.leader !== '0' && s.leader === s.memberId) return m;
    }
    return undefined;
  }

  /** True when every member runs, answers its status, and all name the same leader. */
  async allAgreeOnLeader(): Promise<boolean> {
    const all = await Promise.all(this.members.map((m) => (m.proc ? status(m.endpoint) : Promise.resolve(undefined))));
    const first = all[0];
    return first !== undefined && first.leader !== '0' && all.every((s) => s !== undefined && s.leader === first.leader);
  }

  /** kill -9 every running member, by pid. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => killAndWait(m.proc)));
    for (const m of this.members) m.proc = undefined;
  }
}

/** One put through `endpoint` on a fresh client, with a deadline; resolves true when it committed. */
export async function etcdPutOnce(endpoint: string, key: string, value: string, timeoutMs: number): Promise<boolean> {
  const client = new Etcd3({ hosts: endpoint, dialTimeout: timeoutMs });
  try {
    await client.put(key).value(value).options({ deadline: Date.now() + timeoutMs });
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

async function status(endpoint: string): Promise<{ leader: string; memberId: string } | undefined> {
  const client = new Etcd3({ hosts: endpoint, dialTimeout: statusTimeoutMs, defaultCallOptions: () => ({ deadline: Date.now() + statusTimeoutMs }) });
  try {
    const s = await client.maintenance.status();
    return { leader: s.leader, memberId: s.header.member_id };
  } catch {
    return undefined;
  } finally {
    client.close();
  }
}

function killAndWait(p: ChildProcess | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  });
}
