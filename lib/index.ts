/** Small shared pieces: invariants, errors, time, randomness, IDs, logging, bounded queues. */
export { assert, assertNever, AssertionError } from './assert.js';
export { ErrorCode, TsswarmError, isTsswarmError, invalidArgument, errorMessage } from './errors.js';
export { type Clock, type Timer, RealClock, FakeClock, maxNodeTimerMs } from './clock.js';
export { type Rng, seededRng, randomRng } from './rng.js';
export { newId, newIdFrom, isId, shortId, idAlphabet, idLength } from './ids.js';
export { type Logger, createLogger, silentLogger } from './log.js';
export { BoundedQueue } from './bounded-queue.js';
export { runCommand, runAttached, type CommandResult, type RunOptions, maxCommandOutputBytes, defaultCommandTimeoutMs } from './run-command.js';
export { mountsBelow, isMountPoint, unmountBelow } from './mounts.js';
export { cgroupRoot, removeCgroupTree, killCgroupProcesses, cgroupKillWaitMs, isCgroupV2Only, controllerPath } from './cgroups.js';
export { parseBytes, parseNanoCpus, parseDurationMs } from './units.js';
