import t from 'tap';
import { NodeAvailability, NodeFilters, NodeRole, NodeSpec, NodeState, Reachability, type Node } from '../../../proto/index.js';
import { fixture, member, node, storeState } from './helpers.js';

const spec = (n: Node, change: Partial<NodeSpec>): NodeSpec => NodeSpec.create({ ...n.spec, ...change });
const versionOf = (n: Node | undefined): { index: number } => ({ index: n?.meta?.version?.index ?? -1 });

/** A swarm of three managers (m1 leader) and two workers. */
async function threeManagers(reachable: { m2?: boolean; m3?: boolean } = {}) {
  return fixture(
    [
      node('m1', { role: NodeRole.MANAGER, hostname: 'alpha' }),
      node('m2', { role: NodeRole.MANAGER, hostname: 'beta' }),
      node('m3', { role: NodeRole.MANAGER, hostname: 'gamma' }),
      node('w1', { hostname: 'delta', labels: { zone: 'a' }, engineLabels: { ssd: 'true' } }),
      node('w2', { hostname: 'epsilon', labels: { zone: 'b' }, state: NodeState.DOWN }),
    ],
    [member('m1', 1), member('m2', 2, reachable.m2 ?? true), member('m3', 3, reachable.m3 ?? true)],
    'm1',
  );
}

t.test('GetNode: manager status comes from the raft group, not the store', async (t) => {
  const { api, membership } = await threeManagers({ m3: false });
  const leader = (await api.getNode({ nodeId: 'm1' })).node;
  t.same(leader?.managerStatus, { raftId: 1, addr: '198.18.0.1:2377', leader: true, reachability: Reachability.REACHABLE });
  t.same((await api.getNode({ nodeId: 'm2' })).node?.managerStatus, { raftId: 2, addr: '198.18.0.2:2377', leader: false, reachability: Reachability.REACHABLE });
  t.equal((await api.getNode({ nodeId: 'm3' })).node?.managerStatus?.reachability, Reachability.UNREACHABLE, 'an unreachable manager shows as such');
  t.equal((await api.getNode({ nodeId: 'w1' })).node?.managerStatus, undefined, 'workers have no manager status');
  membership.leader = 'm2';
  t.equal((await api.getNode({ nodeId: 'm2' })).node?.managerStatus?.leader, true, 'leadership is read at call time');
  t.equal((await api.getNode({ nodeId: 'm1' })).node?.managerStatus?.leader, false);
  await t.rejects(api.getNode({ nodeId: 'nope' }), { code: 'ENOTFOUND', message: 'node nope not found' });
  await t.rejects(api.getNode({ nodeId: '' }), { code: 'EINVAL' });
});

t.test('GetNode: a manager status stored on the node is not what the caller sees', async (t) => {
  const stale = { ...node('w9'), managerStatus: { raftId: 9, addr: 'x:1', leader: true, reachability: Reachability.REACHABLE } };
  const { api } = await fixture([stale], [], undefined);
  t.equal((await api.getNode({ nodeId: 'w9' })).node?.managerStatus, undefined);
});

t.test('ListNodes: every node, in ID order, with manager status', async (t) => {
  const { api } = await threeManagers();
  const { nodes } = await api.listNodes({});
  t.same(nodes.map((n) => n.id), ['m1', 'm2', 'm3', 'w1', 'w2']);
  t.same(nodes.map((n) => n.managerStatus?.leader ?? null), [true, false, false, null, null]);
});

t.test('ListNodes filters: each criterion alone, and all together', async (t) => {
  const { api } = await threeManagers();
  const ids = async (filters: Parameters<typeof NodeFilters.create>[0]): Promise<string[]> =>
    (await api.listNodes({ filters: NodeFilters.create(filters) })).nodes.map((n) => n.id);
  t.same(await ids({ object: { names: ['beta', 'delta'] } }), ['m2', 'w1'], 'names are exact hostnames');
  t.same(await ids({ object: { names: ['bet'] } }), [], 'a name is not a prefix');
  t.same(await ids({ object: { namePrefixes: ['e', 'g'] } }), ['m3', 'w2'], 'name prefixes are hostname prefixes');
  t.same(await ids({ object: { idPrefixes: ['m'] } }), ['m1', 'm2', 'm3']);
  t.same(await ids({ object: { labels: { ssd: '' } } }), ['w1'], 'labels are engine labels; empty value matches any');
  t.same(await ids({ object: { labels: { ssd: 'false' } } }), [], 'a label value must be equal');
  t.same(await ids({ object: { labels: { zone: 'a' } } }), [], 'spec labels are not engine labels');
  t.same(await ids({ nodeLabels: { zone: 'b' } }), ['w2'], 'node labels are spec labels');
  t.same(await ids({ nodeLabels: { zone: '' } }), ['w1', 'w2']);
  t.same(await ids({ roles: [NodeRole.MANAGER] }), ['m1', 'm2', 'm3']);
  t.same(await ids({ roles: [NodeRole.WORKER] }), ['w1', 'w2']);
  t.same(await ids({ roles: [NodeRole.WORKER], nodeLabels: { zone: '' }, object: { namePrefixes: ['d'] } }), ['w1'], 'all criteria must match');
  t.same(await ids({ roles: [NodeRole.MANAGER], nodeLabels: { zone: '' } }), [], 'no node passes both');
});

