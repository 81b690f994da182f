/**
 * One simulator run: draw the cluster and raft settings from the seed, inject faults for a while,
 * heal, require that commits resume within a bound, then check the client history for
 * linearizability and every acknowledged write for durability.
 */
import { seededRng } from '../../../lib/rng.js';
import { errorMessage } from '../../../lib/errors.js';
import { type SimRaftSettings, type SimStats, SimCluster } from './cluster.js';
import { type CheckName, SimViolation } from './checks.js';
import { checkLinearizable } from './linearizability.js';

/** What a run may be told. */
export interface RunOptions {
  readonly seed: number;
  /** Ticks during which faults are injected. */
  readonly faultTicks: number;
  /** After healing, a write must commit within this many ticks. */
  readonly livenessBoundTicks: number;
  /** Ticks of calm after the liveness bound, for clients to finish. */
  readonly cooldownTicks: number;
  /** Chance per tick of a fault while faults are on; undefined: drawn per seed. */
  readonly faultChance?: number;
  /** Number of initial voters; undefined: drawn per seed (1..7, mostly 3 and 5). */
  readonly voters?: number;
  /** Raft settings to force instead of drawing them. */
  readonly settings?: Partial<SimRaftSettings>;
  /** TEST ONLY: run raft with the deliberately broken commit rule. */
  readonly unsafeCommitOldTermEntries: boolean;
  /** Receives a line per event when set. */
  readonly log?: (line: string) => void;
}

/** Defaults for a run. */
export const defaultRunOptions: Omit<RunOptions, 'seed'> = {
  faultTicks: 600,
  livenessBoundTicks: 300,
  cooldownTicks: 100,
  unsafeCommitOldTermEntries: false,
};

/**
 * The figure-8 hunting profile the simulator's self-test uses: three voters, PreVote and
 * CheckQuorum off (more elections), one entry per append (old-term entries travel alone),
 * frequent faults and a long fault phase. Slower per seed; finds commit-rule bugs far sooner.
 */
export const huntingProfile: Omit<RunOptions, 'seed' | 'unsafeCommitOldTermEntries'> = {
  ...defaultRunOptions,
  voters: 3,
  faultTicks: 3000,
  faultChance: 0.1,
  settings: { preVote: false, checkQuorum: false, maxSizePerMsgBytes: 1 },
};

/** The outcome of one run. */
export interface RunResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly check?: CheckName;
  readonly message?: string;
  readonly tick: number;
  readonly voters: number;
  readonly settings: SimRaftSettings;
  readonly stats: SimStats;
  readonly historyOps: number;
}

/** Draws the settings a seed runs with. */
export function drawSettings(
  seed: number,
  unsafe: boolean,
): { voters: number; faultChance: number; settings: SimRaftSettings } {
  const rng = seededRng(seed ^ 0x5eed);
  const electionTicks = rng.pick([5, 10, 10, 20]);
  return {
    voters: rng.pick([1, 2, 3, 3, 4, 5, 5, 6, 7]),
    faultChance: rng.pick([0.01, 0.03, 0.06, 0.1]),
    settings: {
      electionTicks,
      heartbeatTicks: rng.range(1, Math.max(1, Math.floor(electionTicks / 3))),
      maxSizePerMsgBytes: rng.pick([1, 200, 1024, 1024 * 1024]),
      maxInflightMessages: rng.pick([1, 2, 4, 64]),
      preVote: rng.chance(0.75),
      checkQuorum: rng.chance(0.75),
      unsafeCommitOldTermEntries: unsafe,
    },
  };
}

/** Runs one seed to the end or to the first violation. */
export function runSeed(opts: RunOptions): RunResult {
  const log = opts.log ?? (() => {});
  const drawn = drawSettings(opts.seed, opts.unsafeCommitOldTermEntries);
  const voters = opts.voters ?? drawn.voters;
  const settings = { ...drawn.settings, ...opts.settings };
  const faultChance = opts.faultChance ?? drawn.faultChance;
  log(`seed ${opts.seed}: ${voters} voters, fault chance ${faultChance}/tick, ${JSON.stringify(settings)}`);
  const rng = seededRng(opts.seed);
  const cluster = new SimCluster({ rng, settings, voters, log });
  const base = { seed: opts.seed, voters, settings, stats: cluster.stats };
  try {
    runPhases(cluster, { ...opts, faultChance }, rng.chance.bind(rng));
  } catch (err) {
    const check = err instanceof SimViolation ? err.check : undefined;
    log(`t=${cluster.now} VIOLATION ${errorMessage(err)}`);
    for (const line of cluster.describe()) log(line);
    if (check === undefined) throw err;
    return { ...base, ok: false, check, message: errorMessage(err), tick: cluster.now, historyOps: cluster.history.length };
  }
  return { ...base, ok: true, tick: cluster.now, historyOps: cluster.history.length };
}

function runPhases(cluster: SimCluster, opts: RunOptions & { faultChance: number }, chance: (p: number) => boolean): void {
  const log = opts.log ?? (() => {});
  for (let t = 0; t < opts.faultTicks; t++) {
    if (chance(opts.faultChance)) cluster.injectFault();
    cluster.step(true);
  }
  cluster.healAll();
  cluster.resetProbe();
  const healedAt = cluster.now;
  let live = false;
  for (let t = 0; t < opts.livenessBoundTicks && !live; t++) {
    cluster.step(true);
    if (t % 5 === 0) live = cluster.probeLiveness();
  }
  if (!live) {
    throw new SimViolation('liveness', `no write committed within ${opts.livenessBoundTicks} ticks after healing at ${healedAt}`);
  }
  log(`t=${cluster.now} commits resumed ${cluster.now - healedAt} ticks after healing`);
  for (let t = 0; t < opts.cooldownTicks; t++) cluster.step(t < opts.cooldownTicks / 2);
  cluster.abandonAll();
  cluster.checkDurability();
  const lin = checkLinearizable(cluster.history);
  if (!lin.ok) {
    throw new SimViolation('linearizability', `key ${lin.key}: ${lin.reason} (${cluster.history.length} ops)`);
  }
}
