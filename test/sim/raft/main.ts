/**
 * The raft simulator's command line:
 *   node dist/test/sim/raft/main.js --seeds N [--start S]   run seeds S..S+N-1, stop at the first failure
 *   node dist/test/sim/raft/main.js --seed S --verbose      replay one seed with its event log
 * Options: --unsafe (run with the deliberately broken commit rule), --hunt (the figure-8 hunting
 * profile the self-test uses), --fault-ticks T.
 */
import { type RunOptions, defaultRunOptions, huntingProfile, runSeed } from './run.js';

interface Args {
  start: number;
  seeds: number;
  verbose: boolean;
  unsafe: boolean;
  hunt: boolean;
  faultTicks: number | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { start: 0, seeds: 100, verbose: false, unsafe: false, hunt: false, faultTicks: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer`);
      return v;
    };
    switch (a) {
      case '--seeds':
        args.seeds = value();
        break;
      case '--start':
        args.start = value();
        break;
      case '--seed':
        args.start = value();
        args.seeds = 1;
        break;
      case '--verbose':
        args.verbose = true;
        break;
      case '--unsafe':
        args.unsafe = true;
        break;
      case '--hunt':
        args.hunt = true;
        break;
      case '--fault-ticks':
        args.faultTicks = value();
        break;
      default:
        throw new Error(`unknown argument ${a}; see the header of test/sim/raft/main.ts`);
    }
  }
  return args;
}

function main(): number {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  let acked = 0;
  let torn = 0;
  for (let seed = args.start; seed < args.start + args.seeds; seed++) {
    const profile = args.hunt ? huntingProfile : defaultRunOptions;
    const opts: RunOptions = {
      ...profile,
      seed,
      faultTicks: args.faultTicks ?? profile.faultTicks,
      unsafeCommitOldTermEntries: args.unsafe,
      ...(args.verbose ? { log: (line: string) => console.log(line) } : {}),
    };
    const r = runSeed(opts);
    acked += r.stats.acked;
    torn += r.stats.tornWrites;
    const done = seed - args.start + 1;
    if (!r.ok) {
      console.log(`FAIL seed ${seed}: ${r.message} (tick ${r.tick})`);
      const flags = `${args.unsafe ? ' --unsafe' : ''}${args.hunt ? ' --hunt' : ''}${args.faultTicks !== undefined ? ` --fault-ticks ${args.faultTicks}` : ''}`;
      console.log(`replay: node dist/test/sim/raft/main.js --seed ${seed} --verbose${flags}`);
      return 1;
    }
    if (args.verbose || done % 50 === 0 || done === args.seeds) {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`${done}/${args.seeds} seeds ok (last ${seed}: ${r.voters} voters, ${r.stats.elections} elections, ${r.stats.faults} faults, ${r.historyOps} ops) ${acked} acked writes, ${torn} torn writes, ${secs}s`);
    }
  }
  return 0;
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(`sim:raft: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
}
