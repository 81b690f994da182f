/**
 * `service create` / `service update` flags → ServiceSpec (pure): docker's defaults and syntaxes,
 * and errors that name the flag.
 */
import t from 'tap';
import {
  blankSpec,
  createSpec,
  parseEnvFile,
  parseNetworkFlag,
  parsePublish,
  parseScaleArgs,
  parseServiceMount,
  splitArgs,
  updatedSpec,
  type CreateFlags,
  type FlagContext,
} from '../../cli/service-flags.js';
import { PortProtocol, PublishMode, RebalanceMode, RestartCondition, UpdateFailureAction } from '../../proto/index.js';

const files: Record<string, string> = {
  '/env/app': '# comment\n\nA=1\n  B=two words\nFROM_CALLER\nUNSET_ONE\n',
  '/env/bad': 'GOOD=1\nBAD KEY=2\n',
};
const ctx: FlagContext = {
  env: { FROM_CALLER: 'yes', HOME: '/root' },
  readFile: (path) => {
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  },
};

t.test('--publish: short and long syntax, ranges, protocols, modes', async (t) => {
  const rows = (text: string): [number, number, number, number][] => parsePublish(text).map((p) => [p.publishedPort, p.targetPort, p.protocol, p.publishMode]);
  t.same(rows('8080:80'), [[8080, 80, PortProtocol.TCP, PublishMode.INGRESS]]);
  t.same(rows('80'), [[0, 80, PortProtocol.TCP, PublishMode.INGRESS]], 'target only: the manager picks the published port');
  t.same(rows('5353:53/udp'), [[5353, 53, PortProtocol.UDP, PublishMode.INGRESS]]);
  t.same(rows('8000-8001:80-81'), [
    [8000, 80, PortProtocol.TCP, PublishMode.INGRESS],
    [8001, 81, PortProtocol.TCP, PublishMode.INGRESS],
  ]);
  t.same(rows('published=8080,target=80,protocol=sctp,mode=host'), [[8080, 80, PortProtocol.SCTP, PublishMode.HOST]]);
  t.same(rows('target=80'), [[0, 80, PortProtocol.TCP, PublishMode.INGRESS]]);
  t.throws(() => parsePublish('8000-8002:80-81'), /ranges differ in length/);
  t.throws(() => parsePublish('8080:0'), /--publish: invalid port "0"/, 'a target port is never 0');
  t.throws(() => parsePublish(':80'), /--publish: invalid port ""/);
  t.throws(() => parsePublish('published=8080,target=80,colour=red'), /--publish: unknown field "colour"/);
});

t.test('--mount type=volume: the volume, nocopy, labels and driver options go into the spec', async (t) => {
  t.same(parseServiceMount('type=volume,source=data,target=/data,volume-nocopy,volume-label=team=a,volume-opt=type=tmpfs,volume-opt=device=tmpfs'), {
    type: 1,
    source: 'data',
    target: '/data',
    readOnly: false,
    volumeOptions: { noCopy: true, labels: { team: 'a' }, driverConfig: { name: 'local', options: { type: 'tmpfs', device: 'tmpfs' } } },
  });
  t.same(parseServiceMount('type=volume,target=/anon'), { type: 1, source: '', target: '/anon', readOnly: false, volumeOptions: { noCopy: false, labels: {} } }, 'no source: a volume per task');
  t.throws(() => parseServiceMount('type=volume,source=/abs,target=/x'), { code: 'EINVAL', message: /^--mount "type=volume,source=\/abs,target=\/x": source: "\/abs" is not a valid volume name/ });
});

t.test('--network: short and long syntax', async (t) => {
  t.same(parseNetworkFlag('front'), { target: 'front', aliases: [], addresses: [], driverAttachmentOpts: {} });
  t.same(parseNetworkFlag('name=back,alias=db,alias=pg,driver-opt=mtu=1400'), { target: 'back', aliases: ['db', 'pg'], addresses: [], driverAttachmentOpts: { mtu: '1400' } });
  t.throws(() => parseNetworkFlag('name=back,colour=red'), /--network: unknown field "colour"/);
  t.throws(() => parseNetworkFlag('name=back,driver-opt=x'), /--network: invalid driver-opt "x"/);
});

