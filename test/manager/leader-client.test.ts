/**
 * LeaderClient over real gRPC on 127.0.0.1 (insecure credentials): answers come back, a manager
 * that never answers fails at the deadline as TIMEOUT, and an aborted signal fails the call at once
 * with its reason and cancels it on the server.
 */
import t from 'tap';
import { credentials, Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { LeaderClient } from '../../manager/leader-client.js';
import { echoService } from './ca/helpers.js';
import type { Teardown } from '../helpers/temp-dir.js';

const path = '/tsswarm.Control/Echo';
const method = { path, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };

async function server(t: Teardown, hang: boolean): Promise<{ addr: string; cancelled: () => number }> {
  let cancelled = 0;
  const s = new Server();
  s.addService(echoService(path), {
    echo: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      if (!hang) return callback(null, call.request);
      call.on('cancelled', () => cancelled++);
    },
  });
  const port = await new Promise<number>((resolve, reject) => s.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  t.teardown(() => s.forceShutdown());
  return { addr: `127.0.0.1:${port}`, cancelled: () => cancelled };
}

t.test('an answer comes back', async (t) => {
  const { addr } = await server(t, false);
  const client = new LeaderClient(credentials.createInsecure());
  t.teardown(() => client.close());
  t.same(await client.call(addr, method as never, Buffer.from('hi')), Buffer.from('hi'));
});

t.test('a manager that never answers: TIMEOUT at the deadline', async (t) => {
  const { addr } = await server(t, true);
  const client = new LeaderClient(credentials.createInsecure());
  t.teardown(() => client.close());
  const started = Date.now();
  await t.rejects(client.call(addr, method as never, Buffer.from('hi'), 300), { code: ErrorCode.TIMEOUT });
  t.ok(Date.now() - started < 2_000, `after ${Date.now() - started} ms`);
});

t.test('an abort fails the call at once with its reason and cancels it', async (t) => {
  const { addr, cancelled } = await server(t, true);
  const client = new LeaderClient(credentials.createInsecure());
  t.teardown(() => client.close());
  const controller = new AbortController();
  const reason = new TsswarmError(ErrorCode.NO_QUORUM, 'the leader changed');
  const started = Date.now();
  const pending = client.call(addr, method as never, Buffer.from('hi'), 10_000, controller.signal);
  setTimeout(() => controller.abort(reason), 100);
  await t.rejects(pending, reason);
  t.ok(Date.now() - started < 2_000, `failed after ${Date.now() - started} ms, not at the 10 s deadline`);
  await new Promise((r) => setTimeout(r, 200));
  t.equal(cancelled(), 1, 'the server saw the call cancelled');
  await t.rejects(client.call(addr, method as never, Buffer.from('hi'), 10_000, controller.signal), reason, 'an already aborted signal fails at once');
});
