/**
 * `tsswarm service ...` against a fake tsswarmd (Control service on a unix socket) holding three
 * services (web: replicated, api: global, batch: a replicated job), their tasks and two networks in
 * memory: what the user sees, and what the CLI sends (or refuses to send).
 */
import t, { type Test } from 'tap';
import { EndpointMode, MountType, PortProtocol, PublishMode, RestartCondition, ServiceRollback, TaskState, UpdateFailureAction, UpdateOrder, type ServiceSpec } from '../../../proto/index.js';
import { ids, startFakeDaemon } from '../../helpers/fake-control.js';

type Sent = { serviceId: string; serviceVersion?: { index: number }; spec?: ServiceSpec; rollback: ServiceRollback };

function oneLineFailure(t: Test, r: { code: number; stderr: string }, message: RegExp, what: string): void {
  t.not(r.code, 0, `${what}: exits non-zero`);
  t.match(r.stderr, message, `${what}: ${r.stderr.trim()}`);
  t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
  t.notMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
}

t.test('service create: many flags become the ServiceSpec docker would send', async (t) => {
  const d = await startFakeDaemon(t);
  const r = await d.cli(
    'service', 'create', '--detach', '--name', 'shop', '--replicas', '3',
    '-e', 'A=1', '--env', 'B=two', '-l', 'team=blue', '--container-label', 'c=1',
    '--hostname', 'h1', '-w', '/srv', '-u', 'app',
    '--mount', 'type=bind,source=/data,target=/data,readonly', '--mount', 'type=tmpfs,target=/tmp,tmpfs-size=64m',
    '--limit-memory', '128m', '--limit-cpu', '0.5', '--limit-pids', '100', '--reserve-memory', '64m', '--reserve-cpu', '0.25',
    '--restart-condition', 'on-failure', '--restart-delay', '10s', '--restart-max-attempts', '3', '--restart-window', '2m',
    '--constraint', 'node.role==worker', '--placement-pref', 'spread=node.labels.zone', '--replicas-max-per-node', '2',
    '--network', 'front', '--network', 'name=back,alias=db',
    '-p', '8080:80', '-p', '5353:53/udp', '--publish', 'published=9090,target=90,mode=host',
    '--stop-signal', 'SIGQUIT', '--stop-grace-period', '30s',
    '--update-parallelism', '2', '--update-delay', '10s', '--update-order', 'start-first', '--update-failure-action', 'rollback',
    '--update-monitor', '1m', '--update-max-failure-ratio', '0.25',
    '--rollback-parallelism', '0', '--rollback-failure-action', 'continue', '--rollback-order', 'stop-first',
    '--init', '--read-only',
    'nginx:1.25', 'nginx', '-g', 'daemon off;',
  );
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^s0+\d+\n$/, 'the new service ID, nothing else with --detach');
  const [req] = d.requests('createService') as { spec: ServiceSpec }[];
  const spec = req?.spec;
  t.equal(spec?.annotations?.name, 'shop');
  t.same(spec?.annotations?.labels, { team: 'blue' });
  t.same(spec?.replicated, { replicas: 3 });
  const c = spec?.task?.container;
  t.equal(c?.image, 'nginx:1.25');
  t.same(c?.args, ['nginx', '-g', 'daemon off;'], 'COMMAND and ARGs after the image, flags included');
  t.same(c?.command, []);
  t.same(c?.env, ['A=1', 'B=two']);
  t.same(c?.labels, { c: '1' });
  t.equal(c?.hostname, 'h1');
  t.equal(c?.dir, '/srv');
  t.equal(c?.user, 'app');
  t.same(c?.mounts.map((m) => [m.type, m.source, m.target, m.readOnly, m.tmpfsOptions?.sizeBytes ?? 0]), [
    [MountType.BIND, '/data', '/data', true, 0],
    [MountType.TMPFS, '', '/tmp', false, 64 * 1024 ** 2],
  ]);
  t.equal(c?.stopSignal, 'SIGQUIT');
  t.same(c?.stopGracePeriod, { seconds: 30, nanos: 0 });
  t.equal(c?.init, true);
  t.equal(c?.readOnly, true);
  t.same(spec?.task?.resources?.limits, { nanoCpus: 5e8, memoryBytes: 128 * 1024 ** 2, pids: 100 });
  t.same(spec?.task?.resources?.reservations, { nanoCpus: 2.5e8, memoryBytes: 64 * 1024 ** 2, pids: 0 });
  t.same(spec?.task?.restart, { condition: RestartCondition.ON_FAILURE, delay: { seconds: 10, nanos: 0 }, maxAttempts: 3, window: { seconds: 120, nanos: 0 } });
  t.same(spec?.task?.placement?.constraints, ['node.role==worker']);
  t.same(spec?.task?.placement?.preferences, [{ spread: { spreadDescriptor: 'node.labels.zone' } }]);
  t.equal(spec?.task?.placement?.maxReplicas, 2);
  t.same(
    spec?.task?.networks.map((n) => [n.target, n.aliases]),
    [
      [ids.front, []],
      [ids.back, ['db']],
    ],
    'network names resolved to IDs',
  );
  t.same(spec?.endpoint?.mode, EndpointMode.VIP);
  t.same(
    spec?.endpoint?.ports.map((p) => [p.publishedPort, p.targetPort, p.protocol, p.publishMode]),
    [
      [8080, 80, PortProtocol.TCP, PublishMode.INGRESS],
      [5353, 53, PortProtocol.UDP, PublishMode.INGRESS],
      [9090, 90, PortProtocol.TCP, PublishMode.HOST],
    ],
  );
  t.same(spec?.update, { parallelism: 2, delay: { seconds: 10, nanos: 0 }, failureAction: UpdateFailureAction.ROLLBACK, monitor: { seconds: 60, nanos: 0 }, maxFailureRatio: 0.25, order: UpdateOrder.START_FIRST });
  t.same(spec?.rollback, { parallelism: 0, failureAction: UpdateFailureAction.CONTINUE, monitor: { seconds: 5, nanos: 0 }, maxFailureRatio: 0, order: UpdateOrder.STOP_FIRST }, 'docker defaults where no flag was given');
});

