/**
 * SwarmContainerNetworks with fake parts: a standalone container joins its swarm networks through
 * AttachNetwork, the node's assignments and netd; anything failing half-way is undone.
 */
import t from 'tap';
import { SwarmContainerNetworks, sweepMinAgeMs, type SwarmParts } from '../../daemon/container-networks.js';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { silentLogger } from '../../lib/log.js';
import { Network, Task, TaskState, type NetworkAttachmentConfig, type TaskStatus } from '../../proto/index.js';
import { timestampFromMs } from '../../proto/time.js';
import { AttachmentTasks } from '../../worker/tasks/attachment-tasks.js';

const front = Network.create({ id: 'net-front', spec: { annotations: { name: 'front' }, attachable: true }, ipam: { configs: [{ subnet: '10.0.1.0/24', gateway: '10.0.1.1' }] } });
const back = Network.create({ id: 'net-back', spec: { annotations: { name: 'back' }, attachable: true }, ipam: { configs: [{ subnet: '10.0.2.0/24', gateway: '10.0.2.1' }] } });
const ingress = Network.create({ id: 'net-ingress', spec: { annotations: { name: 'ingress' }, ingress: true }, ipam: { configs: [{ subnet: '10.0.0.0/24', gateway: '10.0.0.1' }] } });

const wanted: NetworkAttachmentConfig[] = [
  { target: 'front', aliases: ['www'], addresses: [], driverAttachmentOpts: {} },
  { target: 'back', aliases: [], addresses: [], driverAttachmentOpts: {} },
];

/** The attachment task as the managers hand it to the node, with its addresses. */
function allocatedTask(id: string): Task {
  return Task.create({
    id,
    nodeId: 'node1',
    desiredState: TaskState.RUNNING,
    status: { state: TaskState.ASSIGNED },
    spec: { attachment: { containerId: 'c1' }, networks: [{ target: front.id }, { target: back.id }, { target: ingress.id }] },
    networks: [
      { networkId: front.id, addresses: ['10.0.1.5/24'] },
      { networkId: back.id, addresses: ['10.0.2.5/24'] },
      { networkId: ingress.id, addresses: ['10.0.0.5/24'] },
    ],
  });
}

interface Fakes {
  readonly parts: SwarmParts;
  readonly calls: string[];
  readonly reports: Array<{ taskId: string; status: TaskStatus }>;
  readonly attachments: AttachmentTasks;
  /** What netd.attach does; the default gives a namespace path. */
  attach: (task: Task) => Promise<string | undefined>;
  /** What managers.detachNetwork does. */
  detach: (id: string) => Promise<void>;
  /** What the managers do once they made the task (the default: hand it to the node, allocated). */
  deliver: (id: string) => void;
}

/** This node's clock as the fakes' AttachmentTasks reads it (tests move it). */
let clockMs = 1_700_000_000_000;

function fakes(): Fakes {
  const calls: string[] = [];
  const reports: Array<{ taskId: string; status: TaskStatus }> = [];
  const attachments = new AttachmentTasks((taskId, status) => reports.push({ taskId, status }), () => clockMs);
  const networks = new Map([front, back, ingress].map((n) => [n.id, n]));
  const f: Fakes = {
    calls,
    reports,
    attachments,
    attach: (task) => Promise.resolve(`/run/netns/tss-${task.id}`),
    detach: () => Promise.resolve(),
    deliver: (id) => attachments.update(allocatedTask(id)),
    parts: {
      managers: () => ({
        attachNetwork: (containerId, name, asked) => {
          calls.push(`attachNetwork ${containerId} ${name} ${asked.map((n) => `${n.target}[${n.aliases.join()}]`).join(' ')}`);
          f.deliver('att1');
          return Promise.resolve('att1');
        },
        detachNetwork: (id) => {
          calls.push(`detachNetwork ${id}`);
          return f.detach(id);
        },
      }),
      assignments: () => ({ attachments, assignedNetworks: () => networks }),
      netd: () => ({
        attach: (task, objects) => {
          calls.push(`netd.attach ${task.id} ${[...objects.keys()].join()}`);
          return f.attach(task);
        },
        detach: (task) => {
          calls.push(`netd.detach ${task.id} ${task.networks.length}`);
          return Promise.resolve();
        },
      }),
    },
  };
  return f;
}

