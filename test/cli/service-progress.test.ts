/**
 * The progress `service create|update|scale` show (pure): task lists → per-slot lines, the overall
 * count, the verify phase, jobs, paused updates, and the plain-line printer for pipes.
 */
import t from 'tap';
import { changedLines, initialProgress, progressBar, progressFrame, taskProgressText } from '../../cli/service-progress.js';
import { Service, Task, TaskState, UpdateState, type DeepPartial, type TaskSpec } from '../../proto/index.js';

const spec: DeepPartial<TaskSpec> = { container: { image: 'nginx:1' } };
const web = Service.create({ id: 'svc', spec: { annotations: { name: 'web' }, task: spec, replicated: { replicas: 3 }, update: { monitor: { seconds: 5, nanos: 0 } } } });

let n = 0;
function task(slot: number, state: TaskState, extra: DeepPartial<Task> = {}): Task {
  n++;
  return Task.create({ id: `t${n}`, serviceId: 'svc', slot, spec, desiredState: TaskState.RUNNING, status: { state }, meta: { version: { index: n } }, ...extra });
}

const texts = (f: { lines: readonly { text: string }[] }): string[] => f.lines.map((l) => l.text);

t.test("docker's bar and state column", async (t) => {
  t.equal(progressBar(9, 9), `[${'='.repeat(50)}>]`);
  t.equal(progressBar(1, 9), `[${'='.repeat(5)}>${' '.repeat(45)}]`);
  t.equal(taskProgressText(task(1, TaskState.RUNNING)), `running   [${'='.repeat(50)}>]`);
  t.equal(taskProgressText(task(1, TaskState.PREPARING)), `preparing [${'='.repeat(33)}>${' '.repeat(17)}]`);
  t.equal(taskProgressText(task(1, TaskState.FAILED, { status: { state: TaskState.FAILED, err: 'task: non-zero exit (1)' } })), 'task: non-zero exit (1)', 'an error replaces the bar');
});

t.test('replicated: one line per slot, converged only after the verify period', async (t) => {
  const tasks = [task(1, TaskState.RUNNING), task(2, TaskState.RUNNING), task(3, TaskState.STARTING)];
  const f1 = progressFrame(web, tasks, 1_000, initialProgress);
  t.same(texts(f1), [
    'overall progress: 2 out of 3 tasks',
    `1/3: running   [${'='.repeat(50)}>]`,
    `2/3: running   [${'='.repeat(50)}>]`,
    `3/3: starting  [${'='.repeat(44)}>${' '.repeat(6)}]`,
  ]);
  t.equal(f1.done, false);

  const running = [...tasks.slice(0, 2), task(3, TaskState.RUNNING)];
  const f2 = progressFrame(web, running, 2_000, f1.state);
  t.equal(texts(f2).at(0), 'overall progress: 3 out of 3 tasks');
  t.equal(texts(f2).at(-1), 'verify: Waiting 5 seconds to verify that tasks are stable...');
  t.equal(f2.done, false);
  const f3 = progressFrame(web, running, 4_500, f2.state);
  t.equal(texts(f3).at(-1), 'verify: Waiting 3 seconds to verify that tasks are stable...', 'counts down');
  const f4 = progressFrame(web, running, 7_000, f3.state);
  t.equal(texts(f4).at(-1), 'verify: Service converged');
  t.equal(f4.done, true);

  const relapse = progressFrame(web, tasks, 5_000, f3.state);
  t.equal(relapse.state.convergedAtMs, undefined, 'a task falling back restarts the verify period');
});

t.test('only tasks of the current template and still wanted count; the newest of a slot is shown', async (t) => {
  const old = (slot: number): Task => task(slot, TaskState.RUNNING, { spec: { container: { image: 'nginx:0' } } });
  const stopped = task(2, TaskState.SHUTDOWN, { desiredState: TaskState.SHUTDOWN });
  const failedThenNew = [task(3, TaskState.FAILED, { status: { state: TaskState.FAILED, err: 'boom' } }), task(3, TaskState.PENDING)];
  const f = progressFrame(web, [old(1), stopped, ...failedThenNew], 0, initialProgress);
  t.same(texts(f), ['overall progress: 0 out of 3 tasks', `3/3: pending   [${'='.repeat(16)}>${' '.repeat(34)}]`]);
});