t.test('service create: docker defaults and the four modes', async (t) => {
  const d = await startFakeDaemon(t);
  const r = await d.cli('service', 'create', '-d', 'redis:7');
  t.equal(r.code, 0, r.stderr);
  const [plain] = d.requests('createService') as { spec: ServiceSpec }[];
  t.same(plain?.spec.replicated, { replicas: 1 });
  t.same(plain?.spec.task?.restart, { condition: RestartCondition.ANY, delay: { seconds: 5, nanos: 0 }, maxAttempts: 0 });
  t.same(plain?.spec.update, { parallelism: 1, failureAction: UpdateFailureAction.PAUSE, monitor: { seconds: 5, nanos: 0 }, maxFailureRatio: 0, order: UpdateOrder.STOP_FIRST });

  t.equal((await d.cli('service', 'create', '-d', '--mode', 'global', '--name', 'agent', 'agent:1')).code, 0);
  t.same((d.requests('createService')[1] as { spec: ServiceSpec }).spec.global, {});
  t.equal((await d.cli('service', 'create', '-d', '--mode', 'replicated-job', '--replicas', '4', '--max-concurrent', '2', '--name', 'j', 'job:1')).code, 0);
  const job = (d.requests('createService')[2] as { spec: ServiceSpec }).spec;
  t.same(job.replicatedJob, { totalCompletions: 4, maxConcurrent: 2 });
  t.equal(job.task?.restart?.condition, RestartCondition.ON_FAILURE, 'jobs restart on failure only');
  t.equal(job.update, undefined, 'jobs have no update config');
  t.equal((await d.cli('service', 'create', '-d', '--mode', 'global-job', '--name', 'gj', 'job:1')).code, 0);
  t.same((d.requests('createService')[3] as { spec: ServiceSpec }).spec.globalJob, {});
});

