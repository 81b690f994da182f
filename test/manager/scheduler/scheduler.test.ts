import t from 'tap';
import { Scheduler } from '../../../manager/scheduler/scheduler.js';
import { group, node } from './helpers.js';

const gib = 1024 ** 3;

function perNode(placements: readonly { nodeId: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of placements) out[p.nodeId] = (out[p.nodeId] ?? 0) + 1;
  return out;
}

t.test('replicas spread evenly over nodes', async (t) => {
  const r = new Scheduler([node('a'), node('b'), node('c')]).place(group('web', 7));
  t.same(perNode(r.placements), { a: 3, b: 2, c: 2 });
  t.same(r.unplaced, []);
});

t.test('tasks of the service already running count, then overall load', async (t) => {
  const nodes = [node('a', { tasksByService: { web: 2 }, taskCount: 2 }), node('b', { taskCount: 10 }), node('c')];
  const r = new Scheduler(nodes).place(group('web', 2));
  t.same(perNode(r.placements), { b: 1, c: 1 }, 'a already runs web twice');
  const r2 = new Scheduler([node('busy', { taskCount: 5 }), node('idle')]).place(group('api', 1));
  t.same(perNode(r2.placements), { idle: 1 }, 'ties on the service go to the least loaded node');
});

t.test('only ready, active nodes of the right platform that meet the constraints', async (t) => {
  const nodes = [
    node('down', { ready: false }),
    node('drained', { availability: 'drain' }),
    node('paused', { availability: 'pause' }),
    node('arm', { platform: { os: 'linux', architecture: 'aarch64' } }),
    node('zone-a', { labels: { zone: 'a' } }),
    node('zone-b', { labels: { zone: 'b' } }),
  ];
  const r = new Scheduler(nodes).place(group('web', 2, { constraints: ['node.labels.zone==b'], platforms: [{ os: 'linux', architecture: 'x86_64' }] }));
  t.same(perNode(r.placements), { 'zone-b': 2 });
});

t.test('an impossible placement says why, node by node', async (t) => {
  const nodes = [
    node('a', { labels: { zone: 'b' }, available: { nanoCpus: 4e9, memoryBytes: 1 * gib } }),
    node('b', { labels: { zone: 'b' }, available: { nanoCpus: 4e9, memoryBytes: 1 * gib } }),
    node('c', { labels: { zone: 'a' } }),
    node('d', { labels: { zone: 'a' } }),
    node('e'),
  ];
  const r = new Scheduler(nodes).place(group('db', 1, { constraints: ['node.labels.zone==b'], reservations: { nanoCpus: 0, memoryBytes: 2 * gib } }));
  t.same(r.placements, []);
  t.equal(r.unplaced[0]?.reason, 'no suitable node (3 nodes: constraint node.labels.zone==b; 2 nodes: insufficient memory)');
  const none = new Scheduler([]).place(group('db', 1));
  t.equal(none.unplaced[0]?.reason, 'no suitable node (no nodes in the cluster)');
});

t.test('reservations fill nodes; the rest stay pending with the reason', async (t) => {
  const nodes = [node('a', { available: { nanoCpus: 2e9, memoryBytes: 8 * gib } }), node('b', { available: { nanoCpus: 1e9, memoryBytes: 8 * gib } })];
  const r = new Scheduler(nodes).place(group('cpu', 5, { reservations: { nanoCpus: 1e9, memoryBytes: 0 } }));
  t.same(perNode(r.placements), { a: 2, b: 1 });
  t.equal(r.unplaced.length, 2);
  t.equal(r.unplaced[0]?.reason, 'no suitable node (2 nodes: insufficient CPU)');
});

t.test('max replicas per node and host-mode ports', async (t) => {
  const r = new Scheduler([node('a'), node('b')]).place(group('web', 5, { maxReplicasPerNode: 2 }));
  t.same(perNode(r.placements), { a: 2, b: 2 });
  t.equal(r.unplaced[0]?.reason, 'no suitable node (2 nodes: max replicas per node reached)');
  const ports = new Scheduler([node('a', { hostPorts: new Set(['tcp/8080']) }), node('b'), node('c')]).place(group('web', 3, { hostPorts: ['tcp/8080'] }));
  t.same(perNode(ports.placements), { b: 1, c: 1 }, 'one task per free port');
  t.equal(ports.unplaced[0]?.reason, 'no suitable node (3 nodes: host-mode port in use)');
});

