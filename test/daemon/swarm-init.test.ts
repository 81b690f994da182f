/**
 * What `swarm init` stores and refuses: the client's cluster settings as given (0 and false included),
 * docker's defaults where it gave none; and the flags `--force-new-cluster` cannot honour.
 */
import t from 'tap';
import { clusterSpecWithDefaults, forceNewClusterConflicts } from '../../daemon/swarm-node.js';
import type { ClusterSpec, SwarmInitRequest } from '../../proto/index.js';

t.test('no spec: docker defaults', async (t) => {
  const spec = clusterSpecWithDefaults(undefined);
  t.equal(spec.orchestration?.taskHistoryRetentionLimit, 5);
  t.same(spec.dispatcher?.heartbeatPeriod, { seconds: 5, nanos: 0 });
  t.same(spec.caConfig?.nodeCertExpiry, { seconds: 90 * 24 * 3600, nanos: 0 });
  t.equal(spec.annotations?.name, 'default');
});

t.test('a history limit of 0 stays 0, and --rebalance is kept', async (t) => {
  const spec = clusterSpecWithDefaults({ orchestration: { taskHistoryRetentionLimit: 0, rebalance: true } } as ClusterSpec);
  t.equal(spec.orchestration?.taskHistoryRetentionLimit, 0);
  t.equal(spec.orchestration?.rebalance, true);
  const off = clusterSpecWithDefaults({ orchestration: { taskHistoryRetentionLimit: 12, rebalance: false } } as ClusterSpec);
  t.same(off.orchestration, { taskHistoryRetentionLimit: 12, rebalance: false });
});

t.test('given durations are kept; missing ones get the defaults', async (t) => {
  const spec = clusterSpecWithDefaults({ dispatcher: { heartbeatPeriod: { seconds: 1, nanos: 0 } } } as ClusterSpec);
  t.same(spec.dispatcher?.heartbeatPeriod, { seconds: 1, nanos: 0 });
  t.same(spec.caConfig?.nodeCertExpiry, { seconds: 90 * 24 * 3600, nanos: 0 });
});

t.test('--force-new-cluster refuses address and pool flags it would otherwise ignore', async (t) => {
  const state = { listenAddr: '0.0.0.0:2377', advertiseAddr: '10.0.0.5:2377' };
  const request = { listenAddr: '', advertiseAddr: '', defaultAddrPool: [], subnetSize: 0, forceNewCluster: true } as unknown as SwarmInitRequest;
  t.equal(forceNewClusterConflicts(request, state), undefined, 'no flags: fine');
  t.equal(forceNewClusterConflicts({ ...request, advertiseAddr: '10.0.0.5' }, state), undefined, 'the same advertise address: fine');
  t.equal(forceNewClusterConflicts({ ...request, listenAddr: '0.0.0.0:2377' }, state), undefined, 'the same listen address: fine');
  t.match(forceNewClusterConflicts({ ...request, advertiseAddr: '10.0.0.9' }, state), /--advertise-addr 10.0.0.9 differs from 10.0.0.5:2377/);
  t.match(forceNewClusterConflicts({ ...request, listenAddr: '0.0.0.0:4000' }, state), /--listen-addr 0.0.0.0:4000 differs/);
  t.match(forceNewClusterConflicts({ ...request, defaultAddrPool: ['10.20.0.0/16'] }, state), /new swarms only/);
});
