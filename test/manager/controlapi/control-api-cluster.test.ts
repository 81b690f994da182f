import t from 'tap';
import { CertificateAuthority } from '../../../manager/ca/authority.js';
import { parseJoinToken } from '../../../manager/ca/join-token.js';
import { Cluster, ClusterSpec } from '../../../proto/index.js';
import { clusterId, clusterObject, fixture, member, node, storeState, testRoot } from './helpers.js';

async function withCluster() {
  const cluster = await clusterObject();
  return fixture([node('m1')], [member('m1', 1)], 'm1', cluster);
}

const versionOf = (c: Cluster | undefined): { index: number } => ({ index: c?.meta?.version?.index ?? -1 });
const stored = (f: Awaited<ReturnType<typeof withCluster>>): Cluster => f.store.memory.get('cluster', clusterId) as Cluster;
const specWith = (c: Cluster, change: Parameters<typeof ClusterSpec.create>[0]): ClusterSpec => ClusterSpec.create({ ...ClusterSpec.create(c.spec ?? {}), ...change });

t.test('GetCluster: by ID or as the only cluster, never with the CA key', async (t) => {
  const f = await withCluster();
  t.match(Buffer.from(Cluster.encode(stored(f))).toString('latin1'), /PRIVATE KEY/, 'the stored object holds the key');
  for (const id of [clusterId, '']) {
    const { cluster } = await f.api.getCluster({ clusterId: id });
    t.equal(cluster?.id, clusterId);
    t.equal(cluster?.rootCa?.caKey.length, 0, 'no CA key');
    t.notMatch(Buffer.from(Cluster.encode(cluster as Cluster)).toString('latin1'), /PRIVATE KEY/, 'no PEM key anywhere in the encoded answer');
    t.ok(cluster?.rootCa?.caCert.length, 'the certificate is there');
    t.equal(cluster?.rootCa?.joinTokens?.worker, stored(f).rootCa?.joinTokens?.worker, 'join tokens are there');
  }
  t.ok(stored(f).rootCa?.caKey.length, 'redaction does not touch the stored object');
  await t.rejects(f.api.getCluster({ clusterId: 'nope' }), { code: 'ENOTFOUND', message: 'cluster nope not found' });
  const empty = await fixture([]);
  await t.rejects(empty.api.getCluster({ clusterId: '' }), { code: 'ENOTSWARM' });
});

t.test('UpdateCluster: replaces the spec, keeps the name, answers without the CA key', async (t) => {
  const f = await withCluster();
  const read = stored(f);
  const spec = specWith(read, {
    annotations: { name: '', labels: { env: 'lab' } },
    orchestration: { taskHistoryRetentionLimit: 0 },
    dispatcher: { heartbeatPeriod: { seconds: 10, nanos: 0 } },
    caConfig: { nodeCertExpiry: { seconds: 3600, nanos: 0 } },
  });
  const { cluster } = await f.api.updateCluster({ clusterId, clusterVersion: versionOf(read), spec });
  t.equal(cluster?.rootCa?.caKey.length, 0, 'no CA key in the answer');
  t.same(stored(f).spec?.annotations, { name: 'default', labels: { env: 'lab' } }, 'an empty name keeps the cluster name');
  t.equal(stored(f).spec?.orchestration?.taskHistoryRetentionLimit, 0);
  t.same(stored(f).spec?.dispatcher?.heartbeatPeriod, { seconds: 10, nanos: 0 });
  t.same(stored(f).spec?.caConfig?.nodeCertExpiry, { seconds: 3600, nanos: 0 }, 'one hour is the minimum and is allowed');
  t.ok(stored(f).rootCa?.caKey.length, 'the stored key is kept');
  t.same(stored(f).rootCa?.joinTokens, read.rootCa?.joinTokens, 'no rotation asked, tokens unchanged');
  t.ok(versionOf(stored(f)).index > versionOf(read).index);
});

