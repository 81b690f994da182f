/**
 * Creating a container under conmon. conmon double-forks and stays as the container's parent: it
 * holds stdio, writes the k8s-file log with timestamps, and writes the exit code (and an `oom`
 * marker) when the container ends, so containers and their logs outlive tsswarmd.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { runcPath } from './runc.js';

/** Path of the conmon binary (Debian's). */
export const conmonPath = '/usr/bin/conmon';
/** How long container creation may take before we give up. */
export const conmonCreateTimeoutMs = 30_000;

/** Where conmon keeps what it writes for one container. */
export interface ConmonPaths {
  readonly bundle: string;
  readonly runcRoot: string;
  readonly logPath: string;
  readonly exitDir: string;
  readonly persistDir: string;
  readonly socketDir: string;
  readonly pidFile: string;
  readonly conmonPidFile: string;
}

/** Why creation failed, in the runtime's words, turned into one clear line. */
export function creationError(raw: string): TsswarmError {
  const message = raw.replace(/\\+"/g, '"');
  const notFound = /exec: "([^"]+)": (executable file not found in \$PATH|stat [^:]+: no such file or directory)/.exec(message);
  if (notFound) {
    return new TsswarmError(ErrorCode.COMMAND_NOT_FOUND, `executable "${notFound[1]}" not found in the image`);
  }
  const denied = /exec: "([^"]+)": permission denied/.exec(message);
  if (denied) return new TsswarmError(ErrorCode.COMMAND_NOT_EXECUTABLE, `"${denied[1]}" in the image is not executable`);
  const runcSaid = /msg="(.*)"\s*$/.exec(message.trim())?.[1] ?? message.trim();
  return new TsswarmError(ErrorCode.EXTERNAL, `container creation failed: ${runcSaid}`);
}

/**
 * Runs `conmon` to create (not start) container `id`; resolves with the container's host PID once
 * runc has created it. conmon reports over a sync pipe (fd 3): `{"data": PID}` or, on failure,
 * `{"data": -1, "message": "..."}`.
 */
export function conmonCreate(id: string, name: string, paths: ConmonPaths): Promise<number> {
  const args = [
    '--api-version', '1',
    '--cid', id,
    '--cuuid', id,
    '--name', name,
    '--runtime', runcPath,
    '--runtime-arg', '--root',
    '--runtime-arg', paths.runcRoot,
    '--bundle', paths.bundle,
    '--container-pidfile', paths.pidFile,
    '--conmon-pidfile', paths.conmonPidFile,
    '--log-path', `k8s-file:${paths.logPath}`,
    '--exit-dir', paths.exitDir,
    '--persist-dir', paths.persistDir,
    '--socket-dir-path', paths.socketDir,
    '--log-level', 'error',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(conmonPath, args, {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, _OCI_SYNCPIPE: '3' },
      // conmon writes some markers (an `oom` file) into its working directory: keep them in the bundle.
      cwd: paths.bundle,
      detached: true,
    });
    let output = '';
    let sync = '';
    let settled = false;
    const finish = (err: TsswarmError | undefined, pid?: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      syncPipe.destroy();
      child.stdout?.destroy();
      child.stderr?.destroy();
      if (err) reject(err);
      else resolve(pid ?? -1);
    };
    const timer = setTimeout(
      () => finish(new TsswarmError(ErrorCode.TIMEOUT, `conmon did not create container ${id} within ${conmonCreateTimeoutMs} ms`)),
      conmonCreateTimeoutMs,
    );
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err) => finish(new TsswarmError(ErrorCode.UNSUPPORTED, `cannot run conmon: ${err.message} (run deploy/setup.sh)`)));
    const syncPipe = child.stdio[3] as Readable;
    syncPipe.on('data', (d: Buffer) => {
      sync += d.toString();
      const message = parseSyncMessage(sync);
      if (!message) return;
      if (message.data > 0) finish(undefined, message.data);
      else finish(creationError(message.message ?? output));
    });
    syncPipe.on('end', () => {
      if (!parseSyncMessage(sync)) finish(creationError(output || 'conmon exited without reporting'));
    });
    child.unref();
  });
}

/** One message of conmon's sync pipe, or undefined while incomplete. */
export function parseSyncMessage(text: string): { data: number; message?: string } | undefined {
  const line = text.split('\n')[0] ?? '';
  if (!text.includes('\n') && !line.trimEnd().endsWith('}')) return undefined;
  try {
    const value = JSON.parse(line) as { data?: unknown; message?: unknown };
    if (typeof value.data !== 'number') return undefined;
    return typeof value.message === 'string' ? { data: value.data, message: value.message } : { data: value.data };
  } catch {
    return undefined;
  }
}
