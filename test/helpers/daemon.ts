/**
 * A tsswarmd for tests: its own data dir, run dir, socket and cgroup parent, the busybox test image
 * loaded, and everything (containers, daemon, mounts, cgroups, folders) removed in teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeCgroupTree } from '../../lib/cgroups.js';
import { newId } from '../../lib/ids.js';
import { unmountBelow } from '../../lib/mounts.js';
import { buildBusyboxImage } from '../../deploy/images/build-busybox.js';
import { ImageService } from '../../worker/images/image-service.js';
import { repoRoot, tsswarmWith, type CliResult } from './cli.js';
import type { Teardown } from './temp-dir.js';

/** How long a daemon may take to start listening. */
export const daemonStartTimeoutMs = 15_000;

/** A running test daemon. */
export interface TestDaemon {
  readonly dataDir: string;
  readonly runDir: string;
  readonly socket: string;
  readonly cgroupParent: string;
  /** Runs the CLI against this daemon. */
  cli(...args: string[]): Promise<CliResult>;
  /** Runs the CLI with stdin. */
  cliInput(input: string, ...args: string[]): Promise<CliResult>;
  /** Kills the daemon with SIGKILL (containers survive). */
  kill(): Promise<void>;
  /** Starts the daemon again on the same folders. */
  restart(): Promise<void>;
}

async function startDaemon(dataDir: string, runDir: string, cgroupParent: string, socket: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'cli', 'tsswarmd.js'), '--data-dir', dataDir, '--run-dir', runDir, '--cgroup-parent', cgroupParent], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TSSWARM_LOG_LEVEL: 'warn' },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + daemonStartTimeoutMs;
  while (!existsSync(socket)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`tsswarmd did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

function stopped(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

/** Starts a daemon with the busybox image loaded; all of it goes away when `t` ends. */
export async function testDaemon(t: Teardown): Promise<TestDaemon> {
  // One teardown does everything, in order: containers, daemon, mounts, cgroups, then the folder.
  const base = await mkdtemp(join(tmpdir(), 'tsswarm-daemon-'));
  const dataDir = join(base, 'data');
  const runDir = join(base, 'run');
  const socket = join(runDir, 'tsswarmd.sock');
  const cgroupParent = `tsswarm-test-${newId().slice(0, 8)}`;
  await buildBusyboxImage(join(base, 'busybox.tar'));
  await new ImageService({ dataDir }).load(join(base, 'busybox.tar'));
  let child = await startDaemon(dataDir, runDir, cgroupParent, socket);
  const env = { TSSWARM_HOST: `unix://${socket}` };
  const daemon: TestDaemon = {
    dataDir,
    runDir,
    socket,
    cgroupParent,
    cli: (...args) => tsswarmWith({ env }, ...args),
    cliInput: (input, ...args) => tsswarmWith({ env, input }, ...args),
    async kill() {
      child.kill('SIGKILL');
      await stopped(child);
    },
    async restart() {
      child = await startDaemon(dataDir, runDir, cgroupParent, socket);
    },
  };
  t.teardown(async () => {
    const ids = (await daemon.cli('ps', '-a', '-q', '--no-trunc')).stdout.split('\n').filter((l) => l !== '');
    for (const id of ids) await daemon.cli('container', 'rm', '-f', id);
    child.kill('SIGTERM');
    await stopped(child);
    await unmountBelow(base);
    await removeCgroupTree(cgroupParent);
    await rm(base, { recursive: true, force: true });
  });
  return daemon;
}
