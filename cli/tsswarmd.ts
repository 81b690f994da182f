#!/usr/bin/env node
/**
 * `tsswarmd`: the per-host daemon. Today it serves the Engine (containers on this host) on the
 * control socket; the manager, worker and netd roles join it with the cluster issue. Containers are
 * held by conmon, so stopping or killing tsswarmd leaves them running; a restarted tsswarmd picks
 * them up again.
 */
import { Command } from 'commander';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../lib/log.js';
import { ErrorCode, TsswarmError } from '../lib/errors.js';
import { Engine, serveEngine, storeImageResolver } from '../worker/engine/index.js';
import { containersUsing } from '../worker/engine/image-users.js';
import { ImageService } from '../worker/images/image-service.js';
import { defaultSocketPath } from './engine-client.js';
import { collect } from './container-flags.js';
import { runProgram } from './run.js';
import { version } from './version.js';

interface DaemonFlags {
  dataDir: string;
  runDir: string;
  socket?: string;
  cgroupParent: string;
  insecureRegistry?: string[];
}

const cgroupParentPattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*(\/[a-zA-Z0-9][a-zA-Z0-9_.-]*)*$/;

const program = new Command('tsswarmd')
  .description('tsswarm daemon: one per host')
  .version(version, '-v, --version')
  .option('--data-dir <dir>', 'state directory', '/var/lib/tsswarm')
  .option('--run-dir <dir>', 'runtime directory (runc state, sockets)', '/run/tsswarm')
  .option('--socket <path>', `control socket (default ${defaultSocketPath}, or RUN_DIR/tsswarmd.sock when --run-dir is given)`)
  .option('--cgroup-parent <path>', 'cgroup under which containers go', 'tsswarm')
  .option('--insecure-registry <host:port>', 'plain-HTTP registry on a loopback or lab address (repeatable)', collect)
  .action(async (flags: DaemonFlags) => {
    if (process.getuid?.() !== 0) throw new TsswarmError(ErrorCode.PERMISSION, 'tsswarmd must run as root');
    if (!cgroupParentPattern.test(flags.cgroupParent)) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `invalid --cgroup-parent ${JSON.stringify(flags.cgroupParent)}`);
    const log = createLogger('tsswarmd');
    await mkdir(flags.dataDir, { recursive: true, mode: 0o700 });
    await mkdir(flags.runDir, { recursive: true, mode: 0o700 });
    const images = new ImageService({ dataDir: flags.dataDir, insecureRegistries: flags.insecureRegistry ?? [], usedBy: containersUsing(flags.dataDir) });
    const engine = new Engine({ dataDir: flags.dataDir, runDir: flags.runDir, cgroupParent: flags.cgroupParent }, storeImageResolver(images), log);
    await engine.recover();
    const socket = flags.socket ?? (flags.runDir === '/run/tsswarm' ? defaultSocketPath : join(flags.runDir, 'tsswarmd.sock'));
    const server = await serveEngine(engine, socket);
    log.info({ socket, dataDir: flags.dataDir, version }, 'tsswarmd ready');
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    log.info('shutting down; containers keep running');
    await server.close();
  });

await runProgram(program, process.argv);
