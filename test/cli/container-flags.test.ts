import t from 'tap';
import { createRequest, envEntries, parseMount, parseVolume } from '../../cli/container-flags.js';

t.test('run flags become an engine request', async (t) => {
  const r = createRequest('busybox', ['sh', '-c', 'echo'], { name: 'web', env: ['A=1', 'HOME'], memory: '64m', cpus: '0.5', pidsLimit: '20', rm: true, label: ['tier=front', 'flag'], stopTimeout: '3', entrypoint: '' }, { HOME: '/root' });
  t.equal(r.image, 'busybox');
  t.same(r.cmd, ['sh', '-c', 'echo']);
  t.same(r.env, ['A=1', 'HOME=/root'], '-e NAME takes the caller value');
  t.equal(r.memoryBytes, 64 * 1024 * 1024);
  t.equal(r.nanoCpus, 500_000_000);
  t.equal(r.pidsLimit, 20);
  t.equal(r.autoRemove, true);
  t.same(r.labels, { tier: 'front', flag: '' });
  t.same(r.stopTimeout, { seconds: 3, nanos: 0 });
  t.same(r.entrypoint, [], '--entrypoint "" clears the entrypoint');
  t.equal(r.entrypointSet, true);
});

t.test('bad flags are refused before anything is sent', async (t) => {
  t.throws(() => createRequest('busybox', [], { memory: '12XB' }, {}), { code: 'EINVAL', message: /--memory/ });
  t.throws(() => createRequest('busybox', [], { pidsLimit: '0' }, {}), { code: 'EINVAL', message: /--pids-limit/ });
  t.throws(() => createRequest('busybox', [], { stopTimeout: '1.5' }, {}), { code: 'EINVAL', message: /--stop-timeout/ });
  t.throws(() => createRequest('', [], {}, {}), { code: 'EINVAL', message: /image is required/ });
  t.same(envEntries(['UNSET_VAR'], {}), [], 'an unset -e NAME is dropped, as docker does');
  t.throws(() => envEntries(['=x'], {}), { code: 'EINVAL' });
});

t.test('-v and --mount', async (t) => {
  t.same(parseVolume('/data:/srv:ro'), { type: 'bind', source: '/data', target: '/srv', readOnly: true, tmpfsSizeBytes: 0, tmpfsMode: 0 });
  t.throws(() => parseVolume('data:/srv'), { message: /named volumes are not supported yet/ });
  t.throws(() => parseVolume('/data'), { message: /want SOURCE:TARGET/ });
  t.throws(() => parseVolume('/a:/b:rx'), { message: /invalid volume mode/ });
  t.same(parseMount('type=tmpfs,target=/scratch,tmpfs-size=1m,tmpfs-mode=1777'), {
    type: 'tmpfs',
    source: '',
    target: '/scratch',
    readOnly: false,
    tmpfsSizeBytes: 1024 * 1024,
    tmpfsMode: 0o1777,
  });
  t.equal(parseMount('type=bind,src=/a,dst=/b,readonly').readOnly, true);
  t.throws(() => parseMount('type=bind,src=rel,dst=/b'), { message: /absolute source/ });
  t.throws(() => parseMount('type=tmpfs,target=/x,size=1m'), { message: /unknown --mount field "size"/ });
  t.throws(() => parseMount('type=npipe,target=/x'), { message: /not supported yet/ });
});
