/**
 * Test helpers for images: a real Debian docker-registry on a free 127.0.0.1 port (stopped by pid
 * in teardown), and the busybox test image built into a test's temp dir.
 */
import { spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { buildBusyboxImage } from '../../../deploy/images/build-busybox.js';
import type { OciArchiveResult } from '../../../deploy/images/oci-archive.js';
import { tempDir, type Teardown } from '../../helpers/temp-dir.js';

/** Longest wait for the registry to answer, in milliseconds. */
const registryStartTimeoutMs = 15_000;

/** A free TCP port on 127.0.0.1 (bound and released; the registry takes it right after). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A running docker-registry. */
export interface LocalRegistry {
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  readonly pid: number;
  readonly storageDir: string;
}

/** Starts `docker-registry serve` on 127.0.0.1 with storage in a temp dir; stopped in teardown. */
export async function startRegistry(t: Teardown): Promise<LocalRegistry> {
  const dir = await tempDir(t, 'registry');
  const port = await freeLoopbackPort();
  const storageDir = join(dir, 'storage');
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storageDir}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 8192) stderr += d.toString();
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('docker-registry did not start');
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(pid, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
  });
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + registryStartTimeoutMs;
  for (;;) {
    try {
      const res = await fetch(`http://${host}/v2/`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`docker-registry did not answer on ${host}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host, pid, storageDir };
}

/** Builds the busybox test image tarball into a temp dir of `t`. */
export async function busyboxTarball(t: Teardown): Promise<{ file: string } & OciArchiveResult> {
  const dir = await tempDir(t, 'busybox');
  const file = join(dir, 'busybox.tar');
  return { file, ...(await buildBusyboxImage(file)) };
}

/** Every path under `dir` (relative, sorted), to compare a store before and after a request. */
export async function treeListing(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.filter((e) => !e.endsWith('/lock') && e !== 'lock').sort();
}
