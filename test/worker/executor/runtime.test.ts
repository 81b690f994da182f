/**
 * The executor for real: runc under conmon, namespaces, cgroup limits, security defaults, logs and
 * exit codes, stop and remove, and containers that outlive the process that made them.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { newId } from '../../../lib/ids.js';
import { controllerPath, removeCgroupTree } from '../../../lib/cgroups.js';
import { unmountBelow } from '../../../lib/mounts.js';
import { parseK8sLog } from '../../../worker/executor/k8s-log.js';
import { Runtime } from '../../../worker/executor/runtime.js';
import type { ContainerConfig } from '../../../worker/executor/container-config.js';
import { makeBusyboxRootfs } from '../../helpers/busybox-rootfs.js';
import { tempDir, type Teardown } from '../../helpers/temp-dir.js';

const waitMs = 20_000;

async function setup(t: Teardown): Promise<{ runtime: Runtime; rootfs: string; cgroupParent: string; dataDir: string; runDir: string }> {
  const base = await tempDir(t, 'exec');
  const rootfs = await makeBusyboxRootfs(join(base, 'image'));
  const cgroupParent = `tsswarm-test-${newId().slice(0, 8)}`;
  const dataDir = join(base, 'data');
  const runDir = join(base, 'run');
  await mkdir(dataDir);
  await mkdir(runDir);
  const runtime = new Runtime({ dataDir, runDir, cgroupParent });
  t.teardown(async () => {
    for (const c of await runtime.list()) await runtime.remove(c.record.config.id, true).catch(() => undefined);
    await unmountBelow(base);
    await removeCgroupTree(cgroupParent);
  });
  return { runtime, rootfs, cgroupParent, dataDir, runDir };
}

function config(args: string[], extra: Partial<ContainerConfig> = {}): ContainerConfig {
  const id = newId();
  return {
    id,
    name: `c-${id.slice(0, 8)}`,
    args,
    env: ['GREETING=hi'],
    workingDir: '/',
    user: '',
    hostname: id.slice(0, 12),
    labels: {},
    mounts: [],
    resources: {},
    readOnlyRootfs: false,
    stopSignal: 'SIGTERM',
    stopGracePeriodMs: 10_000,
    ...extra,
  };
}

async function run(runtime: Runtime, rootfs: string, c: ContainerConfig): Promise<{ exitCode: number; oomKilled: boolean; stdout: string; stderr: string }> {
  await runtime.create({ config: c, image: 'busybox', imageId: 'test', lowerDirs: [rootfs], autoRemove: false });
  await runtime.start(c.id);
  const exit = await runtime.wait(c.id, waitMs);
  const { lines } = parseK8sLog(readFileSync(runtime.logPath(c.id), 'utf8'));
  const text = (s: string): string => lines.filter((l) => l.stream === s).map((l) => `${l.text}\n`).join('');
  return { exitCode: exit.exitCode, oomKilled: exit.oomKilled, stdout: text('stdout'), stderr: text('stderr') };
}

t.test('echo hi: the output is logged and the exit code reported', async (t) => {
  const { runtime, rootfs } = await setup(t);
  const r = await run(runtime, rootfs, config(['sh', '-c', 'echo $GREETING; echo oops >&2; exit 3']));
  t.equal(r.stdout, 'hi\n');
  t.equal(r.stderr, 'oops\n');
  t.equal(r.exitCode, 3);
  t.equal(r.oomKilled, false);
});

t.test('namespaces: PID 1 and only the container processes, its own hostname, an empty network', async (t) => {
  const { runtime, rootfs } = await setup(t);
  const c = config(['sh', '-c', 'ps -o pid,args; hostname; cat /proc/net/dev | wc -l']);
  const r = await run(runtime, rootfs, c);
  const rows = r.stdout.trim().split('\n');
  t.match(rows[1] ?? '', /^\s*1 sh -c/, 'the shell is PID 1');
  t.equal(rows.filter((l) => /^\s*\d+ /.test(l)).length, 2, 'only sh and ps are visible');
  t.equal(rows[rows.length - 2], c.hostname, 'hostname is the container one');
  t.equal(rows[rows.length - 1], '3', 'only the loopback interface exists');
});

t.test('security: docker default capabilities, no-new-privileges, seccomp, masked paths', async (t) => {
  const { runtime, rootfs } = await setup(t);
  const r = await run(
    runtime,
    rootfs,
    config(['sh', '-c', 'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/1/status; wc -c < /proc/timer_list; ls /proc/acpi | wc -l; mount -t tmpfs x /mnt 2>&1; unshare -n true 2>&1; echo 1 > /proc/sys/kernel/panic 2>&1; echo end']),
  );
  const out = r.stdout + r.stderr;
  t.comment(out);
  t.match(out, /CapEff:\s+00000000a80425fb/, 'exactly docker default capability set');
  t.match(out, /NoNewPrivs:\s+1/);
  t.match(out, /Seccomp:\s+2/, 'a seccomp filter is active');
  t.match(out, /Seccomp:\s+2\n0\n0\n/, '/proc/timer_list and /proc/acpi are masked (empty)');
  t.match(out, /mount: .*(denied|not permitted)/i, 'mount is refused');
  t.match(out, /unshare: .*(denied|not permitted)/i, 'new namespaces are refused');
  t.match(out, /Read-only file system/, '/proc/sys is read-only');
  t.match(out, /end$/m);
});

t.test('user: by name from the image, with supplementary groups; unknown names refused', async (t) => {
  const { runtime, rootfs } = await setup(t);
  const r = await run(runtime, rootfs, config(['id'], { user: 'app' }));
  t.comment(r.stdout, r.stderr);
  t.match(r.stdout, /uid=1000\(app\) gid=1000\(app\) groups=50\(staff\)/, 'uid, gid and the supplementary group from /etc/group');
  const bad = config(['id'], { user: 'ghost' });
  await t.rejects(runtime.create({ config: bad, image: 'busybox', imageId: 'test', lowerDirs: [rootfs], autoRemove: false }), {
    code: 'EINVAL',
    message: /unable to find user ghost/,
  });
  t.same(await runtime.list().then((l) => l.filter((c) => c.record.config.id === bad.id)), [], 'nothing half-made');
});

t.test('a missing executable is a clear error and leaves nothing behind', async (t) => {
  const { runtime, rootfs, dataDir } = await setup(t);
  const c = config(['/bin/nope']);
  await t.rejects(runtime.create({ config: c, image: 'busybox', imageId: 'test', lowerDirs: [rootfs], autoRemove: false }), {
    code: 'ECMDNOTFOUND',
    message: /executable "\/bin\/nope" not found in the image/,
  });
  t.notOk(existsSync(join(dataDir, 'containers', c.id)), 'no container folder remains');
  t.notMatch(readFileSync('/proc/self/mountinfo', 'utf8'), c.id, 'no mount remains');
});

t.test('memory limit: a hog is OOM-killed with exit code 137', async (t) => {
  const { runtime, rootfs } = await setup(t);
  const r = await run(runtime, rootfs, config(['sh', '-c', 'x=0123456789abcdef; while true; do x=$x$x; done'], { resources: { memoryBytes: 16 * 1024 * 1024 } }));
  t.equal(r.exitCode, 137);
  t.equal(r.oomKilled, true);
});

t.test('pids limit: a fork loop is stopped at 20 processes', async (t) => {
  const { runtime, rootfs, cgroupParent } = await setup(t);
  const c = config(['sh', '-c', 'for i in $(seq 60); do sleep 5 & done'], { resources: { pidsLimit: 20 } });
  await runtime.create({ config: c, image: 'busybox', imageId: 'test', lowerDirs: [rootfs], autoRemove: false });
  await runtime.start(c.id);
  await runtime.wait(c.id, waitMs);
  const dir = await controllerPath('pids', `${cgroupParent}/${c.id}`);
  t.equal(readFileSync(join(dir, 'pids.max'), 'utf8').trim(), '20');
  const denied = Number(/max (\d+)/.exec(readFileSync(join(dir, 'pids.events'), 'utf8'))?.[1]);
  t.ok(denied > 0, `the kernel refused ${denied} forks`);
  t.match(readFileSync(runtime.logPath(c.id), 'utf8'), /can't fork|Resource temporarily unavailable/, 'the container saw its forks fail');
  await runtime.remove(c.id, true);
});

t.test('cpus 0.5: a busy loop gets at most about half a core', async (t) => {
  const { runtime, rootfs, cgroupParent } = await setup(t);
  const c = config(['sh', '-c', 'while true; do :; done'], { resources: { nanoCpus: 500_000_000 } });
  await runtime.create({ config: c, image: 'busybox', imageId: 'test', lowerDirs: [rootfs], autoRemove: false });
  await runtime.start(c.id);
  const usageFile = join(await controllerPath('cpuacct', `${cgroupParent}/${c.id}`), 'cpuacct.usage');
  const usage = (): number => Number(readFileSync(usageFile, 'utf8'));
  await new Promise((r) => setTimeout(r, 300));
  const u0 = usage();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, 2_000));
  const share = (usage() - u0) / Number(process.hrtime.bigint() - t0);
  t.ok(share <= 0.55 && share > 0.3, `CPU share ${share.toFixed(3)} of one core`);
  await runtime.remove(c.id, true);
});

t.test('stop: signal, grace period, then SIGKILL; remove refuses a running container without force', async (t) => {
  const { runtime, rootfs, cgroupParent, dataDir } = await setup(t);
  const c = config(['sleep', '300'], { stopGracePeriodMs: 300 });
  await runtime.create({ config: c, image: 'busybox', imageId: 'test', lowerDirs: [rootfs], autoRemove: false });
  await runtime.start(c.id);
  t.equal((await runtime.inspect(c.id)).status, 'running');
  await t.rejects(runtime.remove(c.id, false), { code: 'ECONFLICT', message: /it is running/ });
  t.equal((await runtime.inspect(c.id)).status, 'running', 'the refused remove changed nothing');
  const started = Date.now();
  const exit = await runtime.stop(c.id);
  t.equal(exit?.exitCode, 137, 'sleep as PID 1 ignores SIGTERM, so it was killed');
  t.ok(Date.now() - started < 5_000, 'within the grace period plus a little');
  await runtime.remove(c.id, false);
  t.notOk(existsSync(join(dataDir, 'containers', c.id)));
  t.notOk(existsSync(`/sys/fs/cgroup/memory/${cgroupParent}/${c.id}`), 'the cgroup is gone');
});

t.test('a container and its logs outlive the process that started it (kill -9)', async (t) => {
  const { runtime, rootfs, dataDir, runDir, cgroupParent } = await setup(t);
  const c = config(['sh', '-c', 'for i in $(seq 1 30); do echo line $i; sleep 0.1; done']);
  const script = `
    import { Runtime } from ${JSON.stringify(new URL('../../../worker/executor/runtime.ts', import.meta.url).pathname)};
    const r = new Runtime(${JSON.stringify({ dataDir, runDir, cgroupParent })});
    const c = JSON.parse(process.argv[1]);
    await r.create({ config: c, image: 'busybox', imageId: 'test', lowerDirs: [${JSON.stringify(rootfs)}], autoRemove: false });
    await r.start(c.id);
    console.log('started');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', script, JSON.stringify(c)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => (String(d).includes('started') ? resolve() : undefined));
    child.on('exit', () => reject(new Error('starter exited early')));
  });
  child.kill('SIGKILL');
  t.equal((await runtime.inspect(c.id)).status, 'running', 'still running after its starter died');
  const exit = await runtime.wait(c.id, waitMs);
  t.equal(exit.exitCode, 0);
  const { lines } = parseK8sLog(readFileSync(runtime.logPath(c.id), 'utf8'));
  t.same(
    lines.map((l) => l.text),
    Array.from({ length: 30 }, (_, i) => `line ${i + 1}`),
    'every line, in order',
  );
  t.ok(lines.every((l) => Number.isFinite(l.timeMs)), 'every line has a timestamp');
});
