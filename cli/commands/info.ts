/**
 * `tsswarm info`: the Swarm section of `docker info` (state, node, cluster, managers, addresses),
 * from the Swarm service of the local tsswarmd, plus the cluster settings when this node is a manager.
 */
import { Command } from 'commander';
import { errorMessage } from '../../lib/errors.js';
import { millisOf } from '../../proto/time.js';
import type { Cluster, SwarmInfo } from '../../proto/index.js';
import { parseOutput, renderTemplateRows } from '../format-template.js';
import { humanDuration, renderJson } from '../output.js';
import { version } from '../version.js';
import { swarmDocument, withControl } from './swarm.js';

/** The Swarm section, indented as docker's `Server:` block; `state` is `inactive`, `active`... (pure). */
export function swarmSection(info: SwarmInfo, state: string, cluster: Cluster | undefined): string {
  const lines = [` Swarm: ${state}`];
  if (state === 'inactive') return `${lines.join('\n')}\n`;
  lines.push(`  NodeID: ${info.nodeId}`);
  if (info.error) lines.push(`  Error: ${info.error}`);
  lines.push(`  Is Manager: ${info.controlAvailable}`);
  if (info.controlAvailable && !info.error) {
    lines.push(`  ClusterID: ${info.clusterId}`, `  Managers: ${info.managers}`, `  Nodes: ${info.nodes}`);
    if (cluster) {
      const spec = cluster.spec;
      if (cluster.defaultAddressPool.length > 0) lines.push(`  Default Address Pool: ${cluster.defaultAddressPool.join('  ')}`);
      if (cluster.subnetSize > 0) lines.push(`  SubnetSize: ${cluster.subnetSize}`);
      if (cluster.vxlanUdpPort > 0) lines.push(`  Data Path Port: ${cluster.vxlanUdpPort}`);
      lines.push('  Orchestration:', `   Task History Retention Limit: ${spec?.orchestration?.taskHistoryRetentionLimit ?? 0}`);
      lines.push(
        '  Raft:',
        `   Snapshot Interval: ${spec?.raft?.snapshotInterval ?? 0}`,
        `   Number of Old Snapshots to Retain: ${spec?.raft?.keepOldSnapshots ?? 0}`,
        `   Heartbeat Tick: ${spec?.raft?.heartbeatTick ?? 0}`,
        `   Election Tick: ${spec?.raft?.electionTick ?? 0}`,
      );
      lines.push('  Dispatcher:', `   Heartbeat Period: ${humanDuration(millisOf(spec?.dispatcher?.heartbeatPeriod))}`);
      lines.push('  CA Configuration:', `   Expiry Duration: ${humanDuration(millisOf(spec?.caConfig?.nodeCertExpiry))}`);
      lines.push(`  Autolock Managers: ${spec?.encryptionConfig?.autoLockManagers ?? false}`);
    }
  }
  lines.push(`  Node Address: ${info.nodeAddr}`);
  const managers = info.remoteManagers.map((m) => m.addr).sort();
  if (managers.length > 0) lines.push('  Manager Addresses:', ...managers.map((a) => `   ${a}`));
  return `${lines.join('\n')}\n`;
}

/** `info --format json` and templates see docker's shape: `{{.Swarm.NodeID}}`. */
function infoDocument(info: SwarmInfo, state: string, cluster: Cluster | undefined): Record<string, unknown> {
  return {
    ClientVersion: version,
    Swarm: {
      NodeID: info.nodeId,
      NodeAddr: info.nodeAddr,
      LocalNodeState: state,
      ControlAvailable: info.controlAvailable,
      Error: info.error,
      RemoteManagers: info.remoteManagers.map((m) => ({ NodeID: m.nodeId, Addr: m.addr })),
      Nodes: info.nodes,
      Managers: info.managers,
      ...(cluster ? { Cluster: swarmDocument(cluster, false) } : {}),
    },
  };
}

/** The top-level `info` command. */
export function infoCommand(): Command {
  return new Command('info')
    .description('Show this node’s place in the swarm (the Swarm section of docker info)')
    .option('--format <format>', "json or a template such as '{{.Swarm.NodeID}}'")
    .action(async (flags: { format?: string }, cmd: Command) => {
      const choice = parseOutput(flags.format);
      const { info, cluster, warning } = await withControl(cmd, async (control) => {
        const info = await control.info();
        if (!info.controlAvailable || info.clusterId === '') return { info, cluster: undefined, warning: undefined };
        try {
          return { info, cluster: await control.getCluster(info.clusterId), warning: undefined };
        } catch (err) {
          return { info, cluster: undefined, warning: `WARNING: cannot read the cluster settings: ${errorMessage(err)}` };
        }
      });
      if (warning !== undefined) process.stderr.write(`${warning}\n`);
      const { LocalNodeState, enumKey } = await import('../../proto/index.js');
      const state = (enumKey(LocalNodeState, info.state) ?? 'unknown').toLowerCase();
      if (choice.kind !== 'table') {
        const doc = infoDocument(info, state, cluster);
        process.stdout.write(choice.kind === 'template' ? renderTemplateRows(choice.template, [doc]) : renderJson(doc));
        return;
      }
      process.stdout.write(`Client:\n Version: ${version}\n\nServer:\n${swarmSection(info, state, cluster)}`);
    });
}
