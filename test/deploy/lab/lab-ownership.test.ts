import t from 'tap';
import { belongsToLab, findHost } from '../../../deploy/lab/lab.js';
import { planLab } from '../../../deploy/lab/record.js';

t.test('a lab claims only its own namespaces, never a lab whose name extends its own', async (t) => {
  t.ok(belongsToLab('tss-a-sw', 'a'));
  t.ok(belongsToLab('tss-a-h12', 'a'));
  t.notOk(belongsToLab('tss-a-b-h1', 'a'), 'lab "a-b" is not lab "a"');
  t.notOk(belongsToLab('tss-a-h1-h1', 'a'));
  t.notOk(belongsToLab('tss-ab-h1', 'a'));
  t.notOk(belongsToLab('other', 'a'));
  t.ok(belongsToLab('tss-a-b-h1', 'a-b'));
  t.ok(belongsToLab('tss-a-h2.ep3', 'a'), 'a namespace made on host h2 belongs to the lab');
  t.notOk(belongsToLab('tss-a-h1-h1.ep3', 'a'), 'but not one made on a host of lab "a-h1"');
  t.ok(belongsToLab('tss-a-h1-h1.ep3', 'a-h1'));
  t.notOk(belongsToLab('tss-a-h2.', 'a'));
});

t.test('planLab lays out hosts, addresses, folders and cgroups', async (t) => {
  const r = planLab('demo', 3, 2, false, new Date(0));
  t.equal(r.subnet, '198.18.2.0/24');
  t.equal(r.switchNetns, 'tss-demo-sw');
  t.same(
    r.hosts.map((h) => [h.name, h.address, h.netns, h.cgroupParent]),
    [
      ['h1', '198.18.2.1', 'tss-demo-h1', 'tsswarm-lab-demo/h1'],
      ['h2', '198.18.2.2', 'tss-demo-h2', 'tsswarm-lab-demo/h2'],
      ['h3', '198.18.2.3', 'tss-demo-h3', 'tsswarm-lab-demo/h3'],
    ],
  );
  t.not(r.hosts[0]?.dataDir, r.hosts[1]?.dataDir, 'every host has its own data dir');
  t.equal(r.state, 'creating');
  t.equal(findHost(r, 'h2').address, '198.18.2.2');
  t.equal(findHost(r, '198.18.2.3').name, 'h3');
  t.throws(() => findHost(r, 'h4'), { code: 'ENOTFOUND' });
});
