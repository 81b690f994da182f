/**
 * The compose loader (cli/stack/load.ts and the steps under it) on the files in testdata/: every
 * supported key read into its type, `.env` and env_file, override files merged, ignored keys
 * collected, and each kind of bad input refused with FILE:LINE: KEY.PATH.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadProject, type LoadInput } from '../../../cli/stack/load.js';

const here = dirname(fileURLToPath(import.meta.url));
const testdata = join(here, 'testdata');
const read = (name: string): string => readFileSync(join(testdata, name), 'utf8');

function input(sources: { file: string; text: string }[], env: Record<string, string> = {}, withDotEnv = true): LoadInput {
  return {
    sources,
    projectDir: testdata,
    env,
    ...(withDotEnv ? { dotEnv: { file: '.env', text: read('dotenv') } } : {}),
    readFile: (path) => readFileSync(path),
  };
}

/** Loads an inline compose text as `stack.yml` (no .env) and returns the error message, or '' when it loads. */
function errorOf(text: string, env: Record<string, string> = {}): string {
  try {
    loadProject(input([{ file: 'stack.yml', text }], env, false));
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}

t.test('full.yml: every key is read into its type', async (t) => {
  const { project, ignored } = loadProject(input([{ file: 'full.yml', text: read('full.yml') }], { FROM_ENV: 'env-value' }));
  t.same([...project.services.keys()], ['web', 'api', 'migrate']);
  const web = project.services.get('web');
  t.equal(web?.image, 'nginx:from-dotenv', '${VAR:-default} takes .env over the default');
  t.same(web?.command, ['nginx', '-g', 'daemon off;']);
  t.same(web?.entrypoint, ['/docker-entrypoint.sh']);
  t.same(web?.environment, { LOG_LEVEL: 'debug', QUOTED: 'a b', MODE: 'prod', FROM_ENV: 'env-value' }, 'env_file first, then environment; FROM_ENV from the environment');
  t.same(web?.labels, { team: 'shop' }, 'labels from the x- anchor through <<');
  t.equal(web?.stopGracePeriodMs, 20_000);
  t.same(
    web?.ports?.map(({ pos: _p, ...p }) => p),
    [
      { target: 80, published: 8080, protocol: 'tcp', mode: 'ingress' },
      { target: 443, published: 8443, protocol: 'tcp', mode: 'host' },
    ],
  );
  t.same(web?.networks?.map((n) => [n.name, n.aliases]), [['front', ['www']], ['back', []]]);
  t.same(
    web?.volumes?.map(({ pos: _p, ...v }) => v),
    [
      { type: 'volume', source: 'data', target: '/var/lib/data', readOnly: true, noCopy: false, tmpfsSizeBytes: 0, tmpfsMode: 0 },
      { type: 'bind', source: join(testdata, 'static'), target: '/usr/share/nginx/html', readOnly: false, noCopy: false, tmpfsSizeBytes: 0, tmpfsMode: 0 },
      { type: 'tmpfs', source: '', target: '/cache', readOnly: false, noCopy: false, tmpfsSizeBytes: 64 * 1024 * 1024, tmpfsMode: 0 },
    ],
  );
  t.same(web?.secrets?.map(({ pos: _p, ...r }) => r), [
    { source: 'db_password', target: '', uid: '0', gid: '0', mode: undefined },
    { source: 'api_key', target: 'key.txt', uid: '101', gid: '0', mode: 0o400 },
  ], 'mode 0400 is octal (YAML 1.1, as docker)');
  t.same(web?.configs?.map((r) => [r.source, r.target]), [['nginx_conf', '/etc/nginx/nginx.conf']]);
  t.same(web?.healthcheck, { test: ['CMD-SHELL', 'curl -f http://localhost/'], intervalMs: 30_000, timeoutMs: 5_000, retries: 3, startPeriodMs: 60_000 });
  t.equal(web?.hostname, 'web-host');
  t.equal(web?.user, '101:101');
  t.equal(web?.workingDir, '/srv');
  t.equal(web?.stopSignal, 'SIGQUIT');
  t.same(web?.deploy, {
    mode: 'replicated',
    replicas: 3,
    labels: { tier: 'front' },
    limits: { nanoCpus: 500_000_000, memoryBytes: 128 * 1024 * 1024, pids: 100 },
    reservations: { nanoCpus: 250_000_000, memoryBytes: 64 * 1024 * 1024 },
    restartPolicy: { condition: 'on-failure', delayMs: 10_000, maxAttempts: 3, windowMs: 120_000 },
    updateConfig: { parallelism: 2, delayMs: 10_000, failureAction: 'rollback', monitorMs: 30_000, maxFailureRatio: 0.3, order: 'start-first' },
    rollbackConfig: { parallelism: 0, order: 'stop-first' },
    placement: { constraints: ['node.role == worker'], preferences: ['node.labels.zone'], maxReplicasPerNode: 2 },
    endpointMode: 'vip',
  }, 'replicas: ${WEB_REPLICAS} from .env becomes the integer 3');
  t.same(project.services.get('api')?.environment, { DB_HOST: 'db', DEBUG: 'false' }, 'EMPTY: with no value and no variable is left out');
  t.same(project.services.get('migrate')?.command, ['migrate', '--all', 'two words'], 'a string command is split as a shell would');
  t.equal(project.services.get('migrate')?.deploy?.mode, 'replicated-job');
  t.same(ignored, ['build', 'container_name', 'depends_on', 'restart'], 'ignored keys, sorted, each once');

  t.same(project.networks.get('front')?.ipam, [{ subnet: '10.50.0.0/24', gateway: '10.50.0.1' }]);
  t.equal(project.networks.get('front')?.attachable, true);
  t.equal(project.networks.get('back')?.internal, true);
  t.same(project.networks.get('back')?.driverOpts, { encrypted: '' });
  t.same(project.volumes.get('data')?.labels, { keep: 'yes' });
  t.equal(new TextDecoder().decode(project.secrets.get('db_password')?.data), 's3cret\n', 'secret files are read at load');
  t.equal(project.secrets.get('api_key')?.externalName, 'shared_api_key');
  t.equal(new TextDecoder().decode(project.configs.get('nginx_conf')?.data), 'events {}\n');
});

t.test('the environment wins over .env; without .env the default applies', async (t) => {
  const withEnv = loadProject(input([{ file: 'full.yml', text: read('full.yml') }], { NGINX_TAG: 'from-env', WEB_REPLICAS: '7' }));
  t.equal(withEnv.project.services.get('web')?.image, 'nginx:from-env');
  t.equal(withEnv.project.services.get('web')?.deploy?.replicas, 7);
  const noDotEnv = loadProject(input([{ file: 'full.yml', text: read('full.yml') }], { WEB_REPLICAS: '1' }, false));
  t.equal(noDotEnv.project.services.get('web')?.image, 'nginx:1.25');
});

t.test('override files merge as docker does', async (t) => {
  const { project } = loadProject(input([
    { file: 'full.yml', text: read('full.yml') },
    { file: 'override.yml', text: read('override.yml') },
  ]));
  const web = project.services.get('web');
  t.equal(web?.image, 'nginx:1.27', 'scalars are replaced');
  t.same(web?.command, ['nginx', '-g', 'daemon off;'], 'what the override leaves out stays');
  t.same(web?.environment, { LOG_LEVEL: 'debug', QUOTED: 'a b', MODE: 'staging', EXTRA: '1' }, 'environment merges by key');
  t.same(web?.ports?.map((p) => `${p.published}:${p.target}`), ['8080:8000', '8443:443'], 'ports merge by published port');
  t.equal(web?.deploy?.replicas, 5);
  t.same(web?.deploy?.labels, { tier: 'front', canary: 'true' }, 'deploy labels merge by key');
  t.same(web?.deploy?.limits, { nanoCpus: 500_000_000, memoryBytes: 256 * 1024 * 1024, pids: 100 }, 'limits merge field by field');
  t.equal(web?.deploy?.restartPolicy?.condition, 'on-failure', 'untouched deploy settings stay');
  t.same(web?.networks?.map((n) => n.name), ['front', 'back']);
  t.equal(project.services.get('worker')?.image, 'example/worker:1', 'a service only in the override is added');
  t.equal(project.services.size, 4);
});

t.test('interpolation: every form', async (t) => {
  const env = { SET: 'value', EMPTY: '' };
  const image = (expr: string): string => {
    const { project } = loadProject(input([{ file: 's.yml', text: `services:\n  a:\n    image: "${expr}"\n` }], env, false));
    return project.services.get('a')?.image ?? '';
  };
  t.equal(image('x-${SET}'), 'x-value');
  t.equal(image('x-$SET-y'), 'x-value-y');
  t.equal(image('x-${UNSET:-d}'), 'x-d');
  t.equal(image('x-${EMPTY:-d}'), 'x-d', ':- also covers empty');
  t.equal(image('x-${EMPTY-d}'), 'x-', '- covers unset only');
  t.equal(image('x-${UNSET-d}'), 'x-d');
  t.equal(image('x-${SET:?must}'), 'x-value');
  t.equal(image('x-${SET:+alt}'), 'x-alt');
  t.equal(image('x-${UNSET:+alt}'), 'x-');
  t.equal(image('x-${UNSET:-${SET}}'), 'x-value', 'defaults may hold variables');
  t.equal(image('x$$y'), 'x$y', '$$ is a literal $');
  t.equal(errorOf('services:\n  a:\n    image: "x-${NEEDED:?set NEEDED to the tag}"\n'), 'stack.yml:3: services.a.image: required variable NEEDED is missing a value: set NEEDED to the tag');
  t.equal(errorOf('services:\n  a:\n    image: "x-${EMPTY:?}"\n', env), 'stack.yml:3: services.a.image: required variable EMPTY is missing a value');
  t.match(errorOf('services:\n  a:\n    image: "x-${UNCLOSED"\n'), /^stack\.yml:3: services\.a\.image: invalid interpolation format .*unclosed/);
  t.match(errorOf('services:\n  a:\n    image: "x $ y"\n'), /^stack\.yml:3: services\.a\.image: invalid interpolation format/);
});

t.test('bad input: one line naming file, line and key path', async (t) => {
  const cases: [string, string, string | RegExp][] = [
    ['broken YAML', 'services:\n  web:\n    image: [nginx\n  api: {}\n', /^stack\.yml:\d: invalid YAML: /],
    ['tab indentation', 'services:\n\tweb:\n', /^stack\.yml:2: invalid YAML: /],
    ['duplicate key', 'services:\n  web:\n    image: a\n    image: b\n', /^stack\.yml:4: invalid YAML: Map keys must be unique/],
    ['unknown top-level key', 'services:\n  web:\n    image: a\nservice:\n  x: 1\n', /^stack\.yml:4: service: unknown top-level key/],
    ['unknown service key', 'services:\n  web:\n    imgae: nginx\n', 'stack.yml:3: services.web.imgae: unknown key (did you mean image?)'],
    ['replicas not an integer', 'services:\n  web:\n    image: a\n    deploy:\n      replicas: lots\n', 'stack.yml:5: services.web.deploy.replicas: expected an integer, got "lots"'],
    ['replicas a float', 'services:\n  web:\n    image: a\n    deploy:\n      replicas: 1.5\n', 'stack.yml:5: services.web.deploy.replicas: expected an integer, got 1.5'],
    ['replicas with global', 'services:\n  web:\n    image: a\n    deploy:\n      mode: global\n      replicas: 2\n', 'stack.yml:6: services.web.deploy.replicas: replicas cannot be used with mode global'],
    ['services a list', 'services:\n  - web\n', 'stack.yml:2: services: expected a map, got a list'],
    ['environment a string', 'services:\n  web:\n    image: a\n    environment: FOO\n', /^stack\.yml:4: services\.web\.environment: expected a map or a list of KEY=VALUE/],
    ['ports a map', 'services:\n  web:\n    image: a\n    ports:\n      http: 80\n', 'stack.yml:5: services.web.ports: expected a list, got a map'],
    ['bad port', 'services:\n  web:\n    image: a\n    ports:\n      - "80:99999"\n', /^stack\.yml:5: services\.web\.ports\[0\]: invalid port "99999"/],
    ['host IP', 'services:\n  web:\n    image: a\n    ports:\n      - "127.0.0.1:80:80"\n', /^stack\.yml:5: services\.web\.ports\[0\]: .*host IP/],
    ['missing image', 'services:\n  web:\n    command: sleep 1\n', 'stack.yml:2: services.web.image: a service needs an image (stacks do not build images)'],
    ['malformed duration', 'services:\n  web:\n    image: a\n    stop_grace_period: 10x\n', 'stack.yml:4: services.web.stop_grace_period: invalid duration "10x": use a duration such as 10s, 1m30s or 500ms'],
    ['duration as a number', 'services:\n  web:\n    image: a\n    deploy:\n      restart_policy:\n        delay: 5\n', 'stack.yml:6: services.web.deploy.restart_policy.delay: invalid duration "5": use a duration such as 10s, 1m30s or 500ms'],
    ['bad memory', 'services:\n  web:\n    image: a\n    deploy:\n      resources:\n        limits:\n          memory: lots\n', /^stack\.yml:7: services\.web\.deploy\.resources\.limits\.memory: invalid size "lots"/],
    ['bad restart condition', 'services:\n  web:\n    image: a\n    deploy:\n      restart_policy:\n        condition: always\n', 'stack.yml:6: services.web.deploy.restart_policy.condition: invalid value "always": use none, on-failure, any'],
    ['bad constraint', 'services:\n  web:\n    image: a\n    deploy:\n      placement:\n        constraints: ["node.role = manager"]\n', /^stack\.yml:6: services\.web\.deploy\.placement\.constraints\[0\]: /],
    ['boolean expected', 'services:\n  web:\n    image: a\n    read_only: sometimes\n', 'stack.yml:4: services.web.read_only: expected a boolean (true or false), got "sometimes"'],
    ['undeclared network', 'services:\n  web:\n    image: a\n    networks: [front]\n', 'stack.yml:4: services.web.networks.front: network "front" is not declared under the top-level networks key'],
    ['undeclared volume', 'services:\n  web:\n    image: a\n    volumes: ["data:/data"]\n', 'stack.yml:4: services.web.volumes[0]: volume "data" is not declared under the top-level volumes key'],
    ['undeclared secret', 'services:\n  web:\n    image: a\n    secrets: [pw]\n', 'stack.yml:4: services.web.secrets[0]: secret "pw" is not declared under the top-level secrets key'],
    ['relative volume target', 'services:\n  web:\n    image: a\n    volumes: ["data:data"]\nvolumes:\n  data:\n', /^stack\.yml:4: services\.web\.volumes\[0\]: invalid volume "data:data": the target "data" must be an absolute path/],
    ['secret file missing', 'services:\n  web:\n    image: a\nsecrets:\n  pw:\n    file: ./nope.txt\n', 'stack.yml:6: secrets.pw.file: cannot read ./nope.txt: ENOENT'],
    ['secret without a source', 'services:\n  web:\n    image: a\nsecrets:\n  pw: {}\n', 'stack.yml:5: secrets.pw: a secret needs file or environment (or external: true)'],
    ['external with settings', 'services:\n  web:\n    image: a\nnetworks:\n  n:\n    external: true\n    driver: overlay\n', 'stack.yml:7: networks.n.driver: an external object is only referred to: it takes no other settings than name'],
    ['non-overlay network', 'services:\n  web:\n    image: a\nnetworks:\n  n:\n    driver: bridge\n', 'stack.yml:6: networks.n.driver: invalid value "bridge": use overlay'],
    ['bad subnet', 'services:\n  web:\n    image: a\nnetworks:\n  n:\n    ipam:\n      config:\n        - subnet: 10.0.0.1/24\n', /^stack\.yml:6: networks\.n\.ipam: subnet: invalid subnet 10\.0\.0\.1\/24/],
    ['env_file missing', 'services:\n  web:\n    image: a\n    env_file: nope.env\n', 'stack.yml:4: services.web.env_file: cannot read nope.env: ENOENT'],
    ['old version', 'version: "2.4"\nservices:\n  web:\n    image: a\n', /^stack\.yml:1: version: unsupported compose file version "2\.4"/],
    ['no services', 'version: "3.8"\n', 'stack.yml:1: services: no service is declared'],
    ['bad service name', 'services:\n  "web app":\n    image: a\n', /^stack\.yml:2: services\.web app: invalid service name "web app"/],
    ['dnsrr with ingress ports', 'services:\n  web:\n    image: a\n    ports: ["80:80"]\n    deploy:\n      endpoint_mode: dnsrr\n', /^stack\.yml:2: services\.web\.deploy\.endpoint_mode: dnsrr cannot be used/],
    ['port published twice', 'services:\n  web:\n    image: a\n    ports: ["80:80", "80:81"]\n', 'stack.yml:4: services.web.ports: port 80/tcp is published more than once'],
    ['bad healthcheck test', 'services:\n  web:\n    image: a\n    healthcheck:\n      test: ["curl", "x"]\n', 'stack.yml:5: services.web.healthcheck.test: a test list starts with CMD, CMD-SHELL or NONE'],
    ['bad file mode', 'services:\n  web:\n    image: a\n    secrets:\n      - source: pw\n        mode: "0999"\nsecrets:\n  pw:\n    environment: HOME\n', 'stack.yml:6: services.web.secrets[0].mode: invalid mode "0999": use octal permission bits such as 0440'],
  ];
  for (const [what, text, want] of cases) {
    const message = errorOf(text, { HOME: '/root' });
    if (typeof want === 'string') t.equal(message, want, what);
    else t.match(message, want, `${what}: ${message}`);
    t.notOk(message.includes('\n'), `${what}: one line`);
  }
});

t.test('errors in an override file name that file', async (t) => {
  let message = '';
  try {
    loadProject(input([
      { file: 'full.yml', text: read('full.yml') },
      { file: 'bad-override.yml', text: 'services:\n  web:\n    deploy:\n      replicas: many\n' },
    ]));
  } catch (err) {
    message = (err as Error).message;
  }
  t.equal(message, 'bad-override.yml:4: services.web.deploy.replicas: expected an integer, got "many"');
});

t.test('short and long syntaxes', async (t) => {
  const text = [
    'services:',
    '  web:',
    '    image: a',
    '    ports: [80, "9000-9001:90-91/udp", {target: 53, protocol: udp}]',
    '    volumes: ["/anon", "/host:/c:ro", "v:/d:nocopy", {type: volume, source: v, target: /e, volume: {nocopy: true}}, {type: bind, source: ./rel, target: /f, read_only: true}]',
    '    networks: {n1: {aliases: [a1, a2]}, n2: null}',
    '    environment: {NUM: 3, BOOL: true}',
    '    labels: ["k=v", "flag"]',
    '    healthcheck: {disable: true}',
    '    cap_add: [net_admin]',
    '    init: true',
    'networks: {n1: {}, n2: {}}',
    'volumes: {v: {}}',
  ].join('\n');
  const { project } = loadProject(input([{ file: 's.yml', text }], {}, false));
  const web = project.services.get('web');
  t.same(web?.ports?.map((p) => [p.published, p.target, p.protocol]), [[0, 80, 'tcp'], [9000, 90, 'udp'], [9001, 91, 'udp'], [0, 53, 'udp']]);
  t.same(web?.volumes?.map((v) => [v.type, v.source, v.target, v.readOnly, v.noCopy]), [
    ['volume', '', '/anon', false, false],
    ['bind', '/host', '/c', true, false],
    ['volume', 'v', '/d', false, true],
    ['volume', 'v', '/e', false, true],
    ['bind', join(testdata, 'rel'), '/f', true, false],
  ]);
  t.same(web?.networks?.map((n) => [n.name, n.aliases]), [['n1', ['a1', 'a2']], ['n2', []]]);
  t.same(web?.environment, { NUM: '3', BOOL: 'true' }, 'scalar values become text');
  t.same(web?.labels, { k: 'v', flag: '' });
  t.same(web?.healthcheck, { test: ['NONE'] });
  t.same(web?.capAdd, ['net_admin']);
  t.equal(web?.init, true);
});

t.test('testdata/bad: each file fails with the message on its first line', async (t) => {
  const dir = join(testdata, 'bad');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yml')).sort();
  t.ok(files.length >= 8, `${files.length} scripts`);
  for (const file of files) {
    const text = readFileSync(join(dir, file), 'utf8');
    const want = /^# want: (.*)$/m.exec(text)?.[1];
    t.ok(want, `${file} says what it wants`);
    let got = '';
    try {
      loadProject({ sources: [{ file, text }], projectDir: dir, env: {}, readFile: (p) => readFileSync(p) });
    } catch (err) {
      got = (err as Error).message;
    }
    t.equal(got, want, file);
  }
});
