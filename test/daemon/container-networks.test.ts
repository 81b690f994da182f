/**
 * SwarmContainerNetworks with fake parts: a standalone container joins its swarm networks through
 * AttachNetwork, the node's assignments and netd; anything failing half-way is undone.
 * HostContainerNetworks: this host's bridge networks (a LocalNetworks on a temp folder) or swarm
 * networks, never both; leave goes to whichever made the attachment.
 */
import t, { type Test } from 'tap';
import { HostContainerNetworks, SwarmContainerNetworks, sweepMinAgeMs, type SwarmParts } from '../../daemon/container-networks.js';
import { LocalNetworks } from '../../daemon/local-networks.js';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { silentLogger } from '../../lib/log.js';
import { Network, Task, TaskState, type NetworkAttachmentConfig, type NetworkSpec, type TaskStatus } from '../../proto/index.js';
import { timestampFromMs } from '../../proto/time.js';
import { AttachmentTasks } from '../../worker/tasks/attachment-tasks.js';
import { tempDir } from '../helpers/temp-dir.js';

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
  t.same(
    joined,
    {
      netnsPath: '/run/netns/tss-att1',
      dnsServers: ['10.0.1.1', '10.0.2.1'],
      attachmentId: 'att1',
      endpoints: [
        { networkId: 'net-front', networkName: 'front', address: '10.0.1.5', prefixLength: 24, mac: '02:42:0a:00:01:05', gateway: '10.0.1.1', aliases: [] },
        { networkId: 'net-back', networkName: 'back', address: '10.0.2.5', prefixLength: 24, mac: '02:42:0a:00:02:05', gateway: '10.0.2.1', aliases: [] },
      ],
    },
    "the networks' DNS (their gateways) and endpoints, not the ingress network's",
  );
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

/** A bridge network spec (`network create -d bridge NAME`). */
function bridgeSpec(name: string): NetworkSpec {
  return { annotations: { name, labels: {} }, driver: { name: 'bridge', options: {} }, ipv6Enabled: false, internal: false, attachable: false, ingress: false };
}

/** A host with bridge networks `names` (on a temp folder), the swarm fakes and the hook over both. */
async function hostHook(t: Test, names: readonly string[], netd?: () => ReturnType<SwarmParts['netd']>): Promise<{ f: Fakes; local: LocalNetworks; hook: HostContainerNetworks; ids: Map<string, string> }> {
  const local = await LocalNetworks.open(await tempDir(t, 'hostnets'), silentLogger());
  const ids = new Map<string, string>();
  for (const name of names) ids.set(name, (await local.create(bridgeSpec(name))).id);
  const f = fakes();
  const hook = new HostContainerNetworks(new SwarmContainerNetworks(f.parts, silentLogger()), local, netd ?? f.parts.netd);
  return { f, local, hook, ids };
}

/** `--network TARGET`. */
function net(target: string, aliases: string[] = []): NetworkAttachmentConfig {
  return { target, aliases, addresses: [], driverAttachmentOpts: {} };
}

t.test('HostContainerNetworks: bridge networks of this host are joined locally, the others through the swarm', async (t) => {
  const { f, local, hook, ids } = await hostHook(t, ['mine', 'other']);
  const mine = ids.get('mine') ?? '';
  const other = ids.get('other') ?? '';
  const joined = await hook.join('c9', 'web9', [net('mine', ['db']), net(other)]);
  t.same(
    { netnsPath: joined.netnsPath, dnsServers: joined.dnsServers, attachmentId: joined.attachmentId },
    { netnsPath: '/run/netns/tss-local-c9', dnsServers: ['172.18.0.1', '172.19.0.1'], attachmentId: 'local-c9' },
    'by name and ID; DNS on the bridges\' gateways',
  );
  t.same(f.calls, [`netd.attach local-c9 ${mine},${other}`], 'netd makes it; the managers are not asked');

  const swarm = await hook.join('c1', 'web1', wanted);
  t.equal(swarm.attachmentId, 'att1', 'swarm networks go to the managers');
  t.same(f.calls.slice(1), ['attachNetwork c1 web1 front[www] back[]', 'netd.attach att1 net-front,net-back,net-ingress']);

  f.calls.length = 0;
  await hook.leave('local-c9');
  t.same(f.calls, ['netd.detach local-c9 0'], 'a local attachment goes back to this host, not the managers');
  await local.remove('mine');
  t.same(local.list().map((n) => n.spec?.annotations?.name), ['other'], 'its addresses were given back: the network can go');
  f.calls.length = 0;
  await hook.leave('att1');
  t.same(f.calls, ['netd.detach att1 3', 'detachNetwork att1'], 'a swarm attachment goes back to the managers');
});

