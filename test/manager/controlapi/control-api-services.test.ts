import t, { type Test } from 'tap';
import {
  EndpointMode,
  Network,
  PublishMode,
  RebalanceMode,
  Secret,
  Service,
  ServiceFilters,
  ServiceRollback,
  ServiceSpec,
  TaskState,
  UpdateState,
  type DeepPartial,
} from '../../../proto/index.js';
import { networkSpec, seed, type Part, serviceFixture, serviceSpec, serviceStoreState, task, versionOf, withContainer } from './service-helpers.js';

type Fixture = ReturnType<typeof serviceFixture>;

/** Asserts that `promise` is refused with `code` and a message matching `message`, and that the store did not change. */
async function refused(t: Test, f: Fixture, promise: () => Promise<unknown>, code: string, message: RegExp | string): Promise<void> {
  const before = serviceStoreState(f.store);
  await t.rejects(promise(), { code, message });
  t.same(serviceStoreState(f.store), before, 'the store is unchanged');
}

const ports = (...list: NonNullable<Part<ServiceSpec['endpoint']>['ports']>): DeepPartial<ServiceSpec> => ({ endpoint: { mode: EndpointMode.VIP, ports: list } });

/** A fixture with an ingress network and an overlay network "front". */
async function withNetworks(): Promise<Fixture> {
  const f = serviceFixture();
  await f.api.createNetwork({ spec: networkSpec('ingress', { ingress: true }) });
  await f.api.createNetwork({ spec: networkSpec('front') });
  return f;
}

/** The spec of service "web" in another mode. */
function modeSwapped(mode: Pick<ServiceSpec, 'global' | 'replicatedJob'>): ServiceSpec {
  const { replicated: _replicated, ...rest } = serviceSpec('web');
  return { ...rest, ...mode };
}

const netId = (f: Fixture, name: string): string => (f.store.memory.byName('network', name) as Network).id;

t.test('CreateService stores the checked spec with an ID and no tasks', async (t) => {
  const f = serviceFixture();
  const { service } = await f.api.createService({ spec: serviceSpec('web', { annotations: { name: 'web', labels: { tier: 'front' } } }) });
  t.equal(service?.id.length, 25);
  t.equal(service?.spec?.annotations?.name, 'web');
  t.same(service?.spec?.replicated, { replicas: 2 });
  t.same(service?.specVersion, { index: 0 });
  t.ok((service?.meta?.version?.index ?? 0) > 0, 'stored with a version');
  t.same(f.store.memory.get('service', service?.id ?? ''), service, 'the answer is what the store holds');
  t.equal(f.store.memory.list('task').length, 0, 'no tasks: the orchestrator makes them');
});

t.test('CreateService fills docker\'s defaults: replicated 1 without a mode', async (t) => {
  const f = serviceFixture();
  const { service } = await f.api.createService({ spec: ServiceSpec.create({ annotations: { name: 'one' }, task: { container: { image: 'busybox' } } }) });
  t.same(service?.spec?.replicated, { replicas: 1 });
});

t.test('CreateService without a name generates a readable free one from the rng', async (t) => {
  const a = serviceFixture(42);
  const b = serviceFixture(42);
  const first = (await a.api.createService({ spec: serviceSpec('') })).service?.spec?.annotations?.name ?? '';
  t.match(first, /^[a-z]+_[a-z]+$/, 'adjective_surname');
  t.equal((await b.api.createService({ spec: serviceSpec('') })).service?.spec?.annotations?.name, first, 'same seed, same name');
  const names = new Set([first]);
  for (let i = 0; i < 20; i++) names.add((await a.api.createService({ spec: serviceSpec('') })).service?.spec?.annotations?.name ?? '');
  t.equal(names.size, 21, 'every generated name is free');
});

t.test('CreateService refuses bad specs, naming the field, and changes nothing', async (t) => {
  const f = serviceFixture();
  await refused(t, f, () => f.api.createService({ spec: withContainer('web', { image: '' }) }), 'EINVAL', /task\.container\.image is required/);
  await refused(t, f, () => f.api.createService({}), 'EINVAL', 'invalid service spec: a spec is required');
  await refused(t, f, () => f.api.createService({ spec: serviceSpec('bad name') }), 'EINVAL', /service name "bad name" is invalid/);
});

