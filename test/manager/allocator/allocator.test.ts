import t from 'tap';
import { vxlanIdOption } from '../../../manager/allocator/allocator.js';
import { Network as NetworkCodec, PublishMode, PortProtocol, Task, TaskState, type Network } from '../../../proto/index.js';
import { cluster, type Fixture } from '../leader-loops-fixture.js';

function ingressOf(networks: readonly Network[]): Network | undefined {
  return networks.find((n) => n.spec?.ingress === true);
}

t.test('ingress is created on start from the pool (10.0.0.0/24), networks get a subnet and a VNI', async (t) => {
  const f = await cluster(1);
  const ingress = ingressOf(f.memory.list('network'));
  t.equal(ingress?.spec?.annotations?.name, 'ingress');
  t.same(ingress?.ipam?.configs.map((c) => [c.subnet, c.gateway]), [['10.0.0.0/24', '10.0.0.1']]);
  t.equal(ingress?.vni, 4096);
  t.equal(ingress?.driverState?.name, 'overlay');
  t.equal(ingress?.driverState?.options[vxlanIdOption], '4096');
  const a = await f.addNetwork('a');
  const b = await f.addNetwork('b', '192.168.7.0/24');
  await f.settle();
  t.same(f.memory.get('network', a)?.ipam?.configs.map((c) => c.subnet), ['10.0.1.0/24']);
  t.equal(f.memory.get('network', a)?.vni, 4097);
  t.same(f.memory.get('network', b)?.ipam?.configs.map((c) => [c.subnet, c.gateway]), [['192.168.7.0/24', '192.168.7.1']], 'the subnet the user asked for');
  t.equal(f.memory.get('network', b)?.vni, 4098);
  f.loops.stop();
});

t.test("the cluster's pool and subnet size are used", async (t) => {
  const f = await cluster(1, { pools: ['10.20.0.0/16'], subnetSize: 26 });
  t.same(ingressOf(f.memory.list('network'))?.ipam?.configs.map((c) => c.subnet), ['10.20.0.0/26']);
  const a = await f.addNetwork('a');
  await f.settle();
  t.same(f.memory.get('network', a)?.ipam?.configs.map((c) => c.subnet), ['10.20.0.64/26']);
  f.loops.stop();
});

t.test('services get VIPs and published ports; tasks get addresses on every network and move to PENDING', async (t) => {
  const f = await cluster(0);
  const ingress = ingressOf(f.memory.list('network'))?.id as string;
  const back = await f.addNetwork('back');
  const svc = await f.createService('web', {
    replicated: { replicas: 2 },
    task: { networks: [{ target: 'back', aliases: ['www'] }] },
    endpoint: {
      ports: [
        { protocol: PortProtocol.TCP, targetPort: 80, publishedPort: 0, publishMode: PublishMode.INGRESS },
        { protocol: PortProtocol.TCP, targetPort: 443, publishedPort: 8443, publishMode: PublishMode.INGRESS },
        { protocol: PortProtocol.UDP, targetPort: 53, publishedPort: 0, publishMode: PublishMode.HOST },
      ],
    },
  });
  await f.settle();
  const service = f.memory.get('service', svc);
  t.same(service?.endpoint?.virtualIps.map((v) => v.networkId), [ingress, back], 'ingress first, then its own network');
  t.same(service?.endpoint?.virtualIps.map((v) => v.addr), ['10.0.0.2/24', '10.0.1.2/24']);
  t.same(service?.endpoint?.ports.map((p) => p.publishedPort), [30000, 8443, 0], 'a port from 30000 for 0; host mode left to the node');
  const tasks = f.tasksOf(svc);
  t.same(tasks.map((x) => x.status?.state), [TaskState.PENDING, TaskState.PENDING], 'no nodes: allocated, waiting for the scheduler');
  t.same(
    tasks.map((x) => x.networks.map((a) => [a.networkId, a.addresses.join()])),
    [
      [[ingress, '10.0.0.3/24'], [back, '10.0.1.3/24']],
      [[ingress, '10.0.0.4/24'], [back, '10.0.1.4/24']],
    ],
  );
  t.same(tasks[0]?.networks[1]?.aliases, ['www']);
  const other = await f.createService('api', { endpoint: { ports: [{ targetPort: 80, publishedPort: 0 }] } });
  await f.settle();
  t.same(f.memory.get('service', other)?.endpoint?.ports.map((p) => p.publishedPort), [30001], 'the next free port');
  f.loops.stop();
});

