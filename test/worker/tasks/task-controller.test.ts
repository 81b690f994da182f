/**
 * Controller behaviour against an in-memory engine (hermetic, fast): tasks held at READY, lost
 * containers, retried stops and pulls, one pull per image, and the bound on concurrent operations.
 */
import t from 'tap';
import { ErrorCode, TsswarmError } from '../../../lib/errors.js';
import { AssignmentAction, AssignmentsMessage, AssignmentsMessageType, Task, TaskState, enumKey, type ContainerCreateRequest, type TaskStatus } from '../../../proto/index.js';
import type { ContainerInfo, ContainerStatus } from '../../../worker/executor/runtime.js';
import type { ExitStatus } from '../../../worker/executor/exit-status.js';
import type { ImageRuntimeConfig } from '../../../worker/images/image-config.js';
import { TaskExecutor, type TaskEngine, type TaskImages } from '../../../worker/tasks/index.js';

interface FakeContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  status: ContainerStatus;
  pid: number | undefined;
  exit: ExitStatus | undefined;
  ended: Array<() => void>;
}

/** An engine that keeps containers in memory; `failStops` makes the next stops throw. */
class FakeEngine implements TaskEngine {
  readonly containers = new Map<string, FakeContainer>();
  failStops = 0;
  createDelayMs = 0;
  creating = 0;
  maxCreating = 0;
  private next = 1;
  readonly runtime = {
    wait: (id: string, timeoutMs?: number): Promise<ExitStatus> => {
      const c = this.get(id);
      if (c.exit) return Promise.resolve(c.exit);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new TsswarmError(ErrorCode.TIMEOUT, 'timeout')), timeoutMs ?? 1e9);
        c.ended.push(() => {
          clearTimeout(timer);
          if (c.exit) resolve(c.exit);
          else reject(new TsswarmError(ErrorCode.NOT_FOUND, 'gone'));
        });
      });
    },
    create: (): Promise<ContainerInfo> => Promise.reject(new Error('not used')),
  };

  private get(ref: string): FakeContainer {
    const c = this.containers.get(ref) ?? [...this.containers.values()].find((x) => x.name === ref);
    if (!c) throw new TsswarmError(ErrorCode.NOT_FOUND, `no such container: ${ref}`);
    return c;
  }

  private info(c: FakeContainer): ContainerInfo {
    return { record: { config: { id: c.id, name: c.name, labels: c.labels } } as unknown as ContainerInfo['record'], status: c.status, pid: c.pid, exit: c.exit };
  }

  async create(request: ContainerCreateRequest): Promise<string> {
    if ([...this.containers.values()].some((c) => c.name === request.name)) throw new TsswarmError(ErrorCode.ALREADY_EXISTS, 'name in use');
    this.creating++;
    this.maxCreating = Math.max(this.maxCreating, this.creating);
    await new Promise((r) => setTimeout(r, this.createDelayMs));
    this.creating--;
    const id = `c${this.next++}`;
    this.containers.set(id, { id, name: request.name, labels: request.labels, status: 'created', pid: undefined, exit: undefined, ended: [] });
    return id;
  }

  start(ref: string): Promise<void> {
    const c = this.get(ref);
    c.status = 'running';
    c.pid = 1000 + this.next++;
    return Promise.resolve();
  }

  /** Ends a container as if its process exited. */
  end(id: string, exitCode: number): void {
    const c = this.get(id);
    c.status = 'exited';
    c.pid = undefined;
    c.exit = { exitCode, oomKilled: false, finishedAt: new Date().toISOString() };
    for (const f of c.ended.splice(0)) f();
  }

  stop(ref: string): Promise<ExitStatus | undefined> {
    if (this.failStops > 0) {
      this.failStops--;
      return Promise.reject(new TsswarmError(ErrorCode.EXTERNAL, 'runc kill failed'));
    }
    const c = this.get(ref);
    if (c.status !== 'exited') this.end(c.id, 143);
    return Promise.resolve(c.exit);
  }

  remove(ref: string): Promise<void> {
    const c = this.get(ref);
    this.containers.delete(c.id);
    for (const f of c.ended.splice(0)) f();
    return Promise.resolve();
  }

  inspect(ref: string): Promise<ContainerInfo> {
    return Promise.resolve(this.info(this.get(ref)));
  }

  list(): Promise<ContainerInfo[]> {
    return Promise.resolve([...this.containers.values()].map((c) => this.info(c)));
  }
}

