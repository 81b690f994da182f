import t from 'tap';
import { resolveNetwork, resolveService } from '../../../manager/controlapi/resolve-named.js';
import { Network, Service } from '../../../proto/index.js';

const svc = (id: string, name: string): Service => Service.create({ id, spec: { annotations: { name } } });
const services = [svc('abc111', 'web'), svc('abc222', 'api'), svc('def333', 'abc111x'), svc('web', 'other')];

t.test('resolveService: exact ID, then exact name, then unique ID prefix', async (t) => {
  t.equal(resolveService(services, 'abc111').spec?.annotations?.name, 'web', 'exact ID');
  t.equal(resolveService(services, 'web').id, 'web', 'an exact ID wins over a name');
  t.equal(resolveService(services, 'api').id, 'abc222', 'exact name');
  t.equal(resolveService(services, 'abc111x').id, 'def333', 'a name wins over a prefix');
  t.equal(resolveService(services, 'abc2').id, 'abc222', 'unique ID prefix');
  t.equal(resolveService(services, 'de').id, 'def333');
});

t.test('resolveService: ambiguous, unknown and empty references', async (t) => {
  t.throws(() => resolveService(services, 'abc'), {
    code: 'EINVAL',
    message: 'service abc is ambiguous: it is the ID prefix of 2 services: abc111 (web), abc222 (api); use a longer ID or the name',
  });
  t.throws(() => resolveService(services, 'zzz'), { code: 'ENOTFOUND', message: 'service zzz not found' });
  t.throws(() => resolveService(services, ''), { code: 'EINVAL', message: 'a service ID or name is required' });
  t.throws(() => resolveService([], 'web'), { code: 'ENOTFOUND' });
});

t.test('resolveService: long ambiguity lists are cut short', async (t) => {
  const many = Array.from({ length: 15 }, (_, i) => svc(`x${String(i).padStart(2, '0')}`, `s${i}`));
  t.throws(() => resolveService(many, 'x'), { message: /it is the ID prefix of 15 services: .*, and 5 more; use a longer ID/ });
});

t.test('resolveNetwork: the same rules, worded for networks', async (t) => {
  const networks = [Network.create({ id: 'n1aaa', spec: { annotations: { name: 'front' } } }), Network.create({ id: 'n1bbb', spec: { annotations: { name: 'back' } } })];
  t.equal(resolveNetwork(networks, 'front').id, 'n1aaa');
  t.equal(resolveNetwork(networks, 'n1b').id, 'n1bbb');
  t.throws(() => resolveNetwork(networks, 'n1'), { code: 'EINVAL', message: /^network n1 is ambiguous: it is the ID prefix of 2 networks/ });
  t.throws(() => resolveNetwork(networks, 'mid'), { code: 'ENOTFOUND', message: 'network mid not found' });
});
