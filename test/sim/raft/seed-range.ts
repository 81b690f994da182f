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
