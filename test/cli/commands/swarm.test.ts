/**
 * `tsswarm swarm ...` and `tsswarm info` against a fake tsswarmd (Control and Swarm services on a
 * unix socket): what the user sees, and what the CLI sends (or refuses to send).
 */
import t, { type Test } from 'tap';
import { LocalNodeState, NodeAvailability, SwarmInfo } from '../../../proto/index.js';
import { ids, startFakeDaemon, tokens } from '../../helpers/fake-control.js';

type ClusterUpdate = {
  clusterId: string;
  clusterVersion?: { index: number };
  spec?: { orchestration?: { taskHistoryRetentionLimit: number; rebalance?: boolean }; dispatcher?: { heartbeatPeriod?: { seconds: number } }; caConfig?: { nodeCertExpiry?: { seconds: number } }; raft?: { snapshotInterval: number } };
  rotation?: { workerJoinToken: boolean; managerJoinToken: boolean };
};

function oneLineFailure(t: Test, r: { code: number; stderr: string }, message: RegExp, what: string): void {
  t.not(r.code, 0, `${what}: exits non-zero`);
  t.match(r.stderr, message, `${what}: ${r.stderr.trim()}`);
  t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
  t.notMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
}

t.test('swarm init: docker output with the worker join command; cluster defaults sent, addresses left to tsswarmd', async (t) => {
  const d = await startFakeDaemon(t);
  const r = await d.cli('swarm', 'init', '--advertise-addr', '10.0.0.1');
  t.equal(r.code, 0, r.stderr);
  t.equal(
    r.stdout,
    `Swarm initialized: current node (${ids.mgr1}) is now a manager.\n\n` +
      'To add a worker to this swarm, run the following command:\n\n' +
      `    tsswarm swarm join --token ${tokens.worker} 10.0.0.1:2377\n\n` +
      "To add a manager to this swarm, run 'tsswarm swarm join-token manager' and follow the instructions.\n\n",
  );
  t.same(d.requests('init'), [
    {
      listenAddr: '',
      advertiseAddr: '10.0.0.1',
      defaultAddrPool: [],
      subnetSize: 0,
      forceNewCluster: false,
      spec: {
        orchestration: { taskHistoryRetentionLimit: 5 },
        dispatcher: { heartbeatPeriod: { seconds: 5, nanos: 0 } },
        caConfig: { nodeCertExpiry: { seconds: 2160 * 3600, nanos: 0 } },
      },
    },
  ]);
});

t.test('swarm init: every flag reaches the request', async (t) => {
  const d = await startFakeDaemon(t);
  const r = await d.cli(
    'swarm', 'init', '--listen-addr', '10.0.0.1:4000', '--default-addr-pool', '10.20.0.0/16', '--default-addr-pool', '10.30.0.0/16',
    '--default-addr-pool-mask-length', '26', '--force-new-cluster', '--task-history-limit', '2', '--dispatcher-heartbeat', '1m30s', '--cert-expiry', '90m',
  );
  t.equal(r.code, 0, r.stderr);
  t.same(d.requests('init'), [
    {
      listenAddr: '10.0.0.1:4000',
      advertiseAddr: '',
      defaultAddrPool: ['10.20.0.0/16', '10.30.0.0/16'],
      subnetSize: 26,
      forceNewCluster: true,
      spec: {
        orchestration: { taskHistoryRetentionLimit: 2 },
        dispatcher: { heartbeatPeriod: { seconds: 90, nanos: 0 } },
        caConfig: { nodeCertExpiry: { seconds: 5400, nanos: 0 } },
      },
    },
  ]);
});

t.test('swarm init: malformed values are refused before anything is sent', async (t) => {
  const d = await startFakeDaemon(t);
  const cases: [string[], RegExp][] = [
    [['--dispatcher-heartbeat', '5x'], /invalid --dispatcher-heartbeat "5x": use a duration such as 10s/],
    [['--dispatcher-heartbeat', '5'], /invalid --dispatcher-heartbeat "5"/],
    [['--dispatcher-heartbeat', '0s'], /--dispatcher-heartbeat must be longer than 0/],
    [['--cert-expiry', '2160hours'], /invalid --cert-expiry "2160hours"/],
    [['--cert-expiry', '30m'], /--cert-expiry must be at least 1h, got "30m"/],
    [['--task-history-limit', '-1'], /--task-history-limit must be a whole number/],
    [['--default-addr-pool', '10.0.0.0'], /invalid --default-addr-pool "10\.0\.0\.0"/],
    [['--default-addr-pool', '10.0.0.0/16', '--default-addr-pool-mask-length', '8'], /shorter than the prefix of the pool 10\.0\.0\.0\/16/],
    [['--default-addr-pool', '10.0.0.0/28'], /--default-addr-pool-mask-length 24 is shorter than the prefix of the pool 10\.0\.0\.0\/28/],
    [['--listen-addr', '1.2.3.4:99999'], /port 99999 is out of range/],
  ];
  for (const [flags, message] of cases) {
    const r = await d.cli('swarm', 'init', ...flags);
    oneLineFailure(t, r, message, flags.join(' '));
    t.equal(r.code, 2);
  }
  t.same(d.calls, [], 'no request at all');
});

