import t from 'tap';
import { checkDemotion, checkRemoval, quorumOf } from '../../../manager/controlapi/manager-safety.js';
import { NodeRole, NodeState } from '../../../proto/index.js';
import { member, node } from './helpers.js';

t.test('a quorum is a strict majority', async (t) => {
  t.same([1, 2, 3, 4, 5, 6, 7].map(quorumOf), [1, 2, 2, 3, 3, 4, 4]);
});

t.test('cancelling a promotion that never reached raft is allowed', async (t) => {
  const m1 = node('m1', { role: NodeRole.MANAGER });
  const pending = node('w1', { specRole: NodeRole.MANAGER });
  t.doesNotThrow(() => checkDemotion(pending, [m1, pending], [member('m1', 1)]));
});

t.test('raft members the store does not know still count towards quorum', async (t) => {
  const m1 = node('m1', { role: NodeRole.MANAGER });
  const m2 = node('m2', { role: NodeRole.MANAGER });
  const members = [member('m1', 1), member('m2', 2), member('ghost', 3, false)];
  t.throws(() => checkDemotion(m2, [m1, m2], members), { code: 'ECONFLICT', message: /1 of the 2 managers left would be reachable; a quorum needs 2/ });
  t.doesNotThrow(() => checkDemotion(m2, [m1, m2], members.slice(0, 2)), 'without the unreachable ghost, 1 of 1 is a quorum');
});

t.test('two managers, one unreachable: neither can be demoted', async (t) => {
  const m1 = node('m1', { role: NodeRole.MANAGER });
  const m2 = node('m2', { role: NodeRole.MANAGER });
  const members = [member('m1', 1), member('m2', 2, false)];
  t.throws(() => checkDemotion(m1, [m1, m2], members), { message: /loss of quorum \(0 of the 1 managers left/ });
  t.doesNotThrow(() => checkDemotion(m2, [m1, m2], members), 'demoting the unreachable one leaves the reachable one');
});

t.test('removal: workers that are down go, others need force, managers never', async (t) => {
  t.doesNotThrow(() => checkRemoval(node('w1', { state: NodeState.DOWN }), [], false));
  t.throws(() => checkRemoval(node('w1'), [], false), { code: 'ECONFLICT' });
  t.doesNotThrow(() => checkRemoval(node('w1'), [], true));
  t.throws(() => checkRemoval(node('w1', { state: NodeState.DOWN }), [member('w1', 4)], true), { message: /still a member of the raft cluster/ }, 'a raft member is refused');
  t.throws(() => checkRemoval(node('m1', { role: NodeRole.MANAGER, state: NodeState.DOWN }), [], true), { message: /must be demoted to worker before removal/ });
});
