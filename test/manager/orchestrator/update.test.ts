import t from 'tap';
import { idlePacing, orchestrate, type OrchestrateOutput, type UpdatePacing } from '../../../manager/orchestrator/update.js';
import {
  NodeAvailability,
  NodeRole,
  NodeState,
  Service,
  TaskState,
  UpdateFailureAction,
  UpdateOrder,
  UpdateState,
  type DeepPartial,
  type Node,
  type ServiceSpec,
  type Task,
} from '../../../proto/index.js';

const nodes: Node[] = ['a', 'b'].map(
  (id) =>
    ({
      id,
      spec: { annotations: { name: id, labels: {} }, role: NodeRole.WORKER, availability: NodeAvailability.ACTIVE },
      status: { state: NodeState.READY, message: '', addr: '' },
      role: NodeRole.WORKER,
    }) as Node,
);

/** The pure core with a hand-played world: applies decisions, runs what it is told to. */
class World {
  tasks: Task[] = [];
  now = 1_000_000;
  pacing: UpdatePacing = idlePacing;
  private seq = 0;
  private version = 0;
  svc: Service;

  constructor(spec: DeepPartial<ServiceSpec>) {
    this.svc = Service.create({ id: 'svc', spec: { annotations: { name: 'web' }, replicated: { replicas: 3 }, task: { container: { image: 'v1' } }, ...spec } });
  }

  step(): OrchestrateOutput {
    const out = orchestrate({ service: this.svc, tasks: this.tasks, nodes, nowMs: this.now, historyLimit: 5, newId: () => `t${++this.seq}`, pacing: this.pacing });
    this.pacing = out.pacing;
    const byId = new Map(this.tasks.map((x) => [x.id, x]));
    for (const s of out.shutdown) byId.set(s.id, { ...(byId.get(s.id) as Task), desiredState: TaskState.SHUTDOWN });
    for (const id of out.remove) byId.delete(id);
    for (const c of out.create) byId.set(c.id, { ...c, meta: { version: { index: ++this.version } } });
    this.tasks = [...byId.values()];
    this.applyRollback(out);
    if (out.updateStatus) this.svc = { ...this.svc, updateStatus: out.updateStatus };
    return out;
  }

  /** Workers: shut-down tasks stop, new tasks run (or fail when `fail` says so). */
  run(fail: (x: Task) => boolean = () => false): void {
    this.tasks = this.tasks.map((x): Task => {
      const state = x.status?.state ?? TaskState.NEW;
      if (x.desiredState > TaskState.RUNNING && state < TaskState.COMPLETE) return { ...x, status: { ...x.status, state: TaskState.SHUTDOWN, message: '', err: '' } };
      if (x.desiredState === TaskState.RUNNING && state < TaskState.RUNNING) {
        const failed = fail(x);
        return { ...x, nodeId: 'a', status: { ...x.status, state: failed ? TaskState.FAILED : TaskState.RUNNING, message: '', err: failed ? 'boom' : '', timestamp: { seconds: this.now / 1000, nanos: 0 } } };
      }
      return x;
    });
  }

  /** A service update as the control API stores it: the old spec kept, the status cleared. */
  image(v: string): void {
    const spec = structuredClone(this.svc.spec as ServiceSpec);
    if (spec.task?.container) spec.task.container.image = v;
    const { updateStatus: _cleared, ...rest } = this.svc;
    this.svc = { ...rest, spec, previousSpec: this.svc.spec as ServiceSpec };
  }

  /** What the orchestrator writes when `out.rollback` says so. */
  applyRollback(out: OrchestrateOutput): void {
    if (!out.rollback || this.svc.previousSpec === undefined) return;
    const { previousSpec, ...rest } = this.svc;
    this.svc = { ...rest, spec: previousSpec };
  }

  /** Tasks of `image` that are wanted and RUNNING, by slot. */
  slotsRunning(image: string): number[] {
    return this.tasks
      .filter((x) => x.desiredState === TaskState.RUNNING && x.status?.state === TaskState.RUNNING && x.spec?.container?.image === image)
      .map((x) => x.slot)
      .sort((a, b) => a - b);
  }

  /** A running task of `image` in `slot` fails now. */
  crash(slot: number, image: string): void {
    this.tasks = this.tasks.map((x): Task =>
      x.slot === slot && x.spec?.container?.image === image && x.status?.state === TaskState.RUNNING
        ? { ...x, status: { ...x.status, state: TaskState.FAILED, message: '', err: 'crashed', timestamp: { seconds: this.now / 1000, nanos: 0 } } }
        : x,
    );
  }

  running(image: string): number {
    return this.tasks.filter((x) => x.desiredState === TaskState.RUNNING && x.status?.state === TaskState.RUNNING && x.spec?.container?.image === image).length;
  }
}

