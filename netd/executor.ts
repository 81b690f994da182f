/**
 * Where netd's commands run. netd for a real host runs ip, bridge and nft in the root namespace; in
 * the lab each "host" is a namespace, and every command is pointed into it (`ip -n`, `bridge -n`,
 * `ip netns exec ... nft`), so nothing is ever made in the machine's own root namespace.
 * Endpoint namespaces are named namespaces (/run/netns) and are reached with `ip -n` from either.
 */
import { assert } from '../lib/assert.js';
import { runCommand } from '../lib/run-command.js';
import type { Tool } from './plan.js';

/** Time limit of one netd command (a batch of thousands of lines included). */
export const netdCommandTimeoutMs = 60_000;

/** Options of one command. */
export interface RunIn {
  /** stdin (a batch file or an nft script). */
  readonly input?: string;
  /** Endpoint namespace to run in (ip only; batches for endpoint namespaces go through runInNamespaces); absent means the host namespace. */
  readonly netns?: string;
}

/** One `ip -batch` or `nft -f` for one endpoint namespace. */
export interface NamespaceBatch {
  readonly netns: string;
  readonly tool: 'ip' | 'nft';
  /** Batch lines, newline-terminated. */
  readonly input: string;
}

/** Runs host tools for netd; the only place netd's effects leave the process. */
export interface NetdExecutor {
  /** Where commands go, for messages: the host namespace's name or "root namespace". */
  readonly where: string;
  /** Runs `tool args...`, resolves with its stdout; rejects with an EXTERNAL TsswarmError. */
  run(tool: Tool, args: readonly string[], options?: RunIn): Promise<string>;
  /** Runs every job (an ip batch or nft script in an endpoint namespace); rejects (EXTERNAL) naming the failed ones. */
  runInNamespaces(jobs: readonly NamespaceBatch[]): Promise<void>;
}

/**
 * Shell workers that run endpoint-namespace batches. Spawning from node costs several times what a
 * fork from a small shell does, and every endpoint needs its own `ip` process (addresses and
 * routes can only be set from inside a namespace), so a few `sh` processes run them all. More
 * workers than cores: each spends much of its time waiting for the processes it starts.
 */
export const namespaceShellWorkers = 4;
/** Ends each heredoc in the worker scripts; batch lines never contain it (they are validated). */
const heredocEnd = 'TSSWARM_NETD_EOF';

/**
 * How endpoint namespaces are entered: iproute2's `ip -n NS -batch` (unshares a mount namespace and
 * mounts sysfs each time, about 3 ms of CPU per namespace), or an `nsenter` that enters only the
 * network namespace and execs the same `ip -batch` or `nft -f` there (about half that):
 * busybox's static one (`busybox`) or util-linux's (`nsenter`). netd's batches need only netlink,
 * never sysfs, so entering the network namespace is all they need.
 */
export type NamespaceTool = 'iproute2' | 'busybox' | 'nsenter';

/** The script one shell worker runs: each job's batch, failures named on stderr (pure). */
export function namespaceWorkerScript(jobs: readonly NamespaceBatch[], tool: NamespaceTool = 'iproute2'): string {
  // By path: busybox's nsenter would run its own `ip` applet for a bare `ip`.
  const parts = ['rc=0', 'ip=$(command -v ip) || { echo "netd: no ip on PATH" >&2; exit 1; }'];
  for (const job of jobs) {
    assert(/^[A-Za-z0-9_.-]+$/.test(job.netns) && !job.input.includes(heredocEnd), `unsafe namespace batch for ${job.netns}`);
    const onFailure = `|| { echo "netd: batch in ${job.netns} failed" >&2; rc=1; }`;
    const lines = job.input.split('\n').filter((l) => l !== '');
    const run = job.tool === 'nft' ? 'nft -f -' : '"$ip" -force -batch -';
    const enter =
      tool === 'iproute2'
        ? job.tool === 'nft'
          ? `ip netns exec ${job.netns} ${run}`
          : `"$ip" -n ${job.netns} -force -batch -`
        : `${tool === 'busybox' ? 'busybox nsenter' : 'nsenter'} --net=${netnsDir}/${job.netns} ${run}`;
    // A namespace that is gone took its interfaces and tables with it: nothing left to do there.
    parts.push(`if [ -e ${netnsDir}/${job.netns} ]; then`, `${enter} <<'${heredocEnd}' ${onFailure}`, ...lines, heredocEnd);
    parts.push('fi');
  }
  parts.push('exit $rc', '');
  return parts.join('\n');
}

/** Where `ip netns` keeps named namespaces. */
const netnsDir = '/run/netns';

let namespaceToolFound: Promise<NamespaceTool> | undefined;

/** busybox's nsenter if there is one, else util-linux's, else iproute2 (looked up once per process). */
export function detectNamespaceTool(): Promise<NamespaceTool> {
  namespaceToolFound ??= (async (): Promise<NamespaceTool> => {
    const busybox = await runCommand('busybox', ['--list'], { timeoutMs: 5_000 }).catch(() => undefined);
    if (busybox?.stdout.split('\n').includes('nsenter') === true) return 'busybox';
    const nsenter = await runCommand('nsenter', ['--version'], { timeoutMs: 5_000 }).catch(() => undefined);
    return nsenter === undefined ? 'iproute2' : 'nsenter';
  })();
  return namespaceToolFound;
}

/** Where a host's network lives: a named namespace (the lab), or, said explicitly, the root one. */
export type HostPlace = { readonly netns: string } | { readonly rootNamespace: true };

/** An executor for one host; `namespaceTool` defaults to what detectNamespaceTool finds. */
export function hostExecutor(place: HostPlace, namespaceTool?: NamespaceTool): NetdExecutor {
  const hostNs = 'netns' in place ? place.netns : undefined;
  return {
    where: hostNs ?? 'root namespace',
    async run(tool, args, options = {}) {
      const input = options.input === undefined ? {} : { input: options.input };
      const opts = { ...input, timeoutMs: netdCommandTimeoutMs };
      let file: string;
      let argv: string[];
      if (options.netns !== undefined) {
        assert(tool === 'ip', `netd runs only ip in endpoint namespaces, not ${tool}`);
        [file, argv] = ['ip', ['-n', options.netns, ...args]];
      } else if (hostNs === undefined) {
        [file, argv] = [tool, [...args]];
      } else if (tool === 'nft' || tool === 'sysctl') {
        [file, argv] = ['ip', ['netns', 'exec', hostNs, tool, ...args]];
      } else {
        [file, argv] = [tool, ['-n', hostNs, ...args]];
      }
      return (await runCommand(file, argv, opts)).stdout;
    },
    async runInNamespaces(jobs) {
      const tool = namespaceTool ?? (await detectNamespaceTool());
      const workers = Math.min(namespaceShellWorkers, jobs.length);
      const shares: NamespaceBatch[][] = Array.from({ length: workers }, () => []);
      jobs.forEach((job, i) => shares[i % workers]?.push(job));
      const results = await Promise.allSettled(
        shares.map((share) => runCommand('sh', ['-s'], { input: namespaceWorkerScript(share, tool), timeoutMs: netdCommandTimeoutMs })),
      );
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed.length > 0) throw failed[0]?.reason;
    },
  };
}
