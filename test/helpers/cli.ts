/**
 * Runs the built `tsswarm` CLI (dist/cli/tsswarm.js) as a user would, capturing its output and exit
 * code. `npm test` builds before it runs the tests.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root: the nearest folder above this file with a package.json (works from dist/ too). */
export const repoRoot = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${start}`);
    dir = up;
  }
  return dir;
}
/** The built CLI entry point. */
export const tsswarmBin = join(repoRoot, 'dist', 'cli', 'tsswarm.js');
/** Longest a CLI call may take in a test. */
export const cliTimeoutMs = 60_000;

/** What a CLI run printed and how it ended. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of a CLI run. */
export interface CliOptions {
  /** Extra environment (e.g. TSSWARM_HOST). */
  readonly env?: Readonly<Record<string, string>>;
  /** Text for the CLI's stdin. */
  readonly input?: string;
}

/** Runs `tsswarm ...args` with options. Never rejects: the exit code is part of the result. */
export function tsswarmWith(options: CliOptions, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [tsswarmBin, ...args],
      { timeout: cliTimeoutMs, encoding: 'utf8', env: { ...process.env, ...options.env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

/** Runs `tsswarm ...args`. Never rejects: the exit code is part of the result. */
export function tsswarm(...args: string[]): Promise<CliResult> {
  return tsswarmWith({}, ...args);
}
