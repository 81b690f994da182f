/** The agent's status queue: one report per task, never backward, bounded. */
import t from 'tap';
import { ErrorCode } from '../../../lib/errors.js';
import { TaskState } from '../../../proto/index.js';
import { StatusQueue } from '../../../worker/agent/index.js';

t.test('the status queue keeps one report per task, never a backward one, and is bounded', async (t) => {
  const queue = new StatusQueue(2);
  queue.push('a', { state: TaskState.STARTING, message: '', err: '' });
  queue.push('a', { state: TaskState.RUNNING, message: '', err: '' });
  queue.push('a', { state: TaskState.PREPARING, message: 'late', err: '' });
  queue.push('b', { state: TaskState.RUNNING, message: '', err: '' });
  t.equal(queue.size, 2);
  t.throws(() => queue.push('c', { state: TaskState.RUNNING, message: '', err: '' }), { code: ErrorCode.QUEUE_FULL });
  const taken = queue.take(1);
  t.same(taken.map((u) => [u.taskId, u.status?.state]), [['a', TaskState.RUNNING]], 'the furthest state of a');
  queue.push('a', { state: TaskState.COMPLETE, message: '', err: '' });
  queue.putBack(taken);
  t.same(queue.take(10).map((u) => [u.taskId, u.status?.state]), [['b', TaskState.RUNNING], ['a', TaskState.COMPLETE]], 'a failed send does not overwrite a newer report');
});
