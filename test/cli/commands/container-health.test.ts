/**
 * Health checks of standalone containers against a real tsswarmd: `run --health-*`, the status in
 * `ps` and `inspect`, probe timeouts, the image's check switched off, and the monitor carrying on
 * after the daemon is killed and started again.
 */
import t from 'tap';
import { testDaemon, type TestDaemon } from '../../helpers/daemon.js';

const d = await testDaemon(t);
const stepTimeoutMs = 15_000;

interface Health {
  Status: string;
  FailingStreak: number;
  Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }>;
}

async function health(daemon: TestDaemon, name: string): Promise<Health | undefined> {
  const r = await daemon.cli('container', 'inspect', name);
  if (r.code !== 0) throw new Error(`inspect ${name}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as Array<{ State: { Health?: Health } }>)[0]?.State.Health;
}

/** Waits for the container's health status; returns the inspect Health at that moment. */
async function untilStatus(name: string, status: string): Promise<Health> {
  const deadline = Date.now() + stepTimeoutMs;
  let last: Health | undefined;
  for (;;) {
    last = await health(d, name);
    if (last?.Status === status) return last;
    if (Date.now() > deadline) throw new Error(`${name}: not ${status} within ${stepTimeoutMs} ms (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function psLine(name: string): Promise<string> {
  const ps = await d.cli('ps');
  return ps.stdout.split('\n').find((l) => l.trimEnd().endsWith(` ${name}`)) ?? '';
}

t.test('a failing --health-cmd goes starting → unhealthy; ps and inspect say so', async (t) => {
  t.teardown(() => d.cli('container', 'rm', '-f', 'sick').then(() => undefined));
  // Failures inside the 6 s start period (long enough for slow CLI calls on a busy machine) do not
  // count: it stays starting, then 2 failures make it unhealthy.
  const run = await d.cli(
    'run', '-d', '--name', 'sick', '--health-cmd', 'test -f /tmp/ok', '--health-interval', '200ms', '--health-retries', '2',
    '--health-start-period', '6s', '--health-start-interval', '200ms', 'busybox', 'sleep', '300',
  );
  t.equal(run.code, 0, run.stderr);
  const first = await health(d, 'sick');
  t.equal(first?.Status, 'starting', 'starting inside the start period');
  t.equal(first?.FailingStreak, 0, 'failures in the start period are not counted');
  t.ok((first?.Log.length ?? 0) >= 1, 'but they are logged');
  t.match(await psLine('sick'), /Up .*\(health: starting\)/);
  const h = await untilStatus('sick', 'unhealthy');
  const startedAt = (JSON.parse((await d.cli('container', 'inspect', 'sick')).stdout) as Array<{ State: { StartedAt: string } }>)[0]?.State.StartedAt ?? '';
  const firstCounted = h.Log.find((e) => Date.parse(e.Start) - Date.parse(startedAt) >= 6_000);
  t.ok(firstCounted !== undefined, 'the counted failures came after the start period');
  t.ok(h.FailingStreak >= 2, `unhealthy after --health-retries failures (streak ${h.FailingStreak})`);
  t.ok(h.Log.length >= 2 && h.Log.length <= 5, 'the last results, at most 5');
  t.ok(h.Log.every((e) => e.ExitCode === 1), "the probe's exit code");
  t.match(await psLine('sick'), /Up .*\(unhealthy\)/);
  const doc = JSON.parse((await d.cli('container', 'inspect', 'sick')).stdout) as Array<{ Config: { Healthcheck: { Test: string[]; Interval: number; Retries: number } } }>;
  t.same(doc[0]?.Config.Healthcheck.Test, ['CMD-SHELL', 'test -f /tmp/ok']);
  t.equal(doc[0]?.Config.Healthcheck.Interval, 200e6, 'nanoseconds, as docker');
  t.equal(doc[0]?.Config.Healthcheck.Retries, 2);
});

t.test('a passing check makes it healthy; output and exit code are logged', async (t) => {
  t.teardown(() => d.cli('container', 'rm', '-f', 'fine').then(() => undefined));
  const run = await d.cli('run', '-d', '--name', 'fine', '--health-cmd', 'cat /tmp/ok', '--health-interval', '200ms', '--health-retries', '50', 'busybox', 'sleep', '300');
  t.equal(run.code, 0, run.stderr);
  await new Promise((r) => setTimeout(r, 700));
  t.equal((await health(d, 'fine'))?.Status, 'starting', 'failures below the retries keep it starting');
  t.equal((await d.cli('exec', 'fine', 'sh', '-c', 'echo all good > /tmp/ok')).code, 0);
  const h = await untilStatus('fine', 'healthy');
  t.equal(h.FailingStreak, 0);
  t.equal(h.Log.at(-1)?.ExitCode, 0);
  t.equal(h.Log.at(-1)?.Output, 'all good\n', 'the probe output, stdout and stderr');
  t.match(await psLine('fine'), /Up .*\(healthy\)/);
});

t.test('a probe that runs past --health-timeout is killed and counts as a failure', async (t) => {
  t.teardown(() => d.cli('container', 'rm', '-f', 'slow').then(() => undefined));
  const run = await d.cli('run', '-d', '--name', 'slow', '--health-cmd', 'sleep 30', '--health-interval', '200ms', '--health-timeout', '300ms', '--health-retries', '2', 'busybox', 'sleep', '300');
  t.equal(run.code, 0, run.stderr);
  const h = await untilStatus('slow', 'unhealthy');
  t.equal(h.Log.at(-1)?.ExitCode, -1);
  t.match(h.Log.at(-1)?.Output ?? '', /exceeded timeout/);
  const took = Date.parse(h.Log.at(-1)?.End ?? '') - Date.parse(h.Log.at(-1)?.Start ?? '');
  t.ok(took < 5_000, `the 30 s probe was cut short (${took} ms)`);
  // Probes run back to back: at most the one under way may be seen, never a pile of killed ones.
  for (let i = 0; i < 3; i++) {
    const top = await d.cli('container', 'top', 'slow');
    const lines = top.stdout.split('\n');
    t.ok(lines.some((l) => /\ssleep 300\s*$/.test(l)), 'top lists the container process');
    const probes = lines.filter((l) => /\ssleep 30\s*$/.test(l)).length;
    t.ok(probes <= 1, `${probes} probe process(es) in the container`);
  }
  t.ok(h.FailingStreak >= 2);
});

t.test('--no-healthcheck: no check, no health in ps; conflicting flags are refused', async (t) => {
  t.teardown(() => d.cli('container', 'rm', '-f', 'plain').then(() => undefined));
  t.equal((await d.cli('run', '-d', '--name', 'plain', '--no-healthcheck', 'busybox', 'sleep', '300')).code, 0);
  t.equal(await health(d, 'plain'), undefined);
  t.notMatch(await psLine('plain'), /health/);
  const bad = await d.cli('run', '--rm', '--no-healthcheck', '--health-cmd', 'true', 'busybox', 'true');
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--no-healthcheck conflicts with --health-\* options/);
  const dur = await d.cli('run', '--rm', '--health-interval', '10x', 'busybox', 'true');
  t.equal(dur.code, 2);
  t.match(dur.stderr, /--health-interval: invalid duration "10x"/);
});

t.test('the health monitor carries on after tsswarmd is killed and started again', async (t) => {
  t.teardown(() => d.cli('container', 'rm', '-f', 'lasting').then(() => undefined));
  const run = await d.cli('run', '-d', '--name', 'lasting', '--health-cmd', 'test -f /tmp/ok', '--health-interval', '200ms', '--health-retries', '2', 'busybox', 'sh', '-c', 'touch /tmp/ok; sleep 300');
  t.equal(run.code, 0, run.stderr);
  await untilStatus('lasting', 'healthy');
  await d.kill();
  await d.restart();
  // The old socket file is there until the new daemon replaces it: wait until it answers.
  const deadline = Date.now() + stepTimeoutMs;
  while ((await d.cli('ps')).code !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  t.equal((await health(d, 'lasting'))?.Status, 'healthy', 'the status is kept across the restart');
  t.equal((await d.cli('exec', 'lasting', 'rm', '/tmp/ok')).code, 0);
  const h = await untilStatus('lasting', 'unhealthy');
  t.ok(h.FailingStreak >= 2, `probes run again after the restart (streak ${h.FailingStreak})`);
});
