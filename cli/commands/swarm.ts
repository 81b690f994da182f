/**
 * `tsswarm swarm ...`: make this host the first manager of a swarm, join one, leave it, print and
 * rotate join tokens, change and show the cluster settings, as `docker swarm` does. Membership goes
 * through the Swarm service of the local tsswarmd, cluster settings through its Control service.
 */
import { Command } from 'commander';
import { ErrorCode, TsswarmError, invalidArgument } from '../../lib/errors.js';
import { parseDurationMs } from '../../lib/units.js';
import { timestampFromMs } from '../../proto/time.js';
import type { Cluster, ClusterSpec, DeepPartial, Duration, SwarmInfo } from '../../proto/index.js';
import type { ControlClient } from '../control-client.js';
import { collect } from '../container-flags.js';
import { parseOutput, renderDocuments } from '../format-template.js';

/** The port managers listen on when an address gives none. */
export const defaultManagerPort = 2377;
/** Prefix length of overlay subnets when `--default-addr-pool-mask-length` is not given (tsswarmd's default too). */
const defaultSubnetSize = 24;
/** Shortest node certificate life a cluster accepts (as swarmkit). */
const minCertExpiryMs = 3_600_000;
/** The command a joining node runs, as printed by init and join-token. */
const cliName = 'tsswarm';

/** A Control/Swarm client for the daemon `-H` names, loaded only when a command runs. */
export async function connectControl(cmd: Command): Promise<ControlClient> {
  let root = cmd;
  while (root.parent) root = root.parent;
  const host = (root.opts() as { host?: string }).host;
  const [{ ControlClient: Client }, { engineAddress }] = await Promise.all([import('../control-client.js'), import('../engine-client.js')]);
  return new Client(engineAddress(host));
}

/** Runs `fn` with a client and closes it, whatever happens. */
export async function withControl<T>(cmd: Command, fn: (control: ControlClient) => Promise<T>): Promise<T> {
  const control = await connectControl(cmd);
  try {
    return await fn(control);
  } finally {
    control.close();
  }
}

/** A duration flag (`5s`, `90m`, `2160h0m0s`) as a Duration message; `min` is inclusive. */
export function parseDurationFlag(text: string, flag: string, minMs: number): Duration {
  const ms = parseDurationMs(text, flag);
  if (ms < minMs) {
    const least = minMs % 3_600_000 === 0 ? `${minMs / 3_600_000}h` : minMs % 60_000 === 0 ? `${minMs / 60_000}m` : `${minMs}ms`;
    throw invalidArgument(ms <= 0 ? `${flag} must be longer than 0, got ${JSON.stringify(text)}` : `${flag} must be at least ${least}, got ${JSON.stringify(text)}`);
  }
  return timestampFromMs(ms);
}

