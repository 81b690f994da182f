/** Host-mode publishing, from the managers' view to nftables rules (pure). */
import t from 'tap';
import { hostPortsForNode, networkViewForNode, sourceFromStore } from '../../manager/netview/index.js';
import { clusterViewFor } from '../../netd/cluster-view.js';
import { desiredForHost } from '../../netd/desired.js';
import { nftRules } from '../../netd/nft.js';
import { PortProtocol, PublishMode, TaskState, type PortConfig, type Task } from '../../proto/index.js';
import { addr, fixtureStore, task } from '../manager/netview/fixture.js';

const hostPort = (published: number, target: number, protocol: PortProtocol = PortProtocol.TCP): PortConfig => ({ name: '', protocol, targetPort: target, publishedPort: published, publishMode: PublishMode.HOST });

function withPorts(base: Task, ports: PortConfig[]): Task {
  return { ...base, endpoint: { ports, virtualIps: [] } } as Task;
}

t.test("a node's view lists the host ports of its own live tasks only", async (t) => {
  const tasks = [
    withPorts(task('a', { node: 'n1', state: TaskState.RUNNING, service: 's', nets: [['appnet', '10.0.1.20/24']] }), [hostPort(8081, 80), hostPort(0, 81)]),
    withPorts(task('b', { node: 'n2', state: TaskState.RUNNING, service: 's', nets: [['appnet', '10.0.1.21/24']] }), [hostPort(8081, 80)]),
    withPorts(task('c', { node: 'n1', state: TaskState.COMPLETE, service: 's', nets: [['appnet', '10.0.1.22/24']] }), [hostPort(9000, 80)]),
    withPorts(task('d', { node: 'n1', state: TaskState.RUNNING, desired: TaskState.SHUTDOWN, service: 's', nets: [['appnet', '10.0.1.23/24']] }), [hostPort(9001, 80)]),
    withPorts(task('e', { node: 'n1', state: TaskState.RUNNING, service: 's', nets: [['appnet', '10.0.1.24/24']] }), [{ ...hostPort(9002, 80), publishMode: PublishMode.INGRESS }]),
  ];
  t.same(hostPortsForNode('n1', tasks), [{ taskId: 'a', protocol: PortProtocol.TCP, publishedPort: 8081, targetPort: 80 }], 'finished, stopping, other nodes\' and ingress ports are left out');
});

t.test('netd forwards a host port to its local task, keeping the client address; nothing for tasks elsewhere', async (t) => {
  const { store, memory } = await fixtureStore();
  const running = memory.get('task', 'w1') as Task;
  await store.update((tx) => tx.update('task', withPorts(running, [hostPort(8081, 80), hostPort(5353, 53, PortProtocol.UDP)])));
  const message = networkViewForNode('n1', sourceFromStore(memory));
  t.same(message.hostPorts.map((p) => `${p.taskId} ${p.publishedPort}->${p.targetPort}`), ['w1 5353->53', 'w1 8081->80']);
  const side = { hostAddress: addr.n1, underlayDevice: 'eth0', attachments: new Map(), netnsOf: (id: string) => (id === 'w1' ? 'tss-lab-h1.w1' : undefined) };
  const { view } = clusterViewFor(message, side);
  const desired = desiredForHost(view);
  t.same(desired.hostPorts?.map((p) => `${p.protocol}/${p.publishedPort} ${p.address}:${p.targetPort}`), ['udp/5353 10.0.1.3:53', 'tcp/8081 10.0.1.3:80'], "to the task's first address here");
  const rules = nftRules(desired.networks, desired.hostPorts).join('\n');
  t.match(rules, /fib daddr type local tcp dport 8081 dnat ip to 10\.0\.1\.3:80/);
  t.match(rules, /fib daddr type local udp dport 5353 dnat ip to 10\.0\.1\.3:53/);
  t.notMatch(rules, /10\.0\.1\.3 .*snat|snat ip to 10\.0\.1/, 'no SNAT: the task sees the client address');

  const notHere = clusterViewFor(message, { ...side, netnsOf: () => undefined });
  t.same(desiredForHost(notHere.view).hostPorts, undefined, 'a task without a namespace here publishes nothing');
  t.match(notHere.skipped.join('\n'), /host port 8081\/tcp of task w1: the task has no network endpoint on this host/);
});

t.test('mesh=local: each host sends the published port to its own tasks only, without SNAT', async (t) => {
  const { store, memory } = await fixtureStore();
  const web = memory.get('service', 'web');
  if (web === undefined || web.endpoint === undefined) throw new Error('fixture has no web service');
  const localPorts = web.endpoint.ports.map((p) => ({ ...p, localOnly: true }));
  await store.update((tx) => tx.update('service', { ...web, endpoint: { ...web.endpoint, ports: localPorts } } as never));
  const message = networkViewForNode('n1', sourceFromStore(memory));
  t.equal(message.ingress?.published[0]?.localOnly, true, 'the view says so');
  const { view } = clusterViewFor(message, { hostAddress: addr.n1, underlayDevice: 'eth0', attachments: new Map(), netnsOf: (id: string) => (id === 'w1' ? 'tss-lab-h1.w1' : undefined) });
  const ingress = desiredForHost(view).networks.find((n) => n.id === 'ingress');
  t.same(ingress?.published?.[0]?.backends, ['10.255.0.11'], "only this host's task (the other host's is left out)");
  const rules = nftRules(desiredForHost(view).networks).join('\n');
  t.match(rules, /tcp dport 8080 ct mark set 0x7473 dnat ip to numgen inc mod 1 map \{ 0 : 10\.255\.0\.11 \} : 80/);
  t.match(rules, /ct status dnat ct mark != 0x7473 snat ip to 10\.255\.0\.2/, 'SNAT leaves local-only connections alone');
  const elsewhere = clusterViewFor(message, { hostAddress: addr.n1, underlayDevice: 'eth0', attachments: new Map(), netnsOf: () => undefined });
  t.notMatch(nftRules(desiredForHost(elsewhere.view).networks).join('\n'), /dport 8080/, 'a host without a task does not answer');
});
