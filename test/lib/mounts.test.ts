import t from 'tap';
import { mountsBelow } from '../../lib/mounts.js';

const mountinfo = [
  '22 1 0:21 / /sys rw - sysfs sysfs rw',
  '90 30 0:50 / /var/lib/tsswarm/labs/demo/h1/run/x rw - tmpfs tmpfs rw',
  '91 90 0:51 / /var/lib/tsswarm/labs/demo/h1/run/x/deeper rw - tmpfs tmpfs rw',
  '92 30 0:52 / /var/lib/tsswarm/labs/demo2/h1 rw - tmpfs tmpfs rw',
  '93 30 0:53 / /var/lib/tsswarm/labs/demo/with\\040space rw - tmpfs tmpfs rw',
].join('\n');

t.test('mounts below a lab folder, deepest first, not those of a lab with a longer name', async (t) => {
  t.same(mountsBelow(mountinfo, '/var/lib/tsswarm/labs/demo'), [
    '/var/lib/tsswarm/labs/demo/h1/run/x/deeper',
    '/var/lib/tsswarm/labs/demo/h1/run/x',
    '/var/lib/tsswarm/labs/demo/with space',
  ]);
  t.same(mountsBelow(mountinfo, '/nowhere'), []);
});
