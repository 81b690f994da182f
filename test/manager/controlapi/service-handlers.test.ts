import { status, type handleUnaryCall, type Metadata, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import t from 'tap';
import { errorCodeKey } from '../../../lib/rpc-errors.js';
import { ServiceControlApi } from '../../../manager/controlapi/service-control-api.js';
import { serviceControlHandlers } from '../../../manager/controlapi/service-handlers.js';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { Store } from '../../../manager/store/store.js';
import { FakeMembership } from './helpers.js';
import { networkSpec, serviceFixture, serviceSpec } from './service-helpers.js';

interface Outcome<Res> {
  readonly err: Partial<ServiceError> | null;
  readonly value: Res | null | undefined;
}

function call<Req, Res>(handler: handleUnaryCall<Req, Res>, request: Req): Promise<Outcome<Res>> {
  return new Promise((resolve) => handler({ request } as ServerUnaryCall<Req, Res>, (err, value) => resolve({ err: err as Partial<ServiceError> | null, value })));
}

t.test('every method answers; typed errors travel as gRPC statuses with the tsswarm code', async (t) => {
  const { api } = serviceFixture();
  const h = serviceControlHandlers(api);
  t.same(Object.keys(h).sort(), [
    'createConfig',
    'createNetwork',
    'createSecret',
    'createService',
    'getConfig',
    'getNetwork',
    'getSecret',
    'getService',
    'getTask',
    'listConfigs',
    'listNetworks',
    'listSecrets',
    'listServices',
    'listTasks',
    'removeConfig',
    'removeNetwork',
    'removeSecret',
    'removeService',
    'removeTask',
    'updateConfig',
    'updateSecret',
    'updateService',
  ]);
  const net = await call(h.createNetwork, { spec: networkSpec('front') });
  t.equal(net.err, null);
  const created = await call(h.createService, { spec: serviceSpec('web', { task: { container: { image: 'nginx' }, networks: [{ target: 'front' }] } }) });
  t.equal(created.err, null);
  const id = created.value?.service?.id ?? '';
  t.equal((await call(h.getService, { serviceId: id })).value?.service?.spec?.annotations?.name, 'web');
  t.same((await call(h.listServices, {})).value?.services.map((s) => s.id), [id]);
  t.same((await call(h.listTasks, {})).value?.tasks, []);
  t.same((await call(h.listNetworks, {})).value?.networks.map((n) => n.spec?.annotations?.name), ['front']);
  const updated = await call(h.updateService, {
    serviceId: id,
    serviceVersion: { index: created.value?.service?.meta?.version?.index ?? -1 },
    spec: serviceSpec('web', { replicated: { replicas: 3 }, task: { container: { image: 'nginx' }, networks: [{ target: 'front' }] } }),
    rollback: 0,
  });
  t.equal(updated.value?.service?.spec?.replicated?.replicas, 3);
  const dup = await call(h.createService, { spec: serviceSpec('web') });
  t.equal(dup.err?.code, status.ALREADY_EXISTS);
  t.equal(dup.err?.details, 'service web already exists');
  t.same((dup.err?.metadata as Metadata).get(errorCodeKey), ['EEXIST']);
  const inUse = await call(h.removeNetwork, { networkId: net.value?.network?.id ?? '' });
  t.equal(inUse.err?.code, status.FAILED_PRECONDITION);
  t.match(inUse.err?.details ?? '', /^network front is in use by service web/);
  const bad = await call(h.createService, { spec: serviceSpec('x', { task: { container: { image: '' } } }) });
  t.equal(bad.err?.code, status.INVALID_ARGUMENT);
  t.equal((await call(h.getTask, { taskId: 'nope' })).err?.code, status.NOT_FOUND);
  t.equal((await call(h.removeTask, { taskId: 'nope' })).err?.code, status.NOT_FOUND);
  t.equal((await call(h.getNetwork, { networkId: 'nope' })).err?.code, status.NOT_FOUND);
  t.equal((await call(h.removeService, { serviceId: id })).err, null);
});

t.test('an unexpected failure is INTERNAL, with a message and no stack', async (t) => {
  const memory = new MemoryStore();
  const failing = new Store(memory, { propose: () => Promise.reject(new Error('disk on fire')) });
  const api = new ServiceControlApi({ store: failing, membership: new FakeMembership([], 'm1') });
  const out = await call(serviceControlHandlers(api).createService, { spec: serviceSpec('web') });
  t.equal(out.err?.code, status.INTERNAL);
  t.equal(out.err?.details, 'internal error: disk on fire');
  t.notMatch(out.err?.details ?? '', /\n\s+at /, 'no stack trace');
  t.equal(memory.list('service').length, 0);
});
