import t from 'tap';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { LocalProposer, Store } from '../../../manager/store/store.js';
import { Service, StoreActionKind, StoreSnapshot, Task, TaskState } from '../../../proto/index.js';

function service(id: string, name: string): Service {
  return Service.create({ id, spec: { annotations: { name } } });
}
function task(id: string, serviceId: string, nodeId = ''): Task {
  return Task.create({ id, serviceId, nodeId, slot: 1, desiredState: TaskState.RUNNING });
}
function newStore(): Store {
  const memory = new MemoryStore();
  return new Store(memory, new LocalProposer(memory), () => 1_700_000_000_000);
}

t.test('writes get the batch index as version; reads by ID, name and index', async (t) => {
  const s = newStore();
  await s.update((tx) => {
    tx.create('service', service('s1', 'web'));
    tx.create('task', task('t1', 's1', 'n1'));
    tx.create('task', task('t2', 's1'));
  });
  t.equal(s.memory.version, 1);
  t.equal(s.memory.get('service', 's1')?.meta?.version?.index, 1);
  t.same(s.memory.get('service', 's1')?.meta?.createdAt, { seconds: 1_700_000_000, nanos: 0 }, 'times come from the proposer');
  t.equal(s.memory.byName('service', 'web')?.id, 's1');
  t.same(s.memory.tasksOfService('s1').map((x) => x.id), ['t1', 't2']);
  t.same(s.memory.tasksOfNode('n1').map((x) => x.id), ['t1']);
  await s.update((tx) => tx.update('task', { ...(s.memory.get('task', 't2') as Task), nodeId: 'n2' }));
  t.same(s.memory.tasksOfNode('n2').map((x) => x.id), ['t2'], 'indexes follow updates');
  t.equal(s.memory.get('task', 't2')?.meta?.version?.index, 2);
  t.same(s.memory.get('task', 't2')?.meta?.createdAt, { seconds: 1_700_000_000, nanos: 0 }, 'created time kept');
});

t.test('optimistic concurrency: an update made from a stale version fails and changes nothing', async (t) => {
  const s = newStore();
  await s.update((tx) => tx.create('service', service('s1', 'web')));
  const read = s.memory.get('service', 's1') as Service;
  await s.update((tx) => tx.update('service', { ...read, spec: { annotations: { name: 'web', labels: { a: '1' } } } }));
  await t.rejects(
    s.update((tx) => tx.update('service', { ...read, spec: { annotations: { name: 'web', labels: { b: '2' } } } })),
    { code: 'ECONFLICT', message: /update out of sequence: service s1 is at version 2, the update was made from version 1/ },
  );
  t.same(s.memory.get('service', 's1')?.spec?.annotations?.labels, { a: '1' });
});

t.test('batches are atomic: one bad action and nothing applies', async (t) => {
  const s = newStore();
  await s.update((tx) => tx.create('service', service('s1', 'web')));
  await t.rejects(
    s.update((tx) => {
      tx.create('service', service('s2', 'api'));
      tx.create('service', service('s3', 'web'));
    }),
    { code: 'EEXIST', message: /service name "web" is already in use/ },
  );
  t.equal(s.memory.get('service', 's2'), undefined);
  t.equal(s.memory.byName('service', 'api'), undefined);
  await t.rejects(s.update((tx) => tx.create('service', service('s1', 'other'))), { code: 'EEXIST', message: /service s1 already exists/ });
  t.throws(() => s.memory.apply(s.memory.version + 1, [{ kind: StoreActionKind.REMOVE, task: task('nope', 's1') }]), { code: 'ENOTFOUND' });
});

t.test('a name freed by remove or rename can be taken in the same batch', async (t) => {
  const s = newStore();
  await s.update((tx) => tx.create('service', service('s1', 'web')));
  await s.update((tx) => {
    tx.remove('service', 's1');
    tx.create('service', service('s2', 'web'));
  });
  t.equal(s.memory.byName('service', 'web')?.id, 's2');
  const s2 = s.memory.get('service', 's2') as Service;
  await s.update((tx) => {
    tx.update('service', { ...s2, spec: { annotations: { name: 'web2', labels: {} } } });
    tx.create('service', service('s3', 'web'));
  });
  t.equal(s.memory.byName('service', 'web')?.id, 's3');
  t.equal(s.memory.byName('service', 'web2')?.id, 's2');
});

t.test('watchers see events in order; a watcher that falls behind is told to re-sync', async (t) => {
  const s = newStore();
  const all = s.memory.watch();
  const tasksOnly = s.memory.watch((e) => e.object.kind === 'task');
  const tiny = s.memory.watch(() => true, 2);
  await s.update((tx) => tx.create('service', service('s1', 'web')));
  await s.update((tx) => tx.create('task', task('t1', 's1')));
  await s.update((tx) => tx.remove('task', 't1'));
  const seen = [await all.next(), await all.next(), await all.next()];
  t.same(seen.map((e) => [e.kind, e.object.kind, e.version]), [['create', 'service', 1], ['create', 'task', 2], ['remove', 'task', 3]]);
  t.same([(await tasksOnly.next()).kind, (await tasksOnly.next()).kind], ['create', 'remove']);
  await tiny.next();
  await tiny.next();
  await t.rejects(tiny.next(), { code: 'EQUEUEFULL', message: /re-read the store/ });
  all.close();
  await t.rejects(all.next(), { code: 'ECLOSED' });
});

t.test('snapshot and restore give the same tables and indexes', async (t) => {
  const s = newStore();
  await s.update((tx) => {
    tx.create('service', service('s1', 'web'));
    tx.create('task', task('t1', 's1', 'n1'));
  });
  const snap = StoreSnapshot.decode(StoreSnapshot.encode(s.memory.snapshot()));
  const other = new MemoryStore();
  other.restore(snap, s.memory.version);
  t.same(other.snapshot(), s.memory.snapshot());
  t.equal(other.byName('service', 'web')?.id, 's1');
  t.same(other.tasksOfNode('n1').map((x) => x.id), ['t1']);
  t.equal(other.version, 1);
});