t.test('CreateService: a name in use is ALREADY_EXISTS', async (t) => {
  const f = serviceFixture();
  await f.api.createService({ spec: serviceSpec('web') });
  await refused(t, f, () => f.api.createService({ spec: serviceSpec('web') }), 'EEXIST', 'service web already exists');
});

t.test('CreateService needs a leader', async (t) => {
  const f = serviceFixture();
  f.membership.leader = undefined;
  await refused(t, f, () => f.api.createService({ spec: serviceSpec('web') }), 'ENOQUORUM', /does not have a leader/);
});

t.test('CreateService resolves networks by ID, name or ID prefix and stores IDs', async (t) => {
  const f = await withNetworks();
  const front = netId(f, 'front');
  await f.api.createNetwork({ spec: networkSpec('back') });
  const back = netId(f, 'back');
  const { service } = await f.api.createService({
    spec: serviceSpec('web', { task: { container: { image: 'nginx' }, networks: [{ target: 'front', aliases: ['www'] }, { target: back }] } }),
  });
  t.same(
    service?.spec?.task?.networks.map((n) => [n.target, n.aliases]),
    [
      [front, ['www']],
      [back, []],
    ],
  );
  // Counter IDs share their first characters; a unique prefix needs the distinguishing digit.
  const { service: api } = await f.api.createService({ spec: serviceSpec('api', { task: { container: { image: 'nginx' }, networks: [{ target: front }] } }) });
  t.equal(api?.spec?.task?.networks[0]?.target, front);
  await refused(t, f, () => f.api.createService({ spec: serviceSpec('x', { task: { container: { image: 'nginx' }, networks: [{ target: 'nope' }] } }) }), 'ENOTFOUND', 'network nope not found');
  await refused(t, f, () => f.api.createService({ spec: serviceSpec('x', { task: { container: { image: 'nginx' }, networks: [{ target: 'id' }] } }) }), 'EINVAL', /network id is ambiguous/);
  await refused(
    t,
    f,
    () => f.api.createService({ spec: serviceSpec('x', { task: { container: { image: 'nginx' }, networks: [{ target: 'ingress' }] } }) }),
    'EINVAL',
    /service cannot be explicitly attached to the ingress network "ingress"/,
  );
  await refused(
    t,
    f,
    () => f.api.createService({ spec: serviceSpec('x', { task: { container: { image: 'nginx' }, networks: [{ target: 'front' }, { target: front }] } }) }),
    'EINVAL',
    /network front is attached more than once/,
  );
});

t.test('CreateService checks secret and config references against the store', async (t) => {
  const f = serviceFixture();
  await f.store.update((tx) => tx.create('secret', Secret.create({ id: 'sec1', spec: { annotations: { name: 'db-pass' } } })));
  const ok = await f.api.createService({ spec: withContainer('web', { secrets: [{ secretId: 'sec1', secretName: 'db-pass', file: { name: 'db-pass' } }] }) });
  t.ok(ok.service);
  await refused(
    t,
    f,
    () => f.api.createService({ spec: withContainer('x', { secrets: [{ secretId: 'sec1', secretName: 'other', file: { name: 'a' } }, { secretId: 'nope', secretName: 'gone', file: { name: 'b' } }] }) }),
    'EINVAL',
    'secrets not found: other, gone',
  );
  await refused(t, f, () => f.api.createService({ spec: withContainer('x', { configs: [{ configId: 'c', configName: 'conf', file: { name: '/c' } }] }) }), 'EINVAL', 'config not found: conf');
});

