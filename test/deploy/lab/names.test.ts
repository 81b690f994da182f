import t from 'tap';
import {
  hostAddress,
  hostNetns,
  labSubnet,
  labSubnetCount,
  maxLabHosts,
  parseHostCount,
  switchNetns,
  validateLabName,
} from '../../../deploy/lab/names.js';

t.test('lab names: short lowercase words only', async (t) => {
  for (const ok of ['t1', 'demo', 'a-b-c', '0lab']) t.doesNotThrow(() => validateLabName(ok), ok);
  for (const bad of ['', 'a/b', 'a b', 'A', '-x', 'x_y', 'x'.repeat(21), 'a\nb', '../x']) {
    t.throws(() => validateLabName(bad), { code: 'EINVAL' }, JSON.stringify(bad));
  }
});

t.test('host counts: whole numbers from 1 to the limit', async (t) => {
  t.equal(parseHostCount('1'), 1);
  t.equal(parseHostCount(String(maxLabHosts)), maxLabHosts);
  for (const bad of ['0', '1000', String(maxLabHosts + 1), '-1', '2.5', 'three', '', '1e1', ' 3']) {
    t.throws(() => parseHostCount(bad), { code: 'EINVAL' }, JSON.stringify(bad));
  }
});

t.test('addresses come from 198.18.0.0/15, one /24 per lab', async (t) => {
  t.equal(labSubnet(0), '198.18.0.0/24');
  t.equal(labSubnet(255), '198.18.255.0/24');
  t.equal(labSubnet(256), '198.19.0.0/24');
  t.equal(labSubnet(labSubnetCount - 1), '198.19.255.0/24');
  t.throws(() => labSubnet(labSubnetCount));
  t.equal(hostAddress(3, 7), '198.18.3.7');
  t.equal(hostNetns('demo', 'h2'), 'tss-demo-h2');
  t.equal(switchNetns('demo'), 'tss-demo-sw');
});