t.test('parallelism 2: batches of 2, the next only when the last runs', async (t) => {
  const w = new World({ replicated: { replicas: 5 }, update: { parallelism: 2 } });
  w.step();
  w.run();
  t.equal(w.step().updateStatus, undefined, 'converged, no update');
  w.image('v2');
  const first = w.step();
  t.equal(first.updateStatus?.state, UpdateState.UPDATING);
  t.same(first.create.map((x) => x.slot), [1, 2]);
  t.same(first.shutdown.map((x) => x.slot).sort(), [1, 2], 'stop-first');
  t.same(w.step().create, [], 'nothing more while the batch is not running');
  w.run();
  t.same(w.step().create.map((x) => x.slot), [3, 4]);
  w.run();
  t.same(w.step().create.map((x) => x.slot), [5]);
  w.run();
  const watching = w.step();
  t.equal(watching.updateStatus, undefined, 'still UPDATING: the last new task is watched for the monitor period');
  t.equal(watching.wakeAtMs, w.now + 5_000, "docker's default monitor of 5 s");
  w.now += 5_000;
  const done = w.step();
  t.equal(done.updateStatus?.state, UpdateState.COMPLETED);
  t.equal(done.updateStatus?.message, 'update completed');
  t.equal(w.running('v2'), 5);
  t.same(w.step().updateStatus, undefined, 'completed stays completed');
});

t.test('delay between batches', async (t) => {
  const w = new World({ replicated: { replicas: 2 }, update: { parallelism: 1, delay: { seconds: 30, nanos: 0 } } });
  w.step();
  w.run();
  w.image('v2');
  t.equal(w.step().create.length, 1);
  w.run();
  const waiting = w.step();
  t.same(waiting.create, []);
  t.equal(waiting.wakeAtMs, w.now + 30_000, 'woken when the delay is over');
  w.now += 30_000;
  t.equal(w.step().create.length, 1);
});

t.test('start-first keeps the old task until the new one runs', async (t) => {
  const w = new World({ replicated: { replicas: 1 }, update: { parallelism: 1, order: UpdateOrder.START_FIRST } });
  w.step();
  w.run();
  w.image('v2');
  const out = w.step();
  t.equal(out.create.length, 1);
  t.same(out.shutdown, []);
  t.same(w.step().shutdown, [], 'reconcile does not stop the old one meanwhile');
  t.equal(w.running('v1'), 1);
  w.run();
  const after = w.step();
  t.same(after.shutdown.map((x) => x.spec?.container?.image), ['v1'], 'the old one stops once the new one runs');
});

t.test('a failed new task pauses the update; continue goes on', async (t) => {
  const paused = new World({ replicated: { replicas: 3 } });
  paused.step();
  paused.run();
  paused.image('v2');
  paused.step();
  paused.run((x) => x.spec?.container?.image === 'v2');
  const out = paused.step();
  t.equal(out.updateStatus?.state, UpdateState.PAUSED);
  t.match(out.updateStatus?.message, /task t4: boom$/);
  t.ok(out.updateStatus?.startedAt, 'startedAt kept');
  paused.now += 60_000;
  paused.step();
  t.equal(paused.running('v1'), 2, 'no further slots replaced while paused');

  const goOn = new World({ replicated: { replicas: 2 }, update: { parallelism: 1, failureAction: UpdateFailureAction.CONTINUE } });
  goOn.step();
  goOn.run();
  goOn.image('v2');
  goOn.step();
  goOn.run((x) => x.spec?.container?.image === 'v2' && x.slot === 1);
  t.same(goOn.step().create.map((x) => x.slot), [2], 'continue: the next slot');
});

t.test('a spec change that does not touch the task template redeploys nothing', async (t) => {
  const w = new World({ replicated: { replicas: 2 } });
  w.step();
  w.run();
  w.svc = { ...w.svc, spec: { ...(w.svc.spec as ServiceSpec), annotations: { name: 'web', labels: { a: 'b' } } }, specVersion: { index: 99 } };
  const out = w.step();
  t.same([out.create.length, out.shutdown.length, out.updateStatus], [0, 0, undefined]);
});