t.test('spread preferences balance label values first, nodes without the label form their own group', async (t) => {
  const nodes = [
    node('a1', { labels: { zone: 'a' } }),
    node('b1', { labels: { zone: 'b' } }),
    node('b2', { labels: { zone: 'b' } }),
    node('b3', { labels: { zone: 'b' } }),
    node('x'),
  ];
  const r = new Scheduler(nodes).place(group('web', 6, { spreadOver: ['node.labels.zone'] }));
  const counts = perNode(r.placements);
  t.equal(counts['a1'], 2, 'zone a gets a third of the tasks on its single node');
  t.equal((counts['b1'] ?? 0) + (counts['b2'] ?? 0) + (counts['b3'] ?? 0), 2, 'zone b gets a third');
  t.equal(counts['x'], 2, 'unlabelled nodes get a third');
});

t.test('state carries over between groups, and the result is deterministic', async (t) => {
  const make = (): Scheduler => new Scheduler([node('a'), node('b')]);
  const s = make();
  s.place(group('one', 1));
  const r = s.place(group('two', 1));
  t.same(perNode(r.placements), { b: 1 }, 'the second service avoids the node the first one loaded');
  t.same(make().place(group('web', 9)), make().place(group('web', 9)));
});

t.test('bad constraints are refused with the reason', async (t) => {
  const s = new Scheduler([node('a')]);
  t.throws(() => s.place(group('web', 1, { constraints: ['zone=b'] })), { code: 'EINVAL', message: /want KEY==VALUE/ });
  t.throws(() => s.place(group('web', 1, { constraints: ['node.color==red'] })), { code: 'EINVAL', message: /invalid constraint key "node.color"/ });
  t.throws(() => s.place(group('web', 1, { constraints: ['node.role==boss'] })), { code: 'EINVAL', message: /manager or worker/ });
});

t.test('spread over several levels (zone, then rack), with max replicas per node', async (t) => {
  const nodes = [
    node('a-r1-1', { labels: { zone: 'a', rack: 'r1' } }),
    node('a-r2-1', { labels: { zone: 'a', rack: 'r2' } }),
    node('a-r2-2', { labels: { zone: 'a', rack: 'r2' } }),
    node('b-r3-1', { labels: { zone: 'b', rack: 'r3' } }),
  ];
  const r = new Scheduler(nodes).place(group('web', 8, { spreadOver: ['node.labels.zone', 'node.labels.rack'] }));
  const counts = perNode(r.placements);
  t.same(counts, { 'a-r1-1': 2, 'a-r2-1': 1, 'a-r2-2': 1, 'b-r3-1': 4 }, 'zones 4 and 4; in zone a racks r1 and r2 2 each; r2 over its two nodes');
  const capped = new Scheduler(nodes).place(group('web', 9, { spreadOver: ['node.labels.zone', 'node.labels.rack'], maxReplicasPerNode: 2 }));
  t.same(perNode(capped.placements), { 'a-r1-1': 2, 'a-r2-1': 2, 'a-r2-2': 2, 'b-r3-1': 2 }, 'max replicas per node caps the lone node of zone b; zone a takes the rest');
  t.same(capped.unplaced.map((u) => u.reason), ['no suitable node (4 nodes: max replicas per node reached)'], 'the ninth fits nowhere, and says why');
});

t.test('each placement says why its node was chosen', async (t) => {
  const nodes = [node('a1', { labels: { zone: 'a' } }), node('b1', { labels: { zone: 'b' }, tasksByService: { web: 1 }, taskCount: 1 })];
  const r = new Scheduler(nodes).place(group('web', 1, { spreadOver: ['node.labels.zone'] }));
  t.same(r.placements.map((p) => p.nodeId), ['a1']);
  t.equal(
    r.placements[0]?.reason,
    'spread node.labels.zone=a had the fewest tasks of the service (0); fewest tasks of the service on the node (0), then least loaded (0 tasks) among 2 eligible nodes',
  );
  const plain = new Scheduler([node('x', { taskCount: 3 }), node('y')]).place(group('api', 1));
  t.equal(plain.placements[0]?.reason, 'fewest tasks of the service on the node (0), then least loaded (0 tasks) among 2 eligible nodes');
  t.equal(plain.placements[0]?.nodeId, 'y');
});
