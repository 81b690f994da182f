import t from 'tap';
import { TaskFilters, TaskState, type DeepPartial, type Service } from '../../../proto/index.js';
import { taskName } from '../../../manager/controlapi/task-filters.js';
import { seed, serviceFixture, serviceSpec, serviceStoreState, task } from './service-helpers.js';

/** Two services with tasks on two nodes, in several states. */
async function withTasks() {
  const f = serviceFixture();
  const web = (await f.api.createService({ spec: serviceSpec('web', { annotations: { name: 'web', labels: { tier: 'front' } } }) })).service as Service;
  const db = (await f.api.createService({ spec: serviceSpec('db', { annotations: { name: 'db', labels: { tier: 'back' } } }) })).service as Service;
  const ann = (s: Service) => ({ serviceAnnotations: { name: s.spec?.annotations?.name ?? '', labels: s.spec?.annotations?.labels ?? {} } });
  await seed(f.store, {
    tasks: [
      task('ta1', { serviceId: web.id, slot: 1, nodeId: 'n1', ...ann(web) }),
      task('ta2', { serviceId: web.id, slot: 2, nodeId: 'n2', ...ann(web) }),
      task('ta3', { serviceId: web.id, slot: 1, nodeId: 'n1', desiredState: TaskState.SHUTDOWN, status: { state: TaskState.FAILED }, ...ann(web) }),
      task('tb1', { serviceId: db.id, slot: 1, nodeId: 'n2', annotations: { name: 'db.1.custom' }, ...ann(db) }),
      task('tb2', { serviceId: db.id, slot: 0, nodeId: 'n2', ...ann(db) }),
    ],
  });
  return { ...f, web, db };
}

t.test('task names: the given name, else service.slot.id (service.node.id without a slot)', async (t) => {
  const f = await withTasks();
  t.equal(taskName(f.store.memory.get('task', 'ta1')!), 'web.1.ta1');
  t.equal(taskName(f.store.memory.get('task', 'tb1')!), 'db.1.custom');
  t.equal(taskName(f.store.memory.get('task', 'tb2')!), 'db.n2.tb2');
});

t.test('GetTask', async (t) => {
  const f = await withTasks();
  t.equal((await f.api.getTask({ taskId: 'ta2' })).task?.nodeId, 'n2');
  await t.rejects(f.api.getTask({ taskId: 'nope' }), { code: 'ENOTFOUND', message: 'task nope not found' });
  await t.rejects(f.api.getTask({ taskId: '' }), { code: 'EINVAL', message: 'a task ID is required' });
});

t.test('ListTasks: every filter alone and together', async (t) => {
  const f = await withTasks();
  const ids = async (filters?: DeepPartial<TaskFilters>): Promise<string[]> =>
    (await f.api.listTasks(filters === undefined ? {} : { filters: TaskFilters.create(filters) })).tasks.map((x) => x.id);
  t.same(await ids(), ['ta1', 'ta2', 'ta3', 'tb1', 'tb2'], 'all, in ID order');
  t.same(await ids({ serviceIds: [f.db.id] }), ['tb1', 'tb2']);
  t.same(await ids({ serviceIds: [f.db.id, f.web.id, f.db.id] }), ['ta1', 'ta2', 'ta3', 'tb1', 'tb2'], 'several services, still in ID order, no repeats');
  t.same(await ids({ serviceIds: ['nope'] }), []);
  t.same(await ids({ nodeIds: ['n1'] }), ['ta1', 'ta3']);
  t.same(await ids({ desiredStates: [TaskState.RUNNING] }), ['ta1', 'ta2', 'tb1', 'tb2'], 'desired state, not observed');
  t.same(await ids({ desiredStates: [TaskState.SHUTDOWN] }), ['ta3']);
  t.same(await ids({ slots: [1] }), ['ta1', 'ta3', 'tb1']);
  t.same(await ids({ object: { names: ['web.2.ta2', 'db.1.custom'] } }), ['ta2', 'tb1'], 'names as tasks are shown');
  t.same(await ids({ object: { namePrefixes: ['web.1.'] } }), ['ta1', 'ta3']);
  t.same(await ids({ object: { idPrefixes: ['tb'] } }), ['tb1', 'tb2']);
  t.same(await ids({ object: { labels: { tier: 'front' } } }), ['ta1', 'ta2', 'ta3'], 'labels are the service\'s');
  t.same(await ids({ serviceIds: [f.web.id], nodeIds: ['n1'], desiredStates: [TaskState.RUNNING], slots: [1] }), ['ta1'], 'all criteria must match');
});

t.test('RemoveTask', async (t) => {
  const f = await withTasks();
  await f.api.removeTask({ taskId: 'ta3' });
  t.equal(f.store.memory.get('task', 'ta3'), undefined);
  t.same(f.store.memory.tasksOfService(f.web.id).map((x) => x.id), ['ta1', 'ta2']);
  const before = serviceStoreState(f.store);
  await t.rejects(f.api.removeTask({ taskId: 'ta3' }), { code: 'ENOTFOUND', message: 'task ta3 not found' });
  f.membership.leader = undefined;
  await t.rejects(f.api.removeTask({ taskId: 'ta1' }), { code: 'ENOQUORUM' });
  t.same(serviceStoreState(f.store), before, 'refusals change nothing');
});