t.test('service create: bad flags are refused, naming the flag, before anything is sent', async (t) => {
  const d = await startFakeDaemon(t);
  const cases: [string[], RegExp][] = [
    [['--update-delay', '10x'], /--update-delay: invalid duration "10x"/],
    [['--replicas', 'three'], /--replicas: invalid value "three"/],
    [['--mode', 'sometimes'], /--mode: invalid value "sometimes": use replicated, global, replicated-job, global-job/],
    [['--mode', 'global', '--replicas', '2'], /--replicas can only be used with replicated or replicated-job mode/],
    [['--limit-memory', 'lots'], /--limit-memory: invalid size "lots"/],
    [['--constraint', 'node.colour==red'], /--constraint: invalid constraint key "node.colour"/],
    [['-p', '8080:80/icmp'], /--publish protocol: invalid value "icmp"/],
    [['--endpoint-mode', 'dnsrr', '-p', '8080:80'], /--endpoint-mode dnsrr cannot be used with ports published in ingress mode/],
    [['--mount', 'type=volume,source=/abs,target=/x'], /--mount .*"\/abs" is not a valid volume name/],
    [['--name', 'bad_name!'], /--name: invalid name "bad_name!"/],
  ];
  for (const [flags, message] of cases) {
    const r = await d.cli('service', 'create', '-d', ...flags, 'nginx');
    oneLineFailure(t, r, message, flags.join(' '));
    t.equal(r.code, 2, `${flags.join(' ')}: exit 2`);
  }
  t.same(d.calls, [], 'no request at all');
  const unknown = await d.cli('service', 'create', '-d', '--network', 'nowhere', 'nginx');
  oneLineFailure(t, unknown, /network nowhere not found/, 'unknown network');
  const ambiguous = await d.cli('service', 'create', '-d', '--network', 'n1e2', 'nginx');
  oneLineFailure(t, ambiguous, /network n1e2 is ambiguous/, 'ambiguous network');
  t.same(d.requests('createService'), [], 'no service was created');
});

t.test('service ls: docker columns, REPLICAS from the tasks, jobs as docker shows them', async (t) => {
  const d = await startFakeDaemon(t);
  d.autoAdvance = false;
  const r = await d.cli('service', 'ls');
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  t.match(lines[0], /^ID\s+NAME\s+MODE\s+REPLICAS\s+IMAGE\s+PORTS$/);
  t.same(
    lines.slice(1).map((l) => l.split(/\s{2,}/)),
    [
      [ids.api.slice(0, 12), 'api', 'global', '0/0', 'api:2'],
      [ids.batch.slice(0, 12), 'batch', 'replicated job', '0/0 (0/3 completed)', 'batch:1'],
      [ids.web.slice(0, 12), 'web', 'replicated', '2/2', 'nginx:1.25', '*:8080->80/tcp'],
    ],
    'sorted by name; the failed task of web.1 does not count',
  );

  t.equal((await d.cli('service', 'ls', '-q', '-f', 'mode=replicated')).stdout, `${ids.web}\n`);
  t.equal((await d.cli('service', 'ls', '-q', '-f', 'label=tier=front')).stdout, `${ids.web}\n`);
  t.equal((await d.cli('service', 'ls', '-q', '-f', 'name=a', '-f', 'name=b')).stdout, `${ids.api}\n${ids.batch}\n`);
  oneLineFailure(t, await d.cli('service', 'ls', '-f', 'colour=red'), /invalid filter 'colour'/, 'unknown filter');
  const json = JSON.parse((await d.cli('service', 'ls', '--format', 'json')).stdout) as { ID: string; Name: string; Replicas: string; Image: string }[];
  t.same(json.map((s) => [s.ID, s.Name, s.Replicas, s.Image]), [
    [ids.api, 'api', '0/0', 'api:2'],
    [ids.batch, 'batch', '0/0 (0/3 completed)', 'batch:1'],
    [ids.web, 'web', '2/2', 'nginx:1.25@sha256:0123456789abcdef'],
  ]);
  t.equal((await d.cli('service', 'ls', '--format', '{{.Name}}={{.Replicas}}', '-f', 'name=web')).stdout, 'web=2/2\n');
});