t.test('join: attachment asked, waited for, netd namespace made, RUNNING reported', async (t) => {
  const f = fakes();
  const joined = await new SwarmContainerNetworks(f.parts, silentLogger()).join('c1', 'web1', wanted);
  t.same(joined, { netnsPath: '/run/netns/tss-att1', dnsServers: ['10.0.1.1', '10.0.2.1'], attachmentId: 'att1' }, "the networks' DNS (their gateways), not the ingress network's");
  t.same(f.calls, ['attachNetwork c1 web1 front[www] back[]', 'netd.attach att1 net-front,net-back,net-ingress']);
  t.same(
    f.reports.map((r) => [r.taskId, r.status.state, r.status.message]),
    [['att1', TaskState.RUNNING, 'attached']],
  );
});

t.test('join without a swarm: NOT_IN_SWARM, nothing asked', async (t) => {
  for (const missing of ['managers', 'assignments', 'netd'] as const) {
    const f = fakes();
    const parts: SwarmParts = { ...f.parts, [missing]: () => undefined };
    await t.rejects(new SwarmContainerNetworks(parts, silentLogger()).join('c1', 'web1', wanted), {
      code: ErrorCode.NOT_IN_SWARM,
      message: '--network needs this host to be in a swarm with networking (tsswarm swarm init or swarm join); networks asked: front, back',
    }, `without ${missing}`);
    t.same(f.calls, [], 'the managers were not asked');
  }
});

t.test('a failure after AttachNetwork undoes the attachment (netd detach, DetachNetwork) and keeps the error', async (t) => {
  t.test('netd refuses', async (t) => {
    const f = fakes();
    f.attach = () => Promise.reject(new TsswarmError(ErrorCode.EXTERNAL, 'veth creation failed'));
    await t.rejects(new SwarmContainerNetworks(f.parts, silentLogger()).join('c1', 'web1', wanted), { code: ErrorCode.EXTERNAL, message: 'veth creation failed' });
    t.same(f.calls.slice(1), ['netd.attach att1 net-front,net-back,net-ingress', 'netd.detach att1 3', 'detachNetwork att1'], 'undone with the task as assigned');
    t.same(f.reports, [], 'never reported RUNNING');
  });
  t.test('netd makes no namespace', async (t) => {
    const f = fakes();
    f.attach = () => Promise.resolve(undefined);
    await t.rejects(new SwarmContainerNetworks(f.parts, silentLogger()).join('c1', 'web1', wanted), {
      code: ErrorCode.EXTERNAL,
      message: 'netd made no network namespace for attachment att1',
    });
    t.same(f.calls.slice(-2), ['netd.detach att1 3', 'detachNetwork att1']);
    t.same(f.reports, []);
  });
  t.test('the managers remove the task before it arrives', async (t) => {
    const f = fakes();
    f.deliver = (id) => setTimeout(() => f.attachments.remove(id), 5);
    await t.rejects(new SwarmContainerNetworks(f.parts, silentLogger()).join('c1', 'web1', wanted), {
      code: ErrorCode.CONFLICT,
      message: 'network attachment att1 was removed by the managers before it was used',
    });
    t.same(f.calls.slice(1), ['netd.detach att1 0', 'detachNetwork att1'], 'netd never attached; still told to clean up, then the managers');
  });
  t.test('an undo that fails does not hide the first error', async (t) => {
    const f = fakes();
    f.attach = () => Promise.reject(new TsswarmError(ErrorCode.EXTERNAL, 'veth creation failed'));
    f.detach = () => Promise.reject(new TsswarmError(ErrorCode.CLOSED, 'this manager is no longer the leader'));
    await t.rejects(new SwarmContainerNetworks(f.parts, silentLogger()).join('c1', 'web1', wanted), { code: ErrorCode.EXTERNAL, message: 'veth creation failed' });
    t.same(f.calls.slice(-1), ['detachNetwork att1'], 'the undo was tried');
  });
});

t.test('AttachNetwork refused: the error goes back, nothing to undo', async (t) => {
  const f = fakes();
  const parts: SwarmParts = {
    ...f.parts,
    managers: () => ({
      attachNetwork: () => Promise.reject(new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'network back is not manually attachable')),
      detachNetwork: (id) => {
        f.calls.push(`detachNetwork ${id}`);
        return Promise.resolve();
      },
    }),
  };
  await t.rejects(new SwarmContainerNetworks(parts, silentLogger()).join('c1', 'web1', wanted), { code: ErrorCode.INVALID_ARGUMENT, message: 'network back is not manually attachable' });
  t.same(f.calls, []);
});

