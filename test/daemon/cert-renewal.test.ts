/**
 * CertRenewal on a fake clock whose wall time is the clock's time: renewal inside 50-80% of the
 * life, a new plan for the new certificate, retries with a doubling delay capped at the end of the
 * certificate and at 15 min, one error line once it expired, stop() and replacement cancel.
 */
import t from 'tap';
import { PassThrough } from 'node:stream';
import { FakeClock } from '../../lib/clock.js';
import { createLogger } from '../../lib/log.js';
import { seededRng } from '../../lib/rng.js';
import { CertRenewal, firstRetryMs, maxRetryMs } from '../../daemon/cert-renewal.js';

const hour = 3_600_000;
const day = 24 * hour;

function setup(renew: (renewal: CertRenewal, at: number) => Promise<void>, firstRenewalMs?: number) {
  const clock = new FakeClock(1_000 * day);
  const lines: Record<string, unknown>[] = [];
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)));
  const calls: number[] = [];
  const renewal: CertRenewal = new CertRenewal({
    clock,
    rng: seededRng(7),
    wallNowMs: () => clock.now(),
    log: createLogger('test-renewal', { level: 'info', destination }),
    renew: () => {
      calls.push(clock.now());
      return renew(renewal, clock.now());
    },
    ...(firstRenewalMs !== undefined ? { firstRenewalMs } : {}),
  });
  return { clock, renewal, calls, lines };
}

/** Lets the promise callbacks of a renewal run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

t.test('renews once between 50% and 80% of the life, then plans the next certificate', async (t) => {
  const { clock, renewal, calls } = setup(async (r, at) => r.schedule({ notBeforeMs: at, notAfterMs: at + 90 * day }));
  const start = clock.now();
  renewal.schedule({ notBeforeMs: start, notAfterMs: start + 90 * day });
  clock.advance(45 * day - 1);
  t.same(calls, [], 'nothing before half the life');
  clock.advance(27 * day + 1);
  await settle();
  t.equal(calls.length, 1, 'renewed by 80% of the life');
  const at = calls[0] as number;
  t.ok(at >= start + 45 * day && at <= start + 72 * day, `at ${((at - start) / day).toFixed(1)} days`);
  t.ok(renewal.planned, 'the new certificate has its own plan');
  clock.advance(at + 45 * day - 1 - clock.now());
  t.equal(calls.length, 1, 'the new plan counts from the new certificate');
  clock.advance(27 * day + 1);
  await settle();
  t.equal(calls.length, 2, 'and renews again within its window');
});

t.test('many nodes with certificates of the same age renew at spread-out times', async (t) => {
  const times = new Set<number>();
  for (let seed = 0; seed < 20; seed++) {
    const clock = new FakeClock(0);
    let at = -1;
    const renewal = new CertRenewal({
      clock,
      rng: seededRng(seed),
      wallNowMs: () => clock.now(),
      log: createLogger('test-renewal', { level: 'silent' }),
      renew: async () => {
        at = clock.now();
      },
    });
    renewal.schedule({ notBeforeMs: 0, notAfterMs: 90 * day });
    clock.advance(90 * day);
    times.add(Math.round(at / hour));
  }
  t.ok(times.size >= 15, `20 nodes renew in ${times.size} different hours`);
});

t.test('a failed renewal is retried with a doubling delay, capped at 15 min', async (t) => {
  let failures = 7;
  const { clock, renewal, calls, lines } = setup(async (r, at) => {
    if (failures-- > 0) throw new Error('no manager reachable');
    r.schedule({ notBeforeMs: at, notAfterMs: at + 90 * day });
  }, 1_000);
  renewal.schedule({ notBeforeMs: clock.now(), notAfterMs: clock.now() + 90 * day });
  clock.advance(1_000);
  await settle();
  const expected = [firstRetryMs, 2 * firstRetryMs, 4 * firstRetryMs, 8 * firstRetryMs, maxRetryMs, maxRetryMs, maxRetryMs];
  for (const delay of expected) {
    clock.advance(delay - 1);
    await settle();
    const before = calls.length;
    clock.advance(1);
    await settle();
    t.equal(calls.length, before + 1, `the next attempt after ${delay / 60_000} min, not before`);
  }
  const gaps = calls.slice(1).map((c, i) => c - (calls[i] as number));
  t.same(gaps, expected, 'delays 1, 2, 4, 8, 15, 15, 15 min');
  t.equal(lines.filter((l) => /certificate renewal failed: no manager reachable/.test(String(l.msg))).length, 7, 'each failure logged');
  clock.advance(maxRetryMs * 4);
  await settle();
  t.equal(calls.length, 8, 'no more attempts once it worked');
});

t.test('an expired certificate is reported once, and retries go on', async (t) => {
  const { clock, renewal, calls, lines } = setup(async () => {
    throw new Error('certificate expired');
  });
  const start = clock.now();
  renewal.schedule({ notBeforeMs: start - 10 * hour, notAfterMs: start + 1_000 });
  clock.advance(0);
  await settle();
  t.equal(calls.length, 1, 'a renewal already due runs at once');
  clock.advance(1_000);
  await settle();
  clock.advance(firstRetryMs * 3);
  await settle();
  t.ok(calls.length >= 3, `${calls.length} attempts`);
  const expired = lines.filter((l) => /expired .* must leave the swarm and join it again/.test(String(l.msg)));
  t.equal(expired.length, 1, 'one error line');
  t.equal(expired[0]?.level, 50);
});

t.test('stop() and a new certificate cancel the plan', async (t) => {
  const { clock, renewal, calls } = setup(async () => undefined);
  renewal.schedule({ notBeforeMs: clock.now(), notAfterMs: clock.now() + 10 * day });
  renewal.stop();
  t.notOk(renewal.planned);
  clock.advance(10 * day);
  t.same(calls, [], 'stopped: no renewal');
  const now = clock.now();
  renewal.schedule({ notBeforeMs: now, notAfterMs: now + 10 * day });
  renewal.schedule({ notBeforeMs: now, notAfterMs: now + 100 * day });
  clock.advance(9 * day);
  await settle();
  t.same(calls, [], 'the second plan (100 days) replaced the first (10 days)');
  t.equal(clock.pendingTimers(), 1, 'one timer');
});

t.test('TEST ONLY first renewal delay: applies to the first plan, then the window', async (t) => {
  const { clock, renewal, calls } = setup(async (r, at) => r.schedule({ notBeforeMs: at, notAfterMs: at + 90 * day }), 2_000);
  renewal.schedule({ notBeforeMs: clock.now(), notAfterMs: clock.now() + 90 * day });
  clock.advance(2_000);
  await settle();
  t.equal(calls.length, 1, 'renewed after 2 s');
  clock.advance(44 * day);
  await settle();
  t.equal(calls.length, 1, 'the next one waits for the window');
});
