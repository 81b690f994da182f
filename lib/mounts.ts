/**
 * Mount-table helpers: finding and removing mounts below a folder (pure parsing + `umount`).
 */
import { readFile } from 'node:fs/promises';
import { runCommand } from './run-command.js';

/** Mount points at or below `dir`, deepest first (pure: takes /proc/self/mountinfo's text). */
export function mountsBelow(mountinfo: string, dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return mountinfo
    .split('\n')
    .map((line) => unescapeMountPath(line.split(' ')[4] ?? ''))
    .filter((point) => point === dir || point.startsWith(prefix))
    .sort((a, b) => depth(b) - depth(a) || b.length - a.length);
}

function depth(path: string): number {
  return path.split('/').length;
}

function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** True when something is mounted exactly at `dir`. */
export async function isMountPoint(dir: string): Promise<boolean> {
  return mountsBelow(await readFile('/proc/self/mountinfo', 'utf8'), dir).includes(dir);
}

/** Unmounts everything at or below `dir`, deepest first; returns how many. */
export async function unmountBelow(dir: string): Promise<number> {
  const points = mountsBelow(await readFile('/proc/self/mountinfo', 'utf8'), dir);
  for (const point of points) {
    await runCommand('umount', [point]).catch(() => runCommand('umount', ['-l', point]));
  }
  return points.length;
}
