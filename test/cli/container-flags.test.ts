import t from 'tap';
import { containerPorts, createRequest, envEntries, networkConfigs, parseMount, parseVolume } from '../../cli/container-flags.js';
import { PortProtocol, PublishMode } from '../../proto/index.js';

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

const noVolume = { volumeNoCopy: false, volumeDriver: '', volumeDriverOptions: {}, volumeLabels: {} };

t.test('-v: bind mounts, named volumes, anonymous volumes', async (t) => {
  t.same(parseVolume('/data:/srv:ro'), { type: 'bind', source: '/data', target: '/srv', readOnly: true, tmpfsSizeBytes: 0, tmpfsMode: 0, ...noVolume });
  t.same(parseVolume('data:/srv'), { type: 'volume', source: 'data', target: '/srv', readOnly: false, tmpfsSizeBytes: 0, tmpfsMode: 0, ...noVolume });
  t.same(parseVolume('data:/srv:ro,nocopy'), { type: 'volume', source: 'data', target: '/srv', readOnly: true, tmpfsSizeBytes: 0, tmpfsMode: 0, ...noVolume, volumeNoCopy: true });
  t.same(parseVolume('/cache'), { type: 'volume', source: '', target: '/cache', readOnly: false, tmpfsSizeBytes: 0, tmpfsMode: 0, ...noVolume }, 'one path: an anonymous volume');
  t.throws(() => parseVolume('./rel:/srv'), { code: 'EINVAL', message: /"\.\/rel" is not a valid volume name .*absolute path/ });
  t.throws(() => parseVolume('a:/srv'), { message: /not a valid volume name/ }, 'one character is too short, as docker');
  t.throws(() => parseVolume('data'), { message: /want SOURCE:TARGET/ });
  t.throws(() => parseVolume('data:rel'), { message: /must be an absolute path/ });
  t.throws(() => parseVolume('/a:/b:rx'), { message: /invalid volume mode "rx"/ });
  t.throws(() => parseVolume('/a:/b:nocopy'), { message: /invalid volume mode "nocopy"/ }, 'nocopy is for volumes');
  t.throws(() => parseVolume('v1:/b:ro,rw'), { message: /not both/ });
});

t.test('--mount: bind, tmpfs and volume with docker\'s fields', async (t) => {
  t.same(parseMount('type=tmpfs,target=/scratch,tmpfs-size=1m,tmpfs-mode=1777'), {
    type: 'tmpfs',
    source: '',
    target: '/scratch',
    readOnly: false,
    tmpfsSizeBytes: 1024 * 1024,
    tmpfsMode: 0o1777,
    ...noVolume,
  });
  t.equal(parseMount('type=bind,src=/a,dst=/b,readonly').readOnly, true);
  t.equal(parseMount('type=bind,src=/a,dst=/b,readonly=false').readOnly, false);
  t.same(parseMount('type=volume,source=data,target=/data,readonly,volume-nocopy,volume-label=team=a,volume-opt=type=tmpfs,volume-opt=device=tmpfs,"volume-opt=o=size=64m,uid=1000"'), {
    type: 'volume',
    source: 'data',
    target: '/data',
    readOnly: true,
    tmpfsSizeBytes: 0,
    tmpfsMode: 0,
    volumeNoCopy: true,
    volumeDriver: '',
    volumeDriverOptions: { type: 'tmpfs', device: 'tmpfs', o: 'size=64m,uid=1000' },
    volumeLabels: { team: 'a' },
  }, 'a quoted field keeps its commas, as docker\'s CSV');
  t.same(parseMount('target=/anon'), { type: 'volume', source: '', target: '/anon', readOnly: false, tmpfsSizeBytes: 0, tmpfsMode: 0, ...noVolume }, 'type defaults to volume; no source: anonymous');
  t.equal(parseMount('type=volume,src=v1,dst=/x,volume-driver=local').volumeDriver, 'local');
  t.throws(() => parseMount('type=bind,src=rel,dst=/b'), { message: /absolute source/ });
  t.throws(() => parseMount('type=tmpfs,target=/x,size=1m'), { message: /unknown --mount field "size"/ });
  t.throws(() => parseMount('type=npipe,target=/x'), { message: /type=npipe is not supported/ });
  t.throws(() => parseMount('type=volume,source=/abs,target=/x'), { message: /"\/abs" is not a valid volume name/ });
  t.throws(() => parseMount('type=bind,source=/a,target=/x,volume-nocopy'), { message: /volume-nocopy is only for type=volume/ });
  t.throws(() => parseMount('type=volume,target=/x,tmpfs-size=1m'), { message: /tmpfs-size is only for type=tmpfs/ });
  t.throws(() => parseMount('type=volume,source=v1,target=/x,volume-opt==x'), { message: /want KEY=VALUE/ });
  t.throws(() => parseMount('type=volume,source=v1,target=/x,volume-nocopy=maybe'), { message: /use true or false/ });
  t.throws(() => parseMount('type=volume,source=v1,target=/x,"volume-opt=o=a'), { message: /unterminated quote/ });
});

