/** `service inspect` / `service ps` rendering of update status, rebalancing and placement reasons (pure). */
import t from 'tap';
import { prettyService, serviceDocument, serviceTaskRows } from '../../cli/service-view.js';
import { RebalanceMode, Service, Task, TaskState, UpdateState } from '../../proto/index.js';

const service = (extra: Partial<Service> = {}): Service =>
  Service.create({
    id: 'svc1',
    spec: { annotations: { name: 'web' }, replicated: { replicas: 2 }, task: { container: { image: 'busybox' } }, rebalance: RebalanceMode.ON },
    ...extra,
  });

t.test('update status: the state as docker spells it and the reason, in --pretty and JSON', async (t) => {
  const s = service({
    updateStatus: { state: UpdateState.ROLLBACK_STARTED, startedAt: { seconds: 1_700_000_000, nanos: 0 }, message: 'update rolled back due to failure or early termination of task abc: exit code 1' },
  });
  const pretty = prettyService(s, new Map());
  t.match(pretty, /UpdateStatus:\n State:\t\trollback_started\n Started:\t.* ago\n Message:\tupdate rolled back due to failure or early termination of task abc: exit code 1\n/);
  t.match(pretty, /\nRebalance:\ton\n/);
  const doc = serviceDocument(s) as { UpdateStatus: { State: string; Message: string }; Spec: { Rebalance?: string } };
  t.equal(doc.UpdateStatus.State, 'rollback_started');
  t.match(doc.UpdateStatus.Message, /^update rolled back/);
  t.equal(doc.Spec.Rebalance, 'on');
  for (const [state, text] of [
    [UpdateState.UPDATING, 'updating'],
    [UpdateState.PAUSED, 'paused'],
    [UpdateState.COMPLETED, 'completed'],
    [UpdateState.ROLLBACK_PAUSED, 'rollback_paused'],
    [UpdateState.ROLLBACK_COMPLETED, 'rollback_completed'],
  ] as const) {
    t.equal((serviceDocument(service({ updateStatus: { state, message: 'm' } })) as { UpdateStatus: { State: string } }).UpdateStatus.State, text);
  }
  const plain = service();
  t.match(prettyService({ ...plain, spec: { ...plain.spec, rebalance: RebalanceMode.DEFAULT } } as Service, new Map()), /\nRebalance:\tdefault \(the cluster setting\)\n/);
});

t.test('service ps rows say why a task sits on its node', async (t) => {
  const task = Task.create({
    id: 'task1',
    serviceId: 'svc1',
    slot: 1,
    nodeId: 'n3',
    desiredState: TaskState.RUNNING,
    spec: { container: { image: 'busybox' } },
    status: { state: TaskState.RUNNING, timestamp: { seconds: 1_700_000_000, nanos: 0 }, message: 'started' },
    placementReason: 'rebalanced from node h1; fewest tasks of the service on the node (0), then least loaded (0 tasks) among 3 eligible nodes',
  });
  const [row] = serviceTaskRows([task], { serviceNames: new Map([['svc1', 'web']]), hostnames: new Map([['n3', 'h3']]), nowMs: 1_700_000_000_000, noTrunc: true });
  t.match(row?.Placement, /^rebalanced from node h1; fewest tasks of the service/);
  t.equal(row?.Node, 'h3');
});
