/**
 * The node's attachment tasks (standalone containers on swarm networks): waiting for one to arrive
 * with its addresses, its removal, reports; and the executor routing them away from controllers.
 */
import t from 'tap';
import { ErrorCode, TsswarmError } from '../../../lib/errors.js';
import {
  AssignmentAction,
  AssignmentsMessage,
  AssignmentsMessageType,
  Network,
  Task,
  TaskState,
  type Assignment,
  type TaskStatus,
} from '../../../proto/index.js';
import { millisOf } from '../../../proto/time.js';
import { AttachmentTasks, isAttachmentTask } from '../../../worker/tasks/attachment-tasks.js';
import { TaskExecutor, type TaskEngine, type TaskImages } from '../../../worker/tasks/index.js';

/** An attachment task on networks `networkIds`; `allocated` gives each an address. */
function attachment(id: string, networkIds: string[], allocated: boolean): Task {
  return Task.create({
    id,
    nodeId: 'node1',
    desiredState: TaskState.RUNNING,
    status: { state: allocated ? TaskState.ASSIGNED : TaskState.NEW },
    spec: { attachment: { containerId: `c${id}` }, networks: networkIds.map((target) => ({ target, aliases: [], addresses: [], driverAttachmentOpts: {} })) },
    networks: allocated ? networkIds.map((networkId, i) => ({ networkId, addresses: [`10.0.${i}.2/24`], aliases: [], driverAttachmentOpts: {} })) : [],
  });
}

function setup(): { set: AttachmentTasks; reports: Array<{ taskId: string; status: TaskStatus }> } {
  const reports: Array<{ taskId: string; status: TaskStatus }> = [];
  return { set: new AttachmentTasks((taskId, status) => reports.push({ taskId, status }), () => 1_700_000_000_000), reports };
}

/** Whether `p` settled within `ms`. */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setTimeout(r, ms));
  return done;
}

t.test('waitFor resolves once the task is here with an address on every network', async (t) => {
  const { set } = setup();
  const waiting = set.waitFor('a1', 2_000);
  const second = set.waitFor('a1', 2_000);
  set.update(attachment('a1', ['n1', 'n2'], false));
  t.equal(await settledWithin(waiting, 20), false, 'not before the allocator gave it addresses');
  t.equal(set.get('a1')?.status?.state, TaskState.NEW, 'but the set holds it');
  const partly = attachment('a1', ['n1', 'n2'], true);
  set.update({ ...partly, networks: partly.networks.slice(0, 1) });
  t.equal(await settledWithin(waiting, 20), false, 'not with an address on one network of two');
  set.update(attachment('a1', ['n1', 'n2'], true));
  const task = await waiting;
  t.same(task.networks.map((n) => n.addresses), [['10.0.0.2/24'], ['10.0.1.2/24']]);
  t.equal((await second).id, 'a1', 'every waiter gets it');
  t.equal((await set.waitFor('a1', 10)).id, 'a1', 'a task already here resolves at once');
  t.same(set.ids(), ['a1']);
});

t.test('waitFor times out (TIMEOUT) and the late task still joins the set', async (t) => {
  const { set } = setup();
  // The timer is unref'd (it must not hold a daemon open): something else keeps this test alive.
  const keepAlive = setTimeout(() => undefined, 5_000);
  t.teardown(() => clearTimeout(keepAlive));
  await t.rejects(set.waitFor('late', 30), {
    code: ErrorCode.TIMEOUT,
    message: /^the managers did not hand network attachment late to this node within 0 s \(no free address on the network\?\)$/,
  });
  set.update(attachment('late', ['n1'], true));
  t.same(set.ids(), ['late']);
  t.equal((await set.waitFor('late', 10)).id, 'late');
});

t.test('a task removed (or left out of a COMPLETE set) fails its waiters with CONFLICT', async (t) => {
  const { set } = setup();
  set.update(attachment('gone', ['n1'], false));
  const waiting = set.waitFor('gone', 2_000);
  set.remove('gone');
  await t.rejects(waiting, { code: ErrorCode.CONFLICT, message: 'network attachment gone was removed by the managers before it was used' });
  t.equal(set.get('gone'), undefined);

  set.update(attachment('keep', ['n1'], true));
  set.update(attachment('drop', ['n1'], false));
  const dropped = set.waitFor('drop', 2_000);
  const neverSeen = set.waitFor('never', 2_000);
  set.retainOnly(new Set(['keep', 'never']));
  await t.rejects(dropped, { code: ErrorCode.CONFLICT, message: /network attachment drop was removed by the managers/ });
  t.same(set.ids(), ['keep']);
  t.equal(await settledWithin(neverSeen, 20), false, 'a waiter of a task not yet in the set keeps waiting');
  set.update(attachment('never', ['n1'], true));
  t.equal((await neverSeen).id, 'never');
});