t.test('monitor: a new task failing within the monitor period counts, one failing later does not', async (t) => {
  const early = new World({ replicated: { replicas: 2 }, update: { parallelism: 1, monitor: { seconds: 10, nanos: 0 } } });
  early.step();
  early.run();
  early.image('v2');
  early.step();
  early.run();
  t.same(early.slotsRunning('v2'), [1]);
  early.now += 9_000;
  early.crash(1, 'v2');
  const paused = early.step();
  t.equal(paused.updateStatus?.state, UpdateState.PAUSED, 'failed 9 s after running, within the 10 s monitor');
  t.match(paused.updateStatus?.message, /^update paused due to failure or early termination of task t3: crashed$/);

  const late = new World({ replicated: { replicas: 2 }, update: { parallelism: 1, monitor: { seconds: 10, nanos: 0 } } });
  late.step();
  late.run();
  late.image('v2');
  late.step();
  late.run();
  late.now += 1_000;
  t.same(late.step().create.map((x) => x.slot), [2], 'the next batch does not wait for the monitor period');
  late.run();
  late.now += 10_001;
  late.crash(1, 'v2');
  const out = late.step();
  t.not(out.updateStatus?.state, UpdateState.PAUSED, 'a failure after the monitor period is left to the restart policy');
  late.now += 5_000;
  late.step();
  late.run();
  late.now += 10_001;
  late.step();
  t.equal(late.svc.updateStatus?.state, UpdateState.COMPLETED);
  t.same(late.slotsRunning('v2'), [1, 2], 'the restart policy replaced the late failure');
});

t.test('max failure ratio: failures up to the ratio of the slots are tolerated', async (t) => {
  const w = new World({ replicated: { replicas: 6 }, update: { parallelism: 0, maxFailureRatio: 0.34, monitor: { seconds: 5, nanos: 0 } } });
  w.step();
  w.run();
  w.image('v2');
  t.equal(w.step().create.length, 6, 'parallelism 0: all at once');
  w.run((x) => x.slot === 1 || x.slot === 2);
  const two = w.step();
  t.equal(two.updateStatus, undefined, '2 of 6 failed (0.33 <= 0.34): the update goes on');
  w.now += 5_000;
  w.step();
  w.run((x) => x.slot === 1);
  const three = w.step();
  t.equal(three.updateStatus?.state, UpdateState.PAUSED, 'the third failure (0.5 > 0.34) pauses');
});

t.test('failure action rollback: back to the previous spec with the rollback config, then ROLLBACK_COMPLETED', async (t) => {
  const w = new World({
    replicated: { replicas: 4 },
    update: { parallelism: 2, failureAction: UpdateFailureAction.ROLLBACK },
    rollback: { parallelism: 4, monitor: { seconds: 0, nanos: 0 } },
  });
  w.step();
  w.run();
  w.image('v2');
  w.step();
  w.run((x) => x.spec?.container?.image === 'v2' && x.slot === 2);
  const out = w.step();
  t.equal(out.rollback, true, 'the orchestrator is told to restore the previous spec');
  t.same([out.create, out.shutdown], [[], []], 'nothing made from the failing spec');
  t.equal(out.updateStatus?.state, UpdateState.ROLLBACK_STARTED);
  t.match(out.updateStatus?.message, /^update rolled back due to failure or early termination of task t6: boom$/);
  t.equal(w.svc.spec?.task?.container?.image, 'v1');
  t.equal(w.svc.previousSpec, undefined, 'the failed spec is not kept as a previous one');
  const back = w.step();
  t.equal(back.create.length, 2, 'the two slots on v2 go back; the rollback config (parallelism 4) paces it');
  t.ok(back.create.every((x) => x.spec?.container?.image === 'v1'));
  w.run();
  const done = w.step();
  t.equal(done.updateStatus?.state, UpdateState.ROLLBACK_COMPLETED);
  t.equal(done.updateStatus?.message, 'rollback completed (update rolled back due to failure or early termination of task t6: boom)', 'the reason stays');
  t.same(w.slotsRunning('v1'), [1, 2, 3, 4]);
});

t.test('a failing rollback pauses (never rolls back again); rollback without a previous spec pauses', async (t) => {
  const w = new World({ replicated: { replicas: 2 }, update: { parallelism: 1, failureAction: UpdateFailureAction.ROLLBACK }, rollback: { parallelism: 1 } });
  w.step();
  w.run();
  w.image('v2');
  w.step();
  w.run((x) => x.spec?.container?.image === 'v2');
  t.equal(w.step().updateStatus?.state, UpdateState.ROLLBACK_STARTED);
  w.step();
  w.run(() => true);
  const out = w.step();
  t.equal(out.updateStatus?.state, UpdateState.ROLLBACK_PAUSED);
  t.match(out.updateStatus?.message, /^rollback paused due to failure or early termination of task/);
  t.equal(out.rollback, false);

  const fresh = new World({ replicated: { replicas: 1 }, update: { failureAction: UpdateFailureAction.ROLLBACK } });
  fresh.step();
  fresh.run();
  fresh.image('v2');
  fresh.svc = { ...fresh.svc, previousSpec: undefined } as unknown as Service;
  delete (fresh.svc as { previousSpec?: unknown }).previousSpec;
  fresh.step();
  fresh.run(() => true);
  const paused = fresh.step();
  t.equal(paused.updateStatus?.state, UpdateState.PAUSED);
  t.match(paused.updateStatus?.message, /\(no previous spec to roll back to\)$/);
});