t.test('HostContainerNetworks: bridge and swarm networks together are refused, nothing joined', async (t) => {
  const { f, local, hook } = await hostHook(t, ['mine', 'other']);
  await t.rejects(hook.join('c1', 'web1', [net('front'), net('mine'), net('back'), net('other')]), {
    code: ErrorCode.INVALID_ARGUMENT,
    message: /^a container joins either this host's bridge networks \(mine, other\) or swarm networks, not both$/,
  });
  t.same(f.calls, [], 'neither netd nor the managers asked');
  await local.remove('mine');
  t.pass('no local attachment holds the network');
});

t.test('HostContainerNetworks: bridge networks need netd (UNSUPPORTED without); leaving one without netd still frees it', async (t) => {
  const { f, local, hook } = await hostHook(t, ['mine'], () => undefined);
  await t.rejects(hook.join('c1', 'web1', [net('mine')]), {
    code: ErrorCode.UNSUPPORTED,
    message: /^this tsswarmd runs no netd, so its containers cannot join bridge networks$/,
  });
  t.same(f.calls, []);
  await local.remove('mine');
  t.same(local.list(), [], 'nothing was attached');

  // Joined while in the swarm, left after leaving it.
  const withNetd = await hostHook(t, ['mine']);
  await withNetd.hook.join('c1', 'web1', [net('mine')]);
  const after = new HostContainerNetworks(new SwarmContainerNetworks(withNetd.f.parts, silentLogger()), withNetd.local, () => undefined);
  withNetd.f.calls.length = 0;
  await after.leave('local-c1');
  t.same(withNetd.f.calls, [], 'no netd to tell, no managers asked');
  await withNetd.local.remove('mine');
  t.same(withNetd.local.list(), [], 'the attachment was forgotten');
});

t.test('HostContainerNetworks: a swarm network whose name is a prefix of a bridge network\'s ID is the swarm network', async (t) => {
  const { f, hook, ids } = await hostHook(t, ['mine']);
  // The user has a swarm network named like the first characters of a local network's ID (docker: an exact name wins over an ID prefix).
  const name = (ids.get('mine') ?? '').slice(0, 3);
  const joined = await hook.join('c1', 'web1', [net(name)]).catch((err: unknown) => err);
  t.same(f.calls[0], `attachNetwork c1 web1 ${name}[]`, 'the managers are asked for it');
  t.match(joined, { attachmentId: 'att1' });
});

t.test('HostContainerNetworks: a refused join is a rejected promise, as ContainerNetworks promises', async (t) => {
  const { hook } = await hostHook(t, ['mine'], () => undefined);
  let thrown: unknown;
  let result: Promise<unknown> | undefined;
  try {
    result = hook.join('c1', 'web1', [net('mine')]);
  } catch (err) {
    thrown = err;
  }
  t.equal(thrown, undefined, 'nothing thrown synchronously');
  await t.rejects(result ?? Promise.resolve(), { code: ErrorCode.UNSUPPORTED });
});

t.test('after its join, an attachment is left alone until the engine says the container is settled', async (t) => {
  const f = fakes();
  const now = 1_700_000_000_000;
  clockMs = now - 10 * sweepMinAgeMs;
  const networks = new SwarmContainerNetworks(f.parts, silentLogger());
  const joined = await networks.join('c1', 'web1', wanted);
  clockMs = now;
  t.same(await networks.sweep(new Set(), now), { given: 0 }, 'joined, container not made yet: left alone');
  networks.settled('c1');
  t.same(await networks.sweep(new Set(['c1']), now), { given: 0 }, 'settled, container there: kept');
  t.same(await networks.sweep(new Set(), now), { given: 1 }, 'settled, container gone: given back');
  t.ok(f.calls.includes(`detachNetwork ${joined.attachmentId}`));
});