t.test('published ports: ingress ports are taken everywhere; host ports may be shared but not with ingress', async (t) => {
  const f = await withNetworks();
  const { service: web } = await f.api.createService({ spec: serviceSpec('web', ports({ targetPort: 80, publishedPort: 8080 })) });
  await refused(
    t,
    f,
    () => f.api.createService({ spec: serviceSpec('web2', ports({ targetPort: 80, publishedPort: 8080 })) }),
    'ECONFLICT',
    `port 8080/tcp is already in use by service web (${web?.id}) as an ingress port`,
  );
  await refused(
    t,
    f,
    () => f.api.createService({ spec: serviceSpec('web3', ports({ targetPort: 80, publishedPort: 8080, publishMode: PublishMode.HOST })) }),
    'ECONFLICT',
    /port 8080\/tcp is already in use by service web .* as an ingress port/,
  );
  t.ok((await f.api.createService({ spec: serviceSpec('dns', ports({ targetPort: 53, publishedPort: 8080, protocol: 1 })) })).service, 'another protocol is another port');
  t.ok((await f.api.createService({ spec: serviceSpec('h1', ports({ targetPort: 80, publishedPort: 9000, publishMode: PublishMode.HOST })) })).service);
  t.ok((await f.api.createService({ spec: serviceSpec('h2', ports({ targetPort: 80, publishedPort: 9000, publishMode: PublishMode.HOST })) })).service, 'host ports may be shared');
  await refused(
    t,
    f,
    () => f.api.createService({ spec: serviceSpec('i9', ports({ targetPort: 80, publishedPort: 9000 })) }),
    'ECONFLICT',
    /port 9000\/tcp is already in use by service h1 .* as a host-published port/,
  );
  // A port the allocator picked (published 0 in the spec) counts too.
  const picked = f.store.memory.byName('service', 'h2') as Service;
  await f.store.update((tx) => tx.update('service', { ...picked, endpoint: { ports: [{ name: '', protocol: 0, targetPort: 81, publishedPort: 30001, publishMode: PublishMode.INGRESS }], virtualIps: [] } }));
  await refused(t, f, () => f.api.createService({ spec: serviceSpec('p', ports({ targetPort: 80, publishedPort: 30001 })) }), 'ECONFLICT', /port 30001\/tcp is already in use by service h2/);
});

t.test('publishing through the routing mesh needs an ingress network', async (t) => {
  const f = serviceFixture();
  await refused(t, f, () => f.api.createService({ spec: serviceSpec('web', ports({ targetPort: 80, publishedPort: 8080 })) }), 'ECONFLICT', /service needs ingress network, but no ingress network is present/);
  t.ok((await f.api.createService({ spec: serviceSpec('h', ports({ targetPort: 80, publishedPort: 8080, publishMode: PublishMode.HOST })) })).service, 'host mode does not');
});

t.test('GetService and ListServices with filters', async (t) => {
  const f = serviceFixture();
  const a = (await f.api.createService({ spec: serviceSpec('web', { annotations: { name: 'web', labels: { tier: 'front', env: 'prod' } } }) })).service as Service;
  const b = (await f.api.createService({ spec: serviceSpec('web-admin', { annotations: { name: 'web-admin', labels: { tier: 'front' } } }) })).service as Service;
  const c = (await f.api.createService({ spec: serviceSpec('db', { annotations: { name: 'db', labels: { tier: 'back' } } }) })).service as Service;
  t.same((await f.api.getService({ serviceId: a.id })).service, a);
  await t.rejects(f.api.getService({ serviceId: 'nope' }), { code: 'ENOTFOUND', message: 'service nope not found' });
  await t.rejects(f.api.getService({ serviceId: '' }), { code: 'EINVAL' });
  const names = async (object?: DeepPartial<ServiceFilters['object']>): Promise<string[]> =>
    (await f.api.listServices(object === undefined ? {} : { filters: ServiceFilters.create({ object }) })).services.map((s) => s.spec?.annotations?.name ?? '');
  t.same(await names(), ['web', 'web-admin', 'db'], 'all, in ID order');
  t.same(await names({ names: ['web', 'db'] }), ['web', 'db'], 'exact names');
  t.same(await names({ names: ['we'] }), [], 'a name is not a prefix');
  t.same(await names({ namePrefixes: ['web'] }), ['web', 'web-admin']);
  t.same(await names({ idPrefixes: [b.id, c.id] }), ['web-admin', 'db']);
  t.same(await names({ idPrefixes: [a.id.slice(0, 5)] }), ['web', 'web-admin', 'db'], 'a shared prefix matches all');
  t.same(await names({ labels: { tier: 'front' } }), ['web', 'web-admin']);
  t.same(await names({ labels: { env: '' } }), ['web'], 'an empty value matches any value');
  t.same(await names({ labels: { tier: 'front' }, namePrefixes: ['web-'] }), ['web-admin'], 'all criteria must match');
});

