/**
 * What the agent drives: something that makes the node's tasks match its assignments. The agent
 * hands it every AssignmentsMessage in order, one at a time; it must apply them idempotently (the
 * same COMPLETE may come again after a reconnection). The real executor comes later; the null
 * worker here only records what it got, for tests and placeholders.
 */
import { AssignmentAction, AssignmentsMessageType, type AssignmentsMessage, type Config, type Network, type Secret, type Task } from '../../proto/index.js';

/** The node's executor as the agent sees it. */
export interface TaskWorker {
  /**
   * Applies one message: a COMPLETE one replaces the whole set of tasks, secrets, configs and
   * networks; an INCREMENTAL one changes it. Resolving means "taken in hand", not "done": task
   * progress comes back through Agent.reportStatus. A rejection is logged; the set stays as is.
   */
  assign(message: AssignmentsMessage): Promise<void>;
}

/** A TaskWorker that runs nothing: it keeps the assignment set and every message it got (tests only). */
export class NullTaskWorker implements TaskWorker {
  /** Every message, in order. */
  readonly messages: AssignmentsMessage[] = [];
  /** The current set, by ID. */
  readonly tasks = new Map<string, Task>();
  readonly secrets = new Map<string, Secret>();
  readonly configs = new Map<string, Config>();
  readonly networks = new Map<string, Network>();

  assign(message: AssignmentsMessage): Promise<void> {
    this.messages.push(message);
    if (message.type === AssignmentsMessageType.COMPLETE) {
      this.tasks.clear();
      this.secrets.clear();
      this.configs.clear();
      this.networks.clear();
    }
    for (const change of message.changes) {
      const remove = change.action === AssignmentAction.REMOVE;
      const a = change.assignment;
      if (a?.task) remove ? this.tasks.delete(a.task.id) : this.tasks.set(a.task.id, a.task);
      else if (a?.secret) remove ? this.secrets.delete(a.secret.id) : this.secrets.set(a.secret.id, a.secret);
      else if (a?.config) remove ? this.configs.delete(a.config.id) : this.configs.set(a.config.id, a.config);
      else if (a?.network) remove ? this.networks.delete(a.network.id) : this.networks.set(a.network.id, a.network);
    }
    return Promise.resolve();
  }
}