t.test('a manual rollback (ROLLBACK_STARTED from the control API) completes as ROLLBACK_COMPLETED', async (t) => {
  const w = new World({ replicated: { replicas: 2 }, update: { parallelism: 2, monitor: { seconds: 0, nanos: 0 } }, rollback: { parallelism: 1, monitor: { seconds: 0, nanos: 0 } } });
  w.step();
  w.run();
  w.image('v2');
  w.step();
  w.run();
  t.equal(w.step().updateStatus?.state, UpdateState.COMPLETED);
  const spec = w.svc.previousSpec as ServiceSpec;
  w.svc = { ...w.svc, spec, previousSpec: w.svc.spec as ServiceSpec, updateStatus: { state: UpdateState.ROLLBACK_STARTED, message: 'manually requested rollback', startedAt: { seconds: w.now / 1000, nanos: 0 } } };
  t.same(w.step().create.map((x) => x.slot), [1], 'rollback parallelism 1');
  w.run();
  t.same(w.step().create.map((x) => x.slot), [2]);
  w.run();
  const done = w.step();
  t.equal(done.updateStatus?.state, UpdateState.ROLLBACK_COMPLETED);
  t.same(w.slotsRunning('v1'), [1, 2]);
});

t.test('a paused update resumes once the control API clears the status', async (t) => {
  const w = new World({ replicated: { replicas: 2 }, update: { parallelism: 1, monitor: { seconds: 0, nanos: 0 } } });
  w.step();
  w.run();
  w.image('bad');
  w.step();
  w.run(() => true);
  t.equal(w.step().updateStatus?.state, UpdateState.PAUSED);
  w.image('v3');
  const again = w.step();
  t.equal(again.updateStatus?.state, UpdateState.UPDATING);
  w.run();
  w.step();
  w.run();
  t.equal(w.step().updateStatus?.state, UpdateState.COMPLETED);
  t.same(w.slotsRunning('v3'), [1, 2]);
});

t.test('a global update leaves the task of a paused node alone and completes without it', async (t) => {
  const three = ['a', 'b', 'p'].map(
    (id) =>
      ({
        id,
        spec: { annotations: { name: id, labels: {} }, role: NodeRole.WORKER, availability: id === 'p' ? NodeAvailability.PAUSE : NodeAvailability.ACTIVE },
        status: { state: NodeState.READY, message: '', addr: '' },
        role: NodeRole.WORKER,
      }) as Node,
  );
  let svc = Service.create({ id: 'svc', spec: { annotations: { name: 'agent' }, global: {}, task: { container: { image: 'v1' } }, update: { parallelism: 0, monitor: { seconds: 0, nanos: 0 } } } });
  let seq = 0;
  const running = (nodeId: string, image: string): Task =>
    ({
      id: `old-${nodeId}`,
      serviceId: 'svc',
      slot: 0,
      nodeId,
      spec: { container: { image } },
      desiredState: TaskState.RUNNING,
      status: { state: TaskState.RUNNING, message: '', err: '', timestamp: { seconds: 1000, nanos: 0 } },
      meta: { version: { index: ++seq } },
    }) as unknown as Task;
  let tasks = ['a', 'b', 'p'].map((n) => running(n, 'v1'));
  const spec = structuredClone(svc.spec as ServiceSpec);
  if (spec.task?.container) spec.task.container.image = 'v2';
  svc = { ...svc, spec, previousSpec: svc.spec as ServiceSpec };
  const step = (): OrchestrateOutput => orchestrate({ service: svc, tasks, nodes: three, nowMs: 2_000_000, historyLimit: 5, newId: () => `n${++seq}`, pacing: idlePacing });
  const out = step();
  t.same(out.create.map((x) => x.nodeId).sort(), ['a', 'b'], 'the paused node is not updated');
  t.same(out.shutdown.map((x) => x.nodeId).sort(), ['a', 'b']);
  svc = { ...svc, ...(out.updateStatus ? { updateStatus: out.updateStatus } : {}) };
  tasks = [...tasks.filter((x) => x.nodeId === 'p'), ...out.create.map((x) => ({ ...x, meta: { version: { index: ++seq } }, status: { state: TaskState.RUNNING, message: '', err: '', timestamp: { seconds: 2000, nanos: 0 } } }))];
  const done = step();
  t.equal(done.updateStatus?.state, UpdateState.COMPLETED);
  t.same(done.shutdown, [], 'the old task keeps running on the paused node');
});
