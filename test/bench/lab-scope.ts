/**
 * What a lab benchmark made and must remove, also on Ctrl-C: labs (with their daemons' logs kept
 * when a run inside one fails), temp folders and other resources (e.g. etcd members). One scope
 * per benchmark process; `installSignalHandlers` removes everything and exits 130 on SIGINT/SIGTERM.
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostLogFile, labDown, type LabRecord } from '../../deploy/lab/index.js';
import { ErrorCode, errorMessage, isTsswarmError } from '../../lib/errors.js';

/** The cleanup scope of one benchmark run. */
export class BenchScope {
  private readonly labs = new Set<string>();
  private readonly dirs = new Set<string>();
  private readonly stoppers = new Set<() => Promise<void>>();
  /** Set once a signal asked the run to stop: loops should end early. */
  interrupted = false;

  /** `bench` names the folders where failed labs' logs are kept (tsswarm-bench-BENCH-logs-...). */
  constructor(private readonly bench: string) {}

  /** On SIGINT/SIGTERM: remove everything, then exit 130. */
  installSignalHandlers(what = 'labs'): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        this.interrupted = true;
        process.stderr.write(`${signal}: removing ${what}\n`);
        void this.cleanupAll().finally(() => process.exit(130));
      });
    }
  }

  /** A temp folder removed at the end. */
  addDir(dir: string): void {
    this.dirs.add(dir);
  }

  /** Runs `fn` in the lab `make` creates; the lab is removed afterwards, its logs kept if `fn` failed. */
  async withLab<T>(name: string, make: () => Promise<LabRecord>, fn: (record: LabRecord) => Promise<T>): Promise<T> {
    this.labs.add(name);
    let record: LabRecord | undefined;
    try {
      record = await make();
      return await fn(record);
    } catch (err) {
      if (record && !this.interrupted) await this.keepLogs(record);
      throw err;
    } finally {
      await removeLab(name);
      this.labs.delete(name);
    }
  }

  /** Runs `fn` with a resource that `stop` ends, also when the run is interrupted. */
  async withResource<R, T>(start: () => Promise<R>, stop: (r: R) => Promise<void>, fn: (r: R) => Promise<T>): Promise<T> {
    const resource = await start();
    const stopper = (): Promise<void> => stop(resource);
    this.stoppers.add(stopper);
    try {
      return await fn(resource);
    } finally {
      await stopper();
      this.stoppers.delete(stopper);
    }
  }

  /** Removes everything still held: resources first, then labs, then folders. */
  async cleanupAll(): Promise<void> {
    for (const stop of this.stoppers) await stop().catch(() => undefined);
    this.stoppers.clear();
    for (const name of this.labs) await removeLab(name);
    this.labs.clear();
    for (const dir of this.dirs) await rm(dir, { recursive: true, force: true });
    this.dirs.clear();
  }

  /** Copies the daemons' logs of a lab that failed to a folder that outlives the lab, and says where. */
  private async keepLogs(record: LabRecord): Promise<void> {
    const dir = join(tmpdir(), `tsswarm-bench-${this.bench}-logs-${record.name}-${Date.now()}`);
    await mkdir(dir, { recursive: true });
    for (const h of record.hosts) await copyFile(hostLogFile(h), join(dir, `${h.name}-tsswarmd.log`)).catch(() => undefined);
    process.stderr.write(`daemon logs of lab ${record.name} kept in ${dir}\n`);
  }
}

async function removeLab(name: string): Promise<void> {
  await labDown(name).catch((err: unknown) => {
    // labUp removes a lab it could not finish itself.
    if (!isTsswarmError(err, ErrorCode.NOT_FOUND)) process.stderr.write(`lab down ${name} failed: ${errorMessage(err)}\n`);
  });
}