t.test('UpdateCluster: stale versions and bad specs are refused and change nothing', async (t) => {
  const f = await withCluster();
  const read = stored(f);
  await f.api.updateCluster({ clusterId, clusterVersion: versionOf(read), spec: specWith(read, {}) });
  const current = stored(f);
  const before = storeState(f.store);
  const ok = { clusterId, clusterVersion: versionOf(current) };
  const cases: { name: string; request: Parameters<typeof f.api.updateCluster>[0]; code: string; message: RegExp }[] = [
    {
      name: 'stale version (with a rotation)',
      request: { clusterId, clusterVersion: versionOf(read), spec: specWith(read, {}), rotation: { workerJoinToken: true, managerJoinToken: true, managerUnlockKey: false } },
      code: 'ECONFLICT',
      message: /^update out of sequence: cluster clusteraaaaaaaaaaaaaaaaaa is at version \d+, but the update was made from version \d+/,
    },
    { name: 'no version', request: { clusterId, spec: specWith(current, {}) }, code: 'EINVAL', message: /cluster_version is required/ },
    { name: 'no spec', request: { ...ok }, code: 'EINVAL', message: /a spec is required/ },
    { name: 'unknown cluster', request: { clusterId: 'nope', clusterVersion: { index: 1 }, spec: specWith(current, {}) }, code: 'ENOTFOUND', message: /cluster nope not found/ },
    {
      name: 'zero heartbeat',
      request: { ...ok, spec: specWith(current, { dispatcher: { heartbeatPeriod: { seconds: 0, nanos: 0 } } }) },
      code: 'EINVAL',
      message: /dispatcher heartbeat period must be positive/,
    },
    {
      name: 'negative heartbeat',
      request: { ...ok, spec: specWith(current, { dispatcher: { heartbeatPeriod: { seconds: -5, nanos: 0 } } }) },
      code: 'EINVAL',
      message: /dispatcher heartbeat period must be positive, not -5s/,
    },
    {
      name: 'absurd heartbeat',
      request: { ...ok, spec: specWith(current, { dispatcher: { heartbeatPeriod: { seconds: 86_400, nanos: 0 } } }) },
      code: 'EINVAL',
      message: /dispatcher heartbeat period must be between 100ms and 1h, not 24h/,
    },
    {
      name: 'malformed duration',
      request: { ...ok, spec: specWith(current, { dispatcher: { heartbeatPeriod: { seconds: 1, nanos: -5 } } }) },
      code: 'EINVAL',
      message: /different signs/,
    },
    {
      name: 'short certificates',
      request: { ...ok, spec: specWith(current, { caConfig: { nodeCertExpiry: { seconds: 3599, nanos: 0 } } }) },
      code: 'EINVAL',
      message: /minimum certificate expiry time is 1h, not 3599s/,
    },
    {
      name: 'negative history',
      request: { ...ok, spec: specWith(current, { orchestration: { taskHistoryRetentionLimit: -1 } }) },
      code: 'EINVAL',
      message: /task history retention limit must be 0 or more, not -1/,
    },
    {
      name: 'election tick not above heartbeat tick',
      request: { ...ok, spec: specWith(current, { raft: { heartbeatTick: 5, electionTick: 5 } }) },
      code: 'EINVAL',
      message: /raft election tick \(5\) must be greater than the heartbeat tick \(5\)/,
    },
    {
      name: 'heartbeat tick above the default election tick',
      request: { ...ok, spec: specWith(current, { raft: { heartbeatTick: 20, electionTick: 0 } }) },
      code: 'EINVAL',
      message: /raft election tick \(10\) must be greater than the heartbeat tick \(20\)/,
    },
    { name: 'huge ticks', request: { ...ok, spec: specWith(current, { raft: { heartbeatTick: 1, electionTick: 5000 } }) }, code: 'EINVAL', message: /at most 1000/ },
    {
      name: 'rename',
      request: { ...ok, spec: specWith(current, { annotations: { name: 'other', labels: {} } }) },
      code: 'EINVAL',
      message: /the cluster's name \("default"\) cannot be changed/,
    },
    {
      name: 'several problems at once',
      request: { ...ok, spec: specWith(current, { orchestration: { taskHistoryRetentionLimit: -1 }, caConfig: { nodeCertExpiry: { seconds: 60, nanos: 0 } } }) },
      code: 'EINVAL',
      message: /minimum certificate expiry.*; task history retention limit/,
    },
    { name: 'autolock', request: { ...ok, spec: specWith(current, { encryptionConfig: { autoLockManagers: true } }) }, code: 'EUNSUPPORTED', message: /autolock/ },
    {
      name: 'unlock key rotation',
      request: { ...ok, spec: specWith(current, {}), rotation: { workerJoinToken: true, managerJoinToken: false, managerUnlockKey: true } },
      code: 'EUNSUPPORTED',
      message: /no unlock key to rotate/,
    },
  ];
  for (const c of cases) await t.rejects(f.api.updateCluster(c.request), { code: c.code, message: c.message }, c.name);
  t.same(storeState(f.store), before, 'nothing changed');
  f.membership.leader = undefined;
  await t.rejects(f.api.updateCluster({ ...ok, spec: specWith(current, {}) }), { code: 'ENOQUORUM' });
  t.same(storeState(f.store), before, 'nothing changed without a leader');
});

