import t from 'tap';
import { buildOciSpec, toOciResources } from '../../../worker/executor/oci-spec.js';
import { validateContainerConfig, type ContainerConfig } from '../../../worker/executor/container-config.js';
import { cloneNamespaceFlags, defaultSeccompProfile } from '../../../worker/executor/seccomp-profile.js';

const base: ContainerConfig = {
  id: 'c1',
  name: 'web',
  args: ['httpd', '-f'],
  env: ['A=1'],
  workingDir: '/srv',
  user: '',
  hostname: 'web-1',
  labels: { tier: 'front' },
  mounts: [
    { type: 'bind', source: '/data', target: '/data', readOnly: true },
    { type: 'tmpfs', source: '', target: '/scratch', readOnly: false, tmpfsSizeBytes: 1048576, tmpfsMode: 0o1777 },
  ],
  resources: { memoryBytes: 64 * 1024 * 1024, nanoCpus: 500_000_000, pidsLimit: 100, cpuShares: 512 },
  readOnlyRootfs: true,
  stopSignal: 'SIGTERM',
  stopGracePeriodMs: 10_000,
};

t.test('the spec carries the config, docker defaults and limits', async (t) => {
  const spec = buildOciSpec(base, { uid: 1000, gid: 1000 }, { rootfs: '/r', cgroupsPath: '/tsswarm/c1' });
  t.same(spec.process.args, ['httpd', '-f']);
  t.ok(spec.process.env.some((e) => e.startsWith('PATH=')), 'a default PATH is added');
  t.ok(spec.process.env.includes('HOSTNAME=web-1'));
  t.equal(spec.process.cwd, '/srv');
  t.same(spec.process.user, { uid: 1000, gid: 1000 });
  t.equal(spec.process.noNewPrivileges, true);
  t.equal(spec.process.capabilities.bounding.length, 14, "docker's 14 default capabilities");
  t.notOk(spec.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
  t.same(spec.root, { path: '/r', readonly: true });
  t.same(spec.linux.namespaces.map((n) => n.type), ['pid', 'network', 'ipc', 'uts', 'mount']);
  t.equal(spec.linux.cgroupsPath, '/tsswarm/c1');
  t.same(spec.linux.resources.memory, { limit: 64 * 1024 * 1024 });
  t.same(spec.linux.resources.cpu, { shares: 512, quota: 50_000, period: 100_000 });
  t.same(spec.linux.resources.pids, { limit: 100 });
  t.ok(spec.linux.maskedPaths.includes('/proc/kcore'));
  t.ok(spec.linux.readonlyPaths.includes('/proc/sys'));
  const data = spec.mounts.find((m) => m.destination === '/data');
  t.same(data?.options, ['rbind', 'ro']);
  const scratch = spec.mounts.find((m) => m.destination === '/scratch');
  t.same(scratch?.options, ['nosuid', 'nodev', 'noexec', 'size=1048576', 'mode=1777']);
  t.equal(spec.annotations['io.tsswarm.label.tier'], 'front');
});

t.test('a volume mount binds the data folder the engine prepared for it', async (t) => {
  const config = { ...base, mounts: [{ type: 'volume' as const, source: 'pgdata', target: '/var/lib/db', readOnly: false }, { type: 'volume' as const, source: 'pgdata', target: '/ro', readOnly: true }] };
  const spec = buildOciSpec(config, { uid: 0, gid: 0 }, { rootfs: '/r', cgroupsPath: '/p', volumePaths: new Map([['pgdata', '/data/volumes/pgdata/_data']]) });
  t.same(spec.mounts.filter((m) => m.destination === '/var/lib/db' || m.destination === '/ro'), [
    { destination: '/var/lib/db', type: 'bind', source: '/data/volumes/pgdata/_data', options: ['rbind', 'rw'] },
    { destination: '/ro', type: 'bind', source: '/data/volumes/pgdata/_data', options: ['rbind', 'ro'] },
  ]);
  t.throws(() => buildOciSpec(config, { uid: 0, gid: 0 }, { rootfs: '/r', cgroupsPath: '/p' }), /volume pgdata at \/var\/lib\/db was not prepared/, 'a bug, not user input');
});

t.test('a given network namespace is joined instead of a new one', async (t) => {
  const spec = buildOciSpec({ ...base, netnsPath: '/run/netns/x' }, { uid: 0, gid: 0 }, { rootfs: '/r', cgroupsPath: '/p' });
  t.same(spec.linux.namespaces[1], { type: 'network', path: '/run/netns/x' });
});

t.test('no limits, no resource sections', async (t) => {
  t.same(toOciResources({}), { devices: [{ allow: false, access: 'rwm' }] });
});

t.test('seccomp: deny by default, clone without namespace flags, dangerous calls absent', async (t) => {
  const p = defaultSeccompProfile();
  t.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
  const allowed = new Set(p.syscalls.filter((s) => s.action === 'SCMP_ACT_ALLOW' && !s.args).flatMap((s) => s.names));
  for (const bad of ['mount', 'umount2', 'reboot', 'kexec_load', 'init_module', 'bpf', 'unshare', 'setns', 'keyctl', 'clock_settime', 'swapon', 'io_uring_setup']) {
    t.notOk(allowed.has(bad), `${bad} is not allowed`);
  }
  for (const ok of ['read', 'write', 'execve', 'futex', 'epoll_wait', 'openat']) t.ok(allowed.has(ok), `${ok} is allowed`);
  const clone = p.syscalls.find((s) => s.names.includes('clone'));
  t.same(clone?.args, [{ index: 0, value: cloneNamespaceFlags, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
});

t.test('validation refuses what runc would refuse or makes no sense', async (t) => {
  t.doesNotThrow(() => validateContainerConfig(base));
  const bad: [Partial<ContainerConfig>, RegExp][] = [
    [{ args: [] }, /no command/],
    [{ hostname: 'bad_host' }, /invalid hostname/],
    [{ workingDir: 'rel' }, /must be absolute/],
    [{ env: ['NOEQUALS'] }, /invalid environment entry/],
    [{ resources: { memoryBytes: 1024 } }, /below the minimum/],
    [{ resources: { pidsLimit: 0 } }, /pids-limit/],
    [{ stopSignal: 'sig term' }, /invalid stop signal/],
    [{ mounts: [{ type: 'bind', source: 'rel', target: '/x', readOnly: false }] }, /mount source/],
    [{ mounts: [{ type: 'volume', source: '/abs', target: '/x', readOnly: false }] }, /invalid volume name/],

  ];
  for (const [patch, message] of bad) t.throws(() => validateContainerConfig({ ...base, ...patch }), { code: 'EINVAL', message }, String(message));
});
