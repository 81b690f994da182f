/**
 * A lab for integration tests, removed in teardown even when the test fails.
 */
import { randomBytes } from 'node:crypto';
import type { Teardown } from './temp-dir.js';
import { tsswarm } from './cli.js';

/** A lab name unique to this run (labs of parallel test files never clash). */
export function uniqueLabName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** Arranges for `lab down NAME` when the test ends. */
export function downOnTeardown(t: Teardown, name: string): void {
  t.teardown(async () => {
    await tsswarm('lab', 'down', name);
  });
}
