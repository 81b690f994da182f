/**
 * Where a container's pieces live on the host (pure).
 *
 *   DATA/containers/ID/record.json      what was asked (ContainerRecord)
 *   DATA/containers/ID/bundle/          OCI bundle: config.json, rootfs/ (overlay mount point)
 *   DATA/containers/ID/upper, work      the writable overlay layer
 *   DATA/containers/ID/etc/             hosts, resolv.conf, hostname
 *   DATA/containers/ID/ctr.log          k8s-file log written by conmon
 *   DATA/containers/ID/exits/ID         exit code written by conmon; persist/oom marks an OOM kill
 *   RUN/runc                            runc state root;  RUN/conmon: attach sockets
 */
import { join } from 'node:path';
import type { ConmonPaths } from './conmon.js';

/** Roots of one runtime. */
export interface RuntimeDirs {
  readonly dataDir: string;
  readonly runDir: string;
}

/** All paths of one container. */
export interface ContainerPaths extends ConmonPaths {
  readonly dir: string;
  readonly record: string;
  readonly specFile: string;
  readonly rootfs: string;
  readonly upperDir: string;
  readonly workDir: string;
  readonly etcDir: string;
  readonly exitFile: string;
  readonly oomFile: string;
}

/** The folder holding every container's folder. */
export function containersDir(dirs: RuntimeDirs): string {
  return join(dirs.dataDir, 'containers');
}

/** Paths of container `id`. */
export function containerPaths(dirs: RuntimeDirs, id: string): ContainerPaths {
  const dir = join(containersDir(dirs), id);
  const bundle = join(dir, 'bundle');
  const exitDir = join(dir, 'exits');
  const persistDir = join(dir, 'persist');
  return {
    dir,
    record: join(dir, 'record.json'),
    bundle,
    specFile: join(bundle, 'config.json'),
    rootfs: join(bundle, 'rootfs'),
    upperDir: join(dir, 'upper'),
    workDir: join(dir, 'work'),
    etcDir: join(dir, 'etc'),
    logPath: join(dir, 'ctr.log'),
    exitDir,
    exitFile: join(exitDir, id),
    persistDir,
    oomFile: join(persistDir, 'oom'),
    pidFile: join(dir, 'pid'),
    conmonPidFile: join(dir, 'conmon.pid'),
    runcRoot: join(dirs.runDir, 'runc'),
    socketDir: join(dirs.runDir, 'conmon'),
  };
}
