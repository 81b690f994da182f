/**
 * Runs host tools (ip, nft, runc, mount ...) without a shell. Failures become EXTERNAL errors that
 * name the command and carry its stderr, so callers can report them in one line.
 */
import { execFile, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { ErrorCode, TsswarmError } from './errors.js';

/** What a finished command printed. */
export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for runCommand. */
export interface RunOptions {
  /** Text written to the command's stdin. */
  readonly input?: string;
  /** Kill the command after this long. */
  readonly timeoutMs?: number;
}

/** Largest output kept from one command. */
export const maxCommandOutputBytes = 16 * 1024 * 1024;
/** Default time limit of one command. */
export const defaultCommandTimeoutMs = 30_000;

/** Runs `file args...` and resolves with its output; rejects with an EXTERNAL TsswarmError on failure. */
export function runCommand(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { maxBuffer: maxCommandOutputBytes, timeout: options.timeoutMs ?? defaultCommandTimeoutMs, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException).code;
          const why =
            code === 'ENOENT'
              ? `${file}: command not found (run deploy/setup.sh)`
              : `${[file, ...args].join(' ')}: ${stderr.trim() || err.message}`;
          reject(new TsswarmError(code === 'ENOENT' ? ErrorCode.UNSUPPORTED : ErrorCode.EXTERNAL, why, { cause: err }));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs a command with the caller's stdio attached; resolves with its exit code (128+n for signal n). */
export function runAttached(file: string, args: readonly string[], env?: Readonly<Record<string, string>>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'inherit', ...(env ? { env: { ...process.env, ...env } } : {}) });
    child.on('error', (err) => reject(new TsswarmError(ErrorCode.EXTERNAL, `${file}: ${err.message}`, { cause: err })));
    child.on('exit', (code, signal) => {
      if (code !== null) resolve(code);
      else resolve(128 + (signal ? constants.signals[signal] : 0));
    });
  });
}
