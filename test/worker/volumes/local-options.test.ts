import t from 'tap';
import { checkDriver, parseLocalOptions } from '../../../worker/volumes/local-options.js';

t.test('no options: a plain folder', async (t) => {
  t.same(parseLocalOptions({}), { kind: 'directory' });
});

t.test('tmpfs with docker style o= options', async (t) => {
  t.same(parseLocalOptions({ type: 'tmpfs', device: 'tmpfs', o: 'size=64m,uid=1000,gid=1000,mode=0750' }), {
    kind: 'tmpfs',
    device: 'tmpfs',
    options: ['size=64m', 'uid=1000', 'gid=1000', 'mode=0750'],
  });
  t.same(parseLocalOptions({ type: 'tmpfs', device: 'tmpfs' }), { kind: 'tmpfs', device: 'tmpfs', options: [] });
});

t.test('bind: type=none o=bind device=/abs', async (t) => {
  t.same(parseLocalOptions({ type: 'none', o: 'bind', device: '/srv/data/' }), { kind: 'bind', device: '/srv/data', recursive: false, readOnly: false });
  t.same(parseLocalOptions({ type: 'none', o: 'rbind,ro', device: '/srv' }), { kind: 'bind', device: '/srv', recursive: true, readOnly: true });
});

t.test('bad options are refused with the reason', async (t) => {
  const cases: [Record<string, string>, RegExp, string?][] = [
    [{ foo: 'bar' }, /invalid option "foo"/],
    [{ size: '10g' }, /invalid option "size": quotas are not supported/],
    [{ type: 'tmpfs' }, /missing required option "device"/],
    [{ device: '/x' }, /missing required option "type"/],
    [{ o: 'bind' }, /missing required option "device"/],
    [{ type: 'none', device: '/x' }, /type=none needs o=bind/],
    [{ type: 'none', o: 'bind', device: 'relative/dir' }, /must be an absolute path/],
    [{ type: 'none', o: 'bind,exec', device: '/x' }, /unknown bind option "exec"/],
    [{ type: 'tmpfs', device: 'tmpfs', o: 'size=lots' }, /invalid tmpfs option "size=lots"/],
    [{ type: 'tmpfs', device: 'tmpfs', o: 'uid=root' }, /invalid tmpfs option "uid=root"/],
    [{ type: 'tmpfs', device: 'tmpfs', o: 'size=1m,,ro' }, /empty entry/],
    [{ type: 'tmpfs', device: 'tmpfs', o: 'context=x' }, /unknown tmpfs option "context=x"/],
    [{ type: 'tmpfs', device: 'tmp fs' }, /invalid option device=/],
    [{ type: 'nfs', device: ':/export', o: 'addr=10.0.0.1' }, /volume type "nfs" is not supported/, 'EUNSUPPORTED'],
  ];
  for (const [options, message, code = 'EINVAL'] of cases) t.throws(() => parseLocalOptions(options), { code, message }, JSON.stringify(options));
});

t.test('only the local driver', async (t) => {
  t.doesNotThrow(() => checkDriver(''));
  t.doesNotThrow(() => checkDriver('local'));
  t.throws(() => checkDriver('rexray'), { code: 'EINVAL', message: /unknown volume driver "rexray"/ });
});