t.test('service ps: task names, history rows, filters, --no-trunc, -q', async (t) => {
  const d = await startFakeDaemon(t);
  d.autoAdvance = false;
  const r = await d.cli('service', 'ps', 'web');
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  t.match(lines[0], /^ID\s+NAME\s+IMAGE\s+NODE\s+DESIRED STATE\s+CURRENT STATE\s+ERROR\s+PORTS$/);
  t.match(lines[1], /^task1aaaaaaa\s+web\.1\s+nginx:1\.25\s+mgr-1\s+Running\s+Running 5 minutes ago$/);
  t.match(lines[2], /^task0aaaaaaa\s+ \\_ web\.1\s+nginx:1\.25\s+mgr-1\s+Shutdown\s+Failed about an hour ago\s+"task: non-zero exit \(1\) while…"$/);
  t.match(lines[3], /^task2bbbbbbb\s+web\.2\s+nginx:1\.25\s+wrk-1\s+Running\s+Running about a minute ago$/);
  t.equal(lines.length, 4);
  t.same(d.requests('listTasks'), [{ filters: { serviceIds: [ids.web], nodeIds: [], desiredStates: [], slots: [] } }], 'only the tasks of the service');

  t.equal((await d.cli('service', 'ps', '-q', '-f', 'desired-state=running', ids.web)).stdout, 'task1aaaaaaa\ntask2bbbbbbb\n');
  t.equal((await d.cli('service', 'ps', '-q', '-f', 'node=wrk-1', 's1e2r')).stdout, 'task2bbbbbbb\n');
  t.equal((await d.cli('service', 'ps', '-q', '-f', 'name=web.1', '-f', 'desired-state=shutdown', 'web')).stdout, 'task0aaaaaaa\n');
  const full = await d.cli('service', 'ps', '--no-trunc', '--format', '{{.ID}} {{.Name}} {{.Error}}', '-f', 'desired-state=shutdown', 'web');
  t.equal(full.stdout, 'task0aaaaaaaaaaaaaaaaaaaa web.1 "task: non-zero exit (1) while starting the container"\n');
  const json = JSON.parse((await d.cli('service', 'ps', '--format', 'json', 'web')).stdout) as { ID: string; Name: string; Node: string }[];
  t.same(json.map((x) => [x.ID, x.Name, x.Node]), [
    ['task1aaaaaaaaaaaaaaaaaaaa', 'web.1', 'mgr-1'],
    ['task0aaaaaaaaaaaaaaaaaaaa', ' \\_ web.1', 'mgr-1'],
    ['task2bbbbbbbbbbbbbbbbbbbb', 'web.2', 'wrk-1'],
  ]);
  const noResolve = await d.cli('service', 'ps', '--no-resolve', '--format', '{{.Name}} {{.Node}}', '-f', 'desired-state=running', 'web');
  t.equal(noResolve.stdout, `${ids.web}.1 ${ids.mgr1}\n${ids.web}.2 ${ids.wrk1}\n`);
  oneLineFailure(t, await d.cli('service', 'ps', '-f', 'desired-state=asleep', 'web'), /invalid filter 'desired-state=asleep'/, 'bad desired-state');
  oneLineFailure(t, await d.cli('service', 'ps', 's1e2'), /service s1e2 is ambiguous/, 'ambiguous prefix');
  oneLineFailure(t, await d.cli('service', 'ps', 'ghost'), /service ghost not found/, 'unknown service');
});

