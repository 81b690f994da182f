import t from 'tap';
import { generatedVolumeName, validateVolumeName } from '../../../worker/volumes/names.js';

t.test('docker local volume names pass; others are refused naming the rule', async (t) => {
  for (const ok of ['data', 'db_1', 'a.b-c', '0x', 'A'.repeat(255)]) t.doesNotThrow(() => validateVolumeName(ok), ok);
  for (const bad of ['', 'a', '-data', '.hidden', '_x', 'has space', 'a/b', '/abs', '..', 'é1', 'x'.repeat(256)]) {
    t.throws(() => validateVolumeName(bad), { code: 'EINVAL', message: /invalid volume name .*\[a-zA-Z0-9_.-\]/ }, JSON.stringify(bad));
  }
});

t.test('generated names are 64 hex digits, valid, and differ', async (t) => {
  const a = generatedVolumeName();
  const b = generatedVolumeName();
  t.match(a, /^[0-9a-f]{64}$/);
  t.doesNotThrow(() => validateVolumeName(a));
  t.not(a, b);
});