t.test('addresses of removed tasks and services are released; a new leader never reuses one in use', async (t) => {
  const f = await cluster(1);
  // A /29 holds 5 endpoint addresses: a service of 4 and its VIP fill it.
  await f.addNetwork('small', '10.99.0.0/29');
  const svc = await f.createService('web', { replicated: { replicas: 2 }, task: { networks: [{ target: 'small' }] } });
  await f.settle();
  t.equal(f.tasksOf(svc).length, 2);
  // A new leader rebuilds its state from the store, then hands out more addresses.
  f.loops.stop();
  f.loops = f.newLoops();
  f.loops.start();
  await f.updateService(svc, (s) => ({ ...s, replicated: { replicas: 4 } }));
  await f.settle();
  const all = f.tasksOf(svc).flatMap((x) => x.networks.flatMap((a) => a.addresses));
  all.push(f.memory.get('service', svc)?.endpoint?.virtualIps[0]?.addr ?? '');
  t.same(all.sort(), ['10.99.0.2/29', '10.99.0.3/29', '10.99.0.4/29', '10.99.0.5/29', '10.99.0.6/29'], 'every address once');
  // Remove the service: its tasks go, and so do their addresses and the VIP.
  await f.removeService(svc);
  await f.settle();
  await f.work();
  await f.settle();
  t.equal(f.tasksOf(svc).length, 0);
  const again = await f.createService('again', { replicated: { replicas: 4 }, task: { networks: [{ target: 'small' }] } });
  await f.settle();
  t.equal(f.tasksOf(again).filter((x) => x.status?.state === TaskState.ASSIGNED).length, 4, 'the freed addresses were handed out again');
  t.ok(f.memory.get('service', again)?.endpoint?.virtualIps[0]?.addr);
  f.loops.stop();
});

t.test('a network that does not exist is left out (the control API checks names)', async (t) => {
  const f = await cluster(1);
  const svc = await f.createService('web', { replicated: { replicas: 1 }, task: { networks: [{ target: 'nosuch' }] } });
  await f.settle();
  t.equal(f.tasksOf(svc)[0]?.status?.state, TaskState.ASSIGNED);
  t.same(f.tasksOf(svc)[0]?.networks, []);
  f.loops.stop();
});

t.test('every node gets its own address on the ingress network, recorded in its IPAM config; a removed node gives it back', async (t) => {
  const f = await cluster(2);
  const reserved = (): Record<string, string> => ingressOf(f.memory.list('network'))?.ipam?.configs[0]?.reserved ?? {};
  t.same(reserved(), { 'node:n1': '10.0.0.2/24', 'node:n2': '10.0.0.3/24' });
  await f.addNode('n3');
  await f.settle();
  t.equal(reserved()['node:n3'], '10.0.0.4/24');
  const svc = await f.createService('web', { replicated: { replicas: 1 }, endpoint: { ports: [{ targetPort: 80 }] } });
  await f.settle();
  const taken = [...Object.values(reserved()), f.memory.get('service', svc)?.endpoint?.virtualIps[0]?.addr, ...f.tasksOf(svc).flatMap((x) => x.networks.flatMap((a) => a.addresses))];
  t.equal(new Set(taken).size, 5, `nodes, VIP and task all differ: ${taken.join(' ')}`);
  await f.store.update((tx) => tx.remove('node', 'n3'));
  await f.settle();
  t.same(Object.keys(reserved()), ['node:n1', 'node:n2']);
  // A new leader restores the node addresses and does not hand them out again.
  f.loops.stop();
  f.loops = f.newLoops();
  f.loops.start();
  await f.addNode('n4');
  await f.settle();
  const after = Object.values(reserved());
  t.equal(new Set([...after, ...taken.slice(3)]).size, after.length + 2, 'no address handed out twice');
  t.equal(reserved()['node:n1'], '10.0.0.2/24', 'kept');
  f.loops.stop();
});

