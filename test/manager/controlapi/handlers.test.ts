import { status, type handleUnaryCall, type Metadata, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import t from 'tap';
import { ControlApi } from '../../../manager/controlapi/control-api.js';
import { controlHandlers } from '../../../manager/controlapi/handlers.js';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { LocalProposer, Store } from '../../../manager/store/store.js';
import { errorCodeKey } from '../../../lib/rpc-errors.js';
import { NodeSpec, type Node } from '../../../proto/index.js';
import { clusterId, clusterObject, FakeMembership, fixture, member, node } from './helpers.js';

interface Outcome<Res> {
  readonly err: Partial<ServiceError> | null;
  readonly value: Res | null | undefined;
}

/** Calls a unary handler with `request` and resolves with what it passed to its callback. */
function call<Req, Res>(handler: handleUnaryCall<Req, Res>, request: Req): Promise<Outcome<Res>> {
  return new Promise((resolve) => handler({ request } as ServerUnaryCall<Req, Res>, (err, value) => resolve({ err: err as Partial<ServiceError> | null, value })));
}

t.test('answers and typed errors travel as gRPC statuses with the tsswarm code', async (t) => {
  const { api } = await fixture([node('w1')], [member('m1', 1)], 'm1', await clusterObject());
  const handlers = controlHandlers(api);
  const got = await call(handlers.getNode, { nodeId: 'w1' });
  t.equal(got.err, null);
  t.equal(got.value?.node?.id, 'w1');
  const listed = await call(handlers.listNodes, {});
  t.same(listed.value?.nodes.map((n) => n.id), ['w1']);
  const cluster = await call(handlers.getCluster, { clusterId });
  t.equal(cluster.value?.cluster?.rootCa?.caKey.length, 0, 'no CA key over the wire either');
  const missing = await call(handlers.getNode, { nodeId: 'nope' });
  t.equal(missing.err?.code, status.NOT_FOUND);
  t.equal(missing.err?.details, 'node nope not found');
  t.same((missing.err?.metadata as Metadata).get(errorCodeKey), ['ENOTFOUND']);
  const busy = await call(handlers.removeNode, { nodeId: 'w1', force: false });
  t.equal(busy.err?.code, status.FAILED_PRECONDITION);
  t.equal(busy.err?.details, "node w1 is not down and can't be removed; use --force");
});

t.test('an unexpected failure is INTERNAL, with a message and no stack', async (t) => {
  const memory = new MemoryStore();
  const failing = new Store(memory, { propose: () => Promise.reject(new Error('disk on fire')) });
  await new Store(memory, new LocalProposer(memory)).update((tx) => tx.create('node', node('w1')));
  const api = new ControlApi({ store: failing, membership: new FakeMembership([], 'm1') });
  const w1 = memory.get('node', 'w1') as Node;
  const out = await call(controlHandlers(api).updateNode, { nodeId: 'w1', nodeVersion: { index: 1 }, spec: NodeSpec.create(w1.spec) });
  t.equal(out.err?.code, status.INTERNAL);
  t.equal(out.err?.details, 'internal error: disk on fire');
  t.notMatch(out.err?.details ?? '', /\n\s+at /, 'no stack trace');
});
