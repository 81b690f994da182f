/**
 * Exit → task status, in docker's words: COMPLETE for 0, FAILED "task: non-zero exit (N)", OOM named.
 */
import t from 'tap';
import { TaskState } from '../../../proto/index.js';
import { exitStatus, isTerminal } from '../../../worker/tasks/task-status.js';

t.test('exit codes become COMPLETE or FAILED with the code', async (t) => {
  const done = exitStatus({ exitCode: 0, oomKilled: false }, 'c1', 1_000);
  t.match(done, { state: TaskState.COMPLETE, message: 'finished', err: '', containerStatus: { containerId: 'c1', exitCode: 0 }, timestamp: { seconds: 1 } });
  const failed = exitStatus({ exitCode: 3, oomKilled: false }, 'c1', 1_000);
  t.match(failed, { state: TaskState.FAILED, err: 'task: non-zero exit (3)', containerStatus: { exitCode: 3 } });
});

t.test('an OOM kill is a failure and says so', async (t) => {
  const s = exitStatus({ exitCode: 137, oomKilled: true }, 'c1', 0);
  t.equal(s.state, TaskState.FAILED);
  t.match(s.err, /^task: non-zero exit \(137\): .*out of memory \(OOM\)/);
});

t.test('terminal states: COMPLETE and everything after it', async (t) => {
  t.equal(isTerminal(TaskState.RUNNING), false);
  for (const s of [TaskState.COMPLETE, TaskState.SHUTDOWN, TaskState.FAILED, TaskState.REJECTED, TaskState.REMOVE, TaskState.ORPHANED]) t.equal(isTerminal(s), true);
});
