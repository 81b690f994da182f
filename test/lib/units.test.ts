import t from 'tap';
import { parseBytes, parseDurationMs, parseNanoCpus } from '../../lib/units.js';

t.test('memory sizes in docker spelling', async (t) => {
  t.equal(parseBytes('32m'), 32 * 1024 * 1024);
  t.equal(parseBytes('1g'), 1024 ** 3);
  t.equal(parseBytes('1.5G'), 1.5 * 1024 ** 3);
  t.equal(parseBytes('512'), 512);
  t.equal(parseBytes('64MB'), 64 * 1024 * 1024);
  t.equal(parseBytes('4kib'), 4096);
  for (const bad of ['12XB', '', 'm', '-1m', '1 2m', '1e9', 'lots']) t.throws(() => parseBytes(bad, '--memory'), { code: 'EINVAL', message: /invalid --memory/ }, bad);
});

t.test('CPU counts become nano-CPUs', async (t) => {
  t.equal(parseNanoCpus('0.5'), 500_000_000);
  t.equal(parseNanoCpus('2'), 2_000_000_000);
  for (const bad of ['0', '-1', 'half', '']) t.throws(() => parseNanoCpus(bad), { code: 'EINVAL' }, bad);
});

t.test('durations in Go spelling', async (t) => {
  t.equal(parseDurationMs('10s'), 10_000);
  t.equal(parseDurationMs('1m30s'), 90_000);
  t.equal(parseDurationMs('250ms'), 250);
  t.equal(parseDurationMs('1h'), 3_600_000);
  t.equal(parseDurationMs('0'), 0);
  t.equal(parseDurationMs('1.5s'), 1500);
  for (const bad of ['10', 's', '10x', '', '1m 30s', '-5s']) t.throws(() => parseDurationMs(bad, '--stop-grace-period'), { code: 'EINVAL', message: /--stop-grace-period/ }, bad);
});