t.test('UpdateService: new spec, previous spec kept, spec version = the version read', async (t) => {
  const f = serviceFixture();
  const created = (await f.api.createService({ spec: serviceSpec('web') })).service as Service;
  const { service: updated } = await f.api.updateService({
    serviceId: created.id,
    serviceVersion: versionOf(created),
    spec: serviceSpec('web', { replicated: { replicas: 5 }, task: { container: { image: 'nginx:1.28' } } }),
    rollback: ServiceRollback.NONE,
  });
  t.same(updated?.spec?.replicated, { replicas: 5 });
  t.equal(updated?.spec?.task?.container?.image, 'nginx:1.28');
  t.same(updated?.previousSpec, created.spec);
  t.same(updated?.specVersion, versionOf(created));
  t.ok((updated?.meta?.version?.index ?? 0) > (created.meta?.version?.index ?? 0));
  t.same(f.store.memory.get('service', created.id), updated);
});

t.test('UpdateService: an empty name keeps the service\'s; renaming and mode changes are refused', async (t) => {
  const f = serviceFixture();
  const s = (await f.api.createService({ spec: serviceSpec('web') })).service as Service;
  const kept = await f.api.updateService({ serviceId: s.id, serviceVersion: versionOf(s), spec: serviceSpec(''), rollback: 0 });
  t.equal(kept.service?.spec?.annotations?.name, 'web');
  const now = kept.service as Service;
  await refused(t, f, () => f.api.updateService({ serviceId: s.id, serviceVersion: versionOf(now), spec: serviceSpec('web2'), rollback: 0 }), 'EINVAL', 'renaming services is not supported: service web cannot become web2');
  await refused(
    t,
    f,
    () => f.api.updateService({ serviceId: s.id, serviceVersion: versionOf(now), spec: modeSwapped({ global: {} }), rollback: 0 }),
    'EINVAL',
    /service mode change is not allowed: service web is replicated, not global/,
  );
  await refused(
    t,
    f,
    () => f.api.updateService({ serviceId: s.id, serviceVersion: versionOf(now), spec: modeSwapped({ replicatedJob: { totalCompletions: 1, maxConcurrent: 1 } }), rollback: 0 }),
    'EINVAL',
    /is replicated, not replicated-job/,
  );
  await refused(t, f, () => f.api.updateService({ serviceId: s.id, serviceVersion: versionOf(now), spec: withContainer('web', { image: 'UPPER' }), rollback: 0 }), 'EINVAL', /not a valid image reference/);
});

t.test('UpdateService: a stale version is "update out of sequence"', async (t) => {
  const f = serviceFixture();
  const s = (await f.api.createService({ spec: serviceSpec('web') })).service as Service;
  await f.api.updateService({ serviceId: s.id, serviceVersion: versionOf(s), spec: serviceSpec('web', { replicated: { replicas: 3 } }), rollback: 0 });
  await refused(t, f, () => f.api.updateService({ serviceId: s.id, serviceVersion: versionOf(s), spec: serviceSpec('web'), rollback: 0 }), 'ECONFLICT', /^update out of sequence: service/);
  await refused(t, f, () => f.api.updateService({ serviceId: s.id, spec: serviceSpec('web'), rollback: 0 }), 'EINVAL', /service_version is required/);
  await refused(t, f, () => f.api.updateService({ serviceId: 'nope', serviceVersion: { index: 1 }, spec: serviceSpec('web'), rollback: 0 }), 'ENOTFOUND', 'service nope not found');
});