t.test('service inspect: docker JSON, --format, --pretty', async (t) => {
  const d = await startFakeDaemon(t);
  const json = JSON.parse((await d.cli('service', 'inspect', 'web', 'batch')).stdout) as {
    ID: string;
    Version: { Index: number };
    Spec: { Name: string; Mode: Record<string, unknown>; TaskTemplate: { ContainerSpec: { Image: string }; RestartPolicy: { Condition: string; Delay: number } }; UpdateConfig?: { Monitor: number; FailureAction: string; Order: string } };
    Endpoint: { Ports: { PublishedPort: number; Protocol: string; PublishMode: string }[]; VirtualIPs: { NetworkID: string }[] };
  }[];
  t.same(json.map((s) => [s.ID, s.Version.Index, s.Spec.Name]), [
    [ids.web, 4, 'web'],
    [ids.batch, 6, 'batch'],
  ]);
  t.same(json[0]?.Spec.Mode, { Replicated: { Replicas: 2 } });
  t.same(json[1]?.Spec.Mode, { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 3 } });
  t.same(json[0]?.Spec.TaskTemplate.RestartPolicy, { Condition: 'any', Delay: 5e9, MaxAttempts: 0 });
  t.same(json[0]?.Spec.UpdateConfig, { Parallelism: 1, FailureAction: 'pause', Monitor: 5e9, MaxFailureRatio: 0, Order: 'stop-first' });
  t.same(json[0]?.Endpoint.Ports, [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }]);
  t.same(json[0]?.Endpoint.VirtualIPs, [{ NetworkID: ids.front, Addr: '10.0.1.2/24' }]);
  t.equal((await d.cli('service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}} {{index .Spec.Labels "tier"}}', 'web')).stdout, 'nginx:1.25@sha256:0123456789abcdef front\n');
  const pretty = await d.cli('service', 'inspect', '--pretty', 'web');
  t.equal(pretty.code, 0, pretty.stderr);
  t.match(pretty.stdout, /^ID:\s+s1e2r3v4i5c6e7w8e9b0x1y2z\nName:\s+web\n/);
  t.match(pretty.stdout, /Service Mode:\s+Replicated\n Replicas:\s+2\n/);
  t.match(pretty.stdout, /ContainerSpec:\n Image:\s+nginx:1\.25@sha256:0123456789abcdef\n/);
  t.match(pretty.stdout, /Ports:\n PublishedPort = 8080\n  Protocol = tcp\n  TargetPort = 80\n  PublishMode = ingress\n/);
  oneLineFailure(t, await d.cli('service', 'inspect', '--pretty', '--format', '{{.ID}}', 'web'), /cannot be used together/, '--pretty with --format');
  const partly = await d.cli('service', 'inspect', '--format', '{{.Spec.Name}}', 'web', 'ghost');
  t.equal(partly.stdout, 'web\n', 'the services found are still shown');
  t.match(partly.stderr, /service ghost not found/);
  t.equal(partly.code, 2);
});

t.test('service scale: GetService, then UpdateService with the version read; refuses global services', async (t) => {
  const d = await startFakeDaemon(t);
  const r = await d.cli('service', 'scale', '--detach', 'web=5', 'batch=6');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'web scaled to 5\nbatch scaled to 6\n');
  const sent = d.requests('updateService') as Sent[];
  t.same(sent.map((s) => [s.serviceId, s.serviceVersion?.index]), [
    [ids.web, 4],
    [ids.batch, 6],
  ], 'each with the version GetService returned');
  t.same(sent[0]?.spec?.replicated, { replicas: 5 });
  t.equal(sent[0]?.spec?.task?.container?.image, 'nginx:1.25@sha256:0123456789abcdef', 'the rest of the spec is kept');
  t.same(sent[1]?.spec?.replicatedJob, { maxConcurrent: 1, totalCompletions: 6 });

  const global = await d.cli('service', 'scale', '-d', 'api=3');
  oneLineFailure(t, global, /api: scale can only be used with replicated or replicated-job mode/, 'global service');
  t.equal(d.requests('updateService').length, 2, 'nothing sent for it');
  for (const [arg, message] of [
    ['web', /invalid scale specifier "web"/],
    ['web=x', /invalid replicas value "x" for web/],
    ['=3', /invalid scale specifier "=3"/],
  ] as const) {
    oneLineFailure(t, await d.cli('service', 'scale', '-d', arg), message, arg);
  }
  t.equal(d.requests('updateService').length, 2);
});