t.test('leave: netd removes the namespace, then the managers the task; without a swarm NOT_IN_SWARM after netd', async (t) => {
  const f = fakes();
  const networks = new SwarmContainerNetworks(f.parts, silentLogger());
  await networks.join('c1', 'web1', wanted);
  f.calls.length = 0;
  await networks.leave('att1');
  t.same(f.calls, ['netd.detach att1 3', 'detachNetwork att1'], 'netd gets the task as assigned');
  f.calls.length = 0;
  await networks.leave('unknown');
  t.same(f.calls, ['netd.detach unknown 0', 'detachNetwork unknown'], 'an attachment this node no longer holds is still given back');

  f.calls.length = 0;
  const gone = new SwarmContainerNetworks({ ...f.parts, managers: () => undefined }, silentLogger());
  await t.rejects(gone.leave('att1'), { code: ErrorCode.NOT_IN_SWARM, message: 'this host left the swarm; attachment att1 is gone with it' });
  t.same(f.calls, ['netd.detach att1 3'], 'the namespace still goes');
});

t.test('sweep gives back the attachments of containers that are gone, once they are old enough', async (t) => {
  const f = fakes();
  const now = 1_700_000_000_000;
  // Ages count from when each attachment reached this node (its own clock), not the leader's createdAt.
  const held = (id: string, containerId: string, ageMs: number): void => {
    clockMs = now - ageMs;
    f.attachments.update({ ...allocatedTask(id), spec: { networks: [], forceUpdate: 0, attachment: { containerId } }, meta: { createdAt: timestampFromMs(now - 10 * sweepMinAgeMs) } });
  };
  held('live', 'c-live', 60_000);
  held('gone', 'c-gone', sweepMinAgeMs);
  held('young', 'c-young', sweepMinAgeMs - 1);
  held('stuck', 'c-stuck', 60_000);
  clockMs = now;
  f.detach = (id) => (id === 'stuck' ? Promise.reject(new TsswarmError(ErrorCode.CLOSED, 'no leader')) : Promise.resolve());
  const networks = new SwarmContainerNetworks(f.parts, silentLogger());
  t.same(await networks.sweep(new Set(['c-live']), now), { given: 1, retryInMs: 1_001 }, 'one given back (a failure is not counted); look again once the young one is old enough');
  t.same(f.calls, ['netd.detach gone 3', 'detachNetwork gone', 'netd.detach stuck 3', 'detachNetwork stuck'], 'the live and the young ones are left alone; a failure does not stop the sweep');
  f.calls.length = 0;
  t.same(await networks.sweep(new Set(['c-live', 'c-young', 'c-stuck', 'c-gone']), now), { given: 0 }, 'every container there: nothing to do, no retry');
  t.same(f.calls, []);
  t.same(await new SwarmContainerNetworks({ ...f.parts, assignments: () => undefined }, silentLogger()).sweep(new Set(), now), { given: 0 }, 'nothing to sweep outside a swarm');
});

t.test('an attachment whose join is under way is never swept, however old the leader says it is', async (t) => {
  const f = fakes();
  const now = 1_700_000_000_000;
  clockMs = now - 10 * sweepMinAgeMs;
  let finishAttach: (path: string) => void = () => undefined;
  f.attach = () => new Promise<string>((resolve) => (finishAttach = resolve));
  const networks = new SwarmContainerNetworks(f.parts, silentLogger());
  const joining = networks.join('c1', 'web1', wanted);
  await new Promise((r) => setTimeout(r, 10));
  clockMs = now;
  // The container is not created yet (join comes first), so the engine's list does not have c1.
  const swept = await networks.sweep(new Set(), now);
  finishAttach('/run/netns/tss-att1');
  const joined = await joining;
  t.equal(joined.attachmentId, 'att1', 'the join goes through');
  t.same(swept, { given: 0 }, 'the attachment under way is left alone');
  t.notOk(f.calls.some((c) => c.startsWith('detachNetwork') || c.startsWith('netd.detach')), `nothing was given back: ${f.calls.join(', ')}`);
});
