/**
 * Temp dirs for tests, named tsswarm-* (the leftovers check looks for that prefix) and removed in
 * the test's teardown, even when it fails.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The part of a tap Test these helpers use. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Makes a temp dir that is removed when test `t` ends. */
export async function tempDir(t: Teardown, label = 'test'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `tsswarm-${label}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
