import t from 'tap';
import { validateServiceSpec } from '../../../manager/controlapi/service-spec.js';
import {
  EndpointMode,
  MountType,
  PortProtocol,
  PublishMode,
  RestartCondition,
  ServiceSpec,
  UpdateConfig,
  UpdateFailureAction,
  UpdateOrder,
} from '../../../proto/index.js';
import { serviceSpec, withContainer, withTask, type ContainerPart, type Part } from './service-helpers.js';

/** The INVALID_ARGUMENT message validateServiceSpec gives, or '' when the spec passes. */
function refusal(spec: ServiceSpec | undefined, nameRequired = false): string {
  try {
    validateServiceSpec(spec, { nameRequired });
    return '';
  } catch (err) {
    const e = err as { code?: string; message: string };
    if (e.code !== 'EINVAL') throw err;
    return e.message;
  }
}

const mib = 1024 * 1024;

t.test('a plain spec passes, and the stored copy is not the caller\'s object', async (t) => {
  const spec = serviceSpec('web');
  const out = validateServiceSpec(spec);
  t.same(out, spec);
  t.not(out, spec);
  t.equal(refusal(undefined), 'invalid service spec: a spec is required');
});

t.test('names: docker\'s pattern, at most 63 characters; missing only when allowed', async (t) => {
  for (const good of ['web', 'a', 'Web_1.prod-2', '9lives', 'x'.repeat(63)]) t.equal(refusal(serviceSpec(good)), '', good);
  t.match(refusal(serviceSpec('-web')), /service name "-web" is invalid: it must start with a letter or digit/);
  t.match(refusal(serviceSpec('we b')), /service name "we b" is invalid/);
  t.match(refusal(serviceSpec('web/1')), /is invalid/);
  t.match(refusal(serviceSpec('x'.repeat(64))), /is longer than 63 characters/);
  t.equal(refusal(serviceSpec('')), '', 'a missing name is fine on create (generated)');
  t.match(refusal(serviceSpec(''), true), /a service name is required \(--name\)/);
  t.match(refusal(serviceSpec('web', { annotations: { name: 'web', labels: { '': 'x' } } })), /a label key must not be empty/);
});

t.test('modes: one at most; none means replicated 1; job defaults as docker', async (t) => {
  const none = validateServiceSpec(ServiceSpec.create({ annotations: { name: 'a' }, task: { container: { image: 'busybox' } } }));
  t.same(none.replicated, { replicas: 1 }, 'no mode: replicated with one replica');
  t.same(validateServiceSpec(serviceSpec('a', { replicated: { replicas: 0 } })).replicated, { replicas: 0 }, 'zero replicas is allowed');
  // Values the wire cannot carry (uint64) can still come from code: set them past the codec.
  t.match(refusal({ ...serviceSpec('a'), replicated: { replicas: -1 } }), /mode\.replicated\.replicas \(--replicas\) must be a whole number of at least 0, not -1/);
  t.match(refusal({ ...serviceSpec('a'), replicated: { replicas: 1.5 } }), /not 1\.5/);
  t.match(refusal(serviceSpec('a', { global: {} })), /a service has one mode, not replicated and global/);
  const g = validateServiceSpec(ServiceSpec.create({ annotations: { name: 'a' }, task: { container: { image: 'busybox' } }, global: {} }));
  t.ok(g.global !== undefined && g.replicated === undefined, 'global stays global');
  const job = (j: Part<ServiceSpec['replicatedJob']>) =>
    validateServiceSpec(ServiceSpec.create({ annotations: { name: 'j' }, task: { container: { image: 'busybox' } }, replicatedJob: j })).replicatedJob;
  t.same(job({ totalCompletions: 5 }), { totalCompletions: 5, maxConcurrent: 5 }, 'max concurrent defaults to the completions');
  t.same(job({ totalCompletions: 5, maxConcurrent: 2 }), { totalCompletions: 5, maxConcurrent: 2 });
  t.same(job({ maxConcurrent: 3 }), { totalCompletions: 3, maxConcurrent: 3 }, 'completions default to max concurrent (docker API)');
  t.same(job({}), { totalCompletions: 1, maxConcurrent: 1 }, 'both default to 1');
  t.match(
    refusal({ ...ServiceSpec.create({ annotations: { name: 'j' }, task: { container: { image: 'busybox' } } }), replicatedJob: { totalCompletions: -2, maxConcurrent: 0 } }),
    /mode\.replicated_job\.total_completions \(--replicas\) must be a whole number/,
  );
  t.match(
    refusal(ServiceSpec.create({ annotations: { name: 'g' }, task: { container: { image: 'busybox' }, placement: { maxReplicas: 2 } }, global: {} })),
    /max_replicas \(--replicas-max-per-node\) can only be used with replicated mode, not global/,
  );
  t.equal(refusal(withTask('r', { placement: { maxReplicas: 2 } })), '');
});

