import t from 'tap';
import { ErrorCode, TsswarmError, isTsswarmError } from '../../../lib/errors.js';
import { LogBroker, maxLogSubscriptions } from '../../../manager/logbroker/index.js';
import { LogSource, type LogMessage, type LogSubscription, type SubscribeLogsMessage, type Task } from '../../../proto/index.js';

interface FakeSink {
  messages: SubscribeLogsMessage[];
  ended: boolean;
  error: TsswarmError | undefined;
  full: boolean;
  drain: (() => void)[];
  write(m: SubscribeLogsMessage): boolean;
  onDrain(fn: () => void): void;
  end(err?: TsswarmError): void;
}

function sink(): FakeSink {
  const s: FakeSink = {
    messages: [],
    ended: false,
    error: undefined,
    full: false,
    drain: [],
    write(m) {
      s.messages.push(m);
      return !s.full;
    },
    onDrain(fn) {
      s.drain.push(fn);
    },
    end(err) {
      s.ended = true;
      s.error = err;
    },
  };
  return s;
}

const task = (id: string, serviceId: string, nodeId: string): Task => ({ id, serviceId, nodeId, slot: 1 }) as Task;
const tasks = [task('t1', 's1', 'n1'), task('t2', 's1', 'n2'), task('t3', 's2', 'n3')];
const memory = {
  get: (kind: string, id: string) => (kind === 'service' ? (['s1', 's2'].includes(id) ? { id } : undefined) : tasks.find((x) => x.id === id)),
  tasksOfService: (id: string) => tasks.filter((x) => x.serviceId === id),
} as never;

const line = (text: string): LogMessage => ({ context: { serviceId: 's1', taskId: 't1', nodeId: 'spoofed' }, source: LogSource.STDOUT, data: Buffer.from(text) });

t.test('without --follow: sent to the nodes of the tasks, ended once each is done', async (t) => {
  const broker = new LogBroker({ memory });
  const got = new Map<string, LogSubscription[]>();
  for (const n of ['n1', 'n2', 'n3']) broker.listen(n, (s) => got.set(n, [...(got.get(n) ?? []), s]));
  const out = sink();
  broker.subscribe({ serviceIds: ['s1'], taskIds: [] }, { follow: false, tail: -1 }, out);
  t.equal(got.get('n1')?.length, 1);
  t.equal(got.get('n2')?.length, 1);
  t.equal(got.get('n3'), undefined, 'a node without tasks of the service is not asked');
  const id = got.get('n1')?.[0]?.id as string;
  await broker.publish('n1', { sessionId: '', subscriptionId: id, messages: [line('a')], close: true, error: '' });
  t.equal(out.messages[0]?.messages[0]?.context?.nodeId, 'n1', 'a node speaks only for itself');
  t.notOk(out.ended, 'n2 is still to come');
  await t.rejects(broker.publish('n3', { sessionId: '', subscriptionId: id, messages: [line('x')], close: false, error: '' }), { code: ErrorCode.PERMISSION }, 'a node the subscription did not go to is refused');
  await broker.publish('n2', { sessionId: '', subscriptionId: id, messages: [], close: true, error: '' });
  t.ok(out.ended, 'ended once every node is done');
  t.equal(out.error, undefined);
  t.ok(got.get('n1')?.some((s) => s.id === id && s.close), 'nodes are told the subscription closed');
  await t.rejects(broker.publish('n1', { sessionId: '', subscriptionId: id, messages: [line('late')], close: false, error: '' }), { code: ErrorCode.NOT_FOUND });
  t.same(broker.stats(), { subscriptions: 0, listeners: 3 });
});

