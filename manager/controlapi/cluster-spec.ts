/**
 * Checking a ClusterSpec a user sends with UpdateCluster (`tsswarm swarm update`): well-formed
 * durations, a dispatcher heartbeat period within sane bounds, node certificates that live at least
 * as long as the CA allows, a non-negative task history limit, raft ticks the raft core accepts, no
 * features tsswarm lacks (autolock) and no renaming of the cluster. A field left out (or a tick
 * left at 0) means "the daemon's default". Every problem is reported at once, in one error.
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { millisOf, type Cluster, type ClusterSpec, type Duration } from '../../proto/index.js';
import { minCertExpiryMs } from '../ca/index.js';
import { defaultRaftLimits } from '../raft/index.js';
import { labelProblems } from './node-spec.js';

/** Shortest dispatcher heartbeat period accepted. */
export const minHeartbeatPeriodMs = 100;
/** Longest dispatcher heartbeat period accepted (a dead node goes unnoticed for a few periods). */
export const maxHeartbeatPeriodMs = 60 * 60 * 1000;
/** Largest raft election (or heartbeat) tick count accepted. */
export const maxRaftTicks = 1000;
/** Most labels the cluster's spec may carry. */
export const maxClusterLabels = 256;

const maxDurationSeconds = 315_576_000_000; // 10,000 years, google.protobuf.Duration's bound

/** The problem with duration `d` of field `field`, if it is malformed. */
function durationProblem(field: string, d: Duration): string | undefined {
  if (!Number.isSafeInteger(d.seconds) || Math.abs(d.seconds) > maxDurationSeconds) return `${field} is out of range`;
  if (!Number.isInteger(d.nanos) || d.nanos < -999_999_999 || d.nanos > 999_999_999) return `${field} has nanos outside ±999999999`;
  if ((d.seconds > 0 && d.nanos < 0) || (d.seconds < 0 && d.nanos > 0)) return `${field} has seconds and nanos of different signs`;
  return undefined;
}

/** A duration as text for messages: "1500ms", "2h". */
function showMs(ms: number): string {
  if (ms % 3_600_000 === 0 && ms !== 0) return `${ms / 3_600_000}h`;
  if (ms % 1000 === 0 && ms !== 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * Throws INVALID_ARGUMENT (listing every problem) when `spec` may not replace the spec of `current`,
 * or UNSUPPORTED when it asks for autolock. Returns the spec to store: `spec` with the cluster's name
 * kept when the request left it empty.
 */
export function validateClusterSpec(spec: ClusterSpec | undefined, current: Cluster): ClusterSpec {
  if (spec === undefined) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'invalid cluster spec: a spec is required');
  const problems: string[] = [];

  const currentName = current.spec?.annotations?.name ?? '';
  const name = spec.annotations?.name ?? '';
  if (name !== '' && name !== currentName) problems.push(`the cluster's name (${JSON.stringify(currentName)}) cannot be changed`);
  problems.push(...labelProblems(spec.annotations?.labels ?? {}, maxClusterLabels));

  const heartbeat = spec.dispatcher?.heartbeatPeriod;
  if (heartbeat !== undefined) {
    const bad = durationProblem('dispatcher heartbeat period', heartbeat);
    const ms = millisOf(heartbeat);
    if (bad !== undefined) problems.push(bad);
    else if (ms <= 0) problems.push(`dispatcher heartbeat period must be positive, not ${showMs(ms)}`);
    else if (ms < minHeartbeatPeriodMs || ms > maxHeartbeatPeriodMs) {
      problems.push(`dispatcher heartbeat period must be between ${showMs(minHeartbeatPeriodMs)} and ${showMs(maxHeartbeatPeriodMs)}, not ${showMs(ms)}`);
    }
  }

  const expiry = spec.caConfig?.nodeCertExpiry;
  if (expiry !== undefined) {
    const bad = durationProblem('node certificate expiry', expiry);
    const ms = millisOf(expiry);
    if (bad !== undefined) problems.push(bad);
    else if (ms < minCertExpiryMs) problems.push(`minimum certificate expiry time is ${showMs(minCertExpiryMs)}, not ${showMs(ms)}`);
  }

  const retention = spec.orchestration?.taskHistoryRetentionLimit;
  if (retention !== undefined && retention < 0) problems.push(`task history retention limit must be 0 or more, not ${retention}`);

  const raft = spec.raft;
  if (raft !== undefined) {
    const heartbeatTick = raft.heartbeatTick === 0 ? defaultRaftLimits.heartbeatTicks : raft.heartbeatTick;
    const electionTick = raft.electionTick === 0 ? defaultRaftLimits.electionTicks : raft.electionTick;
    if (heartbeatTick > maxRaftTicks || electionTick > maxRaftTicks) problems.push(`raft ticks must be at most ${maxRaftTicks}`);
    else if (electionTick <= heartbeatTick) {
      problems.push(`raft election tick (${electionTick}) must be greater than the heartbeat tick (${heartbeatTick})`);
    }
  }

  if (spec.encryptionConfig?.autoLockManagers === true) {
    throw new TsswarmError(ErrorCode.UNSUPPORTED, 'autolock (encrypting the managers\' data at rest) is not supported by tsswarm');
  }
  if (problems.length > 0) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `invalid cluster spec: ${problems.join('; ')}`);
  if (name === '' && currentName !== '') {
    return { ...spec, annotations: { labels: spec.annotations?.labels ?? {}, name: currentName } };
  }
  return spec;
}