t.test('container: required, with a valid image reference', async (t) => {
  t.match(refusal(ServiceSpec.create({ annotations: { name: 'a' }, replicated: { replicas: 1 } })), /task\.container is required/);
  t.match(refusal(withContainer('a', { image: '' })), /task\.container\.image is required/);
  t.match(refusal(withContainer('a', { image: 'Nginx' })), /task\.container\.image "Nginx" is not a valid image reference \(.*lowercase/);
  t.match(refusal(withContainer('a', { image: 'nginx:' })), /is not a valid image reference/);
  for (const good of ['busybox', 'registry.local:5000/team/app:1.2', `alpine@sha256:${'a'.repeat(64)}`]) t.equal(refusal(withContainer('a', { image: good })), '', good);
});

t.test('env entries: KEY=VALUE or KEY, with a non-empty key', async (t) => {
  t.equal(refusal(withContainer('a', { env: ['A=1', 'B=', 'C', 'D=x=y'] })), '');
  t.match(refusal(withContainer('a', { env: ['A=1', '=x'] })), /task\.container\.env\[1\] "=x" is invalid \(--env\)/);
  t.match(refusal(withContainer('a', { env: [''] })), /env\[0\] "" is invalid/);
});

t.test('mounts: known types, absolute targets, bind sources absolute, options for their type, no duplicates', async (t) => {
  const m = (mounts: NonNullable<ContainerPart['mounts']>) => refusal(withContainer('a', { mounts }));
  t.equal(m([{ type: MountType.BIND, source: '/srv', target: '/data' }, { type: MountType.VOLUME, source: 'vol1', target: '/v' }, { type: MountType.VOLUME, target: '/anon' }, { type: MountType.TMPFS, target: '/tmp', tmpfsOptions: { sizeBytes: 64 * mib, mode: 0o1777 } }]), '');
  t.match(m([{ type: 7 as MountType, target: '/x' }]), /mounts\[0\]\.type 7 is not one of 0 \(bind\), 1 \(volume\), 2 \(tmpfs\)/);
  t.match(m([{ type: MountType.VOLUME, target: '' }]), /mounts\[0\]\.target is required/);
  t.match(m([{ type: MountType.VOLUME, target: 'data' }]), /mounts\[0\]\.target "data" must be an absolute path/);
  t.match(m([{ type: MountType.TMPFS, target: '/' }]), /mounts\[0\]\.target must not be \//);
  t.match(m([{ type: MountType.BIND, target: '/d' }]), /a bind mount needs a source/);
  t.match(m([{ type: MountType.BIND, source: 'srv', target: '/d' }]), /mounts\[0\]\.source "srv" must be an absolute path for a bind mount/);
  t.match(m([{ type: MountType.VOLUME, source: '/srv', target: '/d' }]), /is not a valid volume name/);
  t.match(m([{ type: MountType.TMPFS, source: 'x', target: '/d' }]), /a tmpfs mount has no source/);
  t.match(m([{ type: MountType.VOLUME, target: '/d', bindOptions: {} }]), /bind options are only for bind mounts/);
  t.match(m([{ type: MountType.BIND, source: '/s', target: '/d', tmpfsOptions: {} }]), /tmpfs options are only for tmpfs mounts/);
  t.match(m([{ type: MountType.TMPFS, target: '/d', tmpfsOptions: { sizeBytes: -1 } }]), /tmpfs_options\.size_bytes must be a whole number of at least 0/);
  t.match(m([{ type: MountType.VOLUME, target: '/d' }, { type: MountType.TMPFS, target: '/d' }]), /mounts\[1\]\.target: duplicate mount point \/d/);
});

t.test('stop grace period, health check, secret and config references', async (t) => {
  t.match(refusal(withContainer('a', { stopGracePeriod: { seconds: -1 } })), /stop_grace_period \(--stop-grace-period\) must not be negative/);
  t.equal(refusal(withContainer('a', { stopGracePeriod: { seconds: 10 } })), '');
  t.match(refusal(withContainer('a', { healthcheck: { interval: { nanos: 500 } } })), /healthcheck\.interval \(--health-interval\) must be 0 \(the default\) or at least 1ms/);
  t.match(refusal(withContainer('a', { healthcheck: { timeout: { seconds: -1 } } })), /healthcheck\.timeout/);
  t.match(refusal(withContainer('a', { healthcheck: { retries: -1 } })), /healthcheck\.retries \(--health-retries\) must be a whole number/);
  t.equal(refusal(withContainer('a', { healthcheck: { test: ['CMD', 'true'], interval: { seconds: 5 }, retries: 3 } })), '');
  t.match(refusal(withContainer('a', { secrets: [{ secretId: '', secretName: 's', file: { name: 's' } }] })), /malformed secret reference: both the secret ID and name are required/);
  t.match(refusal(withContainer('a', { secrets: [{ secretId: 'x', secretName: 's' }] })), /malformed secret reference: a target file name is required/);
  t.match(
    refusal(withContainer('a', { configs: [{ configId: 'c1', configName: 'one', file: { name: '/etc/app' } }, { configId: 'c2', configName: 'two', file: { name: '/etc/app' } }] })),
    /config references "one" and "two" have a conflicting target: "\/etc\/app"/,
  );
});

t.test('resources: memory ≥ 6 MiB and CPUs ≥ 0.001 when set, pids ≥ 0, reservations within limits', async (t) => {
  const r = (resources: Part<NonNullable<ServiceSpec['task']>['resources']>) => refusal(withTask('a', { resources }));
  t.equal(r({ limits: { nanoCpus: 5e8, memoryBytes: 512 * mib, pids: 100 }, reservations: { nanoCpus: 25e7, memoryBytes: 256 * mib } }), '');
  t.equal(r({ limits: { memoryBytes: 6 * mib } }), '', 'exactly 6 MiB');
  t.match(r({ limits: { memoryBytes: 4 * mib } }), /limits\.memory_bytes \(--limit-memory\) must be at least 6 MiB, not 4 MiB/);
  t.match(r({ reservations: { memoryBytes: mib } }), /reservations\.memory_bytes \(--reserve-memory\) must be at least 6 MiB/);
  t.match(r({ limits: { memoryBytes: -1 } }), /limits\.memory_bytes \(--limit-memory\) must not be negative/);
  t.match(r({ limits: { nanoCpus: -1e9 } }), /limits\.nano_cpus \(--limit-cpu\) must be a positive number of CPUs, not -1/);
  t.match(r({ limits: { nanoCpus: 1000 } }), /must be at least 0\.001 CPUs, not 0\.000001 CPUs/);
  t.match(r({ limits: { pids: -1 } }), /limits\.pids \(--limit-pids\) must be a whole number of at least 0/);
  t.match(r({ limits: { memoryBytes: 512 * mib }, reservations: { memoryBytes: 1024 * mib } }), /the memory reservation \(--reserve-memory 1 GiB\) is more than the memory limit \(--limit-memory 512 MiB\)/);
  t.match(r({ limits: { nanoCpus: 1e9 }, reservations: { nanoCpus: 2e9 } }), /the CPU reservation \(--reserve-cpu 2 CPUs\) is more than the CPU limit \(--limit-cpu 1 CPUs\)/);
  t.equal(r({ reservations: { memoryBytes: 1024 * mib } }), '', 'a reservation without a limit is fine');
});

t.test('restart policy and placement', async (t) => {
  t.equal(refusal(withTask('a', { restart: { condition: RestartCondition.ON_FAILURE, delay: { seconds: 5 }, maxAttempts: 3, window: { seconds: 60 } } })), '');
  t.match(refusal(withTask('a', { restart: { condition: 9 as RestartCondition } })), /task\.restart\.condition \(--restart-condition\) 9 is not one of 0 \(none\), 1 \(on-failure\), 2 \(any\)/);
  t.match(refusal(withTask('a', { restart: { delay: { seconds: -1 } } })), /task\.restart\.delay \(--restart-delay\) must not be negative/);
  t.match(refusal(withTask('a', { restart: { window: { nanos: -5 } } })), /task\.restart\.window \(--restart-window\) must not be negative/);
  t.equal(refusal(withTask('a', { placement: { constraints: ['node.role==manager', 'node.labels.zone != a'], preferences: [{ spread: { spreadDescriptor: 'node.labels.zone' } }] } })), '');
  t.match(refusal(withTask('a', { placement: { constraints: ['node.role=manager'] } })), /task\.placement\.constraints\[0\] \(--constraint\): invalid constraint "node\.role=manager"/);
  t.match(refusal(withTask('a', { placement: { constraints: ['node.colour==red'] } })), /invalid constraint key "node\.colour"/);
  t.match(refusal(withTask('a', { placement: { preferences: [{ spread: { spreadDescriptor: 'zone' } }] } })), /preferences\[0\] \(--placement-pref\): invalid placement preference spread=zone/);
  t.match(refusal(withTask('a', { placement: { preferences: [{}] } })), /preferences\[0\] \(--placement-pref\) names no spread descriptor/);
});

t.test('update and rollback configs', async (t) => {
  const u = (update: Part<ServiceSpec['update']>, rollback: Part<ServiceSpec['rollback']> = {}) => refusal(serviceSpec('a', { update, rollback }));
  t.equal(u({ parallelism: 2, delay: { seconds: 10 }, failureAction: UpdateFailureAction.ROLLBACK, monitor: { seconds: 5 }, maxFailureRatio: 0.2, order: UpdateOrder.START_FIRST }), '');
  t.match(u({ delay: { seconds: -1 } }), /update\.delay \(--update-delay\) must not be negative/);
  t.match(u({ monitor: { seconds: -1 } }), /update\.monitor \(--update-monitor\) must not be negative/);
  t.match(u({ maxFailureRatio: 1.5 }), /update\.max_failure_ratio \(--update-max-failure-ratio\) must be from 0 to 1, not 1\.5/);
  t.match(u({ maxFailureRatio: -0.1 }), /must be from 0 to 1/);
  t.match(u({ failureAction: 5 as UpdateFailureAction }), /update\.failure_action \(--update-failure-action\) 5 is not one of/);
  t.match(u({ order: 3 as UpdateOrder }), /update\.order \(--update-order\) 3 is not one of 0 \(stop-first\), 1 \(start-first\)/);
  t.match(refusal({ ...serviceSpec('a'), update: { ...UpdateConfig.create(), parallelism: -1 } }), /update\.parallelism \(--update-parallelism\) must be a whole number/);
  t.match(u({}, { delay: { seconds: -1 } }), /rollback\.delay \(--rollback-delay\) must not be negative/);
  t.match(u({}, { failureAction: UpdateFailureAction.ROLLBACK }), /rollback\.failure_action \(--rollback-failure-action\) must be pause or continue/);
});

t.test('endpoint: mode, ports, duplicates, dnsrr with the routing mesh', async (t) => {
  const e = (endpoint: Part<ServiceSpec['endpoint']>) => refusal(serviceSpec('a', { endpoint }));
  t.equal(e({ mode: EndpointMode.VIP, ports: [{ targetPort: 80, publishedPort: 8080 }, { targetPort: 80, publishedPort: 8080, protocol: PortProtocol.UDP }, { targetPort: 443 }] }), '');
  t.match(e({ mode: 4 as EndpointMode }), /endpoint\.mode \(--endpoint-mode\) 4 is not one of 0 \(vip\), 1 \(dnsrr\)/);
  t.match(e({ ports: [{ targetPort: 0 }] }), /endpoint\.ports\[0\]\.target_port \(--publish\) must be 1 to 65535, not 0/);
  t.match(e({ ports: [{ targetPort: 70000 }] }), /target_port \(--publish\) must be 1 to 65535, not 70000/);
  t.match(e({ ports: [{ targetPort: 80, publishedPort: 65536 }] }), /published_port \(--publish\) must be 0 \(any free port\) to 65535, not 65536/);
  t.match(e({ ports: [{ targetPort: 80, protocol: 9 as PortProtocol }] }), /endpoint\.ports\[0\]\.protocol 9 is not one of 0 \(tcp\), 1 \(udp\), 2 \(sctp\)/);
  t.match(e({ ports: [{ targetPort: 80, publishedPort: 8080 }, { targetPort: 81, publishedPort: 8080 }] }), /published port 8080\/tcp is given more than once/);
  t.equal(e({ ports: [{ targetPort: 80 }, { targetPort: 81 }] }), '', 'published port 0 (any) may repeat');
  t.match(e({ mode: EndpointMode.DNSRR, ports: [{ targetPort: 80, publishedPort: 8080 }] }), /ingress mode \(the routing mesh\) can't be used with --endpoint-mode dnsrr/);
  t.equal(e({ mode: EndpointMode.DNSRR, ports: [{ targetPort: 80, publishedPort: 8080, publishMode: PublishMode.HOST }] }), '', 'dnsrr with host-mode ports is fine');
});

t.test('every problem is reported at once', async (t) => {
  const msg = refusal(
    ServiceSpec.create({
      annotations: { name: '-x' },
      task: { container: { image: '' }, restart: { delay: { seconds: -1 } } },
      replicated: { replicas: 1 },
      update: { maxFailureRatio: 2 },
    }),
  );
  t.match(msg, /^invalid service spec: /);
  for (const part of ['service name "-x"', 'task.container.image is required', 'task.restart.delay', 'update.max_failure_ratio']) t.ok(msg.includes(part), part);
});

t.test('a spec that went over the wire validates the same', async (t) => {
  const sent = ServiceSpec.create({ annotations: { name: 'g' }, task: { container: { image: 'busybox', env: ['A=1'] } }, global: {}, endpoint: { ports: [{ targetPort: 80, publishedPort: 8080 }] } });
  const received = ServiceSpec.decode(ServiceSpec.encode(sent));
  const out = validateServiceSpec(received);
  t.ok(out.global !== undefined, 'global survives the trip');
  t.equal(out.replicated, undefined, 'no replicated mode is added to a global service');
  const bad = ServiceSpec.decode(ServiceSpec.encode(withContainer('a', { env: ['=x'] })));
  t.match(refusal(bad), /env\[0\] "=x" is invalid/);
});
