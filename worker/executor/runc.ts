/**
 * The runc command line, for one runc root (state directory). The only file that runs runc.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { runAttached, runCommand } from '../../lib/run-command.js';

/** runc's view of a container. */
export interface RuncState {
  readonly id: string;
  readonly pid: number;
  readonly status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  readonly bundle: string;
}

/** Path of the runc binary (Debian's). */
export const runcPath = '/usr/sbin/runc';

/** A runc command line bound to one state root. */
export class Runc {
  constructor(readonly root: string) {}

  private args(...rest: string[]): string[] {
    return ['--root', this.root, ...rest];
  }

  /** Starts a created container's process. */
  async start(id: string): Promise<void> {
    await runCommand(runcPath, this.args('start', id));
  }

  /** The container's state, or undefined when runc does not know it. */
  async state(id: string): Promise<RuncState | undefined> {
    try {
      const { stdout } = await runCommand(runcPath, this.args('state', id));
      return JSON.parse(stdout) as RuncState;
    } catch (err) {
      if (err instanceof TsswarmError && /does not exist/.test(err.message)) return undefined;
      throw err;
    }
  }

  /** Sends a signal to the container's init (or all its processes with `all`). */
  async kill(id: string, signal: string, all = false): Promise<void> {
    try {
      await runCommand(runcPath, this.args('kill', ...(all ? ['--all'] : []), id, signal));
    } catch (err) {
      // A process that already exited cannot be signalled; that is what the caller wanted.
      if (err instanceof TsswarmError && /not running|process already finished|does not exist/.test(err.message)) return;
      throw err;
    }
  }

  /** Deletes the container (with `force`, even while running). A missing one is not an error. */
  async delete(id: string, force = false): Promise<void> {
    try {
      await runCommand(runcPath, this.args('delete', ...(force ? ['--force'] : []), id));
    } catch (err) {
      if (err instanceof TsswarmError && /does not exist/.test(err.message)) return;
      throw err;
    }
  }

  /** Host PIDs of the container's processes. */
  async pids(id: string): Promise<number[]> {
    const { stdout } = await runCommand(runcPath, this.args('ps', '--format', 'json', id));
    return (JSON.parse(stdout) as number[] | null) ?? [];
  }

  /** Runs a process in the container with the caller's stdio; resolves with its exit code. */
  async execAttached(id: string, args: readonly string[], options: { tty: boolean; env?: readonly string[]; cwd?: string }): Promise<number> {
    if (args.length === 0) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'exec needs a command');
    const flags = [...(options.tty ? ['--tty'] : []), ...(options.cwd ? ['--cwd', options.cwd] : [])];
    for (const e of options.env ?? []) flags.push('--env', e);
    return runAttached(runcPath, this.args('exec', ...flags, id, ...args));
  }

  /** Starts a process in the container with piped stdio (for remote exec); the caller owns it. */
  spawnExec(id: string, args: readonly string[], options: { env?: readonly string[]; cwd?: string; pidFile?: string }): ChildProcessWithoutNullStreams {
    if (args.length === 0) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'exec needs a command');
    const flags = [...(options.cwd ? ['--cwd', options.cwd] : []), ...(options.pidFile ? ['--pid-file', options.pidFile] : [])];
    for (const e of options.env ?? []) flags.push('--env', e);
    return spawn(runcPath, this.args('exec', ...flags, id, ...args), { stdio: 'pipe' });
  }

  /** Runs a process in the container and captures its output (for health checks). */
  async execCapture(id: string, args: readonly string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
    return runCommand(runcPath, this.args('exec', id, ...args), { timeoutMs });
  }
}
