/**
 * Seeds of the default profile that once failed, and what they found; each must keep passing.
 * A fix (or any change to the simulator's random draws) usually steers a seed away from the
 * situation it found, so the behaviour itself is pinned by a scripted test named beside it.
 */
import t from 'tap';
import { defaultRunOptions, runSeed } from './run.js';

interface Regression {
  readonly seed: number;
  readonly found: string;
}

const regressions: readonly Regression[] = [
  { seed: 138043, found: 'a removed node kept the cluster leaderless (testdata/removed-node-election.txt)' },
  { seed: 170706, found: 'a removed node kept the cluster leaderless (testdata/removed-node-election.txt)' },
  { seed: 309570, found: 'a refused vote request restarted the election timer and 2 voters stalled' },
  { seed: 189087, found: 'a refused vote request restarted the election timer and 2 voters stalled' },
  {
    seed: 429957,
    found:
      'a sole voter led a term before its vote was persisted, lost both in a crash and voted for another node in that term ' +
      '(raw-node.test.ts: a sole voter leads only once its new term and vote are persisted)',
  },
  {
    seed: 463746,
    found: 'a voter that had not applied a new member ignored its stale vote requests, so it never learned the term it needed ' +
      '(testdata/stale-vote-request.txt)',
  },
  {
    seed: 53367,
    found: 'a crash between a snapshot file and its WAL mark, then entries appended after the snapshot: the next recovery ' +
      'found a gap in the WAL (disk-storage.test.ts: a second restart starts after the snapshot)',
  },
];

for (const r of regressions) {
  t.test(`seed ${r.seed}: ${r.found}`, async (t) => {
    const result = runSeed({ ...defaultRunOptions, seed: r.seed });
    t.ok(result.ok, result.ok ? 'passes' : `${result.message}; replay: node dist/test/sim/raft/main.js --seed ${r.seed} --verbose`);
  });
}
