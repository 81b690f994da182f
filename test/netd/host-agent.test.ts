/**
 * HostAgent's reconcile loop against a stub executor (no root, no lab): nothing before the first
 * view, changes coalesced into few reconciles with the newest view, failures retried with backoff
 * a bounded number of times (on a FakeClock), then given up until the next change.
 */
import t from 'tap';
import { FakeClock } from '../../lib/clock.js';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { HostAgent, maxReconcileAttempts } from '../../netd/host-agent.js';
import type { NetdExecutor } from '../../netd/executor.js';
import { NetworkViewMessage, Task, TaskState } from '../../proto/index.js';

/** An executor whose host looks empty every time and that records (or fails) every write batch. */
class StubExecutor implements NetdExecutor {
  readonly where = 'stub';
  readonly batches: string[] = [];
  failures = 0;
  async run(tool: string, args: readonly string[], options: { input?: string } = {}): Promise<string> {
    await new Promise((r) => setImmediate(r));
    if (args[0] === '-j') return '[]';
    if (tool === 'nft' && args[0] === 'list') throw new TsswarmError(ErrorCode.EXTERNAL, 'Error: No such file or directory');
    if (tool === 'sysctl' && args[0] === '-n') return '1';
    if (this.failures > 0) {
      this.failures--;
      throw new TsswarmError(ErrorCode.EXTERNAL, 'RTNETLINK answers: File exists');
    }
    this.batches.push(options.input ?? args.join(' '));
    return '';
  }
  async runInNamespaces(): Promise<void> {}
}

function view(vni: number): NetworkViewMessage {
  return NetworkViewMessage.create({
    nodeId: 'n1',
    hostAddr: '198.18.0.2',
    networks: [{ id: `net${vni}`, name: 'appnet', vni, subnet: '10.0.1.0/24', gateway: '10.0.1.1', internal: false, encrypted: false, ingress: false }],
    endpoints: [{ id: 'r1.net', networkId: `net${vni}`, taskId: 'r1', nodeId: 'n2', hostAddr: '198.18.0.3', address: '10.0.1.9', serviceId: '', dnsNames: [] }],
    // In the mesh, so the host has the network without a task of its own (attach needs a real namespace).
    ingress: { networkId: `net${vni}`, hosts: [{ nodeId: 'n1', hostAddr: '198.18.0.2', address: '10.0.1.5' }], published: [] },
  });
}

function newAgent(exec: StubExecutor, clock: FakeClock): HostAgent {
  return new HostAgent({ place: { netns: 'tss-stub-h1' }, underlay: { address: '198.18.0.2', device: 'eth0' }, exec, clock, timing: { retryInitialMs: 200, retryMaxMs: 1_000 } });
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 2));
  if (!check()) throw new Error(`${what} not reached`);
}

t.test('nothing is reconciled before the first view; a burst of views is coalesced and the newest wins', async (t) => {
  const exec = new StubExecutor();
  const clock = new FakeClock();
  const agent = newAgent(exec, clock);
  t.teardown(() => agent.stop());
  t.equal(agent.stats().reconciles, 0);
  const attach = agent.attach(Task.create({ id: 'x1', status: { state: TaskState.ASSIGNED, message: '', err: '' }, networks: [] }), new Map());
  t.equal(await attach, undefined, 'a task on no network keeps the engine default');

  agent.setView(view(4097));
  agent.setView(view(4098));
  agent.setView(view(4099));
  await until(() => agent.stats().reconciles >= 2, 'two reconciles');
  await new Promise((r) => setTimeout(r, 30));
  t.equal(agent.stats().reconciles, 2, 'three views, two reconciles: the one running and one more with the newest');
  t.match(exec.batches.join('\n'), /tsv-4099/, 'the newest view was applied');
  t.notMatch(exec.batches.join('\n'), /tsv-4098/, 'the view in between never was');
});

t.test('a failed reconcile is retried with backoff, then given up until the next change', async (t) => {
  const exec = new StubExecutor();
  const clock = new FakeClock();
  const agent = newAgent(exec, clock);
  t.teardown(() => agent.stop());

  exec.failures = 2;
  agent.setView(view(4097));
  await until(() => agent.stats().failures === 1, 'first failure');
  t.match(agent.stats().lastError ?? '', /File exists/, 'the error is kept');
  clock.advance(199);
  await new Promise((r) => setTimeout(r, 20));
  t.equal(agent.stats().failures, 1, 'no retry before 200 ms');
  clock.advance(1);
  await until(() => agent.stats().failures === 2, 'second failure');
  clock.advance(400);
  await until(() => agent.stats().reconciles === 1, 'success on the third attempt');
  t.equal(agent.stats().lastError, undefined);

  exec.failures = 1_000;
  agent.setView(view(4098));
  for (let i = 1; i < maxReconcileAttempts; i++) {
    await until(() => agent.stats().failures === 2 + i, `failure ${i}`);
    clock.advance(1_000);
  }
  await until(() => agent.stats().failures === 2 + maxReconcileAttempts, 'the last attempt');
  clock.advance(10_000);
  await new Promise((r) => setTimeout(r, 30));
  t.equal(agent.stats().failures, 2 + maxReconcileAttempts, `given up after ${maxReconcileAttempts} attempts`);

  exec.failures = 0;
  agent.setView(view(4099));
  await until(() => agent.stats().reconciles === 2, 'the next change is tried again');
  t.equal(agent.stats().lastError, undefined);
});
