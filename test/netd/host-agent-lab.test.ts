/**
 * netd's HostAgent on two lab hosts, each in its host's network namespace as tsswarmd runs there, fed the
 * views the managers' netview computes from a store (a hand-made view stream): a task attached on
 * each host gets its namespace and interfaces before attach returns (the first one before any view
 * came, so it waits for it), the two tasks ping each other over the overlay, the DNS server on the
 * gateway answers the service name and its tasks, a detached task's namespace is gone, and stopping
 * with removeAll leaves no netd device, table or task namespace. A TCP connection between the two
 * tasks keeps working across a kill -9 and restart of h1's netd, which remakes no device. Everything is removed in teardown
 * even when the test fails (agents killed, netd state removed, task namespaces deleted, lab down).
 * Needs root.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { networkViewForNode, sourceFromStore } from '../../manager/netview/index.js';
import { LocalProposer, MemoryStore, Store } from '../../manager/store/index.js';
import { reconcile } from '../../netd/apply.js';
import { desiredForHost } from '../../netd/desired.js';
import { hostExecutor } from '../../netd/executor.js';
import { observe } from '../../netd/observe.js';
import { deleteNamespace } from '../../netd/task-namespaces.js';
import { EndpointMode, IPAMFamily, Network, NetworkViewMessage, Node, NodeRole, NodeState, PortProtocol, PublishMode, Service, Task, TaskState } from '../../proto/index.js';
import { downOnTeardown, uniqueLabName } from '../helpers/lab.js';
import { type LabHostInfo, inNs, labUp, pings } from './lab-fixture.js';

const agentMain = join(dirname(fileURLToPath(import.meta.url)), 'host-agent-main.ts');
/** Time an agent command may take (an attach includes a reconcile). */
const commandTimeoutMs = 30_000;

