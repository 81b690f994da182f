import t from 'tap';
import { ErrorCode, isTsswarmError } from '../../../../lib/errors.js';
import { isLearnerNotReadyError, isLearnerReady, LearnerNotReadyError, learnerMaxLagEntries } from '../../../../manager/raft/node/learner-readiness.js';

t.test('a learner is ready at 90% of the leader\'s commit, and no more than the fixed lag behind', async (t) => {
  t.ok(isLearnerReady(0, 0), 'nothing committed yet: nothing to catch up');
  t.ok(isLearnerReady(90, 100), '90% of a short log');
  t.notOk(isLearnerReady(89, 100), 'below 90%');
  t.ok(isLearnerReady(120, 100), 'matched past the commit (entries not yet committed)');
  const long = 1_000_000;
  t.ok(isLearnerReady(long - learnerMaxLagEntries, long), 'a long log: within the fixed lag');
  t.notOk(isLearnerReady(long - learnerMaxLagEntries - 1, long), 'a long log: 90% is not enough beyond the fixed lag');
});

t.test('the refusal is a typed CONFLICT that names the learner and how far it is', async (t) => {
  const err = new LearnerNotReadyError(4, 12, 300);
  t.ok(isTsswarmError(err, ErrorCode.CONFLICT));
  t.ok(isLearnerNotReadyError(err));
  t.notOk(isLearnerNotReadyError(new Error('x')));
  t.match(err.message, /^learner 4 is not caught up yet: match 12 of 300/);
  t.same([err.raftId, err.match, err.commit], [4, 12, 300]);
});
