/**
 * A netns lab for netd's integration tests and benchmark: hosts, endpoint namespaces on them
 * (tss-LAB-hN.NAME, removed by `lab down`), and commands run inside them with bounded time.
 */
import { runCommand } from '../../lib/run-command.js';
import { tsswarm } from '../helpers/cli.js';

/** A lab host as `lab ls --format json` lists it. */
export interface LabHostInfo {
  readonly name: string;
  readonly netns: string;
  readonly address: string;
}

/** Brings a lab up (no daemons) and returns its hosts. */
export async function labUp(name: string, hosts: number): Promise<LabHostInfo[]> {
  const up = await tsswarm('lab', 'up', name, '--hosts', String(hosts), '--no-daemons', '-q');
  if (up.code !== 0) throw new Error(`lab up ${name}: ${up.stderr}`);
  const ls = await tsswarm('lab', 'ls', '--format', 'json');
  if (ls.code !== 0) throw new Error(`lab ls: ${ls.stderr}`);
  const lab = (JSON.parse(ls.stdout) as { name: string; hosts: LabHostInfo[] }[]).find((l) => l.name === name);
  if (!lab) throw new Error(`lab ${name} not listed`);
  return lab.hosts.map((h) => ({ name: h.name, netns: h.netns, address: h.address }));
}

/** Makes named namespaces (one `ip` call) with loopback left for netd to bring up. */
export async function addNamespaces(names: readonly string[]): Promise<void> {
  await runCommand('ip', ['-batch', '-'], { input: names.map((n) => `netns add ${n}\n`).join('') });
}

/** Time limit of one command in a namespace. */
export const nsCommandTimeoutMs = 15_000;

/** Runs a command inside a namespace; resolves with its exit code and output, never rejects on exit code. */
export async function inNs(netns: string, args: readonly string[], input?: string): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await runCommand('ip', ['netns', 'exec', netns, ...args], { timeoutMs: nsCommandTimeoutMs, ...(input === undefined ? {} : { input }) });
    return { ok: true, out: r.stdout };
  } catch (err) {
    return { ok: false, out: err instanceof Error ? err.message : String(err) };
  }
}

/** One bounded ping (1 packet, 1 s). */
export async function pings(fromNetns: string, to: string): Promise<boolean> {
  return (await inNs(fromNetns, ['ping', '-c1', '-W1', '-q', to])).ok;
}