t.test('UpdateService: ports of the service itself never conflict; other services\' do', async (t) => {
  const f = await withNetworks();
  const web = (await f.api.createService({ spec: serviceSpec('web', ports({ targetPort: 80, publishedPort: 8080 })) })).service as Service;
  const api = (await f.api.createService({ spec: serviceSpec('api', ports({ targetPort: 80, publishedPort: 8081 })) })).service as Service;
  const again = await f.api.updateService({ serviceId: web.id, serviceVersion: versionOf(web), spec: serviceSpec('web', { ...ports({ targetPort: 80, publishedPort: 8080 }), replicated: { replicas: 4 } }), rollback: 0 });
  t.same(again.service?.spec?.replicated, { replicas: 4 });
  await refused(
    t,
    f,
    () => f.api.updateService({ serviceId: api.id, serviceVersion: versionOf(api), spec: serviceSpec('api', ports({ targetPort: 80, publishedPort: 8080 })), rollback: 0 }),
    'ECONFLICT',
    /port 8080\/tcp is already in use by service web/,
  );
});

t.test('UpdateService rollback PREVIOUS swaps the previous spec back in', async (t) => {
  const f = serviceFixture();
  const s = (await f.api.createService({ spec: serviceSpec('web') })).service as Service;
  await refused(t, f, () => f.api.updateService({ serviceId: s.id, serviceVersion: versionOf(s), rollback: ServiceRollback.PREVIOUS }), 'ECONFLICT', 'service web does not have a previous spec');
  const v2 = (await f.api.updateService({ serviceId: s.id, serviceVersion: versionOf(s), spec: withContainer('web', { image: 'nginx:2' }), rollback: 0 })).service as Service;
  const back = (await f.api.updateService({ serviceId: s.id, serviceVersion: versionOf(v2), spec: withContainer('web', { image: 'ignored:9' }), rollback: ServiceRollback.PREVIOUS })).service as Service;
  t.equal(back.spec?.task?.container?.image, 'nginx:1.27', 'the spec given with a rollback is ignored');
  t.equal(back.previousSpec?.task?.container?.image, 'nginx:2', 'the spec rolled back from becomes the previous one');
  t.same(back.specVersion, versionOf(v2));
  const forth = (await f.api.updateService({ serviceId: s.id, serviceVersion: versionOf(back), rollback: ServiceRollback.PREVIOUS })).service as Service;
  t.equal(forth.spec?.task?.container?.image, 'nginx:2', 'rolling back twice returns to where it was');
  await refused(t, f, () => f.api.updateService({ serviceId: s.id, serviceVersion: versionOf(back), rollback: ServiceRollback.PREVIOUS }), 'ECONFLICT', /update out of sequence/);
  await refused(t, f, () => f.api.updateService({ serviceId: s.id, serviceVersion: versionOf(forth), rollback: 7 as ServiceRollback }), 'EINVAL', /rollback 7 is not one of/);
});

t.test('RemoveService: at once without live tasks; marked pending delete while tasks run', async (t) => {
  const f = serviceFixture();
  const idle = (await f.api.createService({ spec: serviceSpec('idle') })).service as Service;
  const busy = (await f.api.createService({ spec: serviceSpec('busy') })).service as Service;
  await seed(f.store, {
    tasks: [
      task('t-done', { serviceId: idle.id, slot: 1, desiredState: TaskState.SHUTDOWN, status: { state: TaskState.COMPLETE } }),
      task('t-run', { serviceId: busy.id, slot: 1, nodeId: 'n1' }),
    ],
  });
  await f.api.removeService({ serviceId: idle.id });
  t.equal(f.store.memory.get('service', idle.id), undefined, 'removed');
  t.equal(f.store.memory.get('task', 't-done'), undefined, 'with its finished tasks');
  await f.api.removeService({ serviceId: busy.id });
  t.equal(f.store.memory.get('service', busy.id)?.pendingDelete, true, 'marked for the orchestrator');
  t.ok(f.store.memory.get('task', 't-run'), 'its running task stays until the orchestrator stops it');
  const version = f.store.memory.version;
  await f.api.removeService({ serviceId: busy.id });
  t.equal(f.store.memory.version, version, 'removing again writes nothing');
  await refused(t, f, () => f.api.updateService({ serviceId: busy.id, serviceVersion: versionOf(f.store.memory.get('service', busy.id)), spec: serviceSpec('busy'), rollback: 0 }), 'ECONFLICT', 'service busy is being removed');
  await refused(t, f, () => f.api.removeService({ serviceId: 'nope' }), 'ENOTFOUND', 'service nope not found');
  await refused(t, f, () => f.api.removeService({ serviceId: '' }), 'EINVAL', 'a service ID is required');
});

