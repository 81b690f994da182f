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

  image(v: string): void {
    const spec = structuredClone(this.svc.spec as ServiceSpec);
    if (spec.task?.container) spec.task.container.image = v;
    this.svc = { ...this.svc, spec };
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