/** A standalone container's attachment task, as the dispatcher's AttachNetwork makes it. */
async function addAttachment(f: Fixture, id: string, nodeId: string, networks: Array<{ target: string; aliases?: string[] }>): Promise<void> {
  await f.store.update((tx) =>
    tx.create(
      'task',
      Task.create({
        id,
        nodeId,
        desiredState: TaskState.RUNNING,
        status: { state: TaskState.NEW, message: 'created' },
        annotations: { name: `ctr-${id}` },
        spec: { attachment: { containerId: `c${id}` }, networks: networks.map((n) => ({ target: n.target, aliases: n.aliases ?? [], addresses: [], driverAttachmentOpts: {} })) },
      }),
    ),
  );
}

t.test("a standalone container's attachment task (no service) gets an address on each of its networks, then PENDING", async (t) => {
  const f = await cluster(1);
  const front = f.newId();
  await f.store.update((tx) => tx.create('network', NetworkCodec.create({ id: front, spec: { annotations: { name: 'front' }, driver: { name: 'overlay' }, attachable: true, ipam: { configs: [{ subnet: '10.50.0.0/29' }] } } })));
  const back = await f.addNetwork('back');
  await f.settle();
  const states: TaskState[] = [];
  const watcher = f.memory.watch((e) => e.object.kind === 'task' && e.object.value.id === 'att1');
  t.teardown(() => watcher.close());
  void (async () => {
    for (;;) {
      const e = await watcher.next().catch(() => undefined);
      if (e === undefined) return;
      if (e.object.kind === 'task') states.push(e.object.value.status?.state ?? TaskState.NEW);
    }
  })();
  await addAttachment(f, 'att1', 'n1', [{ target: front, aliases: ['db'] }, { target: back }]);
  await f.settle();
  const task = f.memory.get('task', 'att1');
  t.same(
    task?.networks.map((a) => [a.networkId, a.addresses.join(), a.aliases.join()]),
    [
      [front, '10.50.0.2/29', 'db'],
      [back, '10.0.1.2/24', ''],
    ],
    'the first free address of each network (no VIP: no service), aliases kept',
  );
  t.equal(task?.endpoint, undefined, 'no service endpoint');
  t.same(states.slice(0, 3), [TaskState.NEW, TaskState.PENDING, TaskState.ASSIGNED], 'allocated (PENDING), then the scheduler confirmed its node');
  t.equal(task?.nodeId, 'n1');
  t.equal(f.memory.get('task', 'att1')?.desiredState, TaskState.RUNNING, 'not shut down as a task without a service');

  // A new leader rebuilds from the store: the attachment's address stays taken.
  f.loops.stop();
  f.loops = f.newLoops();
  f.loops.start();
  await addAttachment(f, 'att2', 'n1', [{ target: front }]);
  await f.settle();
  t.same(f.memory.get('task', 'att2')?.networks.map((a) => a.addresses.join()), ['10.50.0.3/29'], 'a new leader does not hand out the address of att1 again');
  // Removing the task (DetachNetwork) gives its addresses back: fill the /29 (5 addresses), free one.
  for (const id of ['att3', 'att4', 'att5']) await addAttachment(f, id, 'n1', [{ target: front }]);
  await f.settle();
  const held = (): string[] => f.memory.list('task').flatMap((x) => x.networks.filter((a) => a.networkId === front).flatMap((a) => a.addresses)).sort();
  t.same(held(), ['10.50.0.2/29', '10.50.0.3/29', '10.50.0.4/29', '10.50.0.5/29', '10.50.0.6/29'], 'the network is full');
  await f.store.update((tx) => tx.remove('task', 'att1'));
  await f.settle();
  await addAttachment(f, 'att6', 'n1', [{ target: front }]);
  await f.settle();
  t.same(f.memory.get('task', 'att6')?.networks.map((a) => a.addresses.join()), ['10.50.0.2/29'], "the removed task's address is handed out again");
  f.loops.stop();
});
