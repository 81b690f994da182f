/**
 * The health check flags `container run/create` and `service create/update` share (`--health-cmd`,
 * `--health-interval`, `--health-timeout`, `--health-retries`, `--health-start-period`,
 * `--health-start-interval`, `--no-healthcheck`), turned into a HealthConfig as the docker CLI
 * does. Pure.
 */
import type { Command } from 'commander';
import { invalidArgument } from '../lib/errors.js';
import { parseDurationMs } from '../lib/units.js';
import type { Duration, HealthConfig } from '../proto/index.js';

/** The options commander collects for the health flags. */
export interface HealthFlags {
  readonly healthCmd?: string;
  readonly healthInterval?: string;
  readonly healthTimeout?: string;
  readonly healthRetries?: string;
  readonly healthStartPeriod?: string;
  readonly healthStartInterval?: string;
  /** Commander's negated flag: false with `--no-healthcheck`, true (or absent) otherwise. */
  readonly healthcheck?: boolean;
}

/** Smallest non-zero health duration, as docker (1 ms). */
export const minHealthDurationMs = 1;

/** Adds the health flags to a command. */
export function addHealthFlags(cmd: Command): Command {
  return cmd
    .option('--health-cmd <command>', 'command run in the container to check its health (by /bin/sh -c)')
    .option('--health-interval <duration>', 'time between health checks (default 30s)')
    .option('--health-timeout <duration>', 'longest a health check may run (default 30s)')
    .option('--health-retries <n>', 'failures in a row that make the container unhealthy (default 3)')
    .option('--health-start-period <duration>', 'time after start when failures do not count (default 0s)')
    .option('--health-start-interval <duration>', 'time between health checks during the start period (default 5s)')
    .option('--no-healthcheck', "disable any health check, the image's included");
}

function durationOf(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

function healthDuration(text: string, flag: string): Duration {
  let ms: number;
  try {
    ms = parseDurationMs(text, flag);
  } catch {
    throw invalidArgument(`${flag}: invalid duration ${JSON.stringify(text)}: use a duration such as 10s, 1m30s or 500ms`);
  }
  if (ms !== 0 && ms < minHealthDurationMs) throw invalidArgument(`${flag}: ${JSON.stringify(text)} is too short: use 0 (the default) or at least 1ms`);
  return durationOf(ms);
}

function retries(text: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(Number(t)) || Number(t) > 2 ** 31 - 1) {
    throw invalidArgument(`--health-retries: invalid value ${JSON.stringify(text)}: want a whole number`);
  }
  return Number(t);
}

function anyHealthFlag(f: HealthFlags): boolean {
  return [f.healthCmd, f.healthInterval, f.healthTimeout, f.healthRetries, f.healthStartPeriod, f.healthStartInterval].some((v) => v !== undefined);
}

/** `--health-*` over `base`; the test only when --health-cmd is given (empty clears it). */
function applied(base: HealthConfig, f: HealthFlags): HealthConfig {
  const out: HealthConfig = { ...base, test: base.test[0] === 'NONE' ? [] : [...base.test] };
  if (f.healthCmd !== undefined) out.test = f.healthCmd === '' ? [] : ['CMD-SHELL', f.healthCmd];
  if (f.healthInterval !== undefined) out.interval = healthDuration(f.healthInterval, '--health-interval');
  if (f.healthTimeout !== undefined) out.timeout = healthDuration(f.healthTimeout, '--health-timeout');
  if (f.healthRetries !== undefined) out.retries = retries(f.healthRetries);
  if (f.healthStartPeriod !== undefined) out.startPeriod = healthDuration(f.healthStartPeriod, '--health-start-period');
  if (f.healthStartInterval !== undefined) out.startInterval = healthDuration(f.healthStartInterval, '--health-start-interval');
  return out;
}

/**
 * The health config of `run`/`create`/`service create`: undefined when no flag is given (the image's
 * check applies), `["NONE"]` for --no-healthcheck; the fields not given stay 0 (the image's value,
 * else docker's default).
 */
export function healthConfigFromFlags(f: HealthFlags): HealthConfig | undefined {
  if (f.healthcheck === false) {
    if (anyHealthFlag(f)) throw invalidArgument('--no-healthcheck conflicts with --health-* options');
    return { test: ['NONE'], retries: 0 };
  }
  if (!anyHealthFlag(f)) return undefined;
  return applied({ test: [], retries: 0 }, f);
}

/** The health config `service update` sends: `current` with the flags applied (docker's updateHealthcheck). */
export function updatedHealthConfig(current: HealthConfig | undefined, f: HealthFlags): HealthConfig | undefined {
  if (f.healthcheck === false) {
    if (anyHealthFlag(f)) throw invalidArgument('--no-healthcheck conflicts with --health-* options');
    return { test: ['NONE'], retries: 0 };
  }
  if (!anyHealthFlag(f)) return current;
  return applied(current ?? { test: [], retries: 0 }, f);
}
