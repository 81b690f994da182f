import t from 'tap';
import { resolveUser } from '../../../worker/executor/user.js';

const passwd = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n';
const group = 'root:x:0:\napp:x:1000:\nstaff:x:50:app,web\nwww:x:33:\n';

t.test('users by name, number, with groups', async (t) => {
  t.same(resolveUser('', passwd, group), { uid: 0, gid: 0 }, 'empty is root');
  t.same(resolveUser('app', passwd, group), { uid: 1000, gid: 1000, additionalGids: [50] });
  t.same(resolveUser('1000', passwd, group), { uid: 1000, gid: 1000, additionalGids: [50] }, 'a known uid gets its passwd gid');
  t.same(resolveUser('4242', passwd, group), { uid: 4242, gid: 0 }, 'an unknown uid runs with gid 0, as docker does');
  t.same(resolveUser('app:www', passwd, group), { uid: 1000, gid: 33, additionalGids: [50] });
  t.same(resolveUser('web:50', passwd, group), { uid: 33, gid: 50 }, 'the primary group is not repeated as supplementary');
  t.same(resolveUser('4242:4343', '', ''), { uid: 4242, gid: 4343 }, 'numbers need no passwd file');
});

t.test('unknown names are refused with the name', async (t) => {
  t.throws(() => resolveUser('ghost', passwd, group), { code: 'EINVAL', message: /unable to find user ghost/ });
  t.throws(() => resolveUser('app:ghosts', passwd, group), { code: 'EINVAL', message: /unable to find group ghosts/ });
  t.throws(() => resolveUser('99999999999', passwd, group), { code: 'EINVAL' }, 'a uid out of range is not a number, and no such name');
});
