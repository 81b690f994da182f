/**
 * Builds the test image `busybox:latest` as an OCI-layout tarball from Debian's static busybox
 * (/bin/busybox, package busybox-static): one layer with /bin/busybox, a symlink per applet
 * (sh, httpd, nc, wget, ps, hostname, sleep, cat, echo, ...), /etc/passwd and /etc/group, and the
 * usual empty directories. Deterministic: the same busybox binary gives the same digests.
 *
 *     node dist/deploy/images/build-busybox.js OUT.tar
 */
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, TsswarmError, errorMessage } from '../../lib/errors.js';
import { runCommand } from '../../lib/run-command.js';
import { buildOciArchive, type OciArchiveResult } from './oci-archive.js';

/** Where Debian's busybox-static puts the binary. */
export const busyboxBinary = '/bin/busybox';
/** Full name of the test image. */
export const busyboxImageName = 'docker.io/library/busybox:latest';
/** Fixed time of every file and of the image (2024-01-01T00:00:00Z). */
export const busyboxEpochSeconds = 1_704_067_200;
/** Applets the tests and the executor rely on; the build fails when the binary lacks one. */
export const requiredApplets = ['sh', 'httpd', 'nc', 'wget', 'ps', 'hostname', 'sleep', 'cat', 'echo', 'true', 'false', 'ls', 'env', 'id', 'yes', 'top'] as const;

/** Builds the busybox test image tarball at `out`. */
export async function buildBusyboxImage(out: string, binary = busyboxBinary): Promise<OciArchiveResult> {
  const listed = await runCommand(binary, ['--list']).catch((err: unknown) => {
    throw new TsswarmError(ErrorCode.UNSUPPORTED, `${binary}: cannot list applets (install busybox-static): ${errorMessage(err)}`);
  });
  const applets = listed.stdout
    .split('\n')
    .map((a) => a.trim())
    .filter((a) => /^[a-z0-9_.[\]-]+$/.test(a) && a !== 'busybox');
  const missing = requiredApplets.filter((a) => !applets.includes(a));
  if (missing.length > 0) throw new TsswarmError(ErrorCode.UNSUPPORTED, `${binary} lacks applets: ${missing.join(', ')}`);

  const work = await mkdtemp(join(tmpdir(), 'tsswarm-busybox-'));
  try {
    const root = join(work, 'rootfs');
    for (const d of ['bin', 'dev', 'etc', 'home', 'proc', 'root', 'sys', 'tmp', 'usr', 'var', 'var/www']) await mkdir(join(root, d), { recursive: true });
    for (const d of ['', 'bin', 'dev', 'etc', 'home', 'proc', 'sys', 'usr', 'var', 'var/www']) await chmod(join(root, d), 0o755);
    await chmod(join(root, 'root'), 0o700);
    await chmod(join(root, 'tmp'), 0o1777);
    await copyFile(binary, join(root, 'bin', 'busybox'));
    await chmod(join(root, 'bin', 'busybox'), 0o755);
    for (const applet of [...new Set(applets)].sort()) await symlink('busybox', join(root, 'bin', applet));
    await writeFile(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
    await writeFile(join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    await writeFile(join(root, 'var', 'www', 'index.html'), 'hello from busybox\n');
    for (const f of ['etc/passwd', 'etc/group', 'var/www/index.html']) await chmod(join(root, f), 0o644);
    return await buildOciArchive({
      layerDirs: [root],
      name: busyboxImageName,
      tag: 'latest',
      runtime: { env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], cmd: ['sh'] },
      epochSeconds: busyboxEpochSeconds,
      out,
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const out = process.argv[2];
  if (out === undefined) {
    process.stderr.write('usage: build-busybox OUT.tar\n');
    process.exit(2);
  }
  try {
    const r = await buildBusyboxImage(out);
    process.stdout.write(`${out}: ${busyboxImageName} manifest ${r.manifestDigest} (image ID ${r.configDigest})\n`);
  } catch (err) {
    process.stderr.write(`build-busybox: ${errorMessage(err)}\n`);
    process.exit(1);
  }
}
