/**
 * Docker's copy-up: the first time an empty volume is mounted at a path the image has content at,
 * that content (and the folder's owner and mode) is copied into the volume. Paths in the image are
 * resolved inside the container's root: a symlink never leads out of it.
 */
import { chmod, chown, lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../../lib/run-command.js';

/** Symlinks followed while resolving one path, as Linux's limit. */
export const maxSymlinkHops = 40;
/** Longest one copy may take. */
export const copyUpTimeoutMs = 300_000;

/**
 * The host path of `path` inside the tree at `root`, following symlinks as if `root` were `/`;
 * undefined when a component does not exist or the links go round.
 */
export async function resolveInRoot(root: string, path: string): Promise<string | undefined> {
  const pending = path.split('/').filter((p) => p !== '' && p !== '.');
  const current: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      current.pop();
      continue;
    }
    const candidate = join(root, ...current, part);
    const stat = await lstat(candidate).catch(() => undefined);
    if (stat === undefined) return undefined;
    if (!stat.isSymbolicLink()) {
      current.push(part);
      continue;
    }
    if (++hops > maxSymlinkHops) return undefined;
    const link = await readlink(candidate);
    if (link.startsWith('/')) current.length = 0;
    pending.unshift(...link.split('/').filter((p) => p !== '' && p !== '.'));
  }
  return join(root, ...current);
}

/** True when `dir` has no entries (a missing folder counts as empty). */
export async function isEmptyDir(dir: string): Promise<boolean> {
  return (await readdir(dir).catch(() => [])).length === 0;
}

/**
 * Copies what the image at `rootfs` has at `target` into the volume folder `dest`, when `dest` is
 * empty and the image has a folder there. Returns whether it copied.
 */
export async function copyUp(rootfs: string, target: string, dest: string): Promise<boolean> {
  const source = await resolveInRoot(rootfs, target);
  if (source === undefined) return false;
  const stat = await lstat(source);
  if (!stat.isDirectory() || !(await isEmptyDir(dest))) return false;
  if (!(await isEmptyDir(source))) await runCommand('cp', ['-a', '--', `${source}/.`, `${dest}/`], { timeoutMs: copyUpTimeoutMs });
  await chown(dest, stat.uid, stat.gid);
  await chmod(dest, stat.mode & 0o7777);
  return true;
}
