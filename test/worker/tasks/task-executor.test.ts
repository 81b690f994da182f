/**
 * The task executor for real: busybox tasks run by runc under conmon through an in-process Engine,
 * driven by assignments messages; reports checked state by state. Everything the tests make
 * (containers, mounts, cgroups, folders) goes in teardown, even when a test fails.
 */
import t from 'tap';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBusyboxImage } from '../../../deploy/images/build-busybox.js';
import { removeCgroupTree } from '../../../lib/cgroups.js';
import { newId } from '../../../lib/ids.js';
import { createLogger, silentLogger } from '../../../lib/log.js';
import { unmountBelow } from '../../../lib/mounts.js';
import { runCommand } from '../../../lib/run-command.js';
import {
  AssignmentAction,
  AssignmentsMessage,
  AssignmentsMessageType,
  Task,
  TaskState,
  enumKey,
  type TaskStatus,
} from '../../../proto/index.js';
import { Engine } from '../../../worker/engine/engine.js';
import { storeImageResolver } from '../../../worker/engine/image-resolver.js';
import { ImageService } from '../../../worker/images/image-service.js';
import type { Teardown } from '../../helpers/temp-dir.js';
import { TaskExecutor, taskIdLabel, type TaskExecutorOptions, type TaskNetworks } from '../../../worker/tasks/index.js';

const stepTimeoutMs = 15_000;
/** A registry address where nothing listens (the discard port): pulls fail fast. */
const deadRegistry = '127.0.0.1:9';

// ---- one engine for the whole file --------------------------------------------------------------

const base = await mkdtemp(join(tmpdir(), 'tsswarm-tasks-'));
const dataDir = join(base, 'data');
const runDir = join(base, 'run');
const cgroupParent = `tsswarm-test-${newId().slice(0, 8)}`;
const netnsName = `tss-test-${newId().slice(0, 8)}`;
let engine: Engine;
let images: ImageService;

t.before(async () => {
  await mkdir(dataDir, { recursive: true });
  await mkdir(runDir, { recursive: true });
  await buildBusyboxImage(join(base, 'busybox.tar'));
  images = new ImageService({ dataDir, insecureRegistries: [deadRegistry] });
  await images.load(join(base, 'busybox.tar'));
  engine = new Engine({ dataDir, runDir, cgroupParent }, storeImageResolver(images), silentLogger());
});

t.teardown(async () => {
  if (engine !== undefined) for (const c of await engine.list(true)) await engine.remove(c.record.config.id, true).catch(() => undefined);
  await runCommand('ip', ['netns', 'delete', netnsName]).catch(() => undefined);
  await unmountBelow(base);
  await removeCgroupTree(cgroupParent);
  await rm(base, { recursive: true, force: true });
});

// ---- helpers ------------------------------------------------------------------------------------

interface Harness {
  readonly executor: TaskExecutor;
  readonly reports: Array<{ readonly taskId: string; readonly status: TaskStatus }>;
  /** The states reported for a task, in order. */
  states(taskId: string): string[];
  /** Resolves with the report of `state` for the task (waits for it). */
  reported(taskId: string, state: TaskState): Promise<TaskStatus>;
}