t.test('reportState: RUNNING "attached", COMPLETE "detached", stamped with the clock', async (t) => {
  const { set, reports } = setup();
  set.reportState('a1', TaskState.RUNNING);
  set.reportState('a1', TaskState.COMPLETE);
  t.same(
    reports.map((r) => [r.taskId, r.status.state, r.status.message, millisOf(r.status.timestamp)]),
    [
      ['a1', TaskState.RUNNING, 'attached', 1_700_000_000_000],
      ['a1', TaskState.COMPLETE, 'detached', 1_700_000_000_000],
    ],
  );
});

t.test('isAttachmentTask', async (t) => {
  t.equal(isAttachmentTask(attachment('a', [], true)), true);
  t.equal(isAttachmentTask(Task.create({ id: 'b', serviceId: 's', spec: { container: { image: 'busybox' } } })), false);
});

// ---- the executor routes attachment tasks to its set ----------------------------------------------

/** An engine with no containers; anything else the executor asks of it is a failure of the test. */
class EmptyEngine implements TaskEngine {
  calls: string[] = [];
  readonly runtime = {
    wait: (): Promise<never> => this.refuse('runtime.wait'),
    create: (): Promise<never> => this.refuse('runtime.create'),
  };
  private refuse(what: string): Promise<never> {
    this.calls.push(what);
    return Promise.reject(new TsswarmError(ErrorCode.UNSUPPORTED, `${what} is not expected`));
  }
  create(): Promise<never> {
    return this.refuse('create');
  }
  start(): Promise<never> {
    return this.refuse('start');
  }
  stop(): Promise<never> {
    return this.refuse('stop');
  }
  remove(): Promise<never> {
    return this.refuse('remove');
  }
  inspect(): Promise<never> {
    return this.refuse('inspect');
  }
  list(): Promise<[]> {
    return Promise.resolve([]);
  }
}

const noImages: TaskImages = {
  resolve: () => Promise.reject(new TsswarmError(ErrorCode.NOT_FOUND, 'no images')),
  pull: () => Promise.reject(new TsswarmError(ErrorCode.NOT_FOUND, 'no images')),
  runtimeConfig: () => Promise.reject(new TsswarmError(ErrorCode.NOT_FOUND, 'no images')),
  layerDirs: () => Promise.resolve([]),
};

function message(type: AssignmentsMessageType, changes: Array<[AssignmentAction, Assignment]>): AssignmentsMessage {
  return AssignmentsMessage.create({ type, changes: changes.map(([action, assignment]) => ({ action, assignment })) });
}

t.test('the executor keeps attachment tasks in executor.attachments: no controller, no container, no report', async (t) => {
  const engine = new EmptyEngine();
  const reports: Array<{ taskId: string; status: TaskStatus }> = [];
  const executor = new TaskExecutor({ engine, images: noImages, report: (taskId, status) => reports.push({ taskId, status }), now: () => 1_700_000_000_000 });
  t.teardown(() => executor.close());
  // waitFor's timer is unref'd: keep the test alive so a broken routing fails with TIMEOUT.
  const keepAlive = setTimeout(() => undefined, 5_000);
  t.teardown(() => clearTimeout(keepAlive));
  const net = Network.create({ id: 'n1', spec: { annotations: { name: 'front' }, attachable: true } });
  const waiting = executor.attachments.waitFor('a1', 2_000);
  await executor.assign(message(AssignmentsMessageType.COMPLETE, [[AssignmentAction.UPDATE, { network: net }], [AssignmentAction.UPDATE, { task: attachment('a1', ['n1'], true) }]]));
  t.equal((await waiting).id, 'a1', 'the waiting engine gets it');
  t.same(executor.attachments.ids(), ['a1']);
  t.same(executor.tasks(), [], 'no controller for it');
  t.same([...executor.assignedNetworks().keys()], ['n1'], 'its network object is at hand for netd');
  await new Promise((r) => setTimeout(r, 30));
  t.same(engine.calls, [], 'no container made');
  t.same(reports, [], 'nothing reported: the engine reports it once joined');

  executor.attachments.reportState('a1', TaskState.RUNNING);
  t.same(reports.map((r) => [r.taskId, r.status.state, r.status.message]), [['a1', TaskState.RUNNING, 'attached']], "reports go the executor's way");

  // INCREMENTAL changes, then REMOVE.
  await executor.assign(message(AssignmentsMessageType.INCREMENTAL, [[AssignmentAction.UPDATE, { task: attachment('a2', ['n1'], false) }]]));
  t.same(executor.attachments.ids().sort(), ['a1', 'a2']);
  const a2 = executor.attachments.waitFor('a2', 2_000);
  await executor.assign(message(AssignmentsMessageType.INCREMENTAL, [[AssignmentAction.REMOVE, { task: attachment('a2', ['n1'], false) }]]));
  await t.rejects(a2, { code: ErrorCode.CONFLICT, message: /network attachment a2 was removed by the managers/ });
  t.same(executor.attachments.ids(), ['a1']);

  // A COMPLETE set without it drops it.
  await executor.assign(message(AssignmentsMessageType.COMPLETE, [[AssignmentAction.UPDATE, { network: net }]]));
  t.same(executor.attachments.ids(), [], 'a COMPLETE message is the whole set');
  t.same(engine.calls, []);
});
