/**
 * The leader's log broker (proto/logs.proto), as SwarmKit's: it matches client subscriptions with
 * the workers that hold the logs. A subscription names services and tasks; the broker hands it to
 * the agents of the nodes concerned (every listening node when following, since new tasks may
 * land anywhere), each agent publishes its lines back, and the broker passes them to the
 * subscriber. Without --follow the subscription ends once every node it went to said it is done;
 * a node that is not connected, or whose session ends, becomes a warning instead of a hang.
 *
 * Flow control: the subscriber's writes report when its buffer is full; publish() then returns a
 * promise that settles when it drained, and the dispatcher pauses that worker's stream meanwhile,
 * so a slow reader slows the workers instead of filling the leader's memory.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import type { LogMessage, LogSelector, LogSubscription, LogSubscriptionOptions, PublishLogsMessage, SubscribeLogsMessage } from '../../proto/index.js';
import type { MemoryStore } from '../store/index.js';

/** Most subscriptions open at once on one leader. */
export const maxLogSubscriptions = 256;
/** Most services plus tasks one subscription may name. */
export const maxSelectorEntries = 1_000;

/** Where a subscription's lines go (the client's stream). */
export interface LogSink {
  /** Writes a message; false when the sink's buffer is full (wait for onDrain). */
  write(message: SubscribeLogsMessage): boolean;
  /** Calls `fn` once, the next time the sink's buffer drains. */
  onDrain(fn: () => void): void;
  /** Ends the stream: normally, or with an error. */
  end(err?: TsswarmError): void;
}

/** A node's agent listening for subscriptions. */
export type LogListener = (subscription: LogSubscription) => void;

interface Subscription {
  readonly id: string;
  readonly selector: LogSelector;
  readonly options: LogSubscriptionOptions;
  readonly sink: LogSink;
  /** Nodes the subscription was sent to. */
  readonly nodes: Set<string>;
  /** Nodes that have not said they are done (without --follow). */
  readonly pending: Set<string>;
  ended: boolean;
}

/** What a LogBroker is built from. */
export interface LogBrokerOptions {
  /** The leader's store: which tasks the selector names and where they run. */
  readonly memory: Pick<MemoryStore, 'get' | 'tasksOfService'>;
  readonly log?: Logger;
}

/** The leader's log broker. */
export class LogBroker {
  private readonly listeners = new Map<string, LogListener>();
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly log: Logger;

  constructor(private readonly options: LogBrokerOptions) {
    this.log = options.log ?? silentLogger();
  }

  /** Open subscriptions and listening nodes, for tests. */
  stats(): { subscriptions: number; listeners: number } {
    return { subscriptions: this.subscriptions.size, listeners: this.listeners.size };
  }