/** A HostAgent in a child process inside a lab host's namespace. */
class LabAgent {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: { ok: boolean; result?: unknown; error?: string }) => void>();
  private constructor(
    readonly host: LabHostInfo,
    readonly child: ChildProcess,
  ) {}

  static async start(host: LabHostInfo, children: ChildProcess[]): Promise<LabAgent> {
    // As lab daemons should run: in the host's network namespace only (see netd/task-namespaces.ts).
    const child = spawn('nsenter', [`--net=/run/netns/${host.netns}`, '--', process.execPath, ...process.execArgv, agentMain, host.netns, `${host.address}:2377`], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(child);
    child.stdin?.on('error', () => undefined); // a dead agent fails its calls by timeout, not the test process
    const agent = new LabAgent(host, child);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`host agent on ${host.name} did not start within 20 s`)), 20_000);
      child.once('exit', (code) => reject(new Error(`host agent on ${host.name} exited (${String(code)})`)));
      lines.on('line', (line) => {
        const m = JSON.parse(line) as { ready?: boolean; id?: number; ok: boolean; result?: unknown; error?: string };
        if (m.ready === true) {
          clearTimeout(timer);
          resolve();
        } else if (m.id !== undefined) {
          agent.waiting.get(m.id)?.(m);
          agent.waiting.delete(m.id);
        }
      });
    });
    await ready;
    return agent;
  }

  /** Sends a command; resolves with its result, rejects with its error. */
  call(op: string, fields: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${op} on ${this.host.name}: no answer within ${commandTimeoutMs} ms`)), commandTimeoutMs);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        if (r.ok) resolve(r.result);
        else reject(new Error(`${op} on ${this.host.name}: ${r.error ?? '?'}`));
      });
      this.child.stdin?.write(`${JSON.stringify({ id, op, ...fields })}\n`);
    });
  }

  view(message: NetworkViewMessage): Promise<unknown> {
    return this.call('view', { message: Buffer.from(NetworkViewMessage.encode(message)).toString('base64') });
  }

  attach(task: Task): Promise<unknown> {
    return this.call('attach', { task: Buffer.from(Task.encode(task)).toString('base64') });
  }

  detach(task: Task): Promise<unknown> {
    return this.call('detach', { task: Buffer.from(Task.encode(task)).toString('base64') });
  }
}

function task(id: string, nodeId: string, address: string, state: TaskState): Task {
  return Task.create({
    id,
    serviceId: 'web',
    nodeId,
    annotations: { name: `web.${id}` },
    desiredState: TaskState.RUNNING,
    status: { state, message: '', err: '' },
    networks: [{ networkId: 'appnet', addresses: [`${address}/24`], aliases: [] }],
  });
}

t.test('netd host agents on two lab hosts: task namespaces reach each other over the overlay', async (t) => {
  const lab = uniqueLabName('nh');
  downOnTeardown(t, lab); // registered first: runs last
  const children: ChildProcess[] = [];
  const hosts = await labUp(lab, 2);
  const [h1, h2] = hosts as [LabHostInfo, LabHostInfo];
  // Whatever happens above, netd's state and the task namespaces go before the lab does.
  t.teardown(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const h of hosts) {
      await reconcile(desiredForHost({ hostAddress: h.address, underlayDevice: 'eth0', networks: [], endpoints: [] }), hostExecutor({ netns: h.netns })).catch(() => undefined);
      for (const name of await readdir('/run/netns').catch(() => [] as string[])) if (name.startsWith(`${h.netns}.`)) await deleteNamespace(name).catch(() => undefined);
    }
  });

  // The managers' side: a store with the two nodes, an overlay, a service and one task per node.
  const memory = new MemoryStore();
  const store = new Store(memory, new LocalProposer(memory));
  const t1 = task('t1', 'n1', '10.0.1.3', TaskState.ASSIGNED);
  const t2 = task('t2', 'n2', '10.0.1.4', TaskState.ASSIGNED);
  await store.update((tx) => {
    tx.create('node', Node.create({ id: 'n1', role: NodeRole.WORKER, status: { state: NodeState.READY, message: '', addr: h1.address } }));
    tx.create('node', Node.create({ id: 'n2', role: NodeRole.WORKER, status: { state: NodeState.READY, message: '', addr: h2.address } }));
    tx.create('network', Network.create({ id: 'appnet', spec: { annotations: { name: 'appnet' }, driver: { name: 'overlay', options: {} } }, vni: 4097, ipam: { configs: [{ family: IPAMFamily.IPV4, subnet: '10.0.1.0/24', gateway: '10.0.1.1', ipRange: '', reserved: {} }] } }));
    tx.create('service', Service.create({
      id: 'web',
      spec: { annotations: { name: 'web' }, endpoint: { mode: EndpointMode.VIP, ports: [{ name: '', protocol: PortProtocol.TCP, targetPort: 80, publishedPort: 0, publishMode: PublishMode.INGRESS }] } },
      endpoint: { ports: [], virtualIps: [{ networkId: 'appnet', addr: '10.0.1.2/24' }] },
    }));
    tx.create('task', t1);
    tx.create('task', t2);
  });
  const viewOf = (nodeId: string): NetworkViewMessage => networkViewForNode(nodeId, sourceFromStore(memory));

  const [a1, a2] = await Promise.all([LabAgent.start(h1, children), LabAgent.start(h2, children)]);

  // t1 is attached before h1 has any view: attach waits for it.
  const attach1 = a1.attach(t1);
  await new Promise((r) => setTimeout(r, 300));
  t.notOk(await inNs(`${h1.netns}.t1`, ['ip', 'link', 'show', 'eth0']).then((r) => r.ok), 'nothing is made before the first view');
  await Promise.all([a1.view(viewOf('n1')), a2.view(viewOf('n2'))]);
  const path1 = await attach1;
  t.equal(path1, `/run/netns/${h1.netns}.t1`, 'attach returns the namespace path, named after the lab host');
  const path2 = await a2.attach(t2);
  t.equal(path2, `/run/netns/${h2.netns}.t2`);
  const ns1 = `${h1.netns}.t1`;
  const ns2 = `${h2.netns}.t2`;
  t.match((await inNs(ns1, ['ip', '-4', 'addr', 'show', 'eth0'])).out, 'inet 10.0.1.3/24', 'the interface is there when attach returns');
  t.match((await inNs(ns2, ['ip', '-4', 'addr', 'show', 'eth0'])).out, 'inet 10.0.1.4/24');

  t.ok(await pings(ns1, '10.0.1.4'), 't1 on h1 pings t2 on h2 over the overlay');
  t.ok(await pings(ns2, '10.0.1.3'), 't2 on h2 pings t1 on h1');
  t.ok(await pings(ns1, '10.0.1.1'), 't1 reaches its gateway');

  // The tasks run: the managers' next view makes them backends of web; DNS follows.
  await store.update((tx) => {
    for (const id of ['t1', 't2']) {
      const x = tx.get('task', id);
      if (x !== undefined) tx.update('task', { ...x, status: { state: TaskState.RUNNING, message: '', err: '' } });
    }
  });
  await Promise.all([a1.view(viewOf('n1')), a2.view(viewOf('n2'))]);
  const lookup = async (name: string): Promise<string> => {
    for (let i = 0; ; i++) {
      const out = (await inNs(ns1, ['sh', '-c', `busybox nslookup -type=a ${name} 10.0.1.1 2>&1; true`])).out;
      if (out.includes('Address: 10.') || i >= 20) return out;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  t.match(await lookup('web'), 'Address: 10.0.1.2', 'DNS on the gateway: web is its VIP');
  const tasks = await lookup('tasks.web');
  t.match(tasks, 'Address: 10.0.1.3', 'tasks.web has t1');
  t.match(tasks, 'Address: 10.0.1.4', 'and t2');

  // A TCP connection between the tasks survives netd's restart: the kernel state stays, and a new
  // agent finds its devices and rules as it left them (fingerprints match) and remakes nothing.
  const server = spawn('ip', ['netns', 'exec', ns2, 'busybox', 'nc', '-l', '-p', '7000', '-e', 'cat'], { stdio: ['ignore', 'ignore', 'ignore'] });
  children.push(server);
  await new Promise((r) => setTimeout(r, 300));
  const client = spawn('ip', ['netns', 'exec', ns1, 'busybox', 'nc', '10.0.1.4', '7000'], { stdio: ['pipe', 'pipe', 'ignore'] });
  children.push(client);
  let echoed = '';
  client.stdout?.on('data', (b: Buffer) => (echoed += b.toString()));
  const echo = async (word: string): Promise<boolean> => {
    client.stdin?.write(`${word}\n`);
    for (let i = 0; i < 50 && !echoed.includes(word); i++) await new Promise((r) => setTimeout(r, 100));
    return echoed.includes(word);
  };
  t.ok(await echo('before'), 'a TCP connection from t1 to t2 echoes');
  const linkIds = async (): Promise<string> => (await inNs(h1.netns, ['ip', '-o', 'link', 'show'])).out.split('\n').filter((l) => /ts[bve]-/.test(l)).map((l) => l.split(':')[0]).join(',');
  const before = await linkIds();
  a1.child.kill('SIGKILL');
  await new Promise((r) => a1.child.once('exit', r));
  const a1again = await LabAgent.start(h1, children);
  await a1again.view(viewOf('n1'));
  for (let i = 0; i < 100 && ((await a1again.call('stats')) as { reconciles: number }).reconciles < 1; i++) await new Promise((r) => setTimeout(r, 100));
  t.ok(await echo('after'), 'the same connection still echoes after netd was killed and started again');
  t.equal(await linkIds(), before, 'the restarted netd remade no device');
  client.kill('SIGKILL');
  server.kill('SIGKILL');

  // t2 leaves: its namespace goes, and with the next view h1 forgets it.
  await a2.detach(t2);
  await store.update((tx) => tx.remove('task', 't2'));
  await Promise.all([a1again.view(viewOf('n1')), a2.view(viewOf('n2'))]);
  t.notOk((await readdir('/run/netns')).includes(ns2), "the detached task's namespace is gone");
  t.notOk(await pings(ns1, '10.0.1.4'), 'and unreachable');
  const stats = (await a1again.call('stats')) as { reconciles: number; failures: number };
  t.equal(stats.failures, 0, `no failed reconcile on h1 (${stats.reconciles} reconciles)`);

  // Stopping with removeAll leaves nothing of netd on either host.
  await Promise.all([a1again.call('stop', { removeAll: true }), a2.call('stop', { removeAll: true })]);
  for (const h of hosts) {
    const obs = await observe(hostExecutor({ netns: h.netns }));
    t.same(obs.links.map((l) => l.name).filter((n) => /^ts[bve]-/.test(n)), [], `${h.name}: no netd device left`);
    t.equal(obs.nftFingerprint, undefined, `${h.name}: no netd nft table left`);
    t.same((await readdir('/run/netns')).filter((n) => n.startsWith(`${h.netns}.`)), [], `${h.name}: no task namespace left`);
  }
});