/** Images: `present` resolve; pulls fail `failPulls` times, then add the image. */
class FakeImages implements TaskImages {
  readonly present = new Set<string>(['busybox:latest']);
  failPulls = 0;
  pulls = 0;
  resolve(reference: string): Promise<{ id: string }> {
    return this.present.has(reference) ? Promise.resolve({ id: `sha256:${reference}` }) : Promise.reject(new TsswarmError(ErrorCode.NOT_FOUND, `no such image: ${reference}`));
  }
  async pull(reference: string): Promise<unknown> {
    this.pulls++;
    await new Promise((r) => setTimeout(r, 10));
    if (this.failPulls > 0) {
      this.failPulls--;
      throw new TsswarmError(ErrorCode.EXTERNAL, 'connection reset');
    }
    this.present.add(reference);
    return {};
  }
  runtimeConfig(): Promise<ImageRuntimeConfig> {
    return Promise.reject(new Error('not used'));
  }
  layerDirs(): Promise<string[]> {
    return Promise.resolve([]);
  }
}

function setup(
  t: { teardown(fn: () => unknown): void },
  maxConcurrentOps?: number,
): { engine: FakeEngine; images: FakeImages; executor: TaskExecutor; states(id: string): string[]; last(id: string): TaskStatus | undefined } {
  const engine = new FakeEngine();
  const images = new FakeImages();
  const reports: Array<{ taskId: string; status: TaskStatus }> = [];
  const executor = new TaskExecutor({
    engine,
    images,
    report: (taskId, status) => reports.push({ taskId, status }),
    limits: { imagePullRetryDelayMs: 1, operationRetryDelayMs: 1, exitWaitSliceMs: 50 },
    ...(maxConcurrentOps !== undefined ? { maxConcurrentOps } : {}),
  });
  t.teardown(() => executor.close());
  const of = (id: string): TaskStatus[] => reports.filter((r) => r.taskId === id).map((r) => r.status);
  return { engine, images, executor, states: (id) => of(id).map((s) => enumKey(TaskState, s.state) ?? '?'), last: (id) => of(id).at(-1) };
}

let counter = 0;
function task(over: Parameters<typeof Task.create>[0] = {}): Task {
  const id = `task${++counter}`;
  return Task.create({ id, serviceId: 's', slot: counter, serviceAnnotations: { name: 'svc' }, spec: { container: { image: 'busybox:latest', args: ['sleep', '1'] } }, status: { state: TaskState.ASSIGNED }, desiredState: TaskState.RUNNING, ...over });
}

function message(type: AssignmentsMessageType, ...tasks: Task[]): AssignmentsMessage {
  return AssignmentsMessage.create({ type, changes: tasks.map((x) => ({ action: AssignmentAction.UPDATE, assignment: { task: x } })) });
}

const settle = (ms = 60): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('a task held at READY (start-first update) is created but not started until desired RUNNING', async (t) => {
  const { engine, executor, states } = setup(t);
  const x = task({ desiredState: TaskState.READY });
  await executor.assign(message(AssignmentsMessageType.COMPLETE, x));
  await settle();
  t.same(states(x.id), ['ACCEPTED', 'PREPARING', 'READY']);
  t.equal([...engine.containers.values()][0]?.status, 'created');
  await executor.assign(message(AssignmentsMessageType.INCREMENTAL, { ...x, desiredState: TaskState.RUNNING }));
  await settle();
  t.same(states(x.id), ['ACCEPTED', 'PREPARING', 'READY', 'STARTING', 'RUNNING']);
});

t.test('the manager says RUNNING but no container exists: FAILED, nothing restarted', async (t) => {
  const { engine, executor, states, last } = setup(t);
  const x = task({ status: { state: TaskState.RUNNING } });
  await executor.assign(message(AssignmentsMessageType.COMPLETE, x));
  await settle();
  t.same(states(x.id), ['FAILED']);
  t.match(last(x.id)?.err, /container of this task is gone/);
  t.equal(engine.containers.size, 0);
});