t.test('global: one line per node (short ID); total is the nodes with a task', async (t) => {
  const api = Service.create({ id: 'svc', spec: { task: spec, global: {}, update: { monitor: { seconds: 0, nanos: 1_000_000 } } } });
  const tasks = [task(0, TaskState.RUNNING, { nodeId: 'nodeaaaaaaaaaaaaaaaa' }), task(0, TaskState.ASSIGNED, { nodeId: 'nodebbbbbbbbbbbbbbbb' })];
  const f = progressFrame(api, tasks, 0, initialProgress);
  t.same(texts(f), ['overall progress: 1 out of 2 tasks', `nodeaaaaaaaa: running   [${'='.repeat(50)}>]`, `nodebbbbbbbb: assigned  [${'='.repeat(22)}>${' '.repeat(28)}]`]);
});

t.test('jobs: completions, active tasks, then "job complete" without a verify period', async (t) => {
  const job = Service.create({ id: 'svc', spec: { task: spec, replicatedJob: { totalCompletions: 2, maxConcurrent: 1 } } });
  const f1 = progressFrame(job, [task(1, TaskState.COMPLETE), task(2, TaskState.RUNNING)], 0, initialProgress);
  t.same(texts(f1).slice(0, 2), ['job progress: 1 out of 2 complete', 'active tasks: 1 out of 1 tasks']);
  t.equal(f1.done, false);
  const f2 = progressFrame(job, [task(1, TaskState.COMPLETE), task(2, TaskState.COMPLETE)], 0, f1.state);
  t.equal(texts(f2).at(-1), 'job complete');
  t.equal(f2.done, true);
});

t.test('a paused update stops the wait with its message; a rollback is announced', async (t) => {
  const paused = Service.create({ ...web, updateStatus: { state: UpdateState.PAUSED, message: 'update paused due to failure or early termination of task t9' } });
  const f = progressFrame(paused, [], 0, initialProgress);
  t.equal(f.done, true);
  t.equal(f.error, 'update paused: update paused due to failure or early termination of task t9');
  const rolling = Service.create({ ...web, updateStatus: { state: UpdateState.ROLLBACK_STARTED, message: 'manually requested rollback' } });
  const r = progressFrame(rolling, [task(1, TaskState.RUNNING), task(2, TaskState.RUNNING), task(3, TaskState.RUNNING)], 0, initialProgress);
  t.equal(texts(r)[0], 'rollback: manually requested rollback');
  t.equal(r.done, false, 'not converged while the rollback runs');
});

t.test('plain output prints a line only when it changed; the countdown is one line', async (t) => {
  const shown = new Map<string, string>();
  const running = [task(1, TaskState.RUNNING), task(2, TaskState.RUNNING), task(3, TaskState.RUNNING)];
  const f1 = progressFrame(web, [...running.slice(0, 2), task(3, TaskState.READY)], 0, initialProgress);
  t.equal(changedLines(f1, shown).length, 4);
  t.same(changedLines(f1, shown), [], 'nothing new');
  const f2 = progressFrame(web, running, 1_000, f1.state);
  t.same(changedLines(f2, shown), ['overall progress: 3 out of 3 tasks', `3/3: running   [${'='.repeat(50)}>]`, 'verify: Waiting 5 seconds to verify that tasks are stable...']);
  const f3 = progressFrame(web, running, 3_000, f2.state);
  t.same(changedLines(f3, shown), [], 'the countdown is not repeated');
  const f4 = progressFrame(web, running, 6_000, f3.state);
  t.same(changedLines(f4, shown), ['verify: Service converged']);
});
