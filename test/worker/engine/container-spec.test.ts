import t from 'tap';
import { ContainerCreateRequest } from '../../../proto/index.js';
import { containerConfigFor, generatedName, mergeArgs, mergeEnv, validateContainerName } from '../../../worker/engine/container-spec.js';
import type { ImageRuntimeConfig } from '../../../worker/images/image-config.js';

const image: ImageRuntimeConfig = {
  entrypoint: ['/entry.sh'],
  cmd: ['serve', '--port', '80'],
  env: ['PATH=/bin', 'MODE=prod'],
  workingDir: '/app',
  user: 'app',
  exposedPorts: ['80/tcp'],
  stopSignal: 'SIGQUIT',
  labels: { from: 'image', tier: 'x' },
  volumes: [],
};

t.test("entrypoint and cmd merge with docker's rules", async (t) => {
  t.same(mergeArgs({ entrypoint: [], entrypointSet: false, cmd: [] }, image), ['/entry.sh', 'serve', '--port', '80']);
  t.same(mergeArgs({ entrypoint: [], entrypointSet: false, cmd: ['debug'] }, image), ['/entry.sh', 'debug'], 'a command replaces cmd');
  t.same(mergeArgs({ entrypoint: ['sh'], entrypointSet: true, cmd: [] }, image), ['sh'], '--entrypoint drops the image cmd');
  t.same(mergeArgs({ entrypoint: [], entrypointSet: true, cmd: ['ls'] }, image), ['ls'], '--entrypoint "" clears it');
});

t.test('environment: request entries override the image by name', async (t) => {
  t.same(mergeEnv(image.env, ['MODE=dev', 'EXTRA=1']), ['PATH=/bin', 'MODE=dev', 'EXTRA=1']);
  t.throws(() => mergeEnv([], ['bad']), { code: 'EINVAL' });
});

t.test('the rest falls back to the image, then to defaults', async (t) => {
  const c = containerConfigFor(ContainerCreateRequest.create({ image: 'x', labels: { tier: 'front' } }), image, 'abcdefghijklmnopqrstuvwxy', 'n');
  t.equal(c.workingDir, '/app');
  t.equal(c.user, 'app');
  t.equal(c.hostname, 'abcdefghijkl', 'hostname is the short ID');
  t.equal(c.stopSignal, 'SIGQUIT');
  t.equal(c.stopGracePeriodMs, 10_000);
  t.same(c.labels, { from: 'image', tier: 'front' });
  t.same(c.resources, {}, 'no limits unless asked');
  const d = containerConfigFor(
    ContainerCreateRequest.create({ image: 'x', workingDir: '/w', user: '0', hostname: 'h', stopTimeout: { seconds: 2, nanos: 500_000_000 }, stopTimeoutSet: true, memoryBytes: 1 << 26 }),
    image,
    'id',
    'n',
  );
  t.same([d.workingDir, d.user, d.hostname, d.stopGracePeriodMs, d.resources.memoryBytes], ['/w', '0', 'h', 2500, 1 << 26]);
});

t.test('names', async (t) => {
  t.doesNotThrow(() => validateContainerName('web.1_a-b'));
  t.throws(() => validateContainerName('bad name'), { code: 'EINVAL' });
  t.throws(() => validateContainerName('-x'), { code: 'EINVAL' });
  t.match(generatedName('k2j3h4g5f6d7s8a9q0w1e2r3t'), /^[a-z]+_[a-z]+_k2j3$/);
  t.equal(generatedName('k2j3h4g5f6d7s8a9q0w1e2r3t'), generatedName('k2j3h4g5f6d7s8a9q0w1e2r3t'));
});