function wholeNumber(text: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) {
    throw invalidArgument(`${flag} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/**
 * Checks a `host[:port]` address (`[v6]:port` too); adds `defaultPort` when given and the port is
 * missing. Returns the address to send.
 */
export function parseAddress(text: string, flag: string, opts: { requireHost: boolean; defaultPort?: number }): string {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]/]*)(?::(\d+))?$/.exec(text.trim());
  const host = m?.[1] ?? '';
  const port = m?.[2];
  if (!m || (opts.requireHost && host === '') || (host === '' && port === undefined)) {
    throw invalidArgument(`invalid ${flag} ${JSON.stringify(text)}: use HOST:PORT (e.g. 192.168.1.10:${defaultManagerPort})`);
  }
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) throw invalidArgument(`invalid ${flag} ${JSON.stringify(text)}: port ${port} is out of range`);
  if (port === undefined && opts.defaultPort !== undefined) return `${host}:${opts.defaultPort}`;
  return text.trim();
}

/** An IPv4 CIDR pool; returns its prefix length. */
function parsePool(text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
    throw invalidArgument(`invalid --default-addr-pool ${JSON.stringify(text)}: use an IPv4 CIDR such as 10.0.0.0/8`);
  }
  return Number(m[5]);
}

/** Cluster settings both `init` and `update` take. */
interface ClusterFlags {
  taskHistoryLimit?: string;
  dispatcherHeartbeat?: string;
  certExpiry?: string;
  rebalance?: string;
}

/** The spec changes the cluster flags ask for (only the given ones). */
function clusterSettings(flags: ClusterFlags): DeepPartial<ClusterSpec> {
  const orchestration = {
    ...(flags.taskHistoryLimit !== undefined ? { taskHistoryRetentionLimit: wholeNumber(flags.taskHistoryLimit, '--task-history-limit', 0) } : {}),
    ...(flags.rebalance !== undefined ? { rebalance: onOff(flags.rebalance, '--rebalance') } : {}),
  };
  return {
    ...(Object.keys(orchestration).length > 0 ? { orchestration } : {}),
    ...(flags.dispatcherHeartbeat !== undefined ? { dispatcher: { heartbeatPeriod: parseDurationFlag(flags.dispatcherHeartbeat, '--dispatcher-heartbeat', 1) } } : {}),
    ...(flags.certExpiry !== undefined ? { caConfig: { nodeCertExpiry: parseDurationFlag(flags.certExpiry, '--cert-expiry', minCertExpiryMs) } } : {}),
  };
}

/** `on` or `off`. */
function onOff(text: string, flag: string): boolean {
  if (text === 'on' || text === 'off') return text === 'on';
  throw invalidArgument(`${flag}: invalid value ${JSON.stringify(text)}: use on or off`);
}

function addClusterFlags(cmd: Command, defaults: boolean): Command {
  return cmd
    .option('--task-history-limit <n>', 'dead tasks kept per slot', defaults ? '5' : undefined)
    .option('--rebalance <on|off>', 'spread replicated services again when nodes join or recover (services with --rebalance default follow this)')
    .option('--dispatcher-heartbeat <duration>', 'how often nodes send heartbeats', defaults ? '5s' : undefined)
    .option('--cert-expiry <duration>', 'how long node certificates live', defaults ? '2160h0m0s' : undefined);
}

/** The local swarm state, refusing nodes that are not managers of an active swarm. */
export async function managerInfo(control: ControlClient): Promise<SwarmInfo> {
  const info = await control.info();
  const { LocalNodeState } = await import('../../proto/index.js');
  if (info.state !== LocalNodeState.ACTIVE || info.clusterId === '') {
    throw new TsswarmError(ErrorCode.NOT_IN_SWARM, `this node is not part of a swarm${info.error ? ` (${info.error})` : ''}: use "${cliName} swarm init" or "${cliName} swarm join" first`);
  }
  if (!info.controlAvailable) {
    const { notManagerMessage } = await import('../control-client.js');
    throw new TsswarmError(ErrorCode.NOT_IN_SWARM, notManagerMessage);
  }
  return info;
}

/** The address a joining node should dial: this manager's raft address, as docker prints it. */
export function managerAddressOf(info: SwarmInfo, managerStatusAddr: string | undefined): string {
  if (managerStatusAddr) return managerStatusAddr;
  const remote = info.remoteManagers.find((m) => m.nodeId === info.nodeId)?.addr;
  if (remote) return remote;
  const any = info.remoteManagers[0]?.addr;
  if (any) return any;
  return /:\d+$/.test(info.nodeAddr) ? info.nodeAddr : `${info.nodeAddr}:${defaultManagerPort}`;
}

type JoinRole = 'worker' | 'manager';

function joinRole(text: string): JoinRole {
  if (text !== 'worker' && text !== 'manager') throw invalidArgument(`unknown role ${JSON.stringify(text)}: use worker or manager`);
  return text;
}

/** docker's "To add a worker to this swarm, run the following command" block. */
export function joinInstructions(role: JoinRole, token: string, addr: string): string {
  return `To add a ${role} to this swarm, run the following command:\n\n    ${cliName} swarm join --token ${token} ${addr}\n\n`;
}

async function joinCommandText(control: ControlClient, info: SwarmInfo, cluster: Cluster, role: JoinRole, quiet: boolean): Promise<string> {
  const tokens = cluster.rootCa?.joinTokens;
  const token = role === 'worker' ? tokens?.worker : tokens?.manager;
  if (!token) throw new TsswarmError(ErrorCode.EXTERNAL, `tsswarmd answered without a ${role} join token`);
  if (quiet) return `${token}\n`;
  const self = await control.getNode(info.nodeId).catch(() => undefined);
  return joinInstructions(role, token, managerAddressOf(info, self?.managerStatus?.addr));
}

function durationNs(d: Duration | undefined): number {
  return d ? d.seconds * 1e9 + d.nanos : 0;
}

function isoOf(t: { seconds: number; nanos: number } | undefined): string {
  return new Date(t ? t.seconds * 1000 + Math.floor(t.nanos / 1e6) : 0).toISOString();
}

/** The cluster as docker's API shows the swarm (`swarm inspect`); join tokens only when asked. */
export function swarmDocument(cluster: Cluster, withTokens: boolean): Record<string, unknown> {
  const spec = cluster.spec;
  const raft = spec?.raft;
  return {
    ID: cluster.id,
    Version: { Index: cluster.meta?.version?.index ?? 0 },
    CreatedAt: isoOf(cluster.meta?.createdAt),
    UpdatedAt: isoOf(cluster.meta?.updatedAt),
    Spec: {
      Name: spec?.annotations?.name ?? '',
      Labels: spec?.annotations?.labels ?? {},
      Orchestration: { TaskHistoryRetentionLimit: spec?.orchestration?.taskHistoryRetentionLimit ?? 0 },
      Raft: {
        SnapshotInterval: raft?.snapshotInterval ?? 0,
        KeepOldSnapshots: raft?.keepOldSnapshots ?? 0,
        LogEntriesForSlowFollowers: raft?.logEntriesForSlowFollowers ?? 0,
        ElectionTick: raft?.electionTick ?? 0,
        HeartbeatTick: raft?.heartbeatTick ?? 0,
      },
      Dispatcher: { HeartbeatPeriod: durationNs(spec?.dispatcher?.heartbeatPeriod) },
      CAConfig: { NodeCertExpiry: durationNs(spec?.caConfig?.nodeCertExpiry) },
      TaskDefaults: spec?.taskDefaults?.logDriver ? { LogDriver: { Name: spec.taskDefaults.logDriver.name, Options: spec.taskDefaults.logDriver.options } } : {},
      EncryptionConfig: { AutoLockManagers: spec?.encryptionConfig?.autoLockManagers ?? false },
    },
    TLSInfo: { TrustRoot: new TextDecoder().decode(cluster.rootCa?.caCert ?? new Uint8Array()), CACertHash: cluster.rootCa?.caCertHash ?? '' },
    DefaultAddrPool: cluster.defaultAddressPool,
    SubnetSize: cluster.subnetSize,
    DataPathPort: cluster.vxlanUdpPort,
    ...(withTokens ? { JoinTokens: { Worker: cluster.rootCa?.joinTokens?.worker ?? '', Manager: cluster.rootCa?.joinTokens?.manager ?? '' } } : {}),
  };
}

interface InitFlags extends ClusterFlags {
  advertiseAddr?: string;
  listenAddr?: string;
  defaultAddrPool?: string[];
  defaultAddrPoolMaskLength?: string;
  forceNewCluster?: boolean;
}

function initCommand(): Command {
  return addClusterFlags(
    new Command('init')
      .description('Make this node the first manager of a new swarm')
      .option('--advertise-addr <addr[:port]>', 'address the other nodes reach this one at')
      .option('--listen-addr <addr:port>', `address the managers listen on (default: tsswarmd's, else 0.0.0.0:${defaultManagerPort})`)
      .option('--default-addr-pool <cidr>', 'pool overlay subnets are carved from (repeatable)', collect)
      .option('--default-addr-pool-mask-length <n>', `prefix length of each overlay subnet (default ${defaultSubnetSize})`)
      .option('--force-new-cluster', 'make a manager that lost its quorum the only member, keeping the state'),
    true,
  ).action(async (flags: InitFlags, cmd: Command) => {
    const listenAddr = flags.listenAddr !== undefined ? parseAddress(flags.listenAddr, '--listen-addr', { requireHost: false, defaultPort: defaultManagerPort }) : '';
    const advertiseAddr = flags.advertiseAddr !== undefined ? parseAddress(flags.advertiseAddr, '--advertise-addr', { requireHost: true }) : '';
    const pools = flags.defaultAddrPool ?? [];
    const prefixes = pools.map(parsePool);
    // 0 (not given) lets tsswarmd apply its default.
    const subnetSize = flags.defaultAddrPoolMaskLength !== undefined ? wholeNumber(flags.defaultAddrPoolMaskLength, '--default-addr-pool-mask-length', 1, 32) : 0;
    const tooShort = pools.find((_p, i) => (subnetSize || defaultSubnetSize) < (prefixes[i] ?? 0));
    if (tooShort !== undefined) throw invalidArgument(`--default-addr-pool-mask-length ${subnetSize || defaultSubnetSize} is shorter than the prefix of the pool ${tooShort}`);
    const spec = clusterSettings(flags);
    await withControl(cmd, async (control) => {
      const res = await control.init({ listenAddr, advertiseAddr, defaultAddrPool: pools, subnetSize, forceNewCluster: flags.forceNewCluster === true, spec });
      process.stdout.write(`Swarm initialized: current node (${res.nodeId}) is now a manager.\n\n`);
      const info = await control.info();
      const cluster = await control.getCluster(res.clusterId || info.clusterId);
      process.stdout.write(await joinCommandText(control, info, cluster, 'worker', false));
      process.stdout.write(`To add a manager to this swarm, run '${cliName} swarm join-token manager' and follow the instructions.\n\n`);
    });
  });
}

function joinCommand(): Command {
  return new Command('join')
    .description('Join a swarm as a worker or a manager (the token decides)')
    .requiredOption('--token <token>', 'join token from "tsswarm swarm join-token worker|manager"')
    .option('--advertise-addr <addr[:port]>', 'address the other nodes reach this one at')
    .option('--listen-addr <addr:port>', `address to listen on if this node becomes a manager (default: tsswarmd's, else 0.0.0.0:${defaultManagerPort})`)
    .option('--availability <availability>', 'active, pause or drain', 'active')
    .argument('<host:port>', 'a manager of the swarm')
    .action(async (remote: string, flags: { token: string; advertiseAddr?: string; listenAddr?: string; availability: string }, cmd: Command) => {
      const remoteAddr = parseAddress(remote, 'manager address', { requireHost: true, defaultPort: defaultManagerPort });
      const listenAddr = flags.listenAddr !== undefined ? parseAddress(flags.listenAddr, '--listen-addr', { requireHost: false, defaultPort: defaultManagerPort }) : '';
      const advertiseAddr = flags.advertiseAddr !== undefined ? parseAddress(flags.advertiseAddr, '--advertise-addr', { requireHost: true }) : '';
      if (flags.token.trim() === '') throw invalidArgument('--token is empty: get one with "tsswarm swarm join-token worker" on a manager');
      const { parseAvailability } = await import('../node-view.js');
      const availability = parseAvailability(flags.availability);
      await withControl(cmd, async (control) => {
        const { NodeRole } = await import('../../proto/index.js');
        const res = await control.join({ remoteAddr, joinToken: flags.token.trim(), listenAddr, advertiseAddr, availability });
        process.stdout.write(`This node joined a swarm as a ${res.role === NodeRole.MANAGER ? 'manager' : 'worker'}.\n`);
      });
    });
}

function joinTokenCommand(): Command {
  return new Command('join-token')
    .description('Print (or rotate) the token and command that join a node as a worker or manager')
    .option('-q, --quiet', 'only the token')
    .option('--rotate', 'replace the token; nodes that already joined are not affected')
    .argument('<role>', 'worker or manager')
    .action(async (roleText: string, flags: { quiet?: boolean; rotate?: boolean }, cmd: Command) => {
      const role = joinRole(roleText);
      await withControl(cmd, async (control) => {
        const info = await managerInfo(control);
        let cluster = await control.getCluster(info.clusterId);
        if (flags.rotate) {
          const rotation = role === 'worker' ? { workerJoinToken: true } : { managerJoinToken: true };
          const updated = await control.updateCluster({ clusterId: cluster.id, clusterVersion: cluster.meta?.version ?? { index: 0 }, ...(cluster.spec ? { spec: cluster.spec } : {}), rotation });
          cluster = updated ?? (await control.getCluster(info.clusterId));
          if (!flags.quiet) process.stdout.write(`Successfully rotated ${role} join token.\n\n`);
        }
        process.stdout.write(await joinCommandText(control, info, cluster, role, flags.quiet === true));
      });
    });
}

function updateCommand(): Command {
  return addClusterFlags(new Command('update').description('Change the cluster settings'), false).action(async (flags: ClusterFlags, cmd: Command) => {
    const settings = clusterSettings(flags);
    if (Object.keys(settings).length === 0) throw invalidArgument('nothing to update: give --task-history-limit, --dispatcher-heartbeat, --cert-expiry or --rebalance');
    await withControl(cmd, async (control) => {
      const info = await managerInfo(control);
      const cluster = await control.getCluster(info.clusterId);
      const current = cluster.spec ?? {};
      // Orchestration settings merge field by field: --rebalance keeps the history limit and back.
      const spec: DeepPartial<ClusterSpec> = { ...current, ...settings, ...(settings.orchestration ? { orchestration: { ...current.orchestration, ...settings.orchestration } } : {}) };
      await control.updateCluster({ clusterId: cluster.id, clusterVersion: cluster.meta?.version ?? { index: 0 }, spec });
      process.stdout.write('Swarm updated.\n');
    });
  });
}

/** The `swarm` command group. */
export function swarmCommand(): Command {
  const group = new Command('swarm').description('Manage the swarm this node belongs to').enablePositionalOptions();
  group.addCommand(initCommand());
  group.addCommand(joinCommand());
  group.addCommand(joinTokenCommand());
  group.addCommand(
    new Command('leave')
      .description('Leave the swarm (a manager needs --force)')
      .option('-f, --force', 'leave even as a manager, without keeping quorum')
      .action(async (flags: { force?: boolean }, cmd: Command) => {
        await withControl(cmd, (control) => control.leave(flags.force === true));
        process.stdout.write('Node left the swarm.\n');
      }),
  );
  group.addCommand(updateCommand());
  group.addCommand(
    new Command('inspect')
      .description('Show the cluster settings (JSON, or --format template)')
      .option('--format <format>', "json or a template such as '{{.Spec.Orchestration.TaskHistoryRetentionLimit}}'")
      .action(async (flags: { format?: string }, cmd: Command) => {
        const choice = parseOutput(flags.format);
        const doc = await withControl(cmd, async (control) => swarmDocument(await control.getCluster((await managerInfo(control)).clusterId), true));
        process.stdout.write(renderDocuments(choice, [doc]));
      }),
  );
  return group;
}
