/**
 * Task → container request: Docker's names and labels, command/args, limits, mounts, and clear
 * refusals for what this worker cannot run yet.
 */
import t from 'tap';
import { ErrorCode } from '../../../lib/errors.js';
import { MountType, Task } from '../../../proto/index.js';
import { containerRequestFor, taskContainerName } from '../../../worker/tasks/container-request.js';

function task(over: Parameters<typeof Task.create>[0] = {}): Task {
  return Task.create({
    id: 'task1',
    serviceId: 'svc1',
    slot: 2,
    nodeId: 'node1',
    serviceAnnotations: { name: 'web' },
    spec: { container: { image: 'busybox:latest', args: ['sleep', '300'] } },
    ...over,
  });
}

t.test('names: <service>.<slot>.<task>, or <service>.<node>.<task> for global services', async (t) => {
  t.equal(taskContainerName(task()), 'web.2.task1');
  t.equal(taskContainerName(task({ slot: 0 })), 'web.node1.task1');
  t.equal(taskContainerName(task({ annotations: { name: 'web.2.task1' } })), 'web.2.task1');
});

t.test('the request carries the swarm labels, the process, limits and mounts', async (t) => {
  const { request, ignored } = containerRequestFor(
    task({
      spec: {
        container: {
          image: 'busybox:latest',
          command: ['sh', '-c'],
          args: ['echo hi'],
          env: ['A=1'],
          dir: '/tmp',
          user: '1000',
          hostname: 'h1',
          labels: { mine: 'yes', 'com.docker.swarm.task.id': 'forged' },
          mounts: [
            { type: MountType.BIND, source: '/srv', target: '/data', readOnly: true },
            { type: MountType.TMPFS, target: '/scratch', tmpfsOptions: { sizeBytes: 1 << 20, mode: 0o1777 } },
          ],
          stopSignal: 'SIGINT',
          stopGracePeriod: { seconds: 2 },
          readOnly: true,
          init: true,
        },
        resources: { limits: { memoryBytes: 64 << 20, nanoCpus: 5e8, pids: 50 } },
      },
    }),
  );
  t.same(request.labels, {
    mine: 'yes',
    'com.docker.swarm.task': '',
    'com.docker.swarm.task.id': 'task1',
    'com.docker.swarm.task.name': 'web.2.task1',
    'com.docker.swarm.service.id': 'svc1',
    'com.docker.swarm.service.name': 'web',
    'com.docker.swarm.node.id': 'node1',
  });
  t.match(request, {
    name: 'web.2.task1',
    entrypoint: ['sh', '-c'],
    entrypointSet: true,
    cmd: ['echo hi'],
    env: ['A=1'],
    workingDir: '/tmp',
    user: '1000',
    hostname: 'h1',
    memoryBytes: 64 << 20,
    nanoCpus: 5e8,
    pidsLimit: 50,
    readOnly: true,
    stopSignal: 'SIGINT',
    stopTimeout: { seconds: 2 },
    stopTimeoutSet: true,
    autoRemove: false,
  });
  t.same(request.mounts, [
    { type: 'bind', source: '/srv', target: '/data', readOnly: true, tmpfsSizeBytes: 0, tmpfsMode: 0, volumeNoCopy: false, volumeDriver: '', volumeDriverOptions: {}, volumeLabels: {} },
    { type: 'tmpfs', source: '', target: '/scratch', readOnly: false, tmpfsSizeBytes: 1 << 20, tmpfsMode: 0o1777, volumeNoCopy: false, volumeDriver: '', volumeDriverOptions: {}, volumeLabels: {} },
  ]);
  t.same(ignored, ['init']);
});

t.test('args alone replace the image cmd and keep its entrypoint; no grace period means the default', async (t) => {
  const { request } = containerRequestFor(task());
  t.same(request.entrypoint, []);
  t.equal(request.entrypointSet, false);
  t.same(request.cmd, ['sleep', '300']);
  t.equal(request.stopTimeoutSet, false);
});

t.test('a volume mount names the volume and how to create it on this node', async (t) => {
  const { request } = containerRequestFor(
    task({
      spec: {
        container: {
          image: 'x',
          mounts: [
            { type: MountType.VOLUME, source: 'data', target: '/data', readOnly: true, volumeOptions: { noCopy: true, labels: { team: 'a' }, driverConfig: { name: 'local', options: { type: 'tmpfs', device: 'tmpfs' } } } },
            { type: MountType.VOLUME, source: '', target: '/anon' },
          ],
        },
      },
    }),
  );
  t.same(request.mounts, [
    { type: 'volume', source: 'data', target: '/data', readOnly: true, tmpfsSizeBytes: 0, tmpfsMode: 0, volumeNoCopy: true, volumeDriver: 'local', volumeDriverOptions: { type: 'tmpfs', device: 'tmpfs' }, volumeLabels: { team: 'a' } },
    { type: 'volume', source: '', target: '/anon', readOnly: false, tmpfsSizeBytes: 0, tmpfsMode: 0, volumeNoCopy: false, volumeDriver: '', volumeDriverOptions: {}, volumeLabels: {} },
  ]);
});

t.test('what the worker cannot run is refused with a reason', async (t) => {
  t.throws(() => containerRequestFor(task({ spec: { container: { image: 'x', capabilityAdd: ['NET_ADMIN'] } } })), { code: ErrorCode.UNSUPPORTED, message: /capability/ });
  t.throws(() => containerRequestFor(task({ spec: { container: { image: '' } } })), { code: ErrorCode.INVALID_ARGUMENT });
  t.throws(() => containerRequestFor(task({ spec: {} })), { code: ErrorCode.INVALID_ARGUMENT });
});

t.test("the spec's health check goes to the engine (not ignored); none leaves the image's", async (t) => {
  const healthcheck = { test: ['CMD-SHELL', 'test -f /ok'], interval: { seconds: 1, nanos: 0 }, retries: 2 };
  const { request, ignored } = containerRequestFor(task({ spec: { container: { image: 'busybox:latest', args: [], healthcheck } } }));
  t.same(request.healthcheck?.interval, { seconds: 1, nanos: 0 });
  t.same(request.healthcheck?.test, ['CMD-SHELL', 'test -f /ok']);
  t.equal(request.healthcheck?.retries, 2);
  t.same(ignored, [], 'nothing ignored');
  t.equal(containerRequestFor(task()).request.healthcheck, undefined);
});
