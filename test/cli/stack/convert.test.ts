/**
 * Compose project → specs (cli/stack/convert.ts): names prefixed with the stack, the namespace label
 * on every object, the short service name as a network alias, the default network, volumes, secrets
 * and configs, modes and docker's defaults.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { convertProject, namespaceLabel } from '../../../cli/stack/convert.js';
import { loadProject } from '../../../cli/stack/load.js';
import { EndpointMode, MountType, PublishMode, RestartCondition, UpdateFailureAction, UpdateOrder } from '../../../proto/index.js';

const testdata = join(dirname(fileURLToPath(import.meta.url)), 'testdata');

function convert(text: string, stack = 'shop', env: Record<string, string> = {}): ReturnType<typeof convertProject> {
  const { project } = loadProject({ sources: [{ file: 's.yml', text }], projectDir: testdata, env, readFile: (p) => readFileSync(p) });
  return convertProject(stack, project);
}

t.test('full.yml becomes specs named shop_*, all labelled with the namespace', async (t) => {
  const text = readFileSync(join(testdata, 'full.yml'), 'utf8');
  const d = convert(text, 'shop', { WEB_REPLICAS: '3' });
  t.same(d.networks.map((n) => [n.key, n.name, n.external]), [['back', 'shop_back', false], ['front', 'shop_front', false]], 'only networks services use; unused is not created');
  for (const n of d.networks) t.equal(n.spec?.annotations?.labels[namespaceLabel], 'shop', `${n.name} labelled`);
  const front = d.networks.find((n) => n.key === 'front')?.spec;
  t.equal(front?.attachable, true);
  t.same(front?.ipam?.configs.map((c) => [c.subnet, c.gateway]), [['10.50.0.0/24', '10.50.0.1']]);
  t.same(d.networks.find((n) => n.key === 'back')?.spec?.driver, { name: 'overlay', options: { encrypted: '' } });
  t.same(d.secrets.map((s) => [s.name, s.external]), [['shop_db_password', false], ['shared_api_key', true]]);
  t.equal(d.secrets[0]?.spec?.annotations?.labels[namespaceLabel], 'shop');
  t.same(d.configs.map((c) => c.name), ['shop_nginx_conf']);
  t.same(d.services.map((s) => s.name), ['shop_api', 'shop_migrate', 'shop_web']);

  const web = d.services.find((s) => s.key === 'web')?.spec;
  const c = web?.task?.container;
  t.same(web?.annotations, { name: 'shop_web', labels: { tier: 'front', [namespaceLabel]: 'shop' } });
  t.same(c?.labels, { team: 'shop', [namespaceLabel]: 'shop' }, 'container labels carry the namespace too');
  t.equal(c?.image, 'nginx:1.25');
  t.same(c?.command, ['/docker-entrypoint.sh'], 'entrypoint → command');
  t.same(c?.args, ['nginx', '-g', 'daemon off;'], 'command → args');
  t.same(c?.env, ['LOG_LEVEL=debug', 'MODE=prod', 'QUOTED=a b'], 'sorted KEY=value; FROM_ENV (unset) left out');
  t.same(web?.task?.networks, [
    { target: 'shop_front', aliases: ['web', 'www'], addresses: [], driverAttachmentOpts: {} },
    { target: 'shop_back', aliases: ['web'], addresses: [], driverAttachmentOpts: {} },
  ], 'the short name is an alias on every network');
  t.same(c?.mounts, [
    { type: MountType.VOLUME, source: 'shop_data', target: '/var/lib/data', readOnly: true, volumeOptions: { noCopy: false, labels: { keep: 'yes', [namespaceLabel]: 'shop' } } },
    { type: MountType.BIND, source: join(testdata, 'static'), target: '/usr/share/nginx/html', readOnly: false },
    { type: MountType.TMPFS, source: '', target: '/cache', readOnly: false, tmpfsOptions: { sizeBytes: 64 * 1024 * 1024, mode: 0 } },
  ]);
  t.same(c?.secrets, [
    { secretId: '', secretName: 'shop_db_password', file: { name: 'db_password', uid: '0', gid: '0', mode: 0o444 } },
    { secretId: '', secretName: 'shared_api_key', file: { name: 'key.txt', uid: '101', gid: '0', mode: 0o400 } },
  ]);
  t.same(c?.configs, [{ configId: '', configName: 'shop_nginx_conf', file: { name: '/etc/nginx/nginx.conf', uid: '0', gid: '0', mode: 0o444 } }]);
  t.same(c?.healthcheck, { test: ['CMD-SHELL', 'curl -f http://localhost/'], interval: { seconds: 30, nanos: 0 }, timeout: { seconds: 5, nanos: 0 }, retries: 3, startPeriod: { seconds: 60, nanos: 0 } });
  t.same(c?.stopGracePeriod, { seconds: 20, nanos: 0 });
  t.equal(c?.stopSignal, 'SIGQUIT');
  t.same(web?.replicated, { replicas: 3 });
  t.same(web?.task?.resources, { limits: { nanoCpus: 5e8, memoryBytes: 128 * 1024 ** 2, pids: 100 }, reservations: { nanoCpus: 2.5e8, memoryBytes: 64 * 1024 ** 2, pids: 0 } });
  t.same(web?.task?.restart, { condition: RestartCondition.ON_FAILURE, delay: { seconds: 10, nanos: 0 }, maxAttempts: 3, window: { seconds: 120, nanos: 0 } });
  t.same(web?.update, { parallelism: 2, delay: { seconds: 10, nanos: 0 }, failureAction: UpdateFailureAction.ROLLBACK, monitor: { seconds: 30, nanos: 0 }, maxFailureRatio: 0.3, order: UpdateOrder.START_FIRST });
  t.same(web?.rollback, { parallelism: 0, failureAction: UpdateFailureAction.PAUSE, monitor: { seconds: 5, nanos: 0 }, maxFailureRatio: 0, order: UpdateOrder.STOP_FIRST }, 'docker defaults fill what the file leaves out');
  t.same(web?.task?.placement, { constraints: ['node.role == worker'], preferences: [{ spread: { spreadDescriptor: 'node.labels.zone' } }], platforms: [], maxReplicas: 2 });
  t.same(web?.endpoint, {
    mode: EndpointMode.VIP,
    ports: [
      { name: '', protocol: 0, targetPort: 80, publishedPort: 8080, publishMode: PublishMode.INGRESS },
      { name: '', protocol: 0, targetPort: 443, publishedPort: 8443, publishMode: PublishMode.HOST },
    ],
  });

  const api = d.services.find((s) => s.key === 'api')?.spec;
  t.same(api?.global, {});
  t.equal(api?.replicated, undefined);
  const migrate = d.services.find((s) => s.key === 'migrate')?.spec;
  t.same(migrate?.replicatedJob, { totalCompletions: 2, maxConcurrent: 2 });
  t.equal(migrate?.update, undefined, 'jobs get no update config');
  t.equal(migrate?.task?.restart?.condition, RestartCondition.ON_FAILURE, 'jobs restart on failure');
});

t.test('services without networks join STACK_default; externals keep their names', async (t) => {
  const d = convert(
    [
      'services:',
      '  web: {image: a}',
      '  api: {image: b, networks: [default, shared]}',
      '  db: {image: c, volumes: ["ext:/data", "named:/n"], networks: [shared]}',
      'networks:',
      '  shared: {external: true, name: corp-net}',
      'volumes:',
      '  ext: {external: true}',
      '  named: {name: fixed-name, driver: local, driver_opts: {type: tmpfs, device: tmpfs}}',
    ].join('\n'),
    'app',
  );
  t.same(d.networks.map((n) => [n.name, n.external]), [['app_default', false], ['corp-net', true]]);
  t.equal(d.networks[0]?.spec?.annotations?.labels[namespaceLabel], 'app');
  t.same(d.services.find((s) => s.key === 'web')?.spec.task?.networks.map((n) => [n.target, n.aliases]), [['app_default', ['web']]]);
  t.same(d.services.find((s) => s.key === 'api')?.spec.task?.networks.map((n) => n.target), ['app_default', 'corp-net']);
  const mounts = d.services.find((s) => s.key === 'db')?.spec.task?.container?.mounts;
  t.same(mounts?.[0], { type: MountType.VOLUME, source: 'ext', target: '/data', readOnly: false, volumeOptions: { noCopy: false, labels: {} } }, 'external volume: its own name, no labels');
  t.same(mounts?.[1]?.source, 'fixed-name', 'name: is used as is');
  t.same(mounts?.[1]?.volumeOptions?.driverConfig, { name: 'local', options: { type: 'tmpfs', device: 'tmpfs' } });
  const web = d.services.find((s) => s.key === 'web')?.spec;
  t.same(web?.replicated, { replicas: 1 }, 'one replica by default');
  t.same(web?.task?.restart, { condition: RestartCondition.ANY, delay: { seconds: 5, nanos: 0 }, maxAttempts: 0 }, 'docker default restart policy');
});

t.test('a bad stack name is refused', async (t) => {
  t.throws(() => convert('services:\n  web: {image: a}\n', 'bad name'), /invalid stack name "bad name"/);
  t.throws(() => convert('services:\n  web: {image: a}\n', '_x'), /invalid stack name/);
});

t.test('STACK_service longer than 63 characters is refused with the place', async (t) => {
  const key = 's'.repeat(40);
  t.throws(() => convert(`services:\n  ${key}: {image: a}\n`, 'x'.repeat(30)), { message: new RegExp(`^s\\.yml:2: services\\.${key}: the service name x{30}_s{40} has 71 characters; at most 63`) });
});
