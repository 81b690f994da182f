/** The pure assignment-set core: which tasks and dependencies a node gets, and when. */
import t from 'tap';
import { AssignmentSet, isAssignedTask, tasksEqualStable } from '../../../manager/dispatcher/index.js';
import type { StoreEvent } from '../../../manager/store/index.js';
import { AssignmentAction, Config, Network, Secret, Task as TaskCodec, TaskState, type AssignmentChange, type Task } from '../../../proto/index.js';
import { makeTask } from './helpers.js';

function secret(id: string): Secret {
  return Secret.create({ id, spec: { annotations: { name: id }, data: new TextEncoder().encode(`data-${id}`) } });
}

let version = 0;
function taskEvent(kind: 'create' | 'update' | 'remove', value: Task): StoreEvent {
  return { kind, object: { kind: 'task', value }, version: ++version };
}

function describe(changes: AssignmentChange[]): string[] {
  return changes.map((c) => {
    const a = c.assignment;
    const what = a?.task ? `task/${a.task.id}` : a?.secret ? `secret/${a.secret.id}` : a?.config ? `config/${a.config.id}` : `network/${a?.network?.id ?? '?'}`;
    return `${c.action === AssignmentAction.REMOVE ? 'remove' : 'update'} ${what}`;
  });
}

t.test('which tasks belong to a node', async (t) => {
  const on = (state: TaskState, desired: TaskState): boolean => isAssignedTask(makeTask('t', { nodeId: 'n1', state, desired }), 'n1');
  t.equal(isAssignedTask(makeTask('t', { nodeId: 'n2' }), 'n1'), false, 'another node');
  t.equal(on(TaskState.PENDING, TaskState.RUNNING), false, 'not yet assigned by the scheduler');
  t.equal(on(TaskState.ASSIGNED, TaskState.RUNNING), true);
  t.equal(on(TaskState.RUNNING, TaskState.RUNNING), true);
  t.equal(on(TaskState.RUNNING, TaskState.SHUTDOWN), true, 'running, to be shut down');
  t.equal(on(TaskState.FAILED, TaskState.RUNNING), true, 'failed but still wanted running');
  t.equal(on(TaskState.SHUTDOWN, TaskState.SHUTDOWN), false, 'done and not wanted any more');
  t.equal(on(TaskState.COMPLETE, TaskState.COMPLETE), false);
});

t.test('tasks equal but for status and meta', async (t) => {
  const a = makeTask('t', { nodeId: 'n1', state: TaskState.ASSIGNED });
  const b = { ...a, status: { state: TaskState.RUNNING, message: 'started', err: '' }, meta: { version: { index: 9 } } };
  t.ok(tasksEqualStable(a, b));
  t.notOk(tasksEqualStable(a, { ...a, desiredState: TaskState.SHUTDOWN }));
});

t.test('an assignment set follows its tasks and their secrets', async (t) => {
  const secrets = new Map([['s1', secret('s1')]]);
  const set = new AssignmentSet('n1', (kind, id) => (kind === 'secret' ? (secrets.get(id) as never) : undefined));
  set.load([
    makeTask('a', { nodeId: 'n1', state: TaskState.RUNNING, secrets: ['s1'] }),
    makeTask('pending', { nodeId: 'n1', state: TaskState.PENDING }),
    makeTask('done', { nodeId: 'n1', state: TaskState.SHUTDOWN, desired: TaskState.SHUTDOWN }),
  ]);
  t.same(describe(set.snapshot()), ['update task/a', 'update secret/s1'], 'the COMPLETE body: the live task and its secret');
  t.equal(set.pendingChanges, 0);

  const b = makeTask('b', { nodeId: 'n1', secrets: ['s1', 's2'] });
  t.ok(set.apply(taskEvent('create', b)));
  t.same(describe(set.take(100)), ['update task/b'], 's1 is already there, s2 does not exist yet');

  secrets.set('s2', secret('s2'));
  t.ok(set.apply({ kind: 'create', object: { kind: 'secret', value: secret('s2') }, version: ++version }));
  t.same(describe(set.take(100)), ['update secret/s2'], 'a referenced secret that appears is sent');
  t.notOk(set.apply({ kind: 'create', object: { kind: 'secret', value: secret('other') }, version: ++version }), 'an unreferenced one is not');

  const reported = { ...b, status: { state: TaskState.RUNNING, message: 'started', err: '' } };
  t.notOk(set.apply(taskEvent('update', reported)), "the worker's own report is not echoed back");

  const finished = { ...reported, status: { state: TaskState.COMPLETE, message: 'exited', err: '' } };
  t.ok(set.apply(taskEvent('update', finished)));
  t.same(describe(set.take(100)), ['remove secret/s2'], 'a finished task still wanted is kept silently, but the secrets only it used are withdrawn');

  t.ok(set.apply(taskEvent('update', { ...finished, desiredState: TaskState.SHUTDOWN })));
  t.same(describe(set.take(100)), ['remove task/b'], 'finished and not wanted: removed');

  t.ok(set.apply(taskEvent('remove', makeTask('a', { nodeId: 'n1', state: TaskState.RUNNING, secrets: ['s1'] }))));
  t.same(describe(set.take(100)), ['remove task/a', 'remove secret/s1'], 'a deleted task and its last secret go');
  t.equal(set.taskCount, 0);

  t.notOk(set.apply(taskEvent('create', makeTask('x', { nodeId: 'n2' }))), "another node's task is ignored");
});

t.test('take() bounds a message and keeps the rest for the next', async (t) => {
  const set = new AssignmentSet('n1', () => undefined);
  set.load([]);
  for (let i = 0; i < 10; i++) set.apply(taskEvent('create', makeTask(`t${i}`, { nodeId: 'n1' })));
  t.equal(set.take(4).length, 4);
  t.equal(set.take(4).length, 4);
  t.equal(set.take(4).length, 2);
  t.equal(set.pendingChanges, 0);
});

t.test('configs and networks a task uses travel with it', async (t) => {
  const config = Config.create({ id: 'c1', spec: { annotations: { name: 'c1' }, data: new TextEncoder().encode('x=1') } });
  const network = Network.create({ id: 'net1', spec: { annotations: { name: 'net1' } }, vni: 4097 });
  const set = new AssignmentSet('n1', (kind, id) => (kind === 'config' && id === 'c1' ? (config as never) : kind === 'network' && id === 'net1' ? (network as never) : undefined));
  set.load([]);
  const withDeps = TaskCodec.create({
    id: 'a',
    nodeId: 'n1',
    desiredState: TaskState.RUNNING,
    status: { state: TaskState.ASSIGNED },
    spec: { container: { image: 'busybox', configs: [{ configId: 'c1', configName: 'c1' }] } },
    networks: [{ networkId: 'net1', addresses: ['10.0.0.3/24'] }],
  });
  set.apply(taskEvent('create', withDeps));
  t.same(describe(set.take(100)), ['update config/c1', 'update network/net1', 'update task/a'], 'dependencies first, then the task');
  const allocated = { ...network, vni: 4098 };
  t.ok(set.apply({ kind: 'update', object: { kind: 'network', value: allocated }, version: ++version }));
  t.same(set.take(100)[0]?.assignment?.network?.vni, 4098, 'a change to a network in use is sent');
});
