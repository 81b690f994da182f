/**
 * Tasks with health checks against a real engine (runc under conmon, probes by runc exec): a task is
 * STARTING until its first passing probe, then RUNNING; an unhealthy container (before or after
 * RUNNING) is stopped and the task FAILED. Everything made goes in teardown, even on failure.
 */
import t from 'tap';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBusyboxImage } from '../../../deploy/images/build-busybox.js';
import { removeCgroupTree } from '../../../lib/cgroups.js';
import { newId } from '../../../lib/ids.js';
import { silentLogger } from '../../../lib/log.js';
import { unmountBelow } from '../../../lib/mounts.js';
import { timestampFromMs } from '../../../proto/time.js';
import { millisOf, AssignmentAction, AssignmentsMessage, AssignmentsMessageType, Task, TaskState, enumKey, type HealthConfig, type TaskStatus } from '../../../proto/index.js';
import { Engine } from '../../../worker/engine/engine.js';
import { storeImageResolver } from '../../../worker/engine/image-resolver.js';
import { ImageService } from '../../../worker/images/image-service.js';
import type { Teardown } from '../../helpers/temp-dir.js';
import { TaskExecutor, taskIdLabel } from '../../../worker/tasks/index.js';

const stepTimeoutMs = 15_000;

const base = await mkdtemp(join(tmpdir(), 'tsswarm-task-health-'));
const dataDir = join(base, 'data');
const runDir = join(base, 'run');
const cgroupParent = `tsswarm-test-${newId().slice(0, 8)}`;
let engine: Engine;
let images: ImageService;

t.before(async () => {
  await mkdir(dataDir, { recursive: true });
  await mkdir(runDir, { recursive: true });
  await buildBusyboxImage(join(base, 'busybox.tar'));
  images = new ImageService({ dataDir });
  await images.load(join(base, 'busybox.tar'));
  engine = new Engine({ dataDir, runDir, cgroupParent }, storeImageResolver(images), silentLogger());
});

t.teardown(async () => {
  if (engine !== undefined) {
    for (const c of await engine.list(true)) await engine.remove(c.record.config.id, true).catch(() => undefined);
    engine.close();
  }
  await unmountBelow(base);
  await removeCgroupTree(cgroupParent);
  await rm(base, { recursive: true, force: true });
});

interface Harness {
  readonly executor: TaskExecutor;
  states(taskId: string): string[];
  reported(taskId: string, state: TaskState): Promise<TaskStatus>;
}

