/**
 * The simulator's self-test: with raft's commit rule deliberately broken
 * (unsafeCommitOldTermEntries, the Raft paper's figure 8), it must find a safety violation within
 * 1,000 seeds, and the same seed must pass with the rule intact. It uses the figure-8 hunting
 * profile (see run.ts); replay with `main.js --seed S --verbose --unsafe --hunt`.
 */
import t from 'tap';
import { huntingProfile, runSeed } from './run.js';

const hunting = huntingProfile;

const safetyChecks = new Set(['election safety', 'log matching', 'leader completeness', 'state machine safety', 'acknowledged write lost', 'linearizability']);

t.test('the simulator catches a leader that commits old-term entries by counting replicas', async (t) => {
  let found: number | undefined;
  for (let seed = 0; seed < 1000 && found === undefined; seed++) {
    const r = runSeed({ ...hunting, seed, unsafeCommitOldTermEntries: true });
    // A stuck cluster is a symptom too, but we want one of the safety checks to fire.
    if (!r.ok && r.check !== undefined && safetyChecks.has(r.check)) {
      found = seed;
      t.comment(`seed ${seed}: ${r.message}`);
    }
  }
  t.not(found, undefined, 'a safety violation within 1,000 seeds');
  if (found === undefined) return;
  const safe = runSeed({ ...hunting, seed: found, unsafeCommitOldTermEntries: false });
  t.ok(safe.ok, `seed ${found} passes with the commit rule intact${safe.ok ? '' : `: ${safe.message}`}`);
});
