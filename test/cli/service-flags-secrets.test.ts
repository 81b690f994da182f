/** `--secret` / `--config` on service create and `--secret-add|rm` / `--config-add|rm` on update. */
import t from 'tap';
import { createSpec, parseConfigFlag, parseSecretFlag, updatedSpec, type FlagContext } from '../../cli/service-flags.js';

const ctx: FlagContext = { env: {}, readFile: () => '' };

t.test('--secret and --config: short and long forms, docker defaults', async (t) => {
  t.same(parseSecretFlag('db_pw'), { secretId: '', secretName: 'db_pw', file: { name: 'db_pw', uid: '0', gid: '0', mode: 0o444 } });
  t.same(parseSecretFlag('source=db_pw,target=/etc/pw,uid=5,gid=6,mode=0400'), { secretId: '', secretName: 'db_pw', file: { name: '/etc/pw', uid: '5', gid: '6', mode: 0o400 } });
  t.same(parseConfigFlag('src=app.conf,target=/etc/app.conf'), { configId: '', configName: 'app.conf', file: { name: '/etc/app.conf', uid: '0', gid: '0', mode: 0o444 } });
  t.throws(() => parseSecretFlag('target=/x'), { code: 'EINVAL', message: /--secret: "target=\/x" names no source/ });
  t.throws(() => parseSecretFlag('source=a,mode=999'), { code: 'EINVAL', message: /--secret: invalid mode "999"/ });
  t.throws(() => parseSecretFlag('source=a,uid=root'), { code: 'EINVAL', message: /invalid uid "root"/ });
  t.throws(() => parseConfigFlag('source=a,size=1'), { code: 'EINVAL', message: /--config: unknown field "size"/ });
  t.throws(() => parseSecretFlag('source=a,target=../../etc/shadow'), { code: 'EINVAL', message: /must not contain "\.\."/ });
  const spec = createSpec('busybox', [], { secret: ['a'], config: ['source=c,target=/c'] }, ctx);
  t.same(spec.task?.container?.secrets.map((s) => s.secretName), ['a']);
  t.same(spec.task?.container?.configs.map((c) => c.file?.name), ['/c']);
});

t.test('--secret-add replaces by target, --secret-rm drops by name or ID; configs alike', async (t) => {
  const base = createSpec('busybox', [], { secret: ['a', 'source=b,target=bee'], config: ['c'] }, ctx);
  const withIds = {
    ...base,
    task: {
      ...base.task!,
      container: {
        ...base.task!.container!,
        secrets: base.task!.container!.secrets.map((s, i) => ({ ...s, secretId: `sid${i}` })),
        configs: base.task!.container!.configs.map((c, i) => ({ ...c, configId: `cid${i}` })),
      },
    },
  };
  const next = updatedSpec(withIds, { secretRm: ['sid0'], secretAdd: ['source=b2,target=bee', 'd'], configRm: ['c'], configAdd: ['e'] }, ctx);
  t.same(next.task?.container?.secrets.map((s) => [s.secretId, s.secretName, s.file?.name]), [
    ['', 'b2', 'bee'],
    ['', 'd', 'd'],
  ]);
  t.same(next.task?.container?.configs.map((c) => c.configName), ['e']);
  t.same(updatedSpec(withIds, {}, ctx).task?.container?.secrets, withIds.task.container.secrets, 'no flag: unchanged');
});