t.test('service scale without --detach: per-slot progress until the service converged (plain lines when not a terminal)', async (t) => {
  const d = await startFakeDaemon(t);
  d.services = d.services.map((s) => (s.id === ids.web && s.spec?.update ? { ...s, spec: { ...s.spec, update: { ...s.spec.update, monitor: { seconds: 0, nanos: 300_000_000 } } } } : s));
  const r = await d.cli('service', 'scale', 'web=3');
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  t.equal(lines[0], 'web scaled to 3');
  t.equal(lines[1], 'overall progress: 2 out of 3 tasks');
  t.equal(lines.find((l) => l.startsWith('3/3:')), '3/3: accepted  [===========================>                       ]', 'the new slot is first seen on its way up');
  t.ok(lines.includes('3/3: running   [==================================================>]'), 'and ends running');
  t.ok(lines.includes('overall progress: 3 out of 3 tasks'));
  t.ok(lines.includes('verify: Waiting 1 seconds to verify that tasks are stable...'));
  t.equal(lines.at(-1), 'verify: Service converged');
  t.notMatch(r.stdout, /\x1b\[/, 'no terminal escapes in a pipe');
  t.equal(lines.filter((l) => l.startsWith('1/3:')).length, 1, 'a slot line is printed only when it changes');
});

t.test('service create without --detach shows progress; -q keeps quiet but still waits', async (t) => {
  const d = await startFakeDaemon(t);
  const r = await d.cli('service', 'create', '--name', 'cache', '--replicas', '2', '--update-monitor', '100ms', 'redis:7');
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  t.match(lines[0], /^s0+\d+$/);
  t.equal(lines[1], 'overall progress: 0 out of 2 tasks');
  t.equal(lines.at(-1), 'verify: Service converged');
  const q = await d.cli('service', 'create', '-q', '--name', 'cache2', '--update-monitor', '100ms', 'redis:7');
  t.equal(q.code, 0, q.stderr);
  t.match(q.stdout, /^s0+\d+\n$/);
  const id = q.stdout.trim();
  t.ok(d.tasks.some((x) => x.serviceId === id && x.status?.state === TaskState.RUNNING), 'it waited for the task to run');
});

t.test('service update: flags applied to the spec read, sent with its version', async (t) => {
  const d = await startFakeDaemon(t);
  const r = await d.cli(
    'service', 'update', '--detach', '--image', 'nginx:1.26', '--env-add', 'A=1', '--env-add', 'B=2', '--args', "nginx -g 'daemon off;'",
    '--replicas', '4', '--limit-memory', '256m', '--publish-add', '9000:90', '--publish-rm', '80',
    '--constraint-add', 'node.labels.zone==a', '--label-add', 'owner=me', '--label-rm', 'tier',
    '--network-add', 'back', '--update-parallelism', '3', '--rollback-monitor', '20s', '--force', 'web',
  );
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'web\n');
  t.same(d.requests('getService'), [{ serviceId: ids.web }]);
  const [sent] = d.requests('updateService') as Sent[];
  t.equal(sent?.serviceId, ids.web);
  t.same(sent?.serviceVersion, { index: 4 }, 'the version GetService returned');
  const spec = sent?.spec;
  t.equal(spec?.task?.container?.image, 'nginx:1.26');
  t.same(spec?.task?.container?.env, ['A=1', 'B=2']);
  t.same(spec?.task?.container?.args, ['nginx', '-g', 'daemon off;']);
  t.same(spec?.replicated, { replicas: 4 });
  t.equal(spec?.task?.resources?.limits?.memoryBytes, 256 * 1024 ** 2);
  t.same(spec?.endpoint?.ports.map((p) => [p.publishedPort, p.targetPort]), [[9000, 90]], '80 removed, 90 added');
  t.same(spec?.task?.placement?.constraints, ['node.labels.zone==a']);
  t.same(spec?.annotations, { name: 'web', labels: { owner: 'me' } });
  t.same(spec?.task?.networks.map((n) => n.target), [ids.back], 'network name resolved to its ID');
  t.equal(spec?.update?.parallelism, 3);
  t.same(spec?.update?.monitor, { seconds: 5, nanos: 0 }, 'what was not asked for is kept');
  t.same(spec?.rollback?.monitor, { seconds: 20, nanos: 0 });
  t.equal(spec?.task?.forceUpdate, 1, '--force bumps ForceUpdate');

  const env = await d.cli('service', 'update', '-d', '--env-rm', 'A', '--env-add', 'B=3', 'web');
  t.equal(env.code, 0, env.stderr);
  const second = d.requests('updateService')[1] as Sent;
  t.same(second.spec?.task?.container?.env, ['B=3'], 'removed and replaced by key');
  t.ok((second.serviceVersion?.index ?? 0) > 4, 'the second update carries the version the first one left');
});

