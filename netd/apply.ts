/**
 * Runs planned operations (thin): consecutive operations for the same tool and namespace become one
 * `ip -batch` / `bridge -batch` process (an nft script is one `nft -f`), and the per-endpoint
 * namespace batches that stand side by side are handed to the executor together.
 * A failed batch stops the run with an EXTERNAL error; what it left half-made is removed by the
 * next reconcile, because plan remakes anything without its fingerprint.
 */
import { ErrorCode, TsswarmError, errorMessage } from '../lib/errors.js';
import type { NetdExecutor } from './executor.js';
import type { DesiredHostState } from './model.js';
import { type RefusedNetwork, espSupported, refuseEncrypted, withoutNetworks } from './esp.js';
import { observe } from './observe.js';
import { type Operation, type Tool, plan } from './plan.js';

/** Lines of stderr kept in an error message. */
const maxErrorLines = 6;

/** One process: a batch of lines for one tool in one namespace. */
export interface Batch {
  readonly tool: Tool;
  readonly netns?: string;
  readonly lines: readonly string[];
}

/** Groups operations into batches, keeping their order (pure). */
export function toBatches(ops: readonly Operation[]): Batch[] {
  const batches: { tool: Tool; netns?: string; lines: string[] }[] = [];
  for (const op of ops) {
    const last = batches[batches.length - 1];
    if (last && last.tool === op.tool && last.netns === op.netns && op.tool !== 'nft') last.lines.push(op.command);
    else batches.push({ tool: op.tool, ...(op.netns === undefined ? {} : { netns: op.netns }), lines: [op.command] });
  }
  return batches;
}

async function runBatch(exec: NetdExecutor, b: Batch): Promise<void> {
  const input = b.tool === 'nft' ? (b.lines[0] ?? '') : `${b.lines.join('\n')}\n`;
  const args = b.tool === 'nft' ? ['-f', '-'] : b.tool === 'sysctl' ? ['-qw', ...b.lines] : ['-force', '-batch', '-'];
  try {
    await exec.run(b.tool, args, { ...(b.tool === 'sysctl' ? {} : { input }), ...(b.netns === undefined ? {} : { netns: b.netns }) });
  } catch (err) {
    const where = b.netns ?? exec.where;
    const lines = errorMessage(err).split('\n').slice(0, maxErrorLines).join('\n');
    throw new TsswarmError(ErrorCode.EXTERNAL, `netd: ${b.tool} batch of ${b.lines.length} in ${where} failed: ${lines}`, { cause: err });
  }
}

/** Runs operations in order; endpoint-namespace batches next to each other run together. */
export async function apply(ops: readonly Operation[], exec: NetdExecutor): Promise<void> {
  const batches = toBatches(ops);
  let i = 0;
  while (i < batches.length) {
    const b = batches[i] as Batch;
    if (b.netns === undefined) {
      await runBatch(exec, b);
      i++;
      continue;
    }
    let end = i;
    while (end < batches.length && batches[end]?.netns !== undefined) end++;
    const jobs = batches.slice(i, end).map((g) =>
      g.tool === 'nft'
        ? { netns: g.netns ?? '', tool: 'nft' as const, input: g.lines[0] ?? '' }
        : { netns: g.netns ?? '', tool: 'ip' as const, input: `${g.lines.join('\n')}\n` },
    );
    try {
      await exec.runInNamespaces(jobs);
    } catch (err) {
      const lines = errorMessage(err).split('\n').slice(0, maxErrorLines).join('\n');
      throw new TsswarmError(ErrorCode.EXTERNAL, `netd: configuring ${jobs.length} endpoint namespace(s) failed: ${lines}`, { cause: err });
    }
    i = end;
  }
}

/** What one reconcile did. */
export interface ReconcileReport {
  readonly operations: number;
  readonly batches: number;
  /** Networks not made here, with the reason (for the tasks attached to them to report). */
  readonly refused: readonly RefusedNetwork[];
}

/**
 * Observe, plan, apply: brings the host to `desired`. Converged hosts cost four reads and no writes.
 * Networks that cannot be made as asked (encrypted without ESP) are left out and reported.
 */
export async function reconcile(desired: DesiredHostState, exec: NetdExecutor): Promise<ReconcileReport> {
  const wantsEsp = desired.networks.some((n) => n.encrypted === true);
  const refused = wantsEsp ? refuseEncrypted(desired, await espSupported(exec)) : [];
  const ops = plan(withoutNetworks(desired, new Set(refused.map((r) => r.networkId))), await observe(exec));
  await apply(ops, exec);
  return { operations: ops.length, batches: toBatches(ops).length, refused };
}