function harness(t: Teardown, extra: Partial<TaskExecutorOptions> = {}): Harness {
  const reports: Array<{ taskId: string; status: TaskStatus }> = [];
  const executor = new TaskExecutor({
    engine,
    images,
    report: (taskId, status) => reports.push({ taskId, status }),
    log: process.env['TASKS_DEBUG'] ? createLogger('tasks', { level: 'debug' }) : silentLogger(),
    limits: { imagePullRetryDelayMs: 20, operationRetryDelayMs: 50 },
    ...extra,
  });
  t.teardown(async () => {
    await executor.close();
    // The next test's executor would adopt (and then remove) what this one left: start each clean.
    for (const c of await engine.list(true)) await engine.remove(c.record.config.id, true);
  });
  return {
    executor,
    reports,
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

function makeTask(args: string[], over: Parameters<typeof Task.create>[0] = {}): Task {
  const id = newId();
  return Task.create({
    id,
    serviceId: 'svc-web',
    slot: 1,
    nodeId: 'node-1',
    annotations: { name: `web.1.${id}` },
    serviceAnnotations: { name: 'web' },
    spec: {
      container: { image: 'busybox:latest', args, stopGracePeriod: { seconds: 1 } },
      resources: { limits: { memoryBytes: 64 * 1024 * 1024, pids: 64 } },
    },
    status: { state: TaskState.ASSIGNED },
    desiredState: TaskState.RUNNING,
    ...over,
  });
}

function complete(...tasks: Task[]): AssignmentsMessage {
  return AssignmentsMessage.create({
    type: AssignmentsMessageType.COMPLETE,
    changes: tasks.map((task) => ({ action: AssignmentAction.UPDATE, assignment: { task } })),
  });
}

function incremental(action: AssignmentAction, task: Task): AssignmentsMessage {
  return AssignmentsMessage.create({ type: AssignmentsMessageType.INCREMENTAL, changes: [{ action, assignment: { task } }] });
}

async function containersOf(taskId: string): Promise<Awaited<ReturnType<Engine['list']>>> {
  return (await engine.list(true)).filter((c) => c.record.config.labels[taskIdLabel] === taskId);
}

async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + stepTimeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${stepTimeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const running = ['ACCEPTED', 'PREPARING', 'READY', 'STARTING', 'RUNNING'];

// ---- tests --------------------------------------------------------------------------------------

t.test('sleep 300 goes ACCEPTED…RUNNING with its pid; desired SHUTDOWN stops it', async (t) => {
  const h = harness(t);
  const task = makeTask(['sleep', '300']);
  await h.executor.assign(complete(task));
  const status = await h.reported(task.id, TaskState.RUNNING);
  t.same(h.states(task.id), running, 'every step reported once, in order');
  t.equal(status.message, 'started');
  const [c] = await containersOf(task.id);
  t.ok(c, 'a container carries the task id label');
  t.equal(c?.status, 'running');
  t.equal(status.containerStatus?.containerId, c?.record.config.id);
  t.equal(status.containerStatus?.pid, c?.pid, 'the reported pid is the container process');
  t.ok((status.containerStatus?.pid ?? 0) > 1);
  t.equal(c?.record.config.name, `web.1.${task.id}`);
  t.match(c?.record.config.labels, { 'com.docker.swarm.task.name': `web.1.${task.id}`, 'com.docker.swarm.service.id': 'svc-web', 'com.docker.swarm.service.name': 'web', 'com.docker.swarm.node.id': 'node-1' });
  t.match(c?.record.config.resources, { memoryBytes: 64 * 1024 * 1024, pidsLimit: 64 });

  const started = Date.now();
  await h.executor.assign(incremental(AssignmentAction.UPDATE, { ...task, status: status, desiredState: TaskState.SHUTDOWN }));
  const shut = await h.reported(task.id, TaskState.SHUTDOWN);
  // sleep as PID 1 ignores SIGTERM: the 1 s grace period of the spec runs out, then SIGKILL.
  t.ok(Date.now() - started < 8_000, 'the spec grace period is used, not the 10 s default');
  t.equal(shut.containerStatus?.exitCode, 137);
  t.equal((await containersOf(task.id))[0]?.status, 'exited');
  t.same(h.states(task.id), [...running, 'SHUTDOWN'], 'nothing after SHUTDOWN (the exit is not reported as FAILED)');
});

t.test('exit 3 → FAILED with docker\'s error; exit 0 → COMPLETE', async (t) => {
  const h = harness(t);
  const failing = makeTask(['sh', '-c', 'exit 3']);
  const ok = makeTask(['true'], { slot: 2 });
  await h.executor.assign(complete(failing, ok));
  const failed = await h.reported(failing.id, TaskState.FAILED);
  t.equal(failed.err, 'task: non-zero exit (3)');
  t.equal(failed.containerStatus?.exitCode, 3);
  t.same(h.states(failing.id), [...running, 'FAILED']);
  const done = await h.reported(ok.id, TaskState.COMPLETE);
  t.equal(done.containerStatus?.exitCode, 0);
  t.equal(done.err, '');
  t.same(h.states(ok.id), [...running, 'COMPLETE']);
});

t.test('an image that cannot be pulled → REJECTED with the error, and no container', async (t) => {
  const h = harness(t);
  const task = makeTask(['true'], { spec: { container: { image: `${deadRegistry}/nope/missing:1.0`, args: ['true'] } } });
  await h.executor.assign(complete(task));
  const rejected = await h.reported(task.id, TaskState.REJECTED);
  t.match(rejected.err, /pulling image 127\.0\.0\.1:9\/nope\/missing:1\.0 failed/);
  t.same(h.states(task.id), ['ACCEPTED', 'PREPARING', 'REJECTED']);
  t.same(await containersOf(task.id), []);
});

t.test('the same COMPLETE message again does not start a second container', async (t) => {
  const h = harness(t);
  const task = makeTask(['sleep', '300']);
  await h.executor.assign(complete(task));
  await h.executor.assign(complete(task));
  const status = await h.reported(task.id, TaskState.RUNNING);
  // After a reconnection the manager sends the set again, now with the task RUNNING.
  await h.executor.assign(complete({ ...task, status }));
  await h.executor.assign(complete({ ...task, status }));
  await new Promise((r) => setTimeout(r, 300));
  const cs = await containersOf(task.id);
  t.equal(cs.length, 1, 'one container');
  t.equal(cs[0]?.pid, status.containerStatus?.pid, 'still the first process');
  t.same(h.states(task.id), running, 'no report repeated');
});

t.test('a new executor over the same engine adopts its containers without restarting them', async (t) => {
  const first = harness(t);
  const longTask = makeTask(['sleep', '300']);
  const shortTask = makeTask(['sh', '-c', 'sleep 1; exit 5'], { slot: 2 });
  const goneTask = makeTask(['sleep', '300'], { slot: 3 });
  await first.executor.assign(complete(longTask, shortTask, goneTask));
  await first.reported(goneTask.id, TaskState.RUNNING);
  const longStatus = await first.reported(longTask.id, TaskState.RUNNING);
  const shortStatus = await first.reported(shortTask.id, TaskState.RUNNING);
  await first.executor.close(); // as tsswarmd going down: containers keep running
  const [short] = await containersOf(shortTask.id);
  await engine.runtime.wait(short?.record.config.id ?? '', stepTimeoutMs); // it ends while nobody watches

  const second = harness(t);
  await second.executor.start();
  t.equal(second.executor.tasks().length, 3, 'every task container adopted before any assignment');
  await second.executor.assign(complete({ ...longTask, status: longStatus }, { ...shortTask, status: shortStatus }));
  const again = await second.reported(longTask.id, TaskState.RUNNING);
  t.equal(again.containerStatus?.pid, longStatus.containerStatus?.pid, 'same pid: not restarted');
  t.equal(again.containerStatus?.containerId, longStatus.containerStatus?.containerId);
  const failed = await second.reported(shortTask.id, TaskState.FAILED);
  t.equal(failed.err, 'task: non-zero exit (5)', 'the exit that happened meanwhile is reported');
  t.same(second.states(longTask.id), ['RUNNING']);
  t.same(second.states(shortTask.id), ['FAILED']);
  t.equal((await containersOf(longTask.id)).length, 1, 'no second container');
  await until('the container of a task no longer assigned is removed', async () => (await containersOf(goneTask.id)).length === 0);
  t.same(second.states(goneTask.id), [], 'nothing reported for it');
});

t.test('a task removed from the set has its container removed', async (t) => {
  const h = harness(t);
  const kept = makeTask(['sleep', '300']);
  const dropped = makeTask(['sleep', '300'], { slot: 2 });
  const byIncremental = makeTask(['sleep', '300'], { slot: 3 });
  await h.executor.assign(complete(kept, dropped, byIncremental));
  const keptStatus = await h.reported(kept.id, TaskState.RUNNING);
  await h.reported(dropped.id, TaskState.RUNNING);
  await h.reported(byIncremental.id, TaskState.RUNNING);

  await h.executor.assign(incremental(AssignmentAction.REMOVE, byIncremental));
  await h.executor.assign(complete({ ...kept, status: keptStatus }));
  await until('containers of removed tasks gone', async () => (await containersOf(dropped.id)).length === 0 && (await containersOf(byIncremental.id)).length === 0);
  t.equal((await containersOf(kept.id))[0]?.status, 'running', 'the task still assigned keeps running');
  await until('removed tasks forgotten', () => Promise.resolve(h.executor.tasks().length === 1));
  t.same(h.executor.tasks().map((x) => x.taskId), [kept.id], 'removed tasks are forgotten');
});

t.test('with a network hook, the container joins the namespace netd gives', async (t) => {
  await runCommand('ip', ['netns', 'add', netnsName]);
  const calls: string[] = [];
  const networks: TaskNetworks = {
    attach: (task) => (calls.push(`attach ${task.id}`), Promise.resolve(`/run/netns/${netnsName}`)),
    detach: (task) => (calls.push(`detach ${task.id}`), Promise.resolve()),
  };
  const h = harness(t, { networks });
  const task = makeTask(['sleep', '300']);
  await h.executor.assign(complete(task));
  const status = await h.reported(task.id, TaskState.RUNNING);
  const pid = status.containerStatus?.pid ?? 0;
  t.equal(statSync(`/proc/${pid}/ns/net`).ino, statSync(`/run/netns/${netnsName}`).ino, 'same network namespace');
  await h.executor.assign(complete());
  await until('container removed', async () => (await containersOf(task.id)).length === 0);
  t.same(calls, [`attach ${task.id}`, `detach ${task.id}`]);
  t.ok(existsSync(`/run/netns/${netnsName}`), 'the namespace is netd\'s: left alone');
});