function harness(t: Teardown): Harness {
  const reports: Array<{ taskId: string; status: TaskStatus }> = [];
  const executor = new TaskExecutor({ engine, images, report: (taskId, status) => reports.push({ taskId, status }), log: silentLogger(), limits: { operationRetryDelayMs: 50 } });
  t.teardown(async () => {
    await executor.close();
    for (const c of await engine.list(true)) await engine.remove(c.record.config.id, true);
  });
  return {
    executor,
    states: (taskId) => reports.filter((r) => r.taskId === taskId).map((r) => enumKey(TaskState, r.status.state) ?? String(r.status.state)),
    async reported(taskId, state) {
      const deadline = Date.now() + stepTimeoutMs;
      for (;;) {
        const found = reports.find((r) => r.taskId === taskId && r.status.state === state);
        if (found) return found.status;
        if (Date.now() > deadline) throw new Error(`task ${taskId}: no ${enumKey(TaskState, state)} report within ${stepTimeoutMs} ms (got ${reports.filter((r) => r.taskId === taskId).map((r) => enumKey(TaskState, r.status.state)).join(', ')})`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

/** A check on /tmp/ok every 200 ms, unhealthy after 2 failures. */
const okFileCheck: HealthConfig = { test: ['CMD-SHELL', 'test -f /tmp/ok'], interval: timestampFromMs(200), retries: 2 };

function makeTask(args: string[], healthcheck: HealthConfig): Task {
  const id = newId();
  return Task.create({
    id,
    serviceId: 'svc-web',
    slot: 1,
    nodeId: 'node-1',
    annotations: { name: `web.1.${id}` },
    serviceAnnotations: { name: 'web' },
    spec: { container: { image: 'busybox:latest', args, stopGracePeriod: { seconds: 1 }, healthcheck } },
    status: { state: TaskState.ASSIGNED },
    desiredState: TaskState.RUNNING,
  });
}

function complete(...tasks: Task[]): AssignmentsMessage {
  return AssignmentsMessage.create({ type: AssignmentsMessageType.COMPLETE, changes: tasks.map((task) => ({ action: AssignmentAction.UPDATE, assignment: { task } })) });
}

async function containerOf(taskId: string): Promise<Awaited<ReturnType<Engine['inspect']>>> {
  const found = (await engine.list(true)).find((c) => c.record.config.labels[taskIdLabel] === taskId);
  if (found === undefined) throw new Error(`no container for task ${taskId}`);
  return engine.inspect(found.record.config.id);
}

t.test('a failing health check: STARTING, never RUNNING, then FAILED "unhealthy" and the container stopped', async (t) => {
  const h = harness(t);
  const task = makeTask(['sleep', '300'], okFileCheck);
  await h.executor.assign(complete(task));
  const failed = await h.reported(task.id, TaskState.FAILED);
  t.match(failed.err, /unhealthy/);
  t.same(h.states(task.id), ['ACCEPTED', 'PREPARING', 'READY', 'STARTING', 'FAILED'], 'no RUNNING: it never passed a check');
  const c = await containerOf(task.id);
  t.equal(c.status, 'exited', 'the unhealthy container was stopped');
  t.equal(c.health?.status, 'unhealthy');
  t.equal(failed.containerStatus?.containerId, c.record.config.id);
  t.equal(failed.containerStatus?.exitCode, 137, 'sleep ignores SIGTERM: killed after the 1 s grace period');
});

t.test('a passing health check: RUNNING only after the first successful probe', async (t) => {
  const h = harness(t);
  // 20 retries of 200 ms: failing for 1.5 s keeps it starting.
  const task = makeTask(['sh', '-c', 'sleep 1.5; touch /tmp/ok; exec sleep 300'], { ...okFileCheck, retries: 20 });
  await h.executor.assign(complete(task));
  const starting = await h.reported(task.id, TaskState.STARTING);
  const running = await h.reported(task.id, TaskState.RUNNING);
  const c = await containerOf(task.id);
  t.equal(c.health?.status, 'healthy');
  const firstPass = c.health?.log.find((e) => e.exitCode === 0);
  t.ok(firstPass !== undefined, 'a passing probe is logged');
  t.ok(millisOf(running.timestamp) >= Date.parse(firstPass?.end ?? ''), 'RUNNING was reported after the passing probe ended');
  t.ok(millisOf(running.timestamp) - millisOf(starting.timestamp) >= 1_400, 'STARTING for as long as the check failed');
  t.ok(c.health?.log.some((e) => e.exitCode !== 0), 'earlier probes failed');
  t.same(h.states(task.id), ['ACCEPTED', 'PREPARING', 'READY', 'STARTING', 'RUNNING']);
  t.equal(running.containerStatus?.pid, c.pid, 'RUNNING carries the pid');
});

t.test('healthy, then unhealthy after RUNNING: FAILED and stopped', async (t) => {
  const h = harness(t);
  const task = makeTask(['sh', '-c', 'touch /tmp/ok; sleep 1.5; rm /tmp/ok; exec sleep 300'], okFileCheck);
  await h.executor.assign(complete(task));
  await h.reported(task.id, TaskState.RUNNING);
  const failed = await h.reported(task.id, TaskState.FAILED);
  t.match(failed.err, /unhealthy/);
  t.same(h.states(task.id), ['ACCEPTED', 'PREPARING', 'READY', 'STARTING', 'RUNNING', 'FAILED']);
  t.equal((await containerOf(task.id)).status, 'exited');
});

t.test('a task whose container exits while STARTING reports its exit', async (t) => {
  const h = harness(t);
  const task = makeTask(['sh', '-c', 'sleep 0.3; exit 4'], { ...okFileCheck, retries: 100 });
  await h.executor.assign(complete(task));
  const failed = await h.reported(task.id, TaskState.FAILED);
  t.equal(failed.err, 'task: non-zero exit (4)');
  t.same(h.states(task.id), ['ACCEPTED', 'PREPARING', 'READY', 'STARTING', 'FAILED']);
});

t.test('after a daemon restart (new engine and executor), an adopted healthy task that turns unhealthy FAILS', async (t) => {
  const reports: Array<{ taskId: string; status: TaskStatus }> = [];
  const first = new TaskExecutor({ engine, images, report: (taskId, status) => reports.push({ taskId, status }), log: silentLogger() });
  const task = makeTask(['sh', '-c', 'touch /tmp/ok; sleep 2.5; rm /tmp/ok; exec sleep 300'], okFileCheck);
  await first.assign(complete(task));
  const deadline = Date.now() + stepTimeoutMs;
  while (!reports.some((r) => r.status.state === TaskState.RUNNING) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  const runningStatus = reports.find((r) => r.status.state === TaskState.RUNNING)?.status;
  t.ok(runningStatus !== undefined, 'RUNNING once healthy');
  await first.close();
  engine.close(); // the old daemon is gone: its probes stop, the container keeps running

  const restarted = new Engine({ dataDir, runDir, cgroupParent }, storeImageResolver(images), silentLogger());
  t.teardown(() => restarted.close());
  await restarted.recover();
  const after: TaskStatus[] = [];
  const second = new TaskExecutor({ engine: restarted, images, report: (_id, status) => after.push(status), log: silentLogger() });
  t.teardown(() => second.close());
  await second.assign(complete({ ...task, status: runningStatus as TaskStatus }));
  const until = Date.now() + stepTimeoutMs;
  while (!after.some((s) => s.state === TaskState.FAILED) && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
  const failed = after.find((s) => s.state === TaskState.FAILED);
  t.match(failed?.err ?? '', /unhealthy/, 'the new engine probes, the new controller acts on it');
  t.same(after.map((s) => enumKey(TaskState, s.state)), ['RUNNING', 'FAILED'], 'RUNNING confirmed once, then FAILED');
  t.equal((await containerOf(task.id)).status, 'exited', 'stopped');
});
