/**
 * Errors in compose files, worded as `FILE:LINE: KEY.PATH: what is wrong`, so a user can go
 * straight to the line. They are INVALID_ARGUMENT errors (exit code 2).
 */
import { ErrorCode, TsswarmError } from '../../lib/errors.js';

/** Where a value was written: the compose file as the user named it, and a 1-based line. */
export interface Pos {
  readonly file: string;
  readonly line: number;
}

/** A problem in a compose file at a known place. */
export class ComposeError extends TsswarmError {
  constructor(
    readonly pos: Pos,
    readonly path: string,
    readonly problem: string,
  ) {
    super(ErrorCode.INVALID_ARGUMENT, `${pos.file}:${pos.line}: ${path === '' ? '' : `${path}: `}${problem}`);
  }
}

/** Throws a {@link ComposeError}. */
export function fail(pos: Pos, path: string, problem: string): never {
  throw new ComposeError(pos, path, problem);
}
