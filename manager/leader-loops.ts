/**
 * The leader's control loops: the orchestrator (services → tasks, rolling updates), the allocator
 * (networks, VIPs, ports, task addresses) and the scheduler (pending tasks → nodes). They run only
 * while this manager leads: the daemon calls start() when its raft member becomes leader and stop()
 * when it loses leadership. They talk only through the store.
 *
 * Each loop is a LoopBody (what to watch, what an event makes dirty, one bounded pass of work)
 * driven by a LeaderLoop, which owns every effect: the store watch (re-read from scratch on start
 * and whenever the watch closes), the coalescing window, the one wake timer, store writes retried
 * on CONFLICT a bounded number of times, and the back-off after a failed pass.
 */
import type { Clock, Timer } from '../lib/clock.js';
import { ErrorCode, TsswarmError, errorMessage, isTsswarmError } from '../lib/errors.js';
import { newId as randomId } from '../lib/ids.js';
import { silentLogger, type Logger } from '../lib/log.js';
import { Allocator } from './allocator/allocator.js';
import { Orchestrator } from './orchestrator/orchestrator.js';
import { SchedulerLoop } from './scheduler/scheduler-loop.js';
import type { Store, StoreEvent, Tx, Watcher } from './store/index.js';

/** How long store changes gather before a loop acts on them. */
export const loopBatchWindowMs = 50;
/** The wait before a loop tries again after a pass failed (it re-reads everything then). */
export const loopRetryDelayMs = 1_000;
/** Most attempts of one read-modify-write transaction of a loop. */
export const maxLoopWriteAttempts = 3;
/** Events a loop's watch may fall behind by before it is closed and the loop re-reads everything. */
export const loopWatchQueueEvents = 10_000;

/** What a pass may do besides reading the store. */
export interface LoopContext {
  /** Runs `fn` in a store transaction, again on CONFLICT (at most maxLoopWriteAttempts); CLOSED once stopped. */
  write(fn: (tx: Tx) => void): Promise<void>;
  /** Wall-clock milliseconds (task timestamps, restart delays, update delays). */
  readonly nowMs: number;
}

/** What a pass reports. */
export interface PassResult {
  /** Work is left over (a pass is bounded): run again at once. */
  readonly more: boolean;
  /** Wall-clock time of the earliest delayed work (restart delay, update delay, scheduling retry). */
  readonly wakeAtMs: number | undefined;
}

/** One control loop's logic; the LeaderLoop running it does every effect but store writes. */
export interface LoopBody {
  readonly name: string;
  /** The store events this loop follows. */
  follows(e: StoreEvent): boolean;
  /** Notes what an event makes dirty; cheap and synchronous. */
  note(e: StoreEvent): void;
  /** Forgets incremental state: the next pass re-reads everything (start, watch closed, pass failed). */
  reset(): void;
  /** Does (a bounded amount of) the work noted so far. */
  pass(ctx: LoopContext): Promise<PassResult>;
}

/** What a LeaderLoop is built from. */
export interface LeaderLoopOptions {
  readonly store: Store;
  /** Timers (monotonic). */
  readonly clock: Clock;
  /** Wall-clock milliseconds; Date.now by default. */
  readonly wallClockMs?: () => number;
  readonly log?: Logger;
  /** loopBatchWindowMs by default. */
  readonly batchWindowMs?: number;
}

/** Runs one LoopBody while started: watch, coalesce, pass, write, wake. */
export class LeaderLoop {
  private readonly log: Logger;
  private readonly wallClockMs: () => number;
  private readonly batchWindowMs: number;
  private running = false;
  /** Bumped by start() and stop(): work of an older generation does nothing more. */
  private generation = 0;
  private watcher: Watcher | undefined;
  private runTimer: Timer | undefined;
  private wakeTimer: Timer | undefined;
  private wakeAtMs: number | undefined;
  private passing: Promise<void> | undefined;
  private again = false;
  private passes = 0;

  constructor(
    readonly body: LoopBody,
    private readonly options: LeaderLoopOptions,
  ) {
    this.log = (options.log ?? silentLogger()).child({ loop: body.name });
    this.wallClockMs = options.wallClockMs ?? Date.now;
    this.batchWindowMs = options.batchWindowMs ?? loopBatchWindowMs;
  }

  /** True between start() and stop(). */
  get isRunning(): boolean {
    return this.running;
  }

  /** Passes run so far (for tests and metrics). */
  get passCount(): number {
    return this.passes;
  }

  /** Starts the loop: watch, then re-read everything in a first pass. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.generation++;
    this.body.reset();
    this.watch();
    this.schedule(0);
  }

  /** Stops the loop: no timers, no watch; a pass under way finishes its current write and stops. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.generation++;
    this.watcher?.close();
    this.watcher = undefined;
    this.runTimer?.cancel();
    this.runTimer = undefined;
    this.wakeTimer?.cancel();
    this.wakeTimer = undefined;
    this.wakeAtMs = undefined;
    this.again = false;
  }

  /** Resolves once no pass is under way. */
  async idle(): Promise<void> {
    while (this.passing) await this.passing;
  }

