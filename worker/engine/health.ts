/**
 * Container health checks (pure), with docker's semantics: which check a container gets (the
 * request's fields over the image's HEALTHCHECK, `["NONE"]` for none), when the next probe runs,
 * and how a probe result moves the status starting → healthy / unhealthy. Failures inside the
 * start period do not count while the container has never been healthy; `retries` failures in a
 * row make it unhealthy; one success makes it healthy. The last few results are kept.
 */
import { invalidArgument } from '../../lib/errors.js';
import { millisOf, type HealthConfig } from '../../proto/index.js';
import type { HealthCheckSpec } from '../executor/container-config.js';
import type { ImageHealthcheck } from '../images/image-config.js';

/** Docker's defaults for fields left at zero. */
export const defaultHealthIntervalMs = 30_000;
export const defaultHealthTimeoutMs = 30_000;
export const defaultHealthStartPeriodMs = 0;
export const defaultHealthStartIntervalMs = 5_000;
export const defaultHealthRetries = 3;
/** Probe results kept per container (docker's maxLogEntries). */
export const maxHealthLogEntries = 5;
/** Bytes of a probe's output kept (docker's maxOutputLen). */
export const maxHealthOutputBytes = 4096;

/** The health check a container runs, every field resolved. */
export type HealthCheck = HealthCheckSpec;

/** Where a container stands. */
export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/** One probe's result, as docker's State.Health.Log entries. */
export interface ProbeResult {
  /** ISO times. */
  readonly start: string;
  readonly end: string;
  /** The probe's exit code; -1 when it could not run or timed out. */
  readonly exitCode: number;
  readonly output: string;
}

/** A container's health. */
export interface HealthState {
  readonly status: HealthStatus;
  readonly failingStreak: number;
  /** Oldest first, at most maxHealthLogEntries. */
  readonly log: readonly ProbeResult[];
}

/** The state a monitor starts from. */
export function initialHealth(): HealthState {
  return { status: 'starting', failingStreak: 0, log: [] };
}

function ms(d: HealthConfig['interval']): number {
  return d === undefined ? 0 : millisOf(d);
}

function nsToMs(ns: number | undefined): number {
  return ns === undefined ? 0 : ns / 1e6;
}

/**
 * The check a container gets: the request's non-empty fields over the image's (docker's merge),
 * or undefined when neither has one or the test is `["NONE"]`.
 */
export function resolveHealthCheck(request: HealthConfig | undefined, image: ImageHealthcheck | undefined): HealthCheck | undefined {
  const test = request !== undefined && request.test.length > 0 ? request.test : (image?.test ?? []);
  if (test.length === 0 || test[0] === 'NONE') return undefined;
  const kind = test[0];
  if (kind !== 'CMD' && kind !== 'CMD-SHELL') throw invalidArgument(`health check test must start with CMD, CMD-SHELL or NONE, not ${JSON.stringify(kind)}`);
  if (test.length < 2 || (kind === 'CMD-SHELL' && test.length !== 2)) throw invalidArgument(`health check test ${JSON.stringify(test)} names no command`);
  if (request !== undefined) {
    if (!Number.isInteger(request.retries) || request.retries < 0) throw invalidArgument('health check retries must not be negative');
    for (const [name, d] of [['interval', request.interval], ['timeout', request.timeout], ['start period', request.startPeriod], ['start interval', request.startInterval]] as const) {
      if (ms(d) < 0) throw invalidArgument(`health check ${name} must not be negative`);
    }
  }
  const pick = (own: number, fromImage: number, fallback: number): number => (own > 0 ? own : fromImage > 0 ? fromImage : fallback);
  const check: HealthCheck = {
    test: [...test],
    intervalMs: pick(ms(request?.interval), nsToMs(image?.intervalNs), defaultHealthIntervalMs),
    timeoutMs: pick(ms(request?.timeout), nsToMs(image?.timeoutNs), defaultHealthTimeoutMs),
    startPeriodMs: pick(ms(request?.startPeriod), nsToMs(image?.startPeriodNs), defaultHealthStartPeriodMs),
    startIntervalMs: pick(ms(request?.startInterval), 0, defaultHealthStartIntervalMs),
    retries: pick(request?.retries ?? 0, image?.retries ?? 0, defaultHealthRetries),
  };
  return check;
}

/** The process a probe runs in the container. */
export function probeArgs(check: HealthCheck): string[] {
  const [kind, ...rest] = check.test;
  return kind === 'CMD-SHELL' ? ['/bin/sh', '-c', rest[0] ?? ''] : rest;
}

/**
 * How long to wait before the next probe: the start interval while the container is starting and
 * inside its start period, the interval otherwise (docker's probeInterval).
 */
export function nextProbeDelayMs(state: HealthState, check: HealthCheck, startedAtMs: number, nowMs: number): number {
  const inStartPeriod = nowMs - startedAtMs < check.startPeriodMs;
  return state.status === 'starting' && inStartPeriod ? check.startIntervalMs : check.intervalMs;
}

/** Cuts probe output to maxHealthOutputBytes (on a character boundary). */
export function truncateOutput(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxHealthOutputBytes) return text;
  return bytes.subarray(0, maxHealthOutputBytes).toString('utf8').replace(/\uFFFD$/, '');
}

/** The result of a probe that ran past its timeout (docker's wording). */
export function timedOutResult(check: HealthCheck, startMs: number, endMs: number): ProbeResult {
  return { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString(), exitCode: -1, output: `Health check exceeded timeout (${check.timeoutMs % 1000 === 0 ? `${check.timeoutMs / 1000}s` : `${check.timeoutMs}ms`})` };
}

/**
 * The state after one probe: exit 0 → healthy with no failing streak; any other result counts as a
 * failure unless the container is still starting inside its start period; `retries` counted failures
 * in a row → unhealthy.
 */
export function recordProbe(state: HealthState, check: HealthCheck, result: ProbeResult, startedAtMs: number): HealthState {
  const entry: ProbeResult = { ...result, output: truncateOutput(result.output) };
  const log = [...state.log, entry].slice(-maxHealthLogEntries);
  if (result.exitCode === 0) return { status: 'healthy', failingStreak: 0, log };
  const inStartPeriod = Date.parse(result.start) - startedAtMs < check.startPeriodMs;
  if (state.status === 'starting' && inStartPeriod) return { ...state, log };
  const failingStreak = state.failingStreak + 1;
  return { status: failingStreak >= check.retries ? 'unhealthy' : state.status, failingStreak, log };
}
