/**
 * The health state machine (pure): which check a container gets, streaks, the start period,
 * retries, timeouts, probe delays, the bounded log and output.
 */
import t from 'tap';
import {
  defaultHealthIntervalMs,
  initialHealth,
  maxHealthLogEntries,
  maxHealthOutputBytes,
  nextProbeDelayMs,
  probeArgs,
  recordProbe,
  resolveHealthCheck,
  timedOutResult,
  type HealthCheck,
  type HealthState,
  type ProbeResult,
} from '../../../worker/engine/health.js';

const check: HealthCheck = { test: ['CMD-SHELL', 'test -f /tmp/ok'], intervalMs: 1000, timeoutMs: 500, startPeriodMs: 0, startIntervalMs: 100, retries: 3 };
const started = Date.parse('2026-01-01T00:00:00.000Z');

function probe(atMs: number, exitCode: number, output = ''): ProbeResult {
  return { start: new Date(started + atMs).toISOString(), end: new Date(started + atMs + 10).toISOString(), exitCode, output };
}

/** Runs probes at the given offsets with the given exit codes; the states after each. */
function run(c: HealthCheck, probes: Array<[number, number]>): HealthState[] {
  const out: HealthState[] = [];
  let s = initialHealth();
  for (const [at, code] of probes) {
    s = recordProbe(s, c, probe(at, code), started);
    out.push(s);
  }
  return out;
}

t.test('resolveHealthCheck: the request over the image, docker defaults, NONE disables', async (t) => {
  t.equal(resolveHealthCheck(undefined, undefined), undefined, 'no check anywhere');
  t.equal(resolveHealthCheck({ test: ['NONE'], retries: 0 }, { test: ['CMD', 'true'] }), undefined, '--no-healthcheck beats the image');
  t.equal(resolveHealthCheck(undefined, { test: ['NONE'] }), undefined);
  t.same(resolveHealthCheck(undefined, { test: ['CMD-SHELL', 'curl -f localhost'], intervalNs: 5e9, retries: 2 }), {
    test: ['CMD-SHELL', 'curl -f localhost'],
    intervalMs: 5000,
    timeoutMs: 30_000,
    startPeriodMs: 0,
    startIntervalMs: 5000,
    retries: 2,
  }, "the image's HEALTHCHECK with docker's defaults for the rest");
  t.same(
    resolveHealthCheck({ test: [], interval: { seconds: 0, nanos: 200_000_000 }, retries: 0 }, { test: ['CMD', 'true'], intervalNs: 5e9, timeoutNs: 2e9, retries: 7 }),
    { test: ['CMD', 'true'], intervalMs: 200, timeoutMs: 2000, startPeriodMs: 0, startIntervalMs: 5000, retries: 7 },
    "fields the request leaves at zero come from the image; an empty test inherits the image's",
  );
  t.same(resolveHealthCheck({ test: ['CMD-SHELL', 'x'], retries: 1, startPeriod: { seconds: 2, nanos: 0 } }, undefined)?.startPeriodMs, 2000);
  t.equal(resolveHealthCheck({ test: ['CMD-SHELL', 'x'], retries: 0 }, undefined)?.intervalMs, defaultHealthIntervalMs);
  t.throws(() => resolveHealthCheck({ test: ['SHELL', 'x'], retries: 0 }, undefined), /CMD, CMD-SHELL or NONE/);
  t.throws(() => resolveHealthCheck({ test: ['CMD'], retries: 0 }, undefined), /names no command/);
  t.throws(() => resolveHealthCheck({ test: ['CMD-SHELL', 'a', 'b'], retries: 0 }, undefined), /names no command/);
  t.throws(() => resolveHealthCheck({ test: ['CMD', 'x'], retries: -2 }, undefined), /retries/);
});

t.test('probeArgs: CMD-SHELL runs through /bin/sh -c, CMD as given', async (t) => {
  t.same(probeArgs(check), ['/bin/sh', '-c', 'test -f /tmp/ok']);
  t.same(probeArgs({ ...check, test: ['CMD', 'cat', '/tmp/ok'] }), ['cat', '/tmp/ok']);
});