t.test('UpdateNode: changes the spec, bumps the version, keeps the rest', async (t) => {
  const { api, store } = await threeManagers();
  const w1 = store.memory.get('node', 'w1') as Node;
  const { node: updated } = await api.updateNode({
    nodeId: 'w1',
    nodeVersion: versionOf(w1),
    spec: spec(w1, { availability: NodeAvailability.DRAIN, annotations: { name: '', labels: { zone: 'c', rack: '7' } } }),
  });
  t.equal(updated?.spec?.availability, NodeAvailability.DRAIN);
  t.same(updated?.spec?.annotations?.labels, { zone: 'c', rack: '7' });
  t.ok((updated?.meta?.version?.index ?? 0) > (w1.meta?.version?.index ?? 0), 'new version');
  t.same(store.memory.get('node', 'w1')?.spec, updated?.spec, 'stored');
  t.same(updated?.description, w1.description, 'description untouched');
  const m1 = store.memory.get('node', 'm1') as Node;
  const { node: m1Updated } = await api.updateNode({ nodeId: 'm1', nodeVersion: versionOf(m1), spec: spec(m1, { availability: NodeAvailability.PAUSE }) });
  t.equal(m1Updated?.managerStatus?.leader, true, 'the answer carries manager status');
});

t.test('UpdateNode: a stale version is refused as out of sequence and changes nothing', async (t) => {
  const { api, store } = await threeManagers();
  const read = store.memory.get('node', 'w1') as Node;
  await api.updateNode({ nodeId: 'w1', nodeVersion: versionOf(read), spec: spec(read, { availability: NodeAvailability.PAUSE }) });
  const before = storeState(store);
  await t.rejects(api.updateNode({ nodeId: 'w1', nodeVersion: versionOf(read), spec: spec(read, { availability: NodeAvailability.DRAIN }) }), {
    code: 'ECONFLICT',
    message: /^update out of sequence: node w1 is at version 2, but the update was made from version 1/,
  });
  t.same(storeState(store), before, 'nothing changed');
  t.equal(store.memory.get('node', 'w1')?.spec?.availability, NodeAvailability.PAUSE);
});

t.test('UpdateNode: bad requests and specs are refused and change nothing', async (t) => {
  const { api, store } = await threeManagers();
  const w1 = store.memory.get('node', 'w1') as Node;
  const before = storeState(store);
  const cases: { name: string; request: Parameters<typeof api.updateNode>[0]; code: string; message: RegExp }[] = [
    { name: 'no ID', request: { nodeId: '', nodeVersion: versionOf(w1), spec: spec(w1, {}) }, code: 'EINVAL', message: /node ID is required/ },
    { name: 'no version', request: { nodeId: 'w1', spec: spec(w1, {}) }, code: 'EINVAL', message: /node_version is required/ },
    { name: 'no spec', request: { nodeId: 'w1', nodeVersion: versionOf(w1) }, code: 'EINVAL', message: /a spec is required/ },
    { name: 'unknown role', request: { nodeId: 'w1', nodeVersion: versionOf(w1), spec: spec(w1, { role: 7 as NodeRole }) }, code: 'EINVAL', message: /role 7 is not one of 0 \(worker\), 1 \(manager\)/ },
    {
      name: 'unknown availability',
      request: { nodeId: 'w1', nodeVersion: versionOf(w1), spec: spec(w1, { availability: 9 as NodeAvailability }) },
      code: 'EINVAL',
      message: /availability 9 is not one of 0 \(active\), 1 \(pause\), 2 \(drain\)/,
    },
    {
      name: 'empty label key, with another problem',
      request: { nodeId: 'w1', nodeVersion: versionOf(w1), spec: spec(w1, { role: 5 as NodeRole, annotations: { name: '', labels: { '': 'x' } } }) },
      code: 'EINVAL',
      message: /invalid node spec: role 5 .*; a label key must not be empty/,
    },
    { name: 'unknown node', request: { nodeId: 'nope', nodeVersion: { index: 1 }, spec: spec(w1, {}) }, code: 'ENOTFOUND', message: /^node nope not found$/ },
  ];
  for (const c of cases) await t.rejects(api.updateNode(c.request), { code: c.code, message: c.message }, c.name);
  t.same(storeState(store), before, 'nothing changed');
});

