/** The pure half of AttachNetwork: which networks a standalone container may join, and its attachment task. */
import t from 'tap';
import { ErrorCode } from '../../../lib/errors.js';
import {
  attachableNetworks,
  attachmentTask,
  checkAttachmentRoom,
  existingAttachment,
  isAttachmentTask,
  maxAttachmentsPerNode,
  maxNetworksPerAttachment,
} from '../../../manager/dispatcher/network-attachments.js';
import { Network, Task, TaskState, type NetworkAttachmentConfig } from '../../../proto/index.js';
import { millisOf } from '../../../proto/time.js';

function network(id: string, name: string, extra: { attachable?: boolean; ingress?: boolean; pendingDelete?: boolean } = {}): Network {
  return Network.create({
    id,
    spec: { annotations: { name }, driver: { name: 'overlay' }, attachable: extra.attachable ?? true, ingress: extra.ingress ?? false },
    pendingDelete: extra.pendingDelete ?? false,
  });
}

function want(target: string, aliases: string[] = [], addresses: string[] = []): NetworkAttachmentConfig {
  return { target, aliases, addresses, driverAttachmentOpts: { mtu: '1400' } };
}

const networks = [
  network('aaaa1111', 'front'),
  network('bbbb2222', 'back'),
  network('cccc3333', 'services-only', { attachable: false }),
  network('dddd4444', 'ingress', { ingress: true, attachable: true }),
  network('eeee5555', 'going', { pendingDelete: true }),
];

t.test('networks are resolved by ID, name or unique ID prefix, to their IDs, aliases kept once', async (t) => {
  const out = attachableNetworks(networks, [want('front', ['db', 'db', 'primary']), want('bbbb')]);
  t.same(out, [
    { target: 'aaaa1111', aliases: ['db', 'primary'], addresses: [], driverAttachmentOpts: {} },
    { target: 'bbbb2222', aliases: [], addresses: [], driverAttachmentOpts: {} },
  ]);
  t.same(attachableNetworks(networks, [want('aaaa1111')]).map((n) => n.target), ['aaaa1111'], 'an exact ID');
});

t.test('networks a container may not join are refused, with the network named', async (t) => {
  t.throws(() => attachableNetworks(networks, []), { code: ErrorCode.INVALID_ARGUMENT, message: 'no network to attach to' });
  t.throws(() => attachableNetworks(networks, [want('nosuch')]), { code: ErrorCode.NOT_FOUND, message: 'network nosuch not found' });
  t.throws(() => attachableNetworks(networks, [want('going')]), { code: ErrorCode.NOT_FOUND, message: 'network going not found' }, 'a network being removed is not found');
  t.throws(() => attachableNetworks(networks, [want('services-only')]), {
    code: ErrorCode.INVALID_ARGUMENT,
    message: 'network services-only is not manually attachable: create it with --attachable to run standalone containers on it',
  });
  t.throws(() => attachableNetworks(networks, [want('ingress')]), {
    code: ErrorCode.INVALID_ARGUMENT,
    message: "network ingress is the routing mesh's ingress network: containers cannot join it",
  });
  t.throws(() => attachableNetworks(networks, [want('front'), want('aaaa1111')]), { code: ErrorCode.INVALID_ARGUMENT, message: 'network front is named twice' }, 'by name and by ID');
  t.throws(() => attachableNetworks(networks, [want('front', ['-bad'])]), { code: ErrorCode.INVALID_ARGUMENT, message: /network alias "-bad" is not a valid DNS name/ });
  t.throws(() => attachableNetworks(networks, [want('front', ['a'.repeat(64)])]), { code: ErrorCode.INVALID_ARGUMENT, message: /is not a valid DNS name/ }, 'at most 63 characters');
  const many = Array.from({ length: 33 }, (_, i) => `a${i}`);
  t.throws(() => attachableNetworks(networks, [want('front', many)]), { code: ErrorCode.INVALID_ARGUMENT, message: 'at most 32 aliases per network (33 asked on front)' });
  t.equal(attachableNetworks(networks, [want('front', many.slice(0, 32))])[0]?.aliases.length, 32, '32 aliases are fine');
  t.same(attachableNetworks(networks, [want('front', ['a'.repeat(63)])])[0]?.aliases, ['a'.repeat(63)], '63 characters are fine');
  t.throws(() => attachableNetworks(networks, [want('back', [], ['10.0.1.9'])]), {
    code: ErrorCode.UNSUPPORTED,
    message: 'a static address on network back is not supported for standalone containers yet',
  });
  t.throws(() => attachableNetworks([network('ab1', 'x'), network('ab2', 'y')], [want('ab')]), { code: ErrorCode.INVALID_ARGUMENT, message: /network ab is ambiguous/ });
});