t.test('swarm join: worker or manager as the daemon says; the port defaults to 2377', async (t) => {
  const d = await startFakeDaemon(t);
  const worker = await d.cli('swarm', 'join', '--token', tokens.worker, '10.0.0.1');
  t.equal(worker.code, 0, worker.stderr);
  t.equal(worker.stdout, 'This node joined a swarm as a worker.\n');
  const manager = await d.cli('swarm', 'join', '--token', tokens.manager, '--availability', 'drain', '--advertise-addr', '10.0.0.9', '10.0.0.1:2377');
  t.equal(manager.stdout, 'This node joined a swarm as a manager.\n');
  t.same(d.requests('join'), [
    { remoteAddr: '10.0.0.1:2377', joinToken: tokens.worker, listenAddr: '', advertiseAddr: '', availability: NodeAvailability.ACTIVE },
    { remoteAddr: '10.0.0.1:2377', joinToken: tokens.manager, listenAddr: '', advertiseAddr: '10.0.0.9', availability: NodeAvailability.DRAIN },
  ]);
  oneLineFailure(t, await d.cli('swarm', 'join', '--token', 'SWMTKN-1-bogus', '10.0.0.1'), /invalid join token/, 'a token the daemon refuses');
  oneLineFailure(t, await d.cli('swarm', 'join', '10.0.0.1'), /--token/, 'no token');
  oneLineFailure(t, await d.cli('swarm', 'join', '--token', tokens.worker, '--availability', 'maybe', '10.0.0.1'), /invalid --availability/, 'bad availability');
  oneLineFailure(t, await d.cli('swarm', 'join', '--token', tokens.worker, ':2377'), /invalid manager address/, 'no host');
  t.equal(d.requests('join').length, 3, 'refused flags sent nothing');
});

t.test('swarm join-token: the join command with this manager address; -q; --rotate', async (t) => {
  const d = await startFakeDaemon(t);
  const worker = await d.cli('swarm', 'join-token', 'worker');
  t.equal(worker.code, 0, worker.stderr);
  t.equal(worker.stdout, `To add a worker to this swarm, run the following command:\n\n    tsswarm swarm join --token ${tokens.worker} 10.0.0.1:2377\n\n`);
  t.equal((await d.cli('swarm', 'join-token', '-q', 'manager')).stdout, `${tokens.manager}\n`);
  t.same(d.requests('updateCluster'), [], 'reading does not update');

  const rotate = await d.cli('swarm', 'join-token', '--rotate', 'worker');
  t.equal(rotate.code, 0, rotate.stderr);
  const [sent] = d.requests('updateCluster') as ClusterUpdate[];
  t.equal(sent?.clusterId, ids.cluster);
  t.same(sent?.clusterVersion, { index: 3 }, 'the version GetCluster returned');
  t.same(sent?.rotation, { workerJoinToken: true, managerJoinToken: false, managerUnlockKey: false });
  t.equal(sent?.spec?.raft?.snapshotInterval, 10000, 'the spec is sent back unchanged');
  const rotated = d.cluster.rootCa?.joinTokens?.worker ?? '';
  t.not(rotated, tokens.worker);
  t.equal(rotate.stdout, `Successfully rotated worker join token.\n\nTo add a worker to this swarm, run the following command:\n\n    tsswarm swarm join --token ${rotated} 10.0.0.1:2377\n\n`);
  t.equal((await d.cli('swarm', 'join-token', '-q', 'manager')).stdout, `${tokens.manager}\n`, 'the manager token is kept');

  const bad = await d.cli('swarm', 'join-token', 'admin');
  oneLineFailure(t, bad, /unknown role "admin": use worker or manager/, 'bad role');
  t.equal(bad.code, 2);
});

t.test('swarm update: GetCluster, then UpdateCluster with the version it read', async (t) => {
  const d = await startFakeDaemon(t);
  const r = await d.cli('swarm', 'update', '--task-history-limit', '10', '--dispatcher-heartbeat', '90m');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'Swarm updated.\n');
  const [sent] = d.requests('updateCluster') as ClusterUpdate[];
  t.same(sent?.clusterVersion, { index: 3 });
  t.equal(sent?.spec?.orchestration?.taskHistoryRetentionLimit, 10);
  t.equal(sent?.spec?.dispatcher?.heartbeatPeriod?.seconds, 5400);
  t.equal(sent?.spec?.caConfig?.nodeCertExpiry?.seconds, 2160 * 3600, 'unchanged settings are kept');
  t.same(sent?.rotation, undefined, 'no rotation');
  const shown = await d.cli('swarm', 'inspect', '--format', '{{.Spec.Orchestration.TaskHistoryRetentionLimit}} {{.Spec.Dispatcher.HeartbeatPeriod}} {{.Version.Index}}');
  t.equal(shown.stdout, '10 5400000000000 13\n');

  for (const [flags, message] of [
    [[], /nothing to update/],
    [['--cert-expiry', '1y'], /invalid --cert-expiry "1y"/],
    [['--dispatcher-heartbeat', 'soon'], /invalid --dispatcher-heartbeat "soon"/],
    [['--rebalance', 'sometimes'], /--rebalance: invalid value "sometimes": use on or off/],
  ] as [string[], RegExp][]) {
    const bad = await d.cli('swarm', 'update', ...flags);
    oneLineFailure(t, bad, message, flags.join(' ') || 'no flags');
    t.equal(bad.code, 2);
  }
  t.equal(d.requests('updateCluster').length, 1, 'refused updates sent nothing');
});

