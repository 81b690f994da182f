/**
 * The agent's side of `service logs`: for each log subscription the leader sends, read the logs
 * of this node's matching task containers and publish them on one PublishLogs stream, in batches.
 * Without --follow the stream closes once every container's log was read to its end; with it,
 * the publisher keeps reading, looks for new matching containers (a task started later) every
 * rescan period, and stops when the leader closes the subscription or the session ends.
 */
import type { ClientWritableStream } from '@grpc/grpc-js';
import { errorMessage, type TsswarmError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { LogSource, millisOf, timestampFromMs, type LogMessage, type Timestamp, type LogSubscription, type PublishLogsMessage } from '../../proto/index.js';

/** Lines gathered before a batch is sent. */
export const maxLinesPerBatch = 256;
/** How long lines wait before a partial batch is sent. */
export const batchWindowMs = 50;
/** How often a following publisher looks for new matching containers. */
export const followRescanMs = 1_000;
/** Most subscriptions one node serves at once. */
export const maxActiveSubscriptions = 64;

/** A task container on this node. */
export interface TaskContainer {
  readonly containerId: string;
  readonly taskId: string;
  readonly serviceId: string;
}

/** One line of a container's log, as the engine reads it. */
export interface TaskLogLine {
  /** RFC 3339 with up to nanoseconds, as conmon wrote it. */
  readonly time: string;
  readonly timeMs: number;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

/** Where the logs come from (the node's engine). */
export interface TaskLogSource {
  /** The task containers on this node (finished ones too, while they exist). */
  containers(): Promise<TaskContainer[]>;
  /** Reads one container's log; resolves at its end (or, following, once cancelled() or the container is gone). */
  read(containerId: string, options: { follow: boolean; sinceMs?: number; tail?: number; cancelled: () => boolean }, emit: (line: TaskLogLine) => void): Promise<void>;
}

/** Opens a PublishLogs stream; the callback gets the call's outcome. */
export type OpenPublishStream = (done: (err: TsswarmError | undefined) => void) => ClientWritableStream<PublishLogsMessage>;

/** Serves one subscription until it is done or stopped. */
export class LogPublisher {
  private stopped = false;
  private readonly reading = new Set<string>();
  private batch: LogMessage[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private stream: ClientWritableStream<PublishLogsMessage> | undefined;

  constructor(
    private readonly subscription: LogSubscription,
    private readonly sessionId: string,
    private readonly source: TaskLogSource,
    private readonly open: OpenPublishStream,
    private readonly log: Logger,
    private readonly onDone: () => void,
  ) {}

  /** Starts reading and publishing. */
  start(): void {
    this.stream = this.open((err) => {
      if (err && !this.stopped) this.log.debug({ subscription: this.subscription.id }, `log publication ended: ${errorMessage(err)}`);
      this.stop();
    });
    this.stream.on('error', () => this.stop());
    void this.run();
  }

  /** Stops at once (the subscription was closed or the session ended); nothing more is sent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.rescanTimer) clearTimeout(this.rescanTimer);
    this.stream?.end();
    this.onDone();
  }

  private async run(): Promise<void> {
    const follow = this.subscription.options?.follow === true;
    let error = '';
    try {
      const readers = await this.startReaders();
      if (!follow) await Promise.all(readers);
    } catch (err) {
      error = errorMessage(err);
    }
    if (follow) {
      if (error !== '') this.log.warn({ subscription: this.subscription.id }, `log subscription: ${error}`);
      this.scheduleRescan();
      return;
    }
    this.finish(error);
  }

  /** Starts a reader for each matching container not read yet. */
  private async startReaders(): Promise<Promise<void>[]> {
    const selector = this.subscription.selector;
    const services = new Set(selector?.serviceIds ?? []);
    const tasks = new Set(selector?.taskIds ?? []);
    const containers = (await this.source.containers()).filter((c) => services.has(c.serviceId) || tasks.has(c.taskId));
    const readers: Promise<void>[] = [];
    for (const c of containers) {
      if (this.stopped || this.reading.has(c.containerId)) continue;
      this.reading.add(c.containerId);
      readers.push(this.read(c));
    }
    return readers;
  }

  private read(c: TaskContainer): Promise<void> {
    const options = this.subscription.options;
    const since = millisOf(options?.since);
    const tail = Number(options?.tail ?? -1);
    return this.source
      .read(
        c.containerId,
        { follow: options?.follow === true, ...(since > 0 ? { sinceMs: since } : {}), ...(tail >= 0 ? { tail } : {}), cancelled: () => this.stopped },
        (line) => this.add(c, line),
      )
      .catch((err: unknown) => {
        // A container removed meanwhile simply has no more lines.
        this.log.debug({ container: c.containerId }, `log read ended: ${errorMessage(err)}`);
      });
  }

  private add(c: TaskContainer, line: TaskLogLine): void {
    if (this.stopped) return;
    this.batch.push({
      context: { serviceId: c.serviceId, taskId: c.taskId, nodeId: '' },
      timestamp: timestampOf(line),
      source: line.stream === 'stderr' ? LogSource.STDERR : LogSource.STDOUT,
      data: Buffer.from(line.text, 'utf8'),
    });
    if (this.batch.length >= maxLinesPerBatch) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), batchWindowMs);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.stopped || this.batch.length === 0 || this.stream === undefined) return;
    const messages = this.batch;
    this.batch = [];
    this.stream.write({ sessionId: this.sessionId, subscriptionId: this.subscription.id, messages, close: false, error: '' });
  }

  private finish(error: string): void {
    if (this.stopped || this.stream === undefined) return;
    this.flush();
    this.stream.write({ sessionId: this.sessionId, subscriptionId: this.subscription.id, messages: [], close: true, error });
    this.stop();
  }

  private scheduleRescan(): void {
    if (this.stopped) return;
    this.rescanTimer = setTimeout(() => {
      this.startReaders().then(
        () => this.scheduleRescan(),
        () => this.scheduleRescan(),
      );
    }, followRescanMs);
  }
}

/** The line's time with its nanoseconds (conmon writes them); milliseconds when the text has none. */
export function timestampOf(line: TaskLogLine): Timestamp {
  const fraction = /\.(\d{1,9})/.exec(line.time)?.[1];
  if (fraction === undefined) return timestampFromMs(line.timeMs);
  return { seconds: Math.floor(line.timeMs / 1000), nanos: Number(fraction.padEnd(9, '0')) };
}
