/**
 * Structured logging (pino). Components get a child logger named after themselves.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Options for the root logger. */
export interface LoggerOptions {
  readonly level?: LevelWithSilent;
  /** Where lines go; standard error when absent. */
  readonly destination?: NodeJS.WritableStream;
}

/** The root logger of a process; JSON lines to stderr by default. */
export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? (process.env['TSSWARM_LOG_LEVEL'] as LevelWithSilent | undefined) ?? 'info';
  return pino({ name, level, base: { pid: process.pid } }, options.destination ?? process.stderr);
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