t.test('swarm update --rebalance sets the cluster default and keeps the other orchestration settings', async (t) => {
  const d = await startFakeDaemon(t);
  const r = await d.cli('swarm', 'update', '--rebalance', 'on');
  t.equal(r.code, 0, r.stderr);
  const [sent] = d.requests('updateCluster') as ClusterUpdate[];
  t.equal(sent?.spec?.orchestration?.rebalance, true, 'rebalancing on by default');
  t.equal(sent?.spec?.orchestration?.taskHistoryRetentionLimit, 5, 'the history limit is kept');
});

t.test('swarm inspect: docker-style JSON', async (t) => {
  const d = await startFakeDaemon(t);
  const r = await d.cli('swarm', 'inspect');
  t.equal(r.code, 0, r.stderr);
  const [doc] = JSON.parse(r.stdout) as { ID: string; Spec: { CAConfig: { NodeCertExpiry: number } }; JoinTokens: { Worker: string }; DefaultAddrPool: string[] }[];
  t.equal(doc?.ID, ids.cluster);
  t.equal(doc?.Spec.CAConfig.NodeCertExpiry, 2160 * 3600 * 1e9, 'durations in nanoseconds, as docker');
  t.equal(doc?.JoinTokens.Worker, tokens.worker);
  t.same(doc?.DefaultAddrPool, ['10.0.0.0/8']);
});

t.test('swarm leave: --force for a manager', async (t) => {
  const d = await startFakeDaemon(t);
  oneLineFailure(t, await d.cli('swarm', 'leave'), /must leave with --force/, 'manager without --force');
  const r = await d.cli('swarm', 'leave', '--force');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'Node left the swarm.\n');
  t.same(d.requests('leave'), [{ force: false }, { force: true }]);
});

t.test('swarm commands on a node outside a swarm or on a worker', async (t) => {
  const d = await startFakeDaemon(t);
  d.info = SwarmInfo.create({ state: LocalNodeState.INACTIVE });
  oneLineFailure(t, await d.cli('swarm', 'join-token', 'worker'), /this node is not part of a swarm: use "tsswarm swarm init"/, 'inactive');
  d.info = SwarmInfo.create({ state: LocalNodeState.ACTIVE, nodeId: ids.wrk1, clusterId: ids.cluster, controlAvailable: false });
  oneLineFailure(t, await d.cli('swarm', 'update', '--task-history-limit', '1'), /this node is not a swarm manager/i, 'worker');
  t.same(d.requests('updateCluster'), []);
});

t.test('info: the Swarm section of docker info', async (t) => {
  const d = await startFakeDaemon(t);
  const r = await d.cli('info');
  t.equal(r.code, 0, r.stderr);
  t.match(
    r.stdout,
    [
      'Server:',
      ' Swarm: active',
      `  NodeID: ${ids.mgr1}`,
      '  Is Manager: true',
      `  ClusterID: ${ids.cluster}`,
      '  Managers: 2',
      '  Nodes: 4',
      '',
    ].join('\n'),
  );
  t.match(r.stdout, /  Dispatcher:\n   Heartbeat Period: 5 seconds\n  CA Configuration:\n   Expiry Duration: 3 months\n/);
  t.match(r.stdout, /  Node Address: 10\.0\.0\.1\n  Manager Addresses:\n   10\.0\.0\.1:2377\n   10\.0\.0\.4:2377\n$/);
  t.equal((await d.cli('info', '--format', '{{.Swarm.NodeID}} {{.Swarm.LocalNodeState}} {{.Swarm.Cluster.ID}}')).stdout, `${ids.mgr1} active ${ids.cluster}\n`);

  d.info = SwarmInfo.create({ state: LocalNodeState.ACTIVE, nodeId: ids.wrk1, nodeAddr: '10.0.0.2', controlAvailable: false, remoteManagers: [{ nodeId: ids.mgr1, addr: '10.0.0.1:2377' }] });
  const worker = await d.cli('info');
  t.match(worker.stdout, /Swarm: active\n  NodeID: a1b2z+\n  Is Manager: false\n  Node Address: 10\.0\.0\.2\n  Manager Addresses:\n   10\.0\.0\.1:2377\n$/);
  t.same(d.requests('getCluster').length, 2, 'a worker does not ask for the cluster');

  d.info = SwarmInfo.create({ state: LocalNodeState.INACTIVE });
  t.match((await d.cli('info')).stdout, /Server:\n Swarm: inactive\n$/);
});