  private watch(): void {
    const watcher = this.options.store.memory.watch((e) => this.body.follows(e), loopWatchQueueEvents);
    this.watcher = watcher;
    void this.follow(watcher, this.generation);
  }

  private async follow(watcher: Watcher, generation: number): Promise<void> {
    for (;;) {
      let event: StoreEvent;
      try {
        event = await watcher.next();
      } catch (err) {
        if (generation !== this.generation) return;
        this.log.warn(`store watch ended (${errorMessage(err)}); re-reading everything`);
        this.body.reset();
        this.watch();
        this.schedule(0);
        return;
      }
      if (generation !== this.generation) return;
      this.body.note(event);
      this.schedule(this.batchWindowMs);
    }
  }

  /** Runs a pass in `ms` (or sooner, when one is already due sooner); after the current one if busy. */
  private schedule(ms: number): void {
    if (!this.running) return;
    if (this.passing) {
      this.again = true;
      return;
    }
    if (this.runTimer) return;
    this.runTimer = this.options.clock.setTimer(ms, () => {
      this.runTimer = undefined;
      this.runPass();
    });
  }

  private runPass(): void {
    if (!this.running || this.passing) return;
    const generation = this.generation;
    this.again = false;
    this.passes++;
    const ctx: LoopContext = { nowMs: this.wallClockMs(), write: (fn) => this.write(fn, generation) };
    this.passing = (async () => {
      let result: PassResult | undefined;
      try {
        result = await this.body.pass(ctx);
      } catch (err) {
        if (generation === this.generation) this.log.warn(`pass failed (${errorMessage(err)}); re-reading everything in ${loopRetryDelayMs} ms`);
      }
      this.passing = undefined;
      if (generation !== this.generation) {
        // Restarted while this pass ran: the new generation's first pass waited for it.
        this.schedule(0);
        return;
      }
      if (result === undefined) {
        this.body.reset();
        this.setWake(undefined);
        this.runTimer?.cancel();
        this.runTimer = undefined;
        this.schedule(loopRetryDelayMs);
        return;
      }
      this.setWake(result.wakeAtMs);
      if (result.more) this.schedule(0);
      else if (this.again) this.schedule(this.batchWindowMs);
    })();
  }

  private setWake(atMs: number | undefined): void {
    if (atMs === this.wakeAtMs) return;
    this.wakeTimer?.cancel();
    this.wakeTimer = undefined;
    this.wakeAtMs = atMs;
    if (atMs === undefined) return;
    const delay = Math.max(0, atMs - this.wallClockMs());
    this.wakeTimer = this.options.clock.setTimer(delay, () => {
      this.wakeTimer = undefined;
      this.wakeAtMs = undefined;
      this.schedule(0);
    });
  }

  private async write(fn: (tx: Tx) => void, generation: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (generation !== this.generation) throw new TsswarmError(ErrorCode.CLOSED, `${this.body.name} stopped (no longer the leader)`);
      try {
        await this.options.store.update(fn);
        return;
      } catch (err) {
        if (!isTsswarmError(err, ErrorCode.CONFLICT) || attempt >= maxLoopWriteAttempts) throw err;
      }
    }
  }
}

/** What LeaderLoops are built from. */
export interface LeaderLoopsOptions extends LeaderLoopOptions {
  /** IDs of new objects (tasks, the ingress network); random IDs by default. */
  readonly newId?: () => string;
}

/** The orchestrator, allocator and scheduler loops, started and stopped together. */
export class LeaderLoops {
  readonly orchestrator: LeaderLoop;
  readonly allocator: LeaderLoop;
  readonly scheduler: LeaderLoop;

  constructor(options: LeaderLoopsOptions) {
    const log = options.log ?? silentLogger();
    const newId = options.newId ?? randomId;
    const shared = { store: options.store, log };
    this.orchestrator = new LeaderLoop(new Orchestrator({ ...shared, newId }), options);
    this.allocator = new LeaderLoop(new Allocator({ ...shared, newId }), options);
    this.scheduler = new LeaderLoop(new SchedulerLoop(shared), options);
  }

  /** Every loop, in pipeline order. */
  get loops(): readonly LeaderLoop[] {
    return [this.orchestrator, this.allocator, this.scheduler];
  }

  /** True while the loops run. */
  get isRunning(): boolean {
    return this.orchestrator.isRunning;
  }

  /** Starts every loop (this manager became the leader). */
  start(): void {
    for (const loop of this.loops) loop.start();
  }

  /** Stops every loop (this manager lost leadership); start() may follow later. */
  stop(): void {
    for (const loop of this.loops) loop.stop();
  }

  /** Resolves once no loop is in the middle of a pass. */
  async idle(): Promise<void> {
    await Promise.all(this.loops.map((l) => l.idle()));
  }
}
