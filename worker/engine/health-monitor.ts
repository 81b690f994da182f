/**
 * Runs containers' health checks: one probe at a time per container, inside the container through
 * the runtime's exec (runc exec in its namespaces), killed when it runs past its timeout. The
 * state machine is health.ts; this is the shell around it: timers, the probe process, the state
 * kept in the container's folder (so a restarted daemon carries on where it was) and the
 * listeners that want to hear when a status changes (the task controller).
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../../lib/assert.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { HealthCheckSpec } from '../executor/container-config.js';
import { containerPaths, type RuntimeDirs } from '../executor/paths.js';
import type { Runtime } from '../executor/runtime.js';
import {
  initialHealth,
  maxHealthLogEntries,
  maxHealthOutputBytes,
  nextProbeDelayMs,
  probeArgs,
  recordProbe,
  timedOutResult,
  type HealthState,
  type HealthStatus,
  type ProbeResult,
} from './health.js';

/** How long a probe killed for its timeout may take to go before it is given up on. */
export const probeKillGraceMs = 2_000;
/** Listeners per container (task controllers, one each; bounded against leaks). */
export const maxHealthListeners = 16;

/** Called with the new state whenever a container's health status changes. */
export type HealthListener = (state: HealthState) => void;

interface Watch {
  stopped: boolean;
  wake: () => void;
}

function healthFile(dirs: RuntimeDirs, id: string): string {
  return join(containerPaths(dirs, id).dir, 'health.json');
}

function probePidFile(dirs: RuntimeDirs, id: string): string {
  return join(containerPaths(dirs, id).dir, 'health-probe.pid');
}

function isHealthState(v: unknown): v is HealthState {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return (s['status'] === 'starting' || s['status'] === 'healthy' || s['status'] === 'unhealthy') && typeof s['failingStreak'] === 'number' && Array.isArray(s['log']);
}

/** The ppid of a host process, from /proc (undefined when it is gone). */
async function parentOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/** The health checks of one engine's containers. */
export class HealthMonitor {
  private readonly watches = new Map<string, Watch>();
  private readonly states = new Map<string, HealthState>();
  private readonly listeners = new Map<string, Set<HealthListener>>();
  private closed = false;

  constructor(
    private readonly runtime: Pick<Runtime, 'spawnExec' | 'exitStatus' | 'pids'>,
    private readonly dirs: RuntimeDirs,
    private readonly log: Logger,
  ) {}

  /**
   * Starts probing a running container (a no-op when it is probed already). `fresh` (a container
   * just started) begins at starting; otherwise (a daemon adopting running containers) the state
   * saved in the container's folder is carried on.
   */
  async start(id: string, check: HealthCheckSpec, startedAtMs: number, fresh: boolean): Promise<void> {
    if (this.closed || this.watches.has(id)) return;
    const watch: Watch = { stopped: false, wake: () => undefined };
    this.watches.set(id, watch);
    let state = fresh ? undefined : await this.load(id);
    if (state === undefined) {
      state = initialHealth();
      await this.save(id, state);
    }
    this.states.set(id, state);
    void this.run(id, check, startedAtMs, watch).catch((err: unknown) => this.log.warn({ id, err: errorMessage(err) }, 'health monitor stopped on an error'));
  }

  /** Stops probing (the container stops); the last state stays readable. */
  stop(id: string): void {
    const watch = this.watches.get(id);
    if (watch === undefined) return;
    watch.stopped = true;
    watch.wake();
    this.watches.delete(id);
  }

  /** Stops probing and forgets the container (it is being removed). */
  forget(id: string): void {
    this.stop(id);
    this.states.delete(id);
    this.listeners.delete(id);
  }

  /** True while the container is being probed. */
  probing(id: string): boolean {
    return this.watches.has(id);
  }

  /** The container's health: the live state, else the one saved in its folder; undefined for none. */
  async state(id: string): Promise<HealthState | undefined> {
    return this.states.get(id) ?? (await this.load(id));
  }

