#!/usr/bin/env -S node --heap-growing-percent=50
/**
 * `tsswarmd`: the per-host daemon. It serves the Engine (containers on this host) and the swarm
 * services (Swarm: init/join/leave/info; Control: cluster state, through the local manager) on the
 * root-only control socket, and runs this host's swarm roles (daemon/swarm-node.ts): the manager
 * (raft, CA, control, dispatcher on --listen-addr, mutual TLS) and the worker agent. Containers are
 * held by conmon, so stopping or killing tsswarmd leaves them running; a restarted tsswarmd picks
 * them up again, and takes up its swarm roles from its saved state.
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
import { randomInt } from 'node:crypto';
import { seededRng } from '../lib/rng.js';
import { SwarmNode } from '../daemon/swarm-node.js';
import { LocalNetworks } from '../daemon/local-networks.js';
import { addSwarmServices } from '../daemon/local-services.js';
import { hostPlaceOf } from '../netd/index.js';
import { version } from './version.js';
import { engineTaskLogs } from '../worker/tasks/task-logs.js';

interface DaemonFlags {
  dataDir: string;
  listenAddr?: string;
  advertiseAddr?: string;
  hostname?: string;
  netns?: string;
  runDir: string;
  socket?: string;
  cgroupParent: string;
  insecureRegistry?: string[];
}

// The shebang's --heap-growing-percent=50 keeps V8 from letting the old space grow to several times
// what is live (a manager under write load promoted ~1 MB per 40 ms; see manager/raft/README.md).

// grpc-js names the server by its IP address in the TLS handshake, which Node flags as deprecated
// (DEP0123); peers are verified by their certificate's node identity instead, so the notice is noise.
process.noDeprecation = true;

const cgroupParentPattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*(\/[a-zA-Z0-9][a-zA-Z0-9_.-]*)*$/;

const program = new Command('tsswarmd')
  .description('tsswarm daemon: one per host')
  .version(version, '-v, --version')
  .option('--data-dir <dir>', 'state directory', '/var/lib/tsswarm')
  .option('--run-dir <dir>', 'runtime directory (runc state, sockets)', '/run/tsswarm')
  .option('--socket <path>', `control socket (default ${defaultSocketPath}, or RUN_DIR/tsswarmd.sock when --run-dir is given)`)
  .option('--cgroup-parent <path>', 'cgroup under which containers go', 'tsswarm')
  .option('--listen-addr <host:port>', 'default manager listen address for swarm init/join (0.0.0.0:2377)')
  .option('--advertise-addr <host[:port]>', 'default address other nodes reach this one at, for swarm init/join')
  .option('--hostname <name>', 'the node name `node ls` shows (default: the host name)')
  .option('--netns <name>', 'the network namespace this daemon runs in, where netd programs overlays (lab hosts; default: the host itself)')
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
    if (flags.hostname !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(flags.hostname)) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `invalid --hostname ${JSON.stringify(flags.hostname)}`);
    const localNetworks = await LocalNetworks.open(flags.dataDir, log.child({ component: 'local-networks' }));
    const swarm = await SwarmNode.open({
      localNetworks,
      dataDir: flags.dataDir,
      ...(flags.hostname !== undefined ? { hostname: flags.hostname } : {}),
      engineVersion: version,
      engine,
      images,
      taskLogs: engineTaskLogs(engine),
      netdPlace: hostPlaceOf(flags.netns),
      // Per-task tmpfs mounts for secrets and configs: under the runtime folder, never the data folder.
      secretsDir: join(flags.runDir, 'secrets'),
      rng: seededRng(randomInt(2 ** 31)),
      log: log.child({ component: 'swarm' }),
    });
    engine.setNetworks(swarm.containerNetworks());
    const defaults = { ...(flags.listenAddr !== undefined ? { listenAddr: flags.listenAddr } : {}), ...(flags.advertiseAddr !== undefined ? { advertiseAddr: flags.advertiseAddr } : {}) };
    const server = await serveEngine(engine, socket, (s) => addSwarmServices(s, swarm, defaults, images, log));
    log.info({ socket, dataDir: flags.dataDir, version, swarm: swarm.info().nodeId || 'inactive' }, 'tsswarmd ready');
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    log.info('shutting down; containers keep running');
    await server.close();
    await swarm.close();
    engine.close();
    log.info('tsswarmd stopped');
  });

await runProgram(program, process.argv);
