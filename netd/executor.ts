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
 * routes can only be set from inside a namespace), so a few `sh` processes run them all.
 */
export const namespaceShellWorkers = 4;
/** Ends each heredoc in the worker scripts; batch lines never contain it (they are validated). */
const heredocEnd = 'TSSWARM_NETD_EOF';

/**
 * How endpoint namespaces are entered: iproute2's `ip -n NS -batch` (unshares a mount namespace and
 * mounts sysfs each time), or busybox's static `nsenter` + `ip` applets, which cost less than half
 * as much per namespace. busybox is used when it has both applets.
 */
export type NamespaceTool = 'iproute2' | 'busybox';

/** The script one shell worker runs: each job's batch, failures named on stderr (pure). */
export function namespaceWorkerScript(jobs: readonly NamespaceBatch[], tool: NamespaceTool = 'iproute2'): string {
  const parts = ['rc=0'];
  for (const job of jobs) {
    assert(/^[A-Za-z0-9_.-]+$/.test(job.netns) && !job.input.includes(heredocEnd) && !job.input.includes("'"), `unsafe namespace batch for ${job.netns}`);
    const onFailure = `|| { echo "netd: batch in ${job.netns} failed" >&2; rc=1; }`;
    const lines = job.input.split('\n').filter((l) => l !== '');
    // A namespace that is gone took its interfaces and tables with it: nothing left to do there.
    parts.push(`if [ -e ${netnsDir}/${job.netns} ]; then`);
    if (job.tool === 'nft') {
      const enter = tool === 'busybox' ? `busybox nsenter --net=${netnsDir}/${job.netns}` : `ip netns exec ${job.netns}`;
      parts.push(`${enter} nft -f - <<'${heredocEnd}' ${onFailure}`, ...lines, heredocEnd);
    } else if (tool === 'busybox') {
      const commands = lines.map(busyboxCommand).join(' && ');
      parts.push(`busybox nsenter --net=${netnsDir}/${job.netns} busybox sh -c '${commands}' ${onFailure}`);
    } else {
      parts.push(`ip -n ${job.netns} -force -batch - <<'${heredocEnd}' ${onFailure}`, ...lines, heredocEnd);
    }
    parts.push('fi');
  }
  parts.push('exit $rc', '');
  return parts.join('\n');
}

/** busybox's ip has no addrgenmode: the same effect through the namespace's own sysctl (a kernel without IPv6 has nothing to turn off). */
function busyboxCommand(line: string): string {
  const m = /^link set dev (\S+) addrgenmode none$/.exec(line);
  return m ? `{ echo 1 > /proc/sys/net/ipv6/conf/${m[1] ?? ''}/disable_ipv6 2>/dev/null || true; }` : `ip ${line}`;
}

/** Where `ip netns` keeps named namespaces. */
const netnsDir = '/run/netns';

let namespaceToolFound: Promise<NamespaceTool> | undefined;

/** busybox if it has nsenter and ip, else iproute2 (looked up once per process). */
export function detectNamespaceTool(): Promise<NamespaceTool> {
  namespaceToolFound ??= runCommand('busybox', ['--list'], { timeoutMs: 5_000 }).then(
    (r) => {
      const applets = new Set(r.stdout.split('\n'));
      return applets.has('nsenter') && applets.has('ip') && applets.has('sh') ? 'busybox' : 'iproute2';
    },
    () => 'iproute2',
  );
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