  /**
   * Opens a subscription. Throws NOT_FOUND for a service or task that does not exist, and
   * INVALID_ARGUMENT for an empty or oversized selector; nothing is opened then. Returns the
   * function that closes it (the client went away).
   */
  subscribe(selector: LogSelector, options: LogSubscriptionOptions, sink: LogSink): () => void {
    const entries = selector.serviceIds.length + selector.taskIds.length;
    if (entries === 0) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'a log subscription names at least one service or task');
    if (entries > maxSelectorEntries) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `a log subscription names at most ${maxSelectorEntries} services and tasks`);
    if (this.subscriptions.size >= maxLogSubscriptions) throw new TsswarmError(ErrorCode.QUEUE_FULL, `this manager already serves ${maxLogSubscriptions} log subscriptions; try again later`);
    const taskNodes = this.nodesOf(selector);
    const sub: Subscription = { id: newId(), selector, options, sink, nodes: new Set(), pending: new Set(), ended: false };
    this.subscriptions.set(sub.id, sub);
    const targets = options.follow ? new Set([...taskNodes, ...this.listeners.keys()]) : taskNodes;
    const warnings: string[] = [];
    for (const nodeId of [...targets].sort()) {
      const listener = this.listeners.get(nodeId);
      if (listener === undefined) {
        warnings.push(`node ${nodeId} is not connected to the leader: the logs of its tasks are missing`);
        continue;
      }
      sub.nodes.add(nodeId);
      if (!options.follow) sub.pending.add(nodeId);
      listener({ id: sub.id, selector, options, close: false });
    }
    if (warnings.length > 0) sink.write({ messages: [], warnings });
    this.log.debug({ subscription: sub.id, nodes: [...sub.nodes], follow: options.follow }, 'log subscription opened');
    if (!options.follow && sub.pending.size === 0) this.finish(sub);
    return () => this.cancel(sub.id);
  }

  /**
   * A node's agent listens for subscriptions (one listener per node; a new one replaces the old).
   * It gets the open --follow subscriptions at once. Returns the function that stops listening:
   * the node then counts as done for every subscription that waits on it.
   */
  listen(nodeId: string, listener: LogListener): () => void {
    if (this.listeners.has(nodeId)) this.nodeGone(nodeId, 'reconnected');
    this.listeners.set(nodeId, listener);
    for (const sub of this.subscriptions.values()) {
      if (!sub.options.follow || sub.ended) continue;
      sub.nodes.add(nodeId);
      listener({ id: sub.id, selector: sub.selector, options: sub.options, close: false });
    }
    return () => {
      if (this.listeners.get(nodeId) === listener) this.nodeGone(nodeId, 'disconnected');
    };
  }

  /** Node `nodeId` stopped listening: it is done with every subscription, some lines perhaps missing. */
  private nodeGone(nodeId: string, how: 'disconnected' | 'reconnected'): void {
    this.listeners.delete(nodeId);
    for (const sub of [...this.subscriptions.values()]) {
      if (!sub.nodes.delete(nodeId) || !sub.pending.delete(nodeId)) continue;
      sub.sink.write({ messages: [], warnings: [`node ${nodeId} ${how} before sending all of its logs`] });
      if (sub.pending.size === 0) this.finish(sub);
    }
  }

  /**
   * Lines (and possibly the end) of one subscription from node `nodeId`. Resolves at once, or when
   * the subscriber has room again. NOT_FOUND when the subscription is gone (the agent stops);
   * PERMISSION when it was never sent to that node.
   */
  publish(nodeId: string, message: PublishLogsMessage): Promise<void> {
    const sub = this.subscriptions.get(message.subscriptionId);
    if (sub === undefined || sub.ended) return Promise.reject(new TsswarmError(ErrorCode.NOT_FOUND, `log subscription ${message.subscriptionId} is closed`));
    if (!sub.nodes.has(nodeId)) return Promise.reject(new TsswarmError(ErrorCode.PERMISSION, `log subscription ${message.subscriptionId} was not sent to node ${nodeId}`));
    let room = true;
    if (message.messages.length > 0) {
      // A node speaks only for itself.
      const messages: LogMessage[] = message.messages.map((m) => ({ ...m, context: { serviceId: m.context?.serviceId ?? '', taskId: m.context?.taskId ?? '', nodeId } }));
      room = sub.sink.write({ messages, warnings: [] });
    }
    if (message.close) {
      if (message.error !== '') sub.sink.write({ messages: [], warnings: [`node ${nodeId}: ${message.error}`] });
      if (sub.pending.delete(nodeId) && sub.pending.size === 0 && !sub.options.follow) this.finish(sub);
    }
    if (room || sub.ended) return Promise.resolve();
    return new Promise((resolve) => sub.sink.onDrain(resolve));
  }

  /** Ends every subscription with `err` and forgets the listeners (leadership lost). */
  closeAll(err: TsswarmError): void {
    for (const sub of [...this.subscriptions.values()]) this.finish(sub, err);
    this.listeners.clear();
  }

  private cancel(id: string): void {
    const sub = this.subscriptions.get(id);
    if (sub === undefined) return;
    this.subscriptions.delete(id);
    sub.ended = true;
    this.tellNodesClosed(sub);
  }

  private finish(sub: Subscription, err?: TsswarmError): void {
    if (sub.ended) return;
    sub.ended = true;
    this.subscriptions.delete(sub.id);
    this.tellNodesClosed(sub);
    sub.sink.end(err);
    this.log.debug({ subscription: sub.id }, 'log subscription ended');
  }

  private tellNodesClosed(sub: Subscription): void {
    for (const nodeId of sub.nodes) this.listeners.get(nodeId)?.({ id: sub.id, selector: sub.selector, options: sub.options, close: true });
  }

  /** The nodes that ran or run tasks the selector names. */
  private nodesOf(selector: LogSelector): Set<string> {
    const nodes = new Set<string>();
    for (const id of selector.serviceIds) {
      if (this.options.memory.get('service', id) === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, `service ${id} not found`);
      for (const t of this.options.memory.tasksOfService(id)) if (t.nodeId !== '') nodes.add(t.nodeId);
    }
    for (const id of selector.taskIds) {
      const task = this.options.memory.get('task', id);
      if (task === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, `task ${id} not found`);
      if (task.nodeId !== '') nodes.add(task.nodeId);
    }
    return nodes;
  }
}