t.test('--env-file: docker syntax; entries before -e; caller values for a bare name', async (t) => {
  t.same(parseEnvFile(files['/env/app'] ?? '', '/env/app', ctx.env), ['A=1', 'B=two words', 'FROM_CALLER=yes']);
  const spec = createSpec('nginx', [], { envFile: ['/env/app'], env: ['A=override', 'HOME'] }, ctx);
  t.same(spec.task?.container?.env, ['A=1', 'B=two words', 'FROM_CALLER=yes', 'A=override', 'HOME=/root']);
  t.throws(() => createSpec('nginx', [], { envFile: ['/env/bad'] }, ctx), /--env-file \/env\/bad: line 2: invalid variable name "BAD KEY"/);
  t.throws(() => createSpec('nginx', [], { envFile: ['/env/none'] }, ctx), /--env-file: cannot read \/env\/none: ENOENT/);
});

t.test('create: defaults and durations', async (t) => {
  const spec = createSpec('nginx', ['a', 'b'], { restartWindow: '1m30s', stopGracePeriod: '250ms', updateDelay: '0' }, ctx);
  t.same(spec.task?.container?.args, ['a', 'b']);
  t.same(spec.task?.restart, { condition: RestartCondition.ANY, delay: { seconds: 5, nanos: 0 }, maxAttempts: 0, window: { seconds: 90, nanos: 0 } });
  t.same(spec.task?.container?.stopGracePeriod, { seconds: 0, nanos: 250_000_000 });
  t.same(spec.update?.delay, { seconds: 0, nanos: 0 });
  t.equal(spec.update?.failureAction, UpdateFailureAction.PAUSE);
  const extra = createSpec('nginx', [], { entrypoint: "/bin/sh -c 'exec nginx'", group: ['wheel'], capAdd: ['net_admin', 'CAP_SYS_TIME'], capDrop: ['ALL'], sysctl: ['net.core.somaxconn=1024'], tty: true }, ctx).task?.container;
  t.same(extra?.command, ['/bin/sh', '-c', 'exec nginx']);
  t.same(extra?.groups, ['wheel']);
  t.same(extra?.capabilityAdd, ['CAP_NET_ADMIN', 'CAP_SYS_TIME']);
  t.same(extra?.capabilityDrop, ['ALL']);
  t.same(extra?.sysctls, { 'net.core.somaxconn': '1024' });
  t.equal(extra?.tty, true);
  t.throws(() => createSpec('nginx', [], { sysctl: ['x'] }, ctx), /^--sysctl: invalid "x"/);
  t.throws(() => createSpec('nginx', [], { entrypoint: '"x' }, ctx), /^--entrypoint: unterminated " quote/);
  t.throws(() => createSpec('', [], {}, ctx), /an image is required/);
  t.throws(() => createSpec('nginx', [], { name: '-web' }, ctx), /--name: invalid name "-web"/);
  t.throws(() => createSpec('nginx', [], { name: 'x'.repeat(64) }, ctx), /--name: invalid name/);
});

t.test('update: -add replaces by key, -rm removes, the rest is kept', async (t) => {
  const base = createSpec(
    'nginx:1',
    ['x'],
    { name: 'web', env: ['A=1', 'B=2'], label: ['keep=1', 'drop=1'], mount: ['type=bind,source=/a,target=/a'], constraint: ['node.role==worker'], publish: ['8080:80', '9090:90/udp'], replicas: '2' },
    ctx,
  );
  const next = updatedSpec(
    base,
    {
      envAdd: ['B=3', 'C=4'],
      envRm: ['A'],
      labelAdd: ['new=2'],
      labelRm: ['drop'],
      mountAdd: ['type=tmpfs,target=/a'],
      constraintRm: ['node.role == worker'],
      constraintAdd: ['node.labels.zone==b'],
      publishRm: ['90/udp'],
      publishAdd: ['8080:81'],
      readOnly: 'true',
      replicas: '0',
      force: true,
    },
    ctx,
  );
  t.same(next.task?.container?.env, ['B=3', 'C=4']);
  t.same(next.annotations, { name: 'web', labels: { keep: '1', new: '2' } });
  t.same(next.task?.container?.mounts.map((m) => [m.target, m.type]), [['/a', 2]], 'a mount at the same target is replaced');
  t.same(next.task?.placement?.constraints, ['node.labels.zone==b'], 'removal ignores spaces');
  t.same(next.endpoint?.ports.map((p) => [p.publishedPort, p.targetPort]), [[8080, 81]], 'a port published again is replaced');
  t.equal(next.task?.container?.readOnly, true);
  t.same(next.replicated, { replicas: 0 });
  t.equal(next.task?.forceUpdate, 1);
  t.same(next.task?.container?.args, ['x'], 'args kept');
  t.same(updatedSpec(base, { args: '' }, ctx).task?.container?.args, [], '--args "" clears them');
  t.same(updatedSpec(base, {}, ctx), base, 'no flags: the same spec');
});

t.test('update: mode rules and syntax-only checks', async (t) => {
  const global = createSpec('agent', [], { mode: 'global' }, ctx);
  t.throws(() => updatedSpec(global, { replicas: '2' }, ctx), /--replicas can only be used with replicated or replicated-job mode/);
  t.doesNotThrow(() => updatedSpec(blankSpec(), { maxConcurrent: '2' }, ctx, { syntaxOnly: true }), 'mode rules wait for the real spec');
  t.throws(() => updatedSpec(blankSpec(), { maxConcurrent: '0' }, ctx, { syntaxOnly: true }), /--max-concurrent: invalid value "0": want a whole number of at least 1/);
  const job = createSpec('job', [], { mode: 'replicated-job', replicas: '3' }, ctx);
  t.same(updatedSpec(job, { replicas: '5', maxConcurrent: '2' }, ctx).replicatedJob, { totalCompletions: 5, maxConcurrent: 2 });
  t.throws(() => updatedSpec(job, { updateDelay: '1s' }, ctx), /cannot be used with jobs/);
  t.throws(() => updatedSpec(blankSpec(), { rollback: true, force: true }, ctx), /other flags may not be combined with --rollback/);
});

t.test('--args is split as a shell would', async (t) => {
  t.same(splitArgs(`nginx -g 'daemon off;' "a \\"b\\"" c\\ d ''`), ['nginx', '-g', 'daemon off;', 'a "b"', 'c d', '']);
  t.throws(() => splitArgs('"open'), /unterminated " quote/);
});

t.test('scale arguments', async (t) => {
  t.same(parseScaleArgs(['web=3', 'api=0']), [
    ['web', 3],
    ['api', 0],
  ]);
  t.throws(() => parseScaleArgs(['web']), /invalid scale specifier "web"/);
  t.throws(() => parseScaleArgs(['web=-1']), /invalid replicas value "-1" for web/);
});

t.test('create: each bad flag is refused with a message naming it', async (t) => {
  const cases: [CreateFlags, RegExp][] = [
    [{ restartDelay: 'soon' }, /^--restart-delay: invalid duration "soon"/],
    [{ replicas: '-1' }, /^--replicas: invalid value "-1"/],
    [{ maxConcurrent: '2' }, /^--max-concurrent can only be used with replicated-job mode/],
    [{ mode: 'replicated-job', updateParallelism: '2' }, /cannot be used with jobs/],
    [{ mode: 'global-job', rollbackDelay: '2s' }, /cannot be used with jobs/],
    [{ limitCpu: 'x' }, /^--limit-cpu: invalid value "x"/],
    [{ limitPids: '1.5' }, /^--limit-pids: invalid value "1.5"/],
    [{ reserveMemory: '-3m' }, /^--reserve-memory: invalid size "-3m"/],
    [{ restartCondition: 'always' }, /^--restart-condition: invalid value "always": use none, on-failure, any/],
    [{ restartMaxAttempts: 'x' }, /^--restart-max-attempts: invalid value "x"/],
    [{ restartWindow: '1d' }, /^--restart-window: invalid duration "1d"/],
    [{ updateOrder: 'sideways' }, /^--update-order: invalid value "sideways"/],
    [{ updateFailureAction: 'panic' }, /^--update-failure-action: invalid value "panic"/],
    [{ rollbackFailureAction: 'rollback' }, /^--rollback-failure-action: invalid value "rollback": use pause, continue/],
    [{ updateMaxFailureRatio: '1.5' }, /^--update-max-failure-ratio: invalid value "1.5"/],
    [{ updateMonitor: 'later' }, /^--update-monitor: invalid duration "later"/],
    [{ rollbackParallelism: 'all' }, /^--rollback-parallelism: invalid value "all"/],
    [{ constraint: ['nonsense'] }, /^--constraint: invalid constraint "nonsense"/],
    [{ placementPref: ['pack=node.id'] }, /^--placement-pref: invalid preference "pack=node.id"/],
    [{ replicasMaxPerNode: 'two' }, /^--replicas-max-per-node: invalid value "two"/],
    [{ publish: ['80000:80'] }, /^--publish: invalid port "80000"/],
    [{ publish: ['published=8080'] }, /^--publish: "published=8080" has no target port/],
    [{ publish: ['target=80,mode=bridge'] }, /^--publish mode: invalid value "bridge"/],
    [{ publish: ['127.0.0.1:8080:80'] }, /a host IP cannot be given/],
    [{ publish: ['8080:80', '8080:81'] }, /^--publish: port 8080 is published more than once/],
    [{ endpointMode: 'round' }, /^--endpoint-mode: invalid value "round"/],
    [{ mount: ['type=bind,source=rel,target=/x'] }, /^--mount .*absolute source/],
    [{ mount: ['type=bind,source=/a,target=/x,colour=red'] }, /^--mount .*unknown --mount field "colour"|^--mount .*"colour"/],
    [{ env: ['=x'] }, /^--env: invalid environment entry "=x"/],
    [{ label: ['=x'] }, /^--label: invalid label "=x"/],
    [{ network: ['alias=x'] }, /^--network: "alias=x" names no network/],
    [{ stopGracePeriod: '5 seconds' }, /^--stop-grace-period: invalid duration/],
  ];
  for (const [flags, message] of cases) t.throws(() => createSpec('nginx', [], flags, ctx), message, JSON.stringify(flags));
});

t.test('update: bad update input is refused with a clear message (parallelism, durations, failure action, --rollback with others)', async (t) => {
  const current = createSpec('nginx', [], { replicas: '3' }, ctx);
  const cases: [Parameters<typeof updatedSpec>[1], RegExp][] = [
    [{ updateParallelism: '-1' }, /^--update-parallelism: invalid value "-1": want a whole number/],
    [{ rollbackParallelism: '-2' }, /^--rollback-parallelism: invalid value "-2"/],
    [{ updateDelay: '10x' }, /^--update-delay: invalid duration "10x": use a duration such as 10s/],
    [{ rollbackMonitor: '10x' }, /^--rollback-monitor: invalid duration "10x"/],
    [{ updateFailureAction: 'explode' }, /^--update-failure-action: invalid value "explode": use pause, continue, rollback/],
    [{ updateMaxFailureRatio: '-0.1' }, /^--update-max-failure-ratio: invalid value "-0.1"/],
    [{ rollback: true, image: 'nginx:2' }, /other flags may not be combined with --rollback/],
    [{ rebalance: 'sometimes' }, /^--rebalance: invalid value "sometimes": use on, true, off, false, default/],
    [{ sysctlAdd: ['net.ipv4.ip_forward'] }, /^--sysctl-add: invalid "net.ipv4.ip_forward": use NAME=VALUE/],
    [{ capAdd: ['net admin'] }, /^--cap-add: invalid capability "net admin"/],
  ];
  for (const [flags, message] of cases) {
    t.throws(() => updatedSpec(current, flags, ctx), message, JSON.stringify(flags));
    t.throws(() => updatedSpec(blankSpec(), flags, ctx, { syntaxOnly: true }), message, `${JSON.stringify(flags)} before any request`);
  }
  t.same(current, createSpec('nginx', [], { replicas: '3' }, ctx), 'the spec passed in is not changed');
});

t.test('update: rolling update and rollback settings, rebalance, and the docker flag pairs', async (t) => {
  const current = createSpec('nginx', [], { replicas: '6', sysctl: ['net.core.somaxconn=1024'], capAdd: ['NET_ADMIN'], group: ['audio'] }, ctx);
  const next = updatedSpec(
    current,
    {
      updateParallelism: '2',
      updateDelay: '1s',
      updateOrder: 'start-first',
      updateFailureAction: 'rollback',
      updateMonitor: '10s',
      updateMaxFailureRatio: '0.25',
      rollbackParallelism: '0',
      rollbackOrder: 'start-first',
      rebalance: true,
      sysctlAdd: ['net.ipv4.tcp_syncookies=1'],
      sysctlRm: ['net.core.somaxconn'],
      capDrop: ['NET_ADMIN', 'MKNOD'],
      groupAdd: ['video'],
      groupRm: ['audio'],
    },
    ctx,
  );
  t.same(next.update, { parallelism: 2, delay: { seconds: 1, nanos: 0 }, failureAction: UpdateFailureAction.ROLLBACK, monitor: { seconds: 10, nanos: 0 }, maxFailureRatio: 0.25, order: 1 });
  t.equal(next.rollback?.parallelism, 0);
  t.equal(next.rollback?.order, 1);
  t.equal(next.rebalance, RebalanceMode.ON);
  t.same(next.task?.container?.sysctls, { 'net.ipv4.tcp_syncookies': '1' });
  t.same([next.task?.container?.capabilityAdd, next.task?.container?.capabilityDrop], [[], ['CAP_NET_ADMIN', 'CAP_MKNOD']], 'a dropped capability leaves the add list');
  t.same(next.task?.container?.groups, ['video']);
  t.equal(updatedSpec(next, { rebalance: 'off' }, ctx).rebalance, RebalanceMode.OFF);
  t.equal(updatedSpec(next, { rebalance: 'default' }, ctx).rebalance, RebalanceMode.DEFAULT);
  t.equal(updatedSpec(next, { force: true }, ctx).task?.forceUpdate, 1, '--force bumps ForceUpdate');
  t.throws(() => createSpec('nginx', [], { mode: 'global', rebalance: 'on' }, ctx), /^--rebalance can only be used with replicated mode/);
});

t.test('--publish mesh=local: the routing mesh to local tasks only; refused for host mode and unknown values', async (t) => {
  t.same(parsePublish('published=8080,target=80,mesh=local'), [{ name: '', targetPort: 80, publishedPort: 8080, protocol: PortProtocol.TCP, publishMode: PublishMode.INGRESS, localOnly: true }]);
  t.same(parsePublish('published=8080,target=80,mesh=all')[0]?.localOnly, undefined, 'mesh=all is the default');
  t.throws(() => parsePublish('published=8080,target=80,mode=host,mesh=local'), /mesh=local applies to the routing mesh/);
  t.throws(() => parsePublish('published=8080,target=80,mesh=near'), /--publish mesh: invalid value "near": use all, local/);
});
