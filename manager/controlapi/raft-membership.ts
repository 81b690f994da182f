/**
 * Manager status is not stored: whether a manager is the leader and whether the leader can reach it
 * change far more often than anyone writes a node, so the Control API asks the running raft member
 * at read time, through this small interface, and fills `node.managerStatus` on the way out.
 */
import { ManagerStatus, Reachability, type Node } from '../../proto/index.js';

/** One member of the raft group, as the local raft member sees it. */
export interface RaftMember {
  /** The member's raft ID. */
  readonly raftId: number;
  /** The ID of the node the member runs on. */
  readonly nodeId: string;
  /** The address other managers reach it at, host:port. */
  readonly addr: string;
  /** True when the leader hears from it (the local member and the leader always count as reachable). */
  readonly reachable: boolean;
}

/**
 * What the Control API needs to know about the raft group; the daemon implements it over its
 * running raft member (see README.md).
 */
export interface RaftMembership {
  /** The voting members of the raft group now. */
  members(): readonly RaftMember[];
  /** The node ID of the current leader, or undefined while there is none. */
  leaderNodeId(): string | undefined;
}

/** The member running on node `nodeId`, if any. */
export function memberOfNode(members: readonly RaftMember[], nodeId: string): RaftMember | undefined {
  return members.find((m) => m.nodeId === nodeId);
}

/** The ManagerStatus of `member`, leader when its node is `leaderNodeId`. */
export function managerStatusOf(member: RaftMember, leaderNodeId: string | undefined): ManagerStatus {
  const leader = leaderNodeId !== undefined && member.nodeId === leaderNodeId;
  return ManagerStatus.create({
    raftId: member.raftId,
    addr: member.addr,
    leader,
    reachability: leader || member.reachable ? Reachability.REACHABLE : Reachability.UNREACHABLE,
  });
}

/**
 * A copy of `node` whose managerStatus is filled from the raft group: set when the node is a raft
 * member, left out otherwise (whatever the stored object held).
 */
export function withManagerStatus(node: Node, members: readonly RaftMember[], leaderNodeId: string | undefined): Node {
  const { managerStatus: _stored, ...rest } = node;
  const member = memberOfNode(members, node.id);
  return member === undefined ? rest : { ...rest, managerStatus: managerStatusOf(member, leaderNodeId) };
}
