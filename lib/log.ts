/**
 * Structured logging (pino). Components get a child logger named after themselves.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { invalidArgument } from './errors.js';

export type { Logger };

/** Options for the root logger. */
export interface LoggerOptions {
  readonly level?: LevelWithSilent;
  /** Where lines go; standard error when absent. */
  readonly destination?: NodeJS.WritableStream;
}

const levels: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The level named by TSSWARM_LOG_LEVEL; 'info' when unset or empty, INVALID_ARGUMENT when unknown. */
function levelFromEnv(): LevelWithSilent {
  const value = process.env['TSSWARM_LOG_LEVEL'];
  if (value === undefined || value === '') return 'info';
  if (!levels.includes(value)) {
    throw invalidArgument(`TSSWARM_LOG_LEVEL=${value} is not one of ${levels.join(', ')}`);
  }
  return value as LevelWithSilent;
}

/**
 * The root logger of a process; JSON lines to stderr by default. The level comes from `options`,
 * else TSSWARM_LOG_LEVEL, else 'info'.
 */
export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? levelFromEnv();
  return pino({ name, level, base: { pid: process.pid } }, options.destination ?? process.stderr);
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