t.test('writes are serialized: two creates of one name, one wins', async (t) => {
  const f = serviceFixture();
  const results = await Promise.allSettled([f.api.createService({ spec: serviceSpec('web') }), f.api.createService({ spec: serviceSpec('web') })]);
  t.same(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  t.equal(f.store.memory.list('service').length, 1);
});

t.test('UpdateService: a rollback starts ROLLBACK_STARTED; any other update clears the status so a paused update resumes', async (t) => {
  const f = serviceFixture();
  const s = (await f.api.createService({ spec: serviceSpec('web') })).service as Service;
  const v2 = (await f.api.updateService({ serviceId: s.id, serviceVersion: versionOf(s), spec: withContainer('web', { image: 'nginx:2' }), rollback: 0 })).service as Service;
  // The orchestrator paused the update.
  await f.store.update((tx) => tx.update('service', { ...(tx.get('service', s.id) as Service), updateStatus: { state: UpdateState.PAUSED, message: 'update paused due to failure' } }));
  const paused = f.store.memory.get('service', s.id) as Service;
  t.equal(paused.updateStatus?.state, UpdateState.PAUSED);
  const v3 = (await f.api.updateService({ serviceId: s.id, serviceVersion: versionOf(paused), spec: withContainer('web', { image: 'nginx:3' }), rollback: 0 })).service as Service;
  t.equal(v3.updateStatus, undefined, 'the paused status is cleared: the orchestrator starts the update with the new spec');
  t.equal(v3.previousSpec?.task?.container?.image, 'nginx:2', 'the spec it replaced is kept for a rollback');
  const back = (await f.api.updateService({ serviceId: s.id, serviceVersion: versionOf(v3), rollback: ServiceRollback.PREVIOUS })).service as Service;
  t.equal(back.spec?.task?.container?.image, 'nginx:2');
  t.equal(back.updateStatus?.state, UpdateState.ROLLBACK_STARTED);
  t.equal(back.updateStatus?.message, 'manually requested rollback');
  t.ok(back.updateStatus?.startedAt, 'startedAt set');
  t.not(v2.id, '', 'created');
});

t.test('UpdateService --force: a bumped forceUpdate is a new task template', async (t) => {
  const f = serviceFixture();
  const s = (await f.api.createService({ spec: serviceSpec('web') })).service as Service;
  const spec = structuredClone(s.spec as ServiceSpec);
  spec.task = { ...(spec.task as NonNullable<ServiceSpec['task']>), forceUpdate: (spec.task?.forceUpdate ?? 0) + 1 };
  const forced = (await f.api.updateService({ serviceId: s.id, serviceVersion: versionOf(s), spec, rollback: 0 })).service as Service;
  t.equal(forced.spec?.task?.forceUpdate, 1);
  t.equal(forced.previousSpec?.task?.forceUpdate, 0);
});

t.test('rebalance: a known mode, replicated services only', async (t) => {
  const f = serviceFixture();
  const on = (await f.api.createService({ spec: { ...serviceSpec('web'), rebalance: RebalanceMode.ON } })).service as Service;
  t.equal(on.spec?.rebalance, RebalanceMode.ON);
  t.equal((f.store.memory.get('service', on.id) as Service).spec?.rebalance, RebalanceMode.ON, 'stored');
  await refused(t, f, () => f.api.createService({ spec: { ...serviceSpec('bad'), rebalance: 9 as RebalanceMode } }), 'EINVAL', /rebalance 9 is not one of/);
  const { replicated: _r, ...globalSpec } = serviceSpec('agent');
  await refused(t, f, () => f.api.createService({ spec: { ...globalSpec, global: {}, rebalance: RebalanceMode.ON } }), 'EINVAL', /only replicated services are rebalanced/);
});
