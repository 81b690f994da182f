/**
 * The rules that keep a swarm manageable when managers are demoted or nodes removed, as SwarmKit's
 * controlapi enforces them: the last manager cannot be demoted, a demotion must not leave the raft
 * group without a reachable quorum, and a node cannot be removed while it is (or is becoming less
 * of) a manager or while it is up, unless forced. Pure: the caller passes the nodes and the raft
 * group as they are now.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { NodeRole, NodeState, type Node } from '../../proto/index.js';
import { memberOfNode, type RaftMember } from './raft-membership.js';

/** The role `node` is asked to have: its spec's, or the role it has when it has no spec. */
export function desiredRole(node: Node): NodeRole {
  return node.spec?.role ?? node.role;
}

/** True when `node` is a manager and is meant to stay one (not being demoted). */
export function isSteadyManager(node: Node): boolean {
  return node.role === NodeRole.MANAGER && desiredRole(node) === NodeRole.MANAGER;
}

/** Reachable managers a raft group of `members` voters needs: a strict majority. */
export function quorumOf(members: number): number {
  return Math.floor(members / 2) + 1;
}

/**
 * Throws CONFLICT when demoting `target` would leave the swarm without a manager or the raft group
 * without a reachable quorum. `nodes` are all nodes in the store; `members` the raft group now.
 * Managers already being demoted (spec worker) are counted as gone, so that two demotions in a row
 * cannot together break what each alone would not.
 */
export function checkDemotion(target: Node, nodes: readonly Node[], members: readonly RaftMember[]): void {
  const otherManagers = nodes.filter((n) => n.id !== target.id && isSteadyManager(n));
  if (otherManagers.length === 0) {
    throw new TsswarmError(
      ErrorCode.CONFLICT,
      `attempting to demote the last manager of the swarm: node ${target.id} is the only manager; promote another node first`,
    );
  }
  if (memberOfNode(members, target.id) === undefined) return;
  const leaving = new Set(nodes.filter((n) => desiredRole(n) !== NodeRole.MANAGER).map((n) => n.id));
  const remaining = members.filter((m) => m.nodeId !== target.id && !leaving.has(m.nodeId));
  const reachable = remaining.filter((m) => m.reachable).length;
  const needed = quorumOf(remaining.length);
  if (remaining.length === 0 || reachable < needed) {
    throw new TsswarmError(
      ErrorCode.CONFLICT,
      `can't remove node ${target.id} from the raft cluster: this would result in a loss of quorum ` +
        `(${reachable} of the ${remaining.length} managers left would be reachable; a quorum needs ${needed})`,
    );
  }
}

/**
 * Throws CONFLICT when `node` may not be removed: it is a manager or still a raft member (always
 * refused, even with force), or it is not down and `force` is false.
 */
export function checkRemoval(node: Node, members: readonly RaftMember[], force: boolean): void {
  if (desiredRole(node) === NodeRole.MANAGER) {
    throw new TsswarmError(
      ErrorCode.CONFLICT,
      `node ${node.id} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`,
    );
  }
  if (node.role === NodeRole.MANAGER || memberOfNode(members, node.id) !== undefined) {
    throw new TsswarmError(
      ErrorCode.CONFLICT,
      `node ${node.id} is being demoted and is still a member of the raft cluster; wait until it is a worker before removal`,
    );
  }
  const state = node.status?.state ?? NodeState.UNKNOWN;
  if (!force && state !== NodeState.DOWN) {
    throw new TsswarmError(ErrorCode.CONFLICT, `node ${node.id} is not down and can't be removed; use --force`);
  }
}
