/**
 * A container's root filesystem: the image's layers (read-only, shared) stacked with overlayfs under
 * a per-container writable layer.
 */
import { mkdir } from 'node:fs/promises';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import { isMountPoint, unmountBelow } from '../../lib/mounts.js';
import { runCommand } from '../../lib/run-command.js';

/** The kernel refuses overlay mount options longer than a page. */
export const maxOverlayOptionBytes = 4000;

/** Folders of one container's rootfs. */
export interface RootfsPaths {
  /** Image layers, topmost first. */
  readonly lowerDirs: readonly string[];
  readonly upperDir: string;
  readonly workDir: string;
  readonly mountPoint: string;
}

/** The overlay mount options (pure). */
export function overlayOptions(p: RootfsPaths): string {
  if (p.lowerDirs.length === 0) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, 'an image needs at least one layer');
  for (const d of [...p.lowerDirs, p.upperDir, p.workDir]) {
    if (/[,:]/.test(d)) throw new TsswarmError(ErrorCode.INVALID_ARGUMENT, `overlay paths may not contain ',' or ':' (${d})`);
  }
  const options = `lowerdir=${p.lowerDirs.join(':')},upperdir=${p.upperDir},workdir=${p.workDir}`;
  if (options.length > maxOverlayOptionBytes) {
    throw new TsswarmError(ErrorCode.UNSUPPORTED, `image has too many layers for one overlay mount (${p.lowerDirs.length})`);
  }
  return options;
}

/** Mounts the rootfs (idempotent: an existing mount is kept). */
export async function mountRootfs(p: RootfsPaths): Promise<void> {
  const options = overlayOptions(p);
  await mkdir(p.upperDir, { recursive: true });
  await mkdir(p.workDir, { recursive: true });
  await mkdir(p.mountPoint, { recursive: true });
  if (await isMountPoint(p.mountPoint)) return;
  try {
    await runCommand('mount', ['-t', 'overlay', 'overlay', '-o', options, p.mountPoint]);
  } catch (err) {
    throw new TsswarmError(ErrorCode.UNSUPPORTED, `cannot mount the container's overlay rootfs (is overlayfs available?): ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Unmounts the rootfs and anything below it. */
export async function unmountRootfs(mountPoint: string): Promise<void> {
  await unmountBelow(mountPoint);
}
