/**
 * A minimal root filesystem made from Debian's static busybox, for executor tests that do not need
 * the image store: /bin/busybox, applet links, /etc/passwd and /etc/group.
 */
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Applets linked into /bin. */
export const busyboxApplets = ['sh', 'echo', 'cat', 'sleep', 'ps', 'hostname', 'grep', 'ls', 'head', 'id', 'mount', 'yes', 'true', 'false', 'wc', 'seq', 'dd', 'nproc', 'unshare', 'env', 'kill'];

/** Builds the rootfs in `dir` (which must exist) and returns it. */
export async function makeBusyboxRootfs(dir: string): Promise<string> {
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'home/app']) await mkdir(join(dir, d), { recursive: true });
  await copyFile('/bin/busybox', join(dir, 'bin', 'busybox'));
  for (const a of busyboxApplets) await symlink('busybox', join(dir, 'bin', a));
  await writeFile(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  await writeFile(join(dir, 'etc', 'group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:app\nnogroup:x:65534:\n');
  return dir;
}
