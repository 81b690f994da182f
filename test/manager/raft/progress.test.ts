import t from 'tap';
import { Progress } from '../../../manager/raft/progress.js';

function progress(match: number, next: number, maxInflightMessages = 2): Progress {
  return new Progress({ match, next, maxInflightMessages, isLearner: false, recentActive: true });
}

t.test('probe state sends one append at a time', async (t) => {
  const pr = progress(0, 5);
  t.notOk(pr.isPaused());
  pr.probeSent = true;
  t.ok(pr.isPaused(), 'paused until the probe is answered');
  t.ok(pr.maybeUpdate(4), 'an acknowledgement is news');
  t.notOk(pr.isPaused(), 'and unpauses');
  t.equal(pr.match, 4);
  t.equal(pr.next, 5);
  t.notOk(pr.maybeUpdate(3), 'a stale acknowledgement is not');
});

t.test('replicate state pipelines until the window is full', async (t) => {
  const pr = progress(5, 6);
  pr.becomeReplicate();
  pr.optimisticUpdate(8);
  pr.inflights.add(8);
  pr.optimisticUpdate(10);
  pr.inflights.add(10);
  t.equal(pr.next, 11);
  t.ok(pr.isPaused(), 'two messages in flight fill a window of 2');
  pr.maybeUpdate(8);
  pr.inflights.freeLE(8);
  t.notOk(pr.isPaused());
});

t.test('a rejection in replicate state falls back to match + 1', async (t) => {
  const pr = progress(5, 11);
  pr.becomeReplicate();
  pr.next = 11;
  t.notOk(pr.maybeDecrTo(4, 4), 'rejection of an index we know matches is stale');
  t.ok(pr.maybeDecrTo(9, 9));
  t.equal(pr.next, 6);
});

t.test('a rejection in probe state uses the hint but never goes below match + 1', async (t) => {
  const pr = progress(3, 10);
  t.notOk(pr.maybeDecrTo(8, 2), 'only the rejection of the outstanding probe (next - 1) counts');
  t.ok(pr.maybeDecrTo(9, 6));
  t.equal(pr.next, 7, 'jumps straight past the hint');
  t.ok(pr.maybeDecrTo(6, 0));
  t.equal(pr.next, 4, 'but not below match + 1');
});

t.test('snapshot state waits, then probes past the snapshot', async (t) => {
  const pr = progress(2, 3);
  pr.becomeSnapshot(20);
  t.ok(pr.isPaused());
  t.equal(pr.pendingSnapshot, 20);
  pr.becomeProbe();
  t.equal(pr.state, 'probe');
  t.equal(pr.next, 21, 'assumes the snapshot landed; a rejection will correct it');
  pr.becomeSnapshot(20);
  pr.pendingSnapshot = 0;
  pr.becomeProbe();
  t.equal(pr.next, 3, 'a failed snapshot probes from match + 1');
});

t.test('describe is what scenario output shows', async (t) => {
  const pr = progress(4, 5);
  pr.becomeReplicate();
  t.equal(pr.describe(), 'replicate match=4 next=5 inflight=0');
});