t.test('service update: bad flags and wrong modes are refused before anything is changed', async (t) => {
  const d = await startFakeDaemon(t);
  const cases: [string[], RegExp][] = [
    [['--update-delay', '10x'], /--update-delay: invalid duration "10x"/],
    [['--publish-add', '8080:99999'], /--publish-add: invalid port "99999"/],
    [['--limit-cpu', 'many'], /--limit-cpu: invalid value "many"/],
    [['--args', "unterminated 'quote"], /--args: unterminated ' quote/],
    [['--rollback', '--image', 'x'], /other flags may not be combined with --rollback/],
    [['--read-only', 'maybe'], /--read-only: invalid value "maybe"/],
    [['--label-rm', 'a=b'], /--label-rm: invalid key "a=b"/],
    [['--constraint-add', 'x=y'], /--constraint-add: invalid constraint/],
  ];
  for (const [flags, message] of cases) {
    const r = await d.cli('service', 'update', '-d', ...flags, 'web');
    oneLineFailure(t, r, message, flags.join(' '));
    t.equal(r.code, 2);
  }
  t.same(d.calls, [], 'no request at all');
  oneLineFailure(t, await d.cli('service', 'update', '-d', '--replicas', '3', 'api'), /--replicas can only be used with replicated or replicated-job mode/, 'replicas of a global service');
  oneLineFailure(t, await d.cli('service', 'update', '-d', '--image', 'x', 's1e2'), /ambiguous/, 'ambiguous service');
  t.same(d.requests('updateService'), [], 'no UpdateService');
});

t.test('service update --rollback and service rollback: the previous spec, server side', async (t) => {
  const d = await startFakeDaemon(t);
  const none = await d.cli('service', 'rollback', '-d', 'web');
  oneLineFailure(t, none, /service web has no previous spec to roll back to/, 'nothing to roll back to');
  t.equal((await d.cli('service', 'update', '-d', '--image', 'nginx:1.26', 'web')).code, 0);
  const version = d.services.find((s) => s.id === ids.web)?.meta?.version?.index;
  const r = await d.cli('service', 'rollback', '-d', 'web');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'web\n');
  const last = d.requests('updateService').at(-1) as Sent;
  t.equal(last.rollback, ServiceRollback.PREVIOUS);
  t.same(last.serviceVersion, { index: version });
  t.equal(d.services.find((s) => s.id === ids.web)?.spec?.task?.container?.image, 'nginx:1.25@sha256:0123456789abcdef');
  const again = await d.cli('service', 'update', '-d', '--rollback', 'web');
  t.equal(again.code, 0, again.stderr);
  t.equal((d.requests('updateService').at(-1) as Sent).rollback, ServiceRollback.PREVIOUS);
});

t.test('service rm: by name, ID or prefix; unknown ones fail, the rest are removed', async (t) => {
  const d = await startFakeDaemon(t);
  const r = await d.cli('service', 'rm', 'web', 'ghost', 'j0b');
  t.equal(r.code, 2);
  t.equal(r.stdout, 'web\nj0b\n');
  t.match(r.stderr, /service ghost not found/);
  t.same(d.requests('removeService'), [{ serviceId: ids.web }, { serviceId: ids.batch }]);
  t.equal((await d.cli('service', 'ls', '-q')).stdout, `${ids.api}\n`);
});

t.test('service logs: bad input and a daemon without the Logs service fail in one line', async (t) => {
  const d = await startFakeDaemon(t);
  oneLineFailure(t, await d.cli('service', 'logs', '--tail', 'x', 'web'), /--tail must be a number or "all"/, 'bad --tail');
  oneLineFailure(t, await d.cli('service', 'logs', '--since', '10x', 'web'), /--since/, 'bad --since');
  oneLineFailure(t, await d.cli('service', 'logs', 'nosuch'), /no such service or task: nosuch/, 'unknown service');
  oneLineFailure(t, await d.cli('service', 'logs', 'web'), /does not serve service logs/, 'an older daemon');
});

t.test('on a node that is not a manager the service commands say so in one line', async (t) => {
  const d = await startFakeDaemon(t);
  d.info = { ...d.info, controlAvailable: false };
  for (const args of [['service', 'ls'], ['service', 'ps', 'web'], ['service', 'create', '-d', 'nginx']]) {
    oneLineFailure(t, await d.cli(...args), /this node is not a swarm manager/i, args.join(' '));
  }
});
