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

/** Runs `tsswarm ...args`. Never rejects: the exit code is part of the result. */
export function tsswarm(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tsswarmBin, ...args], { timeout: cliTimeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
