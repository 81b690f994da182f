/**
 * Runs a commander program and turns every failure into one line on stderr and an exit code:
 * 2 for what the user got wrong (bad flags, unknown names, conflicts), 1 for everything else.
 * Stack traces are shown only with TSSWARM_DEBUG=1.
 */
import { CommanderError, type Command } from 'commander';
import { ErrorCode, TsswarmError, errorMessage } from '../lib/errors.js';

/** Exit code for usage errors and refused requests. */
export const exitUsage = 2;
/** Exit code for failures of the system or its parts. */
export const exitFailure = 1;

const userErrorCodes: ReadonlySet<string> = new Set([
  ErrorCode.INVALID_ARGUMENT,
  ErrorCode.NOT_FOUND,
  ErrorCode.ALREADY_EXISTS,
  ErrorCode.CONFLICT,
  ErrorCode.PERMISSION,
]);

/** Exit codes docker's `run` uses when the container's command cannot start. */
const commandExitCodes: Readonly<Partial<Record<string, number>>> = {
  [ErrorCode.COMMAND_NOT_FOUND]: 127,
  [ErrorCode.COMMAND_NOT_EXECUTABLE]: 126,
};

/** The exit code for a thrown value. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof TsswarmError) return commandExitCodes[err.code] ?? (userErrorCodes.has(err.code) ? exitUsage : exitFailure);
  return exitFailure;
}

/** Parses argv with `program` and exits the process with the right code. */
export async function runProgram(program: Command, argv: readonly string[]): Promise<never> {
  const name = program.name();
  program.exitOverride();
  program.configureOutput({ outputError: () => undefined });
  for (const sub of allCommands(program)) {
    sub.exitOverride();
    sub.configureOutput({ outputError: () => undefined });
  }
  try {
    await program.parseAsync(argv as string[]);
    process.exit(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) process.exit(0);
      process.stderr.write(`${name}: ${err.message.replace(/^error: /, '')}\n`);
      process.exit(exitUsage);
    }
    process.stderr.write(`${name}: ${errorMessage(err)}\n`);
    if (process.env['TSSWARM_DEBUG'] === '1' && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
    process.exit(exitCodeFor(err));
  }
}

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}
