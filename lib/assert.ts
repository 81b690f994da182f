/**
 * Invariant checks. A failed assertion is a bug in tsswarm, never something the outside world did:
 * for bad input, dead peers or full disks return or throw a TsswarmError instead.
 */

/** Thrown when an invariant that must always hold does not: a bug. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

/** Asserts that `condition` holds; narrows its type for the compiler. */
export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Marks the end of an exhaustive switch: the compiler proves it unreachable, the runtime agrees. */
export function assertNever(value: never, what = 'value'): never {
  throw new AssertionError(`unexpected ${what}: ${describe(value)}`);
}

/** JSON for the message when possible; BigInts and cyclic objects make JSON.stringify throw. */
function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