t.test('UpdateCluster: rotating the worker token pins the same CA; the manager token stays', async (t) => {
  const f = await withCluster();
  const read = stored(f);
  const old = read.rootCa?.joinTokens ?? { worker: '', manager: '' };
  const { cluster } = await f.api.updateCluster({
    clusterId,
    clusterVersion: versionOf(read),
    spec: specWith(read, {}),
    rotation: { workerJoinToken: true, managerJoinToken: false, managerUnlockKey: false },
  });
  const tokens = stored(f).rootCa?.joinTokens ?? { worker: '', manager: '' };
  t.not(tokens.worker, old.worker, 'new worker token');
  t.equal(tokens.manager, old.manager, 'manager token unchanged');
  t.same(cluster?.rootCa?.joinTokens, tokens, 'the answer carries the new tokens');
  const root = await testRoot();
  t.equal(parseJoinToken(tokens.worker).caDigestHex, root.digestHex, 'the new token pins the same CA');
  t.not(parseJoinToken(tokens.worker).secret, parseJoinToken(old.worker).secret, 'with a new secret');
});

t.test('UpdateCluster: rotating both tokens; a CA built from the stored tokens refuses the old ones', async (t) => {
  const f = await withCluster();
  const read = stored(f);
  const old = read.rootCa?.joinTokens ?? { worker: '', manager: '' };
  await f.api.updateCluster({
    clusterId,
    clusterVersion: versionOf(read),
    spec: specWith(read, {}),
    rotation: { workerJoinToken: true, managerJoinToken: true, managerUnlockKey: false },
  });
  const tokens = stored(f).rootCa?.joinTokens ?? { worker: '', manager: '' };
  t.not(tokens.worker, old.worker);
  t.not(tokens.manager, old.manager);
  t.not(tokens.worker, tokens.manager);
  const root = await testRoot();
  const ca = new CertificateAuthority({ root, clusterId, joinTokens: tokens });
  t.equal(ca.roleForToken(tokens.worker), 'worker');
  t.equal(ca.roleForToken(tokens.manager), 'manager');
  t.throws(() => ca.roleForToken(old.worker), { code: 'EPERM' }, 'old worker token refused');
  t.throws(() => ca.roleForToken(old.manager), { code: 'EPERM' }, 'old manager token refused');
});

t.test('UpdateCluster: a root CA certificate that does not match its hash is refused for rotation', async (t) => {
  const cluster = await clusterObject();
  const broken: Cluster = { ...cluster, rootCa: { ...(cluster.rootCa as NonNullable<Cluster['rootCa']>), caCertHash: `sha256:${'0'.repeat(64)}` } };
  const f = await fixture([node('m1')], [member('m1', 1)], 'm1', broken);
  const read = f.store.memory.get('cluster', clusterId) as Cluster;
  const before = storeState(f.store);
  await t.rejects(
    f.api.updateCluster({ clusterId, clusterVersion: versionOf(read), spec: specWith(read, {}), rotation: { workerJoinToken: true, managerJoinToken: false, managerUnlockKey: false } }),
    { code: 'ECORRUPT', message: /does not match its certificate/ },
  );
  t.same(storeState(f.store), before);
});