t.test('at most maxNetworksPerAttachment networks', async (t) => {
  const many = Array.from({ length: maxNetworksPerAttachment + 1 }, (_, i) => network(`net${i}`, `n${i}`));
  const wanted = many.map((n) => want(n.id));
  t.equal(attachableNetworks(many, wanted.slice(0, maxNetworksPerAttachment)).length, maxNetworksPerAttachment);
  t.throws(() => attachableNetworks(many, wanted), {
    code: ErrorCode.INVALID_ARGUMENT,
    message: `a container joins at most ${maxNetworksPerAttachment} networks (${maxNetworksPerAttachment + 1} asked)`,
  });
});

const request = { sessionId: 's1', containerId: 'c0ffee42', containerName: 'web1', networks: [] };

t.test('the attachment task: NEW, desired RUNNING, on the caller node, named after the container', async (t) => {
  const configs = attachableNetworks(networks, [want('front', ['www'])]);
  const task = attachmentTask(request, configs, 'node1', 'task1', 1_700_000_000_000);
  t.equal(task.id, 'task1');
  t.equal(task.nodeId, 'node1');
  t.equal(task.serviceId, '', 'no service');
  t.equal(task.desiredState, TaskState.RUNNING);
  t.equal(task.status?.state, TaskState.NEW);
  t.equal(task.status?.message, 'created');
  t.equal(millisOf(task.status?.timestamp), 1_700_000_000_000);
  t.equal(task.annotations?.name, 'web1');
  t.same(task.spec?.attachment, { containerId: 'c0ffee42' });
  t.same(task.spec?.networks, configs);
  t.same(task.networks, [], 'addresses are the allocator’s');
  t.ok(isAttachmentTask(task));
  t.equal(attachmentTask({ ...request, containerName: '' }, configs, 'node1', 'task2', 0).annotations?.name, 'c0ffee42', 'an unnamed container goes by its ID');
  for (const bad of ['', 'c0ffee/42', '../x', 'a'.repeat(65)]) {
    t.throws(() => attachmentTask({ ...request, containerId: bad }, configs, 'node1', 'task3', 0), {
      code: ErrorCode.INVALID_ARGUMENT,
      message: `container ID ${JSON.stringify(bad)} is not valid`,
    });
  }
});

t.test('isAttachmentTask: only tasks with spec.attachment', async (t) => {
  t.equal(isAttachmentTask(Task.create({ id: 'x', serviceId: 'svc', spec: { container: { image: 'busybox' } } })), false);
  t.equal(isAttachmentTask(Task.create({ id: 'y', serviceId: '' })), false, 'no service alone does not make an attachment');
  t.equal(isAttachmentTask(Task.create({ id: 'z', spec: { attachment: { containerId: 'c1' } } })), true);
});

function attachment(id: string, containerId: string, desired: TaskState = TaskState.RUNNING): Task {
  return Task.create({ id, nodeId: 'node1', desiredState: desired, spec: { attachment: { containerId } } });
}

t.test('existingAttachment finds the live task of the same container only', async (t) => {
  const service = Task.create({ id: 'svc-task', serviceId: 'svc', nodeId: 'node1', desiredState: TaskState.RUNNING, spec: { container: { image: 'busybox' } } });
  const tasks = [service, attachment('old', 'c1', TaskState.SHUTDOWN), attachment('live', 'c1'), attachment('other', 'c2')];
  t.equal(existingAttachment(tasks, 'c1')?.id, 'live', 'a task desired SHUTDOWN does not count');
  t.equal(existingAttachment(tasks, 'c2')?.id, 'other');
  t.equal(existingAttachment(tasks, 'c3'), undefined);
  t.equal(existingAttachment([attachment('old', 'c1', TaskState.REMOVE)], 'c1'), undefined);
});

t.test('checkAttachmentRoom: QUEUE_FULL at maxAttachmentsPerNode attachments; service tasks do not count', async (t) => {
  const tasks = Array.from({ length: maxAttachmentsPerNode - 1 }, (_, i) => attachment(`a${i}`, `c${i}`));
  const services = Array.from({ length: 10 }, (_, i) => Task.create({ id: `s${i}`, serviceId: 'svc', nodeId: 'node1' }));
  t.doesNotThrow(() => checkAttachmentRoom([...tasks, ...services], 'node1'), 'one below the limit, with service tasks beside');
  tasks.push(attachment('last', 'clast'));
  t.throws(() => checkAttachmentRoom(tasks, 'node1'), {
    code: ErrorCode.QUEUE_FULL,
    message: `node node1 already has ${maxAttachmentsPerNode} standalone containers on swarm networks (at most ${maxAttachmentsPerNode})`,
  });
});
