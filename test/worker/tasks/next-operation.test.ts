/**
 * The controller's decisions: forward only, never past the desired state, shutdown and removal
 * first, adopted containers confirmed once.
 */
import t from 'tap';
import { TaskState } from '../../../proto/index.js';
import { nextOperation, type ControllerView } from '../../../worker/tasks/next-operation.js';

const base: ControllerView = { removed: false, observed: TaskState.ASSIGNED, desired: TaskState.RUNNING, container: 'none', reportedRunning: false, watching: false };
const v = (over: Partial<ControllerView>): ControllerView => ({ ...base, ...over });

t.test('a new task walks accept → prepare → start → watch', async (t) => {
  t.equal(nextOperation(v({})), 'accept');
  t.equal(nextOperation(v({ observed: TaskState.ACCEPTED })), 'prepare');
  t.equal(nextOperation(v({ observed: TaskState.READY, container: 'created' })), 'start');
  t.equal(nextOperation(v({ observed: TaskState.RUNNING, container: 'running', reportedRunning: true })), 'watch');
  t.equal(nextOperation(v({ observed: TaskState.RUNNING, container: 'running', reportedRunning: true, watching: true })), 'idle');
  t.equal(nextOperation(v({ observed: TaskState.RUNNING, container: 'exited', reportedRunning: true })), 'report-exit');
});

t.test('never past the desired state: a task held at READY is prepared, not started', async (t) => {
  t.equal(nextOperation(v({ observed: TaskState.ACCEPTED, desired: TaskState.READY })), 'prepare');
  t.equal(nextOperation(v({ observed: TaskState.READY, desired: TaskState.READY, container: 'created' })), 'idle');
});

t.test('desired SHUTDOWN or beyond stops the task unless it already ended', async (t) => {
  for (const desired of [TaskState.SHUTDOWN, TaskState.REMOVE]) {
    t.equal(nextOperation(v({ observed: TaskState.RUNNING, desired, container: 'running', reportedRunning: true })), 'shutdown');
    t.equal(nextOperation(v({ observed: TaskState.ASSIGNED, desired })), 'shutdown');
  }
  t.equal(nextOperation(v({ observed: TaskState.FAILED, desired: TaskState.SHUTDOWN, container: 'exited' })), 'idle');
});

t.test('a task that left the set has its container removed, whatever its state', async (t) => {
  t.equal(nextOperation(v({ removed: true, observed: TaskState.RUNNING, container: 'running' })), 'remove');
  t.equal(nextOperation(v({ removed: true, observed: TaskState.COMPLETE, container: 'exited' })), 'remove');
  t.equal(nextOperation(v({ removed: true, observed: TaskState.COMPLETE })), 'idle');
});

t.test('after a restart: adopted running containers are confirmed, lost ones fail, exited ones report', async (t) => {
  t.equal(nextOperation(v({ observed: TaskState.RUNNING, container: 'running' })), 'confirm-running');
  t.equal(nextOperation(v({ observed: TaskState.RUNNING })), 'lost');
  t.equal(nextOperation(v({ observed: TaskState.RUNNING, container: 'exited' })), 'report-exit');
  // The manager never heard of the start: the steps are walked again, the container reused.
  t.equal(nextOperation(v({ observed: TaskState.ASSIGNED, container: 'running' })), 'accept');
  t.equal(nextOperation(v({ observed: TaskState.STARTING, container: 'running' })), 'start');
  t.equal(nextOperation(v({ observed: TaskState.COMPLETE, container: 'exited' })), 'idle');
});

t.test('with a health check: STARTING until healthy, unhealthy fails the task before or after RUNNING', async (t) => {
  const started = v({ observed: TaskState.STARTING, container: 'running', health: 'starting' });
  t.equal(nextOperation(started), 'watch', 'started, not yet healthy: watch (no RUNNING)');
  t.equal(nextOperation({ ...started, watching: true }), 'idle');
  t.equal(nextOperation({ ...started, watching: true, health: 'healthy' }), 'start', 'healthy: start reports RUNNING');
  t.equal(nextOperation({ ...started, health: 'none' }), 'start', 'no health check: RUNNING at once');
  t.equal(nextOperation({ ...started, health: 'unhealthy' }), 'fail-unhealthy', 'unhealthy before RUNNING');
  t.equal(nextOperation(v({ observed: TaskState.RUNNING, container: 'running', reportedRunning: true, watching: true, health: 'unhealthy' })), 'fail-unhealthy', 'unhealthy after RUNNING');
  t.equal(nextOperation(v({ observed: TaskState.RUNNING, container: 'exited', reportedRunning: true, health: 'unhealthy' })), 'fail-unhealthy', 'stopped for being unhealthy: that is the error, not the exit');
  t.equal(nextOperation(v({ observed: TaskState.FAILED, container: 'exited', health: 'unhealthy' })), 'idle', 'reported once');
  t.equal(nextOperation({ ...started, health: 'unhealthy', desired: TaskState.SHUTDOWN }), 'shutdown', 'a wanted shutdown comes first');
  t.equal(nextOperation(v({ observed: TaskState.READY, container: 'created', health: 'starting' })), 'start', 'not started yet: start it');
});
