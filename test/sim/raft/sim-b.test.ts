import t from 'tap';
import { runSeedRange } from './seed-range.js';

// Seeds 500..999 of the default profile (the seeds are split over two files so tap runs them in parallel).
t.test('raft simulator, seeds 500..999', async (t) => {
  const results = runSeedRange(t, 500, 500);
  t.equal(results.filter((r) => r.ok).length, 500, 'every seed keeps every safety and liveness property');
  const acked = results.reduce((n, r) => n + r.stats.acked, 0);
  const elections = results.reduce((n, r) => n + r.stats.elections, 0);
  const snapshots = results.reduce((n, r) => n + r.stats.snapshotsSent, 0);
  const confChanges = results.reduce((n, r) => n + r.stats.confChanges, 0);
  const reads = results.reduce((n, r) => n + r.stats.readsServed, 0);
  // The runs must actually exercise the system, or passing them means nothing.
  t.ok(acked > 10_000, `acknowledged writes: ${acked}`);
  t.ok(elections > 1_000, `elections: ${elections}`);
  t.ok(snapshots > 50, `snapshots sent: ${snapshots}`);
  t.ok(confChanges > 200, `membership changes proposed: ${confChanges}`);
  t.ok(reads > 5_000, `reads served by ReadIndex: ${reads}`);
  // Torn writes: a crash kept only a prefix of an unsynced Ready's records (entries without the
  // hard state, say), and the node restarted from that disk and kept every property.
  const torn = results.reduce((n, r) => n + r.stats.tornWrites, 0);
  const tornBeforeHardState = results.reduce((n, r) => n + r.stats.tornBeforeHardState, 0);
  const tornRecoveries = results.reduce((n, r) => n + r.stats.tornRecoveries, 0);
  t.ok(torn >= 5, `torn writes: ${torn}`);
  t.ok(tornBeforeHardState >= 5, `torn writes that kept entries but lost the hard state: ${tornBeforeHardState}`);
  t.ok(tornRecoveries >= 5, `restarts from a torn write: ${tornRecoveries}`);
});