t.test('one success makes it healthy; retries failures in a row make it unhealthy', async (t) => {
  const states = run(check, [[1000, 1], [2000, 1], [3000, 0], [4000, 1], [5000, 1], [6000, 1], [7000, 0]]);
  t.same(states.map((s) => [s.status, s.failingStreak]), [
    ['starting', 1],
    ['starting', 2],
    ['healthy', 0],
    ['healthy', 1],
    ['healthy', 2],
    ['unhealthy', 3],
    ['healthy', 0],
  ]);
});

t.test('starting → unhealthy after exactly `retries` failures', async (t) => {
  const states = run({ ...check, retries: 2 }, [[1000, 1], [2000, 1]]);
  t.same(states.map((s) => s.status), ['starting', 'unhealthy']);
  t.same(run({ ...check, retries: 1 }, [[1000, 2]]).map((s) => s.status), ['unhealthy'], 'any non-zero exit is a failure');
});

t.test('failures inside the start period do not count while starting; after it they do', async (t) => {
  const c = { ...check, startPeriodMs: 3000, retries: 1 };
  const states = run(c, [[500, 1], [1500, 1], [2900, 1], [3000, 1]]);
  t.same(states.map((s) => [s.status, s.failingStreak]), [
    ['starting', 0],
    ['starting', 0],
    ['starting', 0],
    ['unhealthy', 1],
  ]);
  t.equal(states[2]?.log.length, 3, 'uncounted failures are still logged');
  // Once healthy, the start period no longer shields a failure.
  const after = run(c, [[500, 0], [1000, 1]]);
  t.same(after.map((s) => s.status), ['healthy', 'unhealthy']);
});

t.test('a probe past its timeout is a failure (exit -1, docker-style output)', async (t) => {
  const r = timedOutResult(check, started, started + 600);
  t.equal(r.exitCode, -1);
  t.match(r.output, /exceeded timeout \(500ms\)/);
  t.match(timedOutResult({ ...check, timeoutMs: 30_000 }, started, started).output, /exceeded timeout \(30s\)/, 'whole seconds as docker prints them');
  let s = initialHealth();
  for (let i = 0; i < 3; i++) s = recordProbe(s, check, { ...r, start: new Date(started + 1000 * (i + 1)).toISOString() }, started);
  t.equal(s.status, 'unhealthy');
  t.equal(s.failingStreak, 3);
});

t.test('the log keeps the last 5 results; output is cut to 4 KiB', async (t) => {
  let s = initialHealth();
  for (let i = 1; i <= 8; i++) s = recordProbe(s, check, probe(i * 1000, 0, `run ${i}`), started);
  t.equal(s.log.length, maxHealthLogEntries);
  t.same(s.log.map((r) => r.output), ['run 4', 'run 5', 'run 6', 'run 7', 'run 8'], 'oldest first, newest kept');
  const big = recordProbe(initialHealth(), check, probe(1000, 1, 'é'.repeat(5000)), started);
  const kept = Buffer.byteLength(big.log[0]?.output ?? '', 'utf8');
  t.ok(kept <= maxHealthOutputBytes && kept >= maxHealthOutputBytes - 1, `kept ${kept} bytes`);
  t.notMatch(big.log[0]?.output ?? '', /\uFFFD/, 'not cut inside a character');
});

t.test('the next probe: the start interval while starting inside the start period, else the interval', async (t) => {
  const c = { ...check, startPeriodMs: 3000 };
  t.equal(nextProbeDelayMs(initialHealth(), c, started, started + 1000), 100);
  t.equal(nextProbeDelayMs(initialHealth(), c, started, started + 3000), 1000, 'start period over');
  t.equal(nextProbeDelayMs({ status: 'healthy', failingStreak: 0, log: [] }, c, started, started + 1000), 1000, 'healthy already');
  t.equal(nextProbeDelayMs(initialHealth(), check, started, started), 1000, 'no start period: the interval from the first probe');
});