t.test('--network and --network-alias: attachable swarm networks, aliases on each', async (t) => {
  t.same(networkConfigs([], []), [], 'no --network: none');
  t.same(networkConfigs(['none'], []), [], '--network none is the default');
  const many = Array.from({ length: 33 }, (_, i) => `a${i}`);
  t.throws(() => networkConfigs(['front'], many), { message: 'at most 32 --network-alias values, not 33' });
  t.equal(networkConfigs(['front'], many.slice(0, 32))[0]?.aliases.length, 32, '32 aliases are fine');
  t.same(networkConfigs(['front', 'back'], ['db', 'primary']), [
    { target: 'front', aliases: ['db', 'primary'] },
    { target: 'back', aliases: ['db', 'primary'] },
  ]);
  t.same(createRequest('busybox', [], { network: ['front'], networkAlias: ['www'] }, {}).networks, [{ target: 'front', aliases: ['www'] }], 'run passes them in the request');
  t.same(createRequest('busybox', [], {}, {}).networks, [], 'and none without --network');
});

t.test('--network and --network-alias refusals', async (t) => {
  for (const n of ['host', 'bridge', 'default']) {
    t.throws(() => networkConfigs([n], []), {
      code: 'EINVAL',
      message: `--network ${n} is not supported: use an attachable swarm network (tsswarm network create --attachable NAME) or leave --network out`,
    });
  }
  t.throws(() => networkConfigs(['none', 'front'], []), { code: 'EINVAL', message: '--network none cannot be combined with other networks' });
  t.throws(() => networkConfigs([''], []), { code: 'EINVAL', message: '--network needs a network name or ID' });
  t.throws(() => networkConfigs(['front', 'front'], []), { code: 'EINVAL', message: 'a network is named twice in --network' });
  t.throws(() => networkConfigs([], ['www']), { code: 'EINVAL', message: '--network-alias needs --network' });
  t.throws(() => networkConfigs(['none'], ['www']), { code: 'EINVAL', message: '--network-alias needs --network' }, 'none has no DNS');
  for (const bad of ['-www', 'a b', 'web/1', 'x'.repeat(64), '']) {
    t.throws(() => networkConfigs(['front'], [bad]), { code: 'EINVAL', message: `--network-alias ${JSON.stringify(bad)} is not a valid DNS name` });
  }
  t.same(networkConfigs(['front'], ['x'.repeat(63), 'a_b.c-d'])[0]?.aliases, ['x'.repeat(63), 'a_b.c-d'], 'up to 63 letters, digits, ".", "-", "_"');
  t.throws(() => createRequest('busybox', [], { network: ['host'] }, {}), { code: 'EINVAL', message: /--network host is not supported/ }, 'run refuses before anything is sent');
});

t.test('-p HOST:CONTAINER[/PROTOCOL]: host-mode ports; no random host port, no host address', async (t) => {
  t.same(containerPorts(['8080:80', '5353:53/udp', '9000-9001:90-91']), [
    { name: '', protocol: PortProtocol.TCP, targetPort: 80, publishedPort: 8080, publishMode: PublishMode.HOST },
    { name: '', protocol: PortProtocol.UDP, targetPort: 53, publishedPort: 5353, publishMode: PublishMode.HOST },
    { name: '', protocol: PortProtocol.TCP, targetPort: 90, publishedPort: 9000, publishMode: PublishMode.HOST },
    { name: '', protocol: PortProtocol.TCP, targetPort: 91, publishedPort: 9001, publishMode: PublishMode.HOST },
  ]);
  t.same(createRequest('busybox', [], { publish: ['8080:80'], network: ['mynet'] }, {}).ports?.map((p) => p?.publishedPort), [8080], 'run -p fills the request');
  t.throws(() => containerPorts(['80']), { message: '-p: "80" needs the host port too (HOST:CONTAINER)' });
  t.throws(() => containerPorts(['127.0.0.1:8080:80']), { message: '-p: "127.0.0.1:8080:80": a host address cannot be given; the port answers on every address of the host' });
  t.throws(() => containerPorts(['published=8080,target=80']), { message: '-p: "published=8080,target=80": use HOST:CONTAINER[/PROTOCOL] for a container' });
  t.throws(() => containerPorts(['8080:80', '8080:81']), { message: '-p: host port 8080 is published twice' });
  t.same(containerPorts(['8080:80', '8080:80/udp']).length, 2, 'tcp and udp on one number are two ports');
  t.throws(() => containerPorts(['70000:80']), { message: /-p/ }, 'out of range');
});