t.test('UpdateNode: promoting a worker and demoting one of three healthy managers are allowed', async (t) => {
  const { api, store } = await threeManagers();
  const w1 = store.memory.get('node', 'w1') as Node;
  const promoted = await api.updateNode({ nodeId: 'w1', nodeVersion: versionOf(w1), spec: spec(w1, { role: NodeRole.MANAGER }) });
  t.equal(promoted.node?.spec?.role, NodeRole.MANAGER);
  t.equal(promoted.node?.role, NodeRole.WORKER, 'the observed role changes only when the certificate does');
  const m3 = store.memory.get('node', 'm3') as Node;
  const demoted = await api.updateNode({ nodeId: 'm3', nodeVersion: versionOf(m3), spec: spec(m3, { role: NodeRole.WORKER }) });
  t.equal(demoted.node?.spec?.role, NodeRole.WORKER);
});

t.test('UpdateNode: demoting the last manager is refused and changes nothing', async (t) => {
  const { api, store } = await fixture([node('m1', { role: NodeRole.MANAGER }), node('w1')], [member('m1', 1)], 'm1');
  const m1 = store.memory.get('node', 'm1') as Node;
  const before = storeState(store);
  await t.rejects(api.updateNode({ nodeId: 'm1', nodeVersion: versionOf(m1), spec: spec(m1, { role: NodeRole.WORKER }) }), {
    code: 'ECONFLICT',
    message: /^attempting to demote the last manager of the swarm: node m1 is the only manager/,
  });
  t.same(storeState(store), before);
  const w1 = store.memory.get('node', 'w1') as Node;
  await api.updateNode({ nodeId: 'w1', nodeVersion: versionOf(w1), spec: spec(w1, { role: NodeRole.MANAGER }) });
  const m1Again = store.memory.get('node', 'm1') as Node;
  await t.rejects(
    api.updateNode({ nodeId: 'm1', nodeVersion: versionOf(m1Again), spec: spec(m1Again, { role: NodeRole.WORKER }) }),
    { code: 'ECONFLICT', message: /last manager/ },
    'a worker whose promotion has not completed is not a manager yet',
  );
});

t.test('UpdateNode: a demotion that would lose quorum of the reachable managers is refused', async (t) => {
  const { api, store } = await threeManagers({ m3: false });
  const m2 = store.memory.get('node', 'm2') as Node;
  const before = storeState(store);
  await t.rejects(api.updateNode({ nodeId: 'm2', nodeVersion: versionOf(m2), spec: spec(m2, { role: NodeRole.WORKER }) }), {
    code: 'ECONFLICT',
    message: /^can't remove node m2 from the raft cluster: this would result in a loss of quorum \(1 of the 2 managers left would be reachable; a quorum needs 2\)/,
  });
  t.same(storeState(store), before, 'nothing changed');
  const m3 = store.memory.get('node', 'm3') as Node;
  const ok = await api.updateNode({ nodeId: 'm3', nodeVersion: versionOf(m3), spec: spec(m3, { role: NodeRole.WORKER }) });
  t.equal(ok.node?.spec?.role, NodeRole.WORKER, 'demoting the unreachable manager keeps a quorum (2 of 2)');
});

t.test('UpdateNode: a manager already being demoted counts as gone', async (t) => {
  const { api, store } = await fixture(
    [
      node('m1', { role: NodeRole.MANAGER }),
      node('m2', { role: NodeRole.MANAGER }),
      node('m3', { role: NodeRole.MANAGER }),
      node('m4', { role: NodeRole.MANAGER }),
      node('m5', { role: NodeRole.MANAGER }),
    ],
    [member('m1', 1), member('m2', 2), member('m3', 3), member('m4', 4, false), member('m5', 5, false)],
    'm1',
  );
  const m2 = store.memory.get('node', 'm2') as Node;
  await t.rejects(
    api.updateNode({ nodeId: 'm2', nodeVersion: versionOf(m2), spec: spec(m2, { role: NodeRole.WORKER }) }),
    { code: 'ECONFLICT', message: /loss of quorum \(2 of the 4 managers left would be reachable; a quorum needs 3\)/ },
  );
  const m5 = store.memory.get('node', 'm5') as Node;
  await api.updateNode({ nodeId: 'm5', nodeVersion: versionOf(m5), spec: spec(m5, { role: NodeRole.WORKER }) });
  const m4 = store.memory.get('node', 'm4') as Node;
  await api.updateNode({ nodeId: 'm4', nodeVersion: versionOf(m4), spec: spec(m4, { role: NodeRole.WORKER }) });
  const m3 = store.memory.get('node', 'm3') as Node;
  await api.updateNode({ nodeId: 'm3', nodeVersion: versionOf(m3), spec: spec(m3, { role: NodeRole.WORKER }) });
  const m2Again = store.memory.get('node', 'm2') as Node;
  await api.updateNode({ nodeId: 'm2', nodeVersion: versionOf(m2Again), spec: spec(m2Again, { role: NodeRole.WORKER }) });
  t.pass('with m3, m4 and m5 on their way out, demoting m2 leaves m1: a quorum of one');
  const m1 = store.memory.get('node', 'm1') as Node;
  await t.rejects(
    api.updateNode({ nodeId: 'm1', nodeVersion: versionOf(m1), spec: spec(m1, { role: NodeRole.WORKER }) }),
    { code: 'ECONFLICT', message: /last manager/ },
    'managers being demoted do not count as managers',
  );
});

