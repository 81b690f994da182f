/** What netd works out about its own host (pure): task namespace names, mounted namespaces, the underlay, the host's place. */
import t from 'tap';
import { hostPlaceOf } from '../../netd/host-agent.js';
import { namespacesInMountinfo, taskNetnsName } from '../../netd/task-namespaces.js';
import { advertiseHost, deviceHolding } from '../../netd/underlay.js';

t.test('task namespaces are named after the lab host, or tsswarm- on a real host', async (t) => {
  t.equal(taskNetnsName({ netns: 'tss-lab1-h2' }, 'abc123'), 'tss-lab1-h2.abc123', 'lab down claims tss-LAB-hN.SUFFIX');
  t.equal(taskNetnsName({ rootNamespace: true }, 'abc123'), 'tsswarm-abc123', 'never tss-, which lab down --all sweeps');
  t.throws(() => taskNetnsName({ rootNamespace: true }, '../x'), { code: 'EINVAL' });
  t.throws(() => taskNetnsName({ rootNamespace: true }, 'ABC'), { code: 'EINVAL' }, 'task ids are lower case');
});

t.test('only mounted namespaces count', async (t) => {
  const mountinfo = [
    '22 1 0:21 / / rw - ext4 /dev/sda1 rw',
    '310 29 0:4 net:[4026532999] /run/netns/tss-lab1-h1 rw shared:5 - nsfs nsfs rw',
    '311 29 0:4 net:[4026533001] /run/netns/tss-lab1-h1.abc rw shared:5 - nsfs nsfs rw',
    '29 22 0:25 / /run rw - tmpfs tmpfs rw',
  ].join('\n');
  t.same([...namespacesInMountinfo(mountinfo)], ['tss-lab1-h1', 'tss-lab1-h1.abc']);
});

t.test('the underlay is the interface holding the advertise address', async (t) => {
  const json = JSON.stringify([
    { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1' }] },
    { ifname: 'eth0', addr_info: [{ family: 'inet', local: '198.18.0.2' }] },
  ]);
  t.equal(deviceHolding(json, '198.18.0.2'), 'eth0');
  t.equal(deviceHolding(json, '198.18.0.9'), undefined);
  t.equal(advertiseHost('198.18.0.2:2377'), '198.18.0.2');
  t.equal(advertiseHost('198.18.0.2'), '198.18.0.2');
});

t.test("the host's place comes from --netns, else TSSWARM_NETNS, else the root namespace", async (t) => {
  t.same(hostPlaceOf('tss-a-h1', { TSSWARM_NETNS: 'tss-b-h1' }), { netns: 'tss-a-h1' });
  t.same(hostPlaceOf(undefined, { TSSWARM_NETNS: 'tss-b-h1' }), { netns: 'tss-b-h1' });
  t.same(hostPlaceOf(undefined, {}), { rootNamespace: true });
});
