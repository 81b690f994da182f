/**
 * tsswarmd on lab hosts: one per host, started inside the host's network namespace with the host's
 * own data dir, run dir (control socket) and cgroup parent, logging to LABDIR/hN/tsswarmd.log; and
 * forming the swarm: init on h1, managers h2..hM joined with the manager token, the rest as workers.
 * `lab down` stops them with everything else in the lab's namespaces.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, credentials, type ServiceError } from '@grpc/grpc-js';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { fromServiceError } from '../../lib/rpc-errors.js';
import { ControlService, NodeAvailability, SwarmService, type GrpcMethod } from '../../proto/index.js';
import type { LabHost, LabRecord } from './record.js';

/** How long a daemon may take to open its control socket. */
export const daemonStartTimeoutMs = 20_000;
/** Deadline of one call to a lab daemon (joins wait for the CA and raft). */
export const labCallTimeoutMs = 30_000;
/** How long a stopped daemon gets to exit after SIGTERM before SIGKILL. */
export const daemonStopGraceMs = 5_000;

// This file runs from dist/deploy/lab (built) or deploy/lab (tests on the sources); tsswarmd always from dist.
const labModuleDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = labModuleDir.split(sep).includes('dist') ? join(labModuleDir, '..', '..', '..') : join(labModuleDir, '..', '..');
const tsswarmdPath = join(repoRoot, 'dist', 'cli', 'tsswarmd.js');

/** The control socket of a lab host's daemon. */
export function hostSocket(host: LabHost): string {
  return join(host.runDir, 'tsswarmd.sock');
}

/** The manager address of a lab host. */
export function hostManagerAddr(host: LabHost): string {
  return `${host.address}:2377`;
}

function pidFile(host: LabHost): string {
  return join(dirname(host.dataDir), 'tsswarmd.pid');
}

/** The log file of a lab host's daemon. */
export function hostLogFile(host: LabHost): string {
  return join(dirname(host.dataDir), 'tsswarmd.log');
}

/** Extra tsswarmd flags for lab daemons (e.g. a faster raft profile in tests). */
export interface LabDaemonOptions {
  readonly extraArgs?: readonly string[];
}

/** Starts tsswarmd on `host` and waits for its control socket; resolves with its pid. */
export async function startHostDaemon(host: LabHost, options: LabDaemonOptions = {}): Promise<number> {
  const socket = hostSocket(host);
  await rm(socket, { force: true });
  const log = openSync(hostLogFile(host), 'a');
  const addr = hostManagerAddr(host);
  // nsenter enters only the network namespace: `ip netns exec` would also remount /sys, hiding the
  // cgroup mounts runc needs.
  const args = [
    `--net=/run/netns/${host.netns}`,
    process.execPath, '--heap-growing-percent=50', tsswarmdPath,
    '--data-dir', host.dataDir,
    '--run-dir', host.runDir,
    '--cgroup-parent', host.cgroupParent,
    '--hostname', host.name,
    '--listen-addr', addr,
    '--advertise-addr', addr,
    '--netns', host.netns,
    ...(options.extraArgs ?? []),
  ];
  const child = spawn('nsenter', args, { detached: true, stdio: ['ignore', log, log], env: { ...process.env, TSSWARM_LOG_LEVEL: process.env['TSSWARM_LOG_LEVEL'] ?? 'info' } });
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new TsswarmError(ErrorCode.EXTERNAL, `could not start tsswarmd on ${host.name}`);
  await writeFile(pidFile(host), `${pid}\n`);
  const deadline = Date.now() + daemonStartTimeoutMs;
  while (!existsSync(socket)) {
    if (!isAlive(pid) || Date.now() > deadline) {
      const tail = (await readFile(hostLogFile(host), 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
      throw new TsswarmError(ErrorCode.EXTERNAL, `tsswarmd on ${host.name} did not start: ${tail || 'no output'}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return pid;
}

/** The pid of a lab host's daemon, if it runs. */
export async function hostDaemonPid(host: LabHost): Promise<number | undefined> {
  const text = await readFile(pidFile(host), 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/** Stops a lab host's daemon: SIGKILL at once (`kill: true`, a crash), or SIGTERM then SIGKILL. */
export async function stopHostDaemon(host: LabHost, kill = false): Promise<void> {
  const pid = await hostDaemonPid(host);
  if (pid === undefined) return;
  process.kill(pid, kill ? 'SIGKILL' : 'SIGTERM');
  const deadline = Date.now() + daemonStopGraceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 20));
}

/** One unary call to a lab host's daemon over its control socket. */
export function callHost<Req, Res>(host: LabHost, method: GrpcMethod<Req, Res>, request: Req, timeoutMs = labCallTimeoutMs): Promise<Res> {
  const target = `unix://${hostSocket(host)}`;
  const client = new Client(target, credentials.createInsecure());
  return new Promise<Res>((resolve, reject) => {
    client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, { deadline: Date.now() + timeoutMs }, (err: ServiceError | null, response?: Res) => {
      client.close();
      if (err) reject(fromServiceError(err, `${host.name} (${target})`));
      else if (response === undefined) reject(new TsswarmError(ErrorCode.EXTERNAL, `${method.path} on ${host.name} returned nothing`));
      else resolve(response);
    });
  });
}

/** Starts every host's daemon and forms the swarm: h1 inits, h2..h`managers` join as managers, the rest as workers. */
export async function formSwarm(record: LabRecord, managers: number, options: LabDaemonOptions = {}): Promise<void> {
  if (!Number.isInteger(managers) || managers < 1 || managers > record.hosts.length) {
    throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `--managers must be between 1 and the number of hosts (${record.hosts.length})`);
  }
  await Promise.all(record.hosts.map((h) => startHostDaemon(h, options)));
  const [first, ...rest] = record.hosts as [LabHost, ...LabHost[]];
  await callHost(first, SwarmService.init, { listenAddr: '', advertiseAddr: '', defaultAddrPool: [], subnetSize: 0, forceNewCluster: false });
  const { cluster } = await callHost(first, ControlService.getCluster, { clusterId: '' });
  const tokens = cluster?.rootCa?.joinTokens;
  if (tokens === undefined) throw new TsswarmError(ErrorCode.EXTERNAL, 'the new swarm has no join tokens');
  const remote = hostManagerAddr(first);
  // Managers one at a time (each joins raft as a learner and is promoted); workers all at once.
  for (const host of rest.slice(0, managers - 1)) {
    await callHost(host, SwarmService.join, { remoteAddr: remote, joinToken: tokens.manager, listenAddr: '', advertiseAddr: '', availability: NodeAvailability.ACTIVE });
  }
  await Promise.all(
    rest.slice(managers - 1).map((host) => callHost(host, SwarmService.join, { remoteAddr: remote, joinToken: tokens.worker, listenAddr: '', advertiseAddr: '', availability: NodeAvailability.ACTIVE })),
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