  /** Calls `listener` on every status change of the container; returns the unsubscribe. */
  subscribe(id: string, listener: HealthListener): () => void {
    let set = this.listeners.get(id);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(id, set);
    }
    assert(set.size < maxHealthListeners, `more than ${maxHealthListeners} health listeners on container ${id} (a leak)`);
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(id) === set) this.listeners.delete(id);
    };
  }

  /** Stops every monitor (the daemon goes down; containers keep running and are picked up again). */
  close(): void {
    this.closed = true;
    for (const id of [...this.watches.keys()]) this.stop(id);
  }

  private async run(id: string, check: HealthCheckSpec, startedAtMs: number, watch: Watch): Promise<void> {
    while (!watch.stopped) {
      const state = this.states.get(id) ?? initialHealth();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, nextProbeDelayMs(state, check, startedAtMs, Date.now()));
        timer.unref();
        watch.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (watch.stopped) return;
      if ((await this.runtime.exitStatus(id)) !== undefined) {
        this.stop(id);
        return;
      }
      const result = await this.probe(id, check);
      if (watch.stopped) return;
      const before = this.states.get(id) ?? initialHealth();
      const after = recordProbe(before, check, result, startedAtMs);
      this.states.set(id, after);
      // Listeners hear of a change no later than readers of the state can see it.
      if (after.status !== before.status) {
        this.log.info({ id, status: after.status, failingStreak: after.failingStreak }, 'container health changed');
        this.notify(id, after);
      }
      await this.save(id, after);
    }
  }

  private notify(id: string, state: HealthState): void {
    for (const listener of [...(this.listeners.get(id) ?? [])]) {
      try {
        listener(state);
      } catch (err) {
        this.log.warn({ id, err: errorMessage(err) }, 'a health listener failed');
      }
    }
  }

  /** Runs one probe; never rejects (a probe that cannot run is a failed probe). */
  private async probe(id: string, check: HealthCheckSpec): Promise<ProbeResult> {
    const startMs = Date.now();
    const pidFile = probePidFile(this.dirs, id);
    const failed = (why: string): ProbeResult => ({ start: new Date(startMs).toISOString(), end: new Date().toISOString(), exitCode: -1, output: why });
    let child: ChildProcessWithoutNullStreams;
    try {
      await rm(pidFile, { force: true });
      child = await this.runtime.spawnExec(id, probeArgs(check), { pidFile });
    } catch (err) {
      return failed(errorMessage(err));
    }
    child.stdin.on('error', () => undefined);
    child.stdin.end();
    const chunks: Buffer[] = [];
    let kept = 0;
    const collect = (d: Buffer): void => {
      if (kept >= maxHealthOutputBytes) return;
      const part = d.subarray(0, maxHealthOutputBytes - kept);
      chunks.push(part);
      kept += part.length;
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    return new Promise<ProbeResult>((resolve) => {
      let timedOut = false;
      let done = false;
      let giveUp: NodeJS.Timeout | undefined;
      const finish = (result: ProbeResult): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (giveUp !== undefined) clearTimeout(giveUp);
        void rm(pidFile, { force: true }).catch(() => undefined);
        resolve(result);
      };
      const timer = setTimeout(() => {
        timedOut = true;
        void this.killProbe(id, pidFile, child);
        giveUp = setTimeout(() => {
          child.kill('SIGKILL');
          finish(timedOutResult(check, startMs, Date.now()));
        }, probeKillGraceMs);
      }, check.timeoutMs);
      child.on('error', (err) => finish(failed(err.message)));
      child.on('close', (code) => {
        if (timedOut) finish(timedOutResult(check, startMs, Date.now()));
        else finish({ start: new Date(startMs).toISOString(), end: new Date().toISOString(), exitCode: code ?? -1, output: Buffer.concat(chunks).toString('utf8') });
      });
    });
  }

  /** SIGKILLs the probe process and what it started inside the container; runc exec then ends. */
  private async killProbe(id: string, pidFile: string, child: ChildProcessWithoutNullStreams): Promise<void> {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 1) {
      child.kill('SIGKILL');
      return;
    }
    const pids = await this.runtime.pids(id).catch(() => [] as number[]);
    const parents = new Map<number, number | undefined>(await Promise.all(pids.map(async (p) => [p, await parentOf(p)] as const)));
    const doomed = new Set<number>([pid]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [p, parent] of parents) {
        if (parent !== undefined && doomed.has(parent) && !doomed.has(p)) {
          doomed.add(p);
          grew = true;
        }
      }
    }
    for (const p of doomed) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }

  private async load(id: string): Promise<HealthState | undefined> {
    const text = await readFile(healthFile(this.dirs, id), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (!isHealthState(parsed)) return undefined;
      return { status: parsed.status as HealthStatus, failingStreak: parsed.failingStreak, log: parsed.log.slice(-maxHealthLogEntries) };
    } catch {
      return undefined;
    }
  }

  /** Writes the state beside the container's record (tmp + rename); a removed container's folder is not made again. */
  private async save(id: string, state: HealthState): Promise<void> {
    const file = healthFile(this.dirs, id);
    const tmp = `${file}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(state));
      await rename(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ id, err: errorMessage(err) }, 'could not save the health state');
    }
  }
}