t.test('a container that exits is reported once; a stale manager status does not move it back', async (t) => {
  const { engine, executor, states } = setup(t);
  const x = task();
  await executor.assign(message(AssignmentsMessageType.COMPLETE, x));
  await settle();
  engine.end('c1', 0);
  await settle();
  t.same(states(x.id), ['ACCEPTED', 'PREPARING', 'READY', 'STARTING', 'RUNNING', 'COMPLETE']);
  await executor.assign(message(AssignmentsMessageType.COMPLETE, x)); // still ASSIGNED as the manager last wrote it
  await executor.assign(message(AssignmentsMessageType.INCREMENTAL, { ...x, desiredState: TaskState.SHUTDOWN }));
  await settle();
  t.same(states(x.id), ['ACCEPTED', 'PREPARING', 'READY', 'STARTING', 'RUNNING', 'COMPLETE'], 'nothing after a final state');
});

t.test('a failed stop is retried (bounded) before SHUTDOWN is reported', async (t) => {
  const { engine, executor, states } = setup(t);
  const x = task();
  await executor.assign(message(AssignmentsMessageType.COMPLETE, x));
  await settle();
  engine.failStops = 2;
  await executor.assign(message(AssignmentsMessageType.INCREMENTAL, { ...x, desiredState: TaskState.SHUTDOWN }));
  await settle();
  t.same(states(x.id).slice(-2), ['RUNNING', 'SHUTDOWN']);
  t.equal([...engine.containers.values()][0]?.status, 'exited');
});

t.test('a missing image is pulled once for all tasks that need it, retried on transient errors', async (t) => {
  const { images, executor, states } = setup(t);
  images.failPulls = 2;
  const a = task({ spec: { container: { image: 'nginx:1', args: ['x'] } } });
  const b = task({ spec: { container: { image: 'nginx:1', args: ['x'] } } });
  await executor.assign(message(AssignmentsMessageType.COMPLETE, a, b));
  await settle(150);
  t.equal(images.pulls, 3, 'two failures and a success, shared by both tasks');
  t.equal(states(a.id).at(-1), 'RUNNING');
  t.equal(states(b.id).at(-1), 'RUNNING');
});

t.test('pull attempts are bounded: then REJECTED', async (t) => {
  const { images, executor, states, last } = setup(t);
  images.failPulls = 100;
  const a = task({ spec: { container: { image: 'nginx:2', args: ['x'] } } });
  await executor.assign(message(AssignmentsMessageType.COMPLETE, a));
  await settle(150);
  t.equal(images.pulls, 3);
  t.same(states(a.id), ['ACCEPTED', 'PREPARING', 'REJECTED']);
  t.match(last(a.id)?.err, /pulling image nginx:2 failed: connection reset/);
});

t.test('prepare runs for at most maxConcurrentOps tasks at once', async (t) => {
  const { engine, executor, states } = setup(t, 2);
  engine.createDelayMs = 20;
  const tasks = Array.from({ length: 6 }, () => task());
  await executor.assign(message(AssignmentsMessageType.COMPLETE, ...tasks));
  await settle(300);
  t.equal(engine.maxCreating, 2);
  for (const x of tasks) t.equal(states(x.id).at(-1), 'RUNNING');
});

t.test('a task removed while its container is being created still has it removed', async (t) => {
  const { engine, executor } = setup(t);
  engine.createDelayMs = 30;
  const x = task();
  await executor.assign(message(AssignmentsMessageType.COMPLETE, x));
  await settle(5);
  await executor.assign(message(AssignmentsMessageType.COMPLETE));
  await settle(150);
  t.equal(engine.containers.size, 0);
  t.same(executor.tasks(), []);
});

t.test('removeAll (swarm leave) removes every task container and forgets the tasks', async (t) => {
  const { engine, executor } = setup(t);
  const tasks = [task(), task(), task()];
  await executor.assign(message(AssignmentsMessageType.COMPLETE, ...tasks));
  await settle();
  t.equal(engine.containers.size, 3);
  await executor.removeAll();
  t.equal(engine.containers.size, 0);
  t.same(executor.tasks(), []);
});

t.test('reportAll repeats the last status of every task (a new agent after a gap)', async (t) => {
  const { executor, states } = setup(t);
  const a = task();
  const b = task({ desiredState: TaskState.READY });
  await executor.assign(message(AssignmentsMessageType.COMPLETE, a, b));
  await settle();
  executor.reportAll();
  t.same(states(a.id).slice(-2), ['RUNNING', 'RUNNING']);
  t.same(states(b.id).slice(-2), ['READY', 'READY']);
});
