/**
 * The busybox test image on every host of a lab (deploy/images/build-busybox.ts), loaded straight
 * into each host's image store: the lab tests' first step.
 */
import type { Test } from 'tap';
import { join } from 'node:path';
import { buildBusyboxImage } from '../../deploy/images/build-busybox.js';
import type { LabRecord } from '../../deploy/lab/index.js';
import { ImageService } from '../../worker/images/image-service.js';
import { tempDir } from './temp-dir.js';

/** Builds the test image once (in a temp folder of `t`) and loads it on every host of `record`; returns the tar's path. */
export async function loadTestImage(t: Test, record: LabRecord): Promise<string> {
  const tar = join(await tempDir(t, 'lab-image'), 'busybox.tar');
  await buildBusyboxImage(tar);
  for (const h of record.hosts) await new ImageService({ dataDir: h.dataDir }).load(tar);
  return tar;
}
