/**
 * Health checks of services end to end on a 2-host lab ("hlt"): replicas with a passing check run
 * and their containers say healthy; an update to a spec whose check fails never gets a task to
 * RUNNING, its tasks fail as unhealthy and the update pauses (--update-failure-action pause) with
 * the reason in `service inspect --pretty`, while the old replica that was not touched keeps running.
 */
import t from 'tap';
import { labDown, labUp, type LabRecord } from '../../deploy/lab/index.js';
import { eventually } from '../helpers/eventually.js';
import { labCli, runningTasks } from '../helpers/lab-services.js';
import { loadTestImage } from '../helpers/lab-image.js';

const labName = 'hlt';
let record: LabRecord;

t.before(async () => {
  await labDown(labName).catch(() => undefined);
  record = await labUp({ name: labName, hosts: 2, daemons: true, managers: 1 });
});
t.teardown(async () => {
  await labDown(labName).catch(() => undefined);
});

const { host, on, tasks: rows } = labCli(() => record);
const running = runningTasks;

async function inspect(service: string): Promise<{ UpdateStatus?: { State: string; Message: string } }> {
  const r = await on('h1', 'service', 'inspect', service);
  if (r.code !== 0) throw new Error(`service inspect failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as [never])[0];
}

t.test('the test image is loaded on every host', async (t) => {
  await loadTestImage(t, record);
  t.pass('loaded');
});

t.test('replicas with a passing check run, and their containers are healthy', async (t) => {
  const create = await on(
    'h1', 'service', 'create', '--detach', '--name', 'hweb', '--replicas', '2',
    '--health-cmd', 'test -f /tmp/ok', '--health-interval', '200ms', '--health-retries', '2',
    '--update-failure-action', 'pause', '--update-parallelism', '1',
    'busybox', 'sh', '-c', 'touch /tmp/ok; exec sleep 600',
  );
  t.equal(create.code, 0, create.stderr);
  await eventually('2 running', () => rows('hweb'), (list) => running(list).length === 2, 60_000, 500);
  const spec = JSON.parse((await on('h1', 'service', 'inspect', 'hweb')).stdout) as Array<{ Spec: { TaskTemplate: { ContainerSpec: { Healthcheck?: unknown } } } }>;
  t.ok(spec[0]?.Spec.TaskTemplate.ContainerSpec.Healthcheck !== undefined, 'the spec carries the health check');
  const healthy = async (): Promise<number> => {
    let n = 0;
    for (const h of record.hosts) n += ((await on(h.name, 'ps')).stdout.match(/\(healthy\)\s+hweb\./g) ?? []).length;
    return n;
  };
  await eventually('both task containers healthy', healthy, (n) => n === 2, 30_000, 500);
  t.pass('ps on the hosts shows (healthy)');
});

t.test('an update to a failing check: tasks fail unhealthy, the update pauses with the reason', async (t) => {
  const update = await on('h1', 'service', 'update', '--detach', '--health-cmd', 'test -f /tmp/never', 'hweb');
  t.equal(update.code, 0, update.stderr);
  const paused = await eventually('update paused', () => inspect('hweb'), (s) => s.UpdateStatus?.State === 'paused', 90_000, 500);
  t.match(paused.value.UpdateStatus?.Message ?? '', /update paused due to failure or early termination of task \S+: unhealthy container/);
  const pretty = await on('h1', 'service', 'inspect', '--pretty', 'hweb');
  t.match(pretty.stdout, /UpdateStatus:\n State:\t\tpaused\n/);
  t.match(pretty.stdout, /Message:\tupdate paused due to failure or early termination of task \S+: unhealthy container/);
  const list = await rows('hweb');
  t.ok(list.some((r) => r.current.startsWith('failed') && /unhealthy container/.test(r.error)), `a task failed as unhealthy: ${JSON.stringify(list)}`);
  t.ok(!list.some((r) => /unhealthy/.test(r.error) && r.current.startsWith('running')), 'no unhealthy task is RUNNING');
  t.ok(running(list).length >= 1, 'the replica the paused update did not reach keeps running');
});

t.test('a running task that turns unhealthy is stopped, FAILED, and replaced per the restart policy', async (t) => {
  const create = await on(
    'h1', 'service', 'create', '--detach', '--name', 'flaky', '--replicas', '1', '--restart-delay', '1s',
    '--health-cmd', 'test -f /tmp/ok', '--health-interval', '200ms', '--health-retries', '2',
    'busybox', 'sh', '-c', 'touch /tmp/ok; sleep 3; rm /tmp/ok; exec sleep 600',
  );
  t.equal(create.code, 0, create.stderr);
  const { value } = await eventually(
    'a failed task and its replacement running',
    () => rows('flaky'),
    (list) => list.some((r) => r.current.startsWith('failed') && /unhealthy container/.test(r.error)) && running(list).length === 1,
    90_000,
    500,
  );
  const failed = value.filter((r) => r.current.startsWith('failed'));
  t.ok(failed.every((r) => /unhealthy container/.test(r.error)), 'it failed for being unhealthy');
  t.equal(running(value).length, 1, 'a replacement runs');
  t.ok(!running(value).some((r) => failed.some((f) => f.id === r.id)), 'the replacement is a new task');
});

t.test('with --update-failure-action rollback, an update to a failing check rolls back', async (t) => {
  const create = await on(
    'h1', 'service', 'create', '--detach', '--name', 'hback', '--replicas', '2',
    '--health-cmd', 'test -f /tmp/ok', '--health-interval', '200ms', '--health-retries', '2',
    '--update-failure-action', 'rollback', '--update-parallelism', '1',
    'busybox', 'sh', '-c', 'touch /tmp/ok; exec sleep 600',
  );
  t.equal(create.code, 0, create.stderr);
  await eventually('2 running', () => rows('hback'), (list) => running(list).length === 2, 60_000, 500);
  const update = await on('h1', 'service', 'update', '--detach', '--health-cmd', 'test -f /tmp/never', 'hback');
  t.equal(update.code, 0, update.stderr);
  const done = await eventually('rolled back', () => inspect('hback'), (s) => s.UpdateStatus?.State === 'rollback_completed', 120_000, 500);
  t.equal(done.value.UpdateStatus?.State, 'rollback_completed');
  const spec = JSON.parse((await on('h1', 'service', 'inspect', 'hback')).stdout) as Array<{ Spec: { TaskTemplate: { ContainerSpec: { Healthcheck?: { Test?: string[] } } } } }>;
  t.same(spec[0]?.Spec.TaskTemplate.ContainerSpec.Healthcheck?.Test, ['CMD-SHELL', 'test -f /tmp/ok'], 'the previous check is back');
  await eventually('2 running again', () => rows('hback'), (list) => running(list).length === 2, 60_000, 500);
  t.pass('both replicas run the previous spec');
});