t.test('UpdateNode: concurrent demotions are checked one after the other', async (t) => {
  const { api, store } = await fixture([node('m1', { role: NodeRole.MANAGER }), node('m2', { role: NodeRole.MANAGER })], [member('m1', 1), member('m2', 2)], 'm1');
  const m1 = store.memory.get('node', 'm1') as Node;
  const m2 = store.memory.get('node', 'm2') as Node;
  const results = await Promise.allSettled([
    api.updateNode({ nodeId: 'm1', nodeVersion: versionOf(m1), spec: spec(m1, { role: NodeRole.WORKER }) }),
    api.updateNode({ nodeId: 'm2', nodeVersion: versionOf(m2), spec: spec(m2, { role: NodeRole.WORKER }) }),
  ]);
  t.same(results.map((r) => r.status), ['fulfilled', 'rejected'], 'only the first demotion passes');
  t.equal(store.memory.list('node').filter((n) => n.spec?.role === NodeRole.MANAGER).length, 1, 'one manager is left');
});

t.test('writes need a leader', async (t) => {
  const { api, store, membership } = await threeManagers();
  membership.leader = undefined;
  const w2 = store.memory.get('node', 'w2') as Node;
  const before = storeState(store);
  await t.rejects(api.updateNode({ nodeId: 'w2', nodeVersion: versionOf(w2), spec: spec(w2, {}) }), { code: 'ENOQUORUM', message: /does not have a leader/ });
  await t.rejects(api.removeNode({ nodeId: 'w2', force: false }), { code: 'ENOQUORUM' });
  t.same(storeState(store), before);
  t.equal((await api.listNodes({})).nodes.length, 5, 'reads still work');
});

t.test('RemoveNode: a down worker goes; unknown nodes are not found', async (t) => {
  const { api, store } = await threeManagers();
  t.same(await api.removeNode({ nodeId: 'w2', force: false }), {});
  t.equal(store.memory.get('node', 'w2'), undefined);
  await t.rejects(api.removeNode({ nodeId: 'w2', force: false }), { code: 'ENOTFOUND', message: 'node w2 not found' });
  await t.rejects(api.removeNode({ nodeId: '', force: true }), { code: 'EINVAL' });
});

t.test('RemoveNode: a node that is not down needs force', async (t) => {
  const { api, store } = await fixture(
    [node('w1'), node('w3', { state: NodeState.DISCONNECTED }), node('w4', { state: NodeState.UNKNOWN })],
    [],
    'm1',
  );
  const before = storeState(store);
  for (const id of ['w1', 'w3', 'w4']) {
    await t.rejects(api.removeNode({ nodeId: id, force: false }), { code: 'ECONFLICT', message: `node ${id} is not down and can't be removed; use --force` });
  }
  t.same(storeState(store), before, 'nothing changed');
  await api.removeNode({ nodeId: 'w1', force: true });
  t.equal(store.memory.get('node', 'w1'), undefined, 'force removes a ready node');
});

t.test('RemoveNode: managers are refused, even with force, even when down', async (t) => {
  const { api, store } = await fixture(
    [
      node('m1', { role: NodeRole.MANAGER }),
      node('m2', { role: NodeRole.MANAGER, state: NodeState.DOWN }),
      node('m3', { role: NodeRole.MANAGER, specRole: NodeRole.WORKER, state: NodeState.DOWN }),
      node('w1', { specRole: NodeRole.MANAGER, state: NodeState.DOWN }),
    ],
    [member('m1', 1), member('m2', 2, false), member('m3', 3, false)],
    'm1',
  );
  const before = storeState(store);
  await t.rejects(api.removeNode({ nodeId: 'm2', force: true }), {
    code: 'ECONFLICT',
    message: 'node m2 is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal',
  });
  await t.rejects(api.removeNode({ nodeId: 'w1', force: true }), { code: 'ECONFLICT', message: /w1 is a cluster manager/ }, 'a node being promoted');
  await t.rejects(api.removeNode({ nodeId: 'm3', force: true }), { code: 'ECONFLICT', message: /m3 is being demoted and is still a member of the raft cluster/ });
  t.same(storeState(store), before, 'nothing changed');
});