t.test('a node that is not connected, or goes away, becomes a warning, never a hang', async (t) => {
  const broker = new LogBroker({ memory });
  const stop = broker.listen('n1', () => undefined);
  const out = sink();
  broker.subscribe({ serviceIds: ['s1'], taskIds: [] }, { follow: false, tail: -1 }, out);
  t.match(out.messages[0]?.warnings[0], /node n2 is not connected/);
  t.notOk(out.ended);
  stop();
  t.match(out.messages.at(-1)?.warnings[0], /node n1 disconnected before sending all of its logs/);
  t.ok(out.ended, 'nothing left to wait for');

  const none = sink();
  broker.subscribe({ serviceIds: ['s2'], taskIds: [] }, { follow: false, tail: -1 }, none);
  t.ok(none.ended, 'no node to ask: ends at once');
});

t.test('--follow: every listening node, also ones that connect later; ends only when cancelled', async (t) => {
  const broker = new LogBroker({ memory });
  const got: string[] = [];
  broker.listen('n1', (s) => got.push(`n1:${s.close ? 'close' : 'open'}`));
  const out = sink();
  const cancel = broker.subscribe({ serviceIds: [], taskIds: ['t3'] }, { follow: true, tail: 0 }, out);
  t.same(got, ['n1:open'], 'a node without the task is asked too: tasks may move there');
  broker.listen('n9', (s) => got.push(`n9:${s.close ? 'close' : 'open'}`));
  t.same(got, ['n1:open', 'n9:open'], 'a node that connects later gets the open subscription');
  cancel();
  t.same(got.slice(2).sort(), ['n1:close', 'n9:close']);
  t.notOk(out.ended, 'the client went away: nothing to end');
  t.same(broker.stats().subscriptions, 0);
});

t.test('a full subscriber pauses the publisher until it drains', async (t) => {
  const broker = new LogBroker({ memory });
  let id = '';
  broker.listen('n1', (s) => (id = s.id));
  broker.listen('n2', () => undefined);
  const out = sink();
  out.full = true;
  broker.subscribe({ serviceIds: ['s1'], taskIds: [] }, { follow: false, tail: -1 }, out);
  let settled = false;
  const p = broker.publish('n1', { sessionId: '', subscriptionId: id, messages: [line('a')], close: false, error: '' }).then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  t.notOk(settled, 'held while the subscriber is full');
  out.full = false;
  for (const fn of out.drain.splice(0)) fn();
  await p;
  t.ok(settled, 'released on drain');
});

t.test('bad selectors are refused and open nothing; the number of subscriptions is bounded', async (t) => {
  const broker = new LogBroker({ memory });
  t.throws(() => broker.subscribe({ serviceIds: [], taskIds: [] }, { follow: false, tail: -1 }, sink()), { code: ErrorCode.INVALID_ARGUMENT });
  t.throws(() => broker.subscribe({ serviceIds: ['nope'], taskIds: [] }, { follow: false, tail: -1 }, sink()), { code: ErrorCode.NOT_FOUND });
  t.throws(() => broker.subscribe({ serviceIds: [], taskIds: ['nope'] }, { follow: false, tail: -1 }, sink()), { code: ErrorCode.NOT_FOUND });
  t.equal(broker.stats().subscriptions, 0);
  broker.listen('n1', () => undefined);
  const first = sink();
  broker.subscribe({ serviceIds: ['s1'], taskIds: [] }, { follow: true, tail: -1 }, first);
  for (let i = 1; i < maxLogSubscriptions; i++) broker.subscribe({ serviceIds: ['s1'], taskIds: [] }, { follow: true, tail: -1 }, sink());
  t.throws(() => broker.subscribe({ serviceIds: ['s1'], taskIds: [] }, { follow: true, tail: -1 }, sink()), { code: ErrorCode.QUEUE_FULL });
  broker.closeAll(new TsswarmError(ErrorCode.CLOSED, 'this manager is no longer the leader'));
  t.equal(broker.stats().subscriptions, 0, 'losing leadership ends every subscription');
  t.ok(first.ended && isTsswarmError(first.error, ErrorCode.CLOSED), 'with the reason');
});
