/** Shared by the simulator's tap tests: run a range of seeds and fail with a replay command. */
import type { Test } from 'tap';
import { type RunResult, defaultRunOptions, runSeed } from './run.js';

/** Runs seeds [start, start + count) with the default profile; one assertion per failure. */
export function runSeedRange(t: Test, start: number, count: number): RunResult[] {
  const results: RunResult[] = [];
  for (let seed = start; seed < start + count; seed++) {
    const r = runSeed({ ...defaultRunOptions, seed });
    results.push(r);
    if (!r.ok) {
      t.fail(`seed ${seed}: ${r.message}; replay: node dist/test/sim/raft/main.js --seed ${seed} --verbose`);
      break;
    }
  }
  return results;
}

/**
 * The simulator test of one seed range: every seed passes, and the runs between them exercised
 * the system enough for passing to mean something (writes, elections, snapshots, membership
 * changes, reads, torn writes and recoveries from them).
 */
export function testSeedRange(t: Test, start: number, count: number): void {
  const results = runSeedRange(t, start, count);
  t.equal(results.filter((r) => r.ok).length, count, 'every seed keeps every safety and liveness property');
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
}
