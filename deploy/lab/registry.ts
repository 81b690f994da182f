/**
 * A registry inside a lab: Debian's docker-registry on h1 (port 5000, plain HTTP, storage under the
 * lab's folder), started in h1's network namespace so that only lab hosts reach it and `lab down`
 * stops it with everything else. The lab's daemons are told it is an insecure registry.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import type { LabHost } from './record.js';

/** The registry's port on its lab host. */
export const labRegistryPort = 5000;
/** How long the registry may take to listen. */
export const registryStartTimeoutMs = 10_000;

/** host:port of the lab registry on `host`. */
export function labRegistryAddr(host: LabHost): string {
  return `${host.address}:${labRegistryPort}`;
}

/** Starts the registry on `host`; resolves once it listens (checked from inside the namespace). */
export async function startLabRegistry(host: LabHost): Promise<string> {
  const dir = join(dirname(host.dataDir), 'registry');
  await mkdir(join(dir, 'storage'), { recursive: true, mode: 0o700 });
  const config = join(dir, 'config.yml');
  const addr = labRegistryAddr(host);
  await writeFile(
    config,
    ['version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'storage')}`, '  delete:', '    enabled: true', 'http:', `  addr: ${addr}`, ''].join('\n'),
  );
  const log = openSync(join(dir, 'registry.log'), 'a');
  const child = spawn('nsenter', [`--net=/run/netns/${host.netns}`, '/usr/bin/docker-registry', 'serve', config], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const deadline = Date.now() + registryStartTimeoutMs;
  for (;;) {
    if (await answers(host, addr)) return addr;
    if (child.exitCode !== null || Date.now() > deadline) throw new TsswarmError(ErrorCode.EXTERNAL, `the lab registry on ${host.name} did not start (see ${join(dir, 'registry.log')})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** True when the registry answers /v2/ (a bounded probe from inside the host's namespace). */
function answers(host: LabHost, addr: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = spawn('ip', ['netns', 'exec', host.netns, 'curl', '-sf', '-m', '1', `http://${addr}/v2/`], { stdio: 'ignore' });
    probe.on('error', () => resolve(false));
    probe.on('exit', (code) => resolve(code === 0));
  });
}
