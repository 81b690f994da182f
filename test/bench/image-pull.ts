/**
 * Benchmark: `tsswarm image pull` of the busybox test image and of a ~100 MB multi-layer image
 * (made here from random data) from a local docker-registry on 127.0.0.1, against
 * `skopeo copy docker://... oci:DIR` of the same image in the same run. Our pull also unpacks the
 * layers (skopeo's copy only stores blobs). Reports medians and the throughput ratio (ours ÷
 * skopeo's; target ≥ 1.0x). Run after `npm run build`: `node dist/test/bench/image-pull.js`.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildBusyboxImage } from '../../deploy/images/build-busybox.js';
import { buildOciArchive } from '../../deploy/images/oci-archive.js';
import { ImageService } from '../../worker/images/image-service.js';
import { tsswarmBin } from '../helpers/cli.js';
import { startRegistry } from '../worker/images/registry-helper.js';
import { median, recordComparisons, type Comparison } from './report.js';

/** Pulls per side and image; the median is reported. */
const runsPerSide = 5;
/** Layer sizes of the big image, in MiB (about 100 MB in all). */
const bigLayerMiB = [40, 30, 20, 10] as const;
/** Files per layer of the big image. */
const filesPerLayer = 8;

interface Image {
  readonly label: string;
  readonly ref: string;
  /** Compressed bytes moved by a pull (manifest and config not counted). */
  readonly bytes: number;
}

function timeMs(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

async function makeBigImage(work: string, out: string): Promise<void> {
  const dirs: string[] = [];
  for (const [i, mib] of bigLayerMiB.entries()) {
    const dir = join(work, `layer${i}`, 'data', `l${i}`);
    await mkdir(dir, { recursive: true });
    for (let f = 0; f < filesPerLayer; f++) await writeFile(join(dir, `f${f}.bin`), randomBytes((mib * 1024 * 1024) / filesPerLayer));
    dirs.push(join(work, `layer${i}`));
  }
  await buildOciArchive({ layerDirs: dirs, name: 'docker.io/bench/big:latest', tag: 'latest', runtime: { cmd: ['sh'] }, epochSeconds: 0, gzipLevel: 1, out });
}

function pushWithSkopeo(archive: string, ref: string): void {
  execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci-archive:${archive}:latest`, `docker://${ref}`]);
}

function blobBytes(ref: string): number {
  const raw = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' })) as {
    layers: { size: number }[];
    config: { size: number };
  };
  return raw.layers.reduce((a, l) => a + l.size, 0) + raw.config.size;
}

async function main(): Promise<void> {
  const cleanups: (() => unknown)[] = [];
  const t = { teardown: (fn: () => unknown) => cleanups.push(fn) };
  const work = await mkdtemp(join(tmpdir(), 'tsswarm-bench-images-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
  try {
    const registry = await startRegistry(t);
    const busyboxTar = join(work, 'busybox.tar');
    await buildBusyboxImage(busyboxTar);
    const bigTar = join(work, 'big.tar');
    await makeBigImage(join(work, 'big-src'), bigTar);
    const images: Image[] = [];
    for (const [label, archive, name] of [
      ['busybox test image', busyboxTar, 'busybox:latest'],
      [`${bigLayerMiB.length}-layer ~100 MB image`, bigTar, 'bench/big:latest'],
    ] as const) {
      const ref = `${registry.host}/${name}`;
      pushWithSkopeo(archive, ref);
      images.push({ label, ref, bytes: blobBytes(ref) });
    }
    const comparisons: Comparison[] = [];
    for (const image of images) {
      const ours: number[] = [];
      const skopeo: number[] = [];
      for (let r = 0; r < runsPerSide; r++) {
        const dataDir = join(work, `ours-${r}`);
        const ociDir = join(work, `skopeo-${r}`);
        const runOurs = (): number =>
          timeMs(() =>
            execFileSync(process.execPath, [tsswarmBin, 'image', 'pull', '-q', '--insecure-registry', registry.host, '--data-dir', dataDir, image.ref]),
          );
        const runSkopeo = (): number =>
          timeMs(() => execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${image.ref}`, `oci:${ociDir}:latest`]));
        // Alternate who goes first so neither side always meets a warmer cache.
        if (r % 2 === 0) {
          ours.push(runOurs());
          skopeo.push(runSkopeo());
        } else {
          skopeo.push(runSkopeo());
          ours.push(runOurs());
        }
        await rm(dataDir, { recursive: true, force: true });
        await rm(ociDir, { recursive: true, force: true });
      }
      // The same pull in this process (no Node start-up), to show what the CLI's start costs.
      const inProcess: number[] = [];
      for (let r = 0; r < runsPerSide; r++) {
        const dataDir = join(work, `inproc-${r}`);
        const start = performance.now();
        await new ImageService({ dataDir, insecureRegistries: [registry.host] }).pull(image.ref);
        inProcess.push(performance.now() - start);
        await rm(dataDir, { recursive: true, force: true });
      }
      const inProcessMs = median(inProcess);
      const oursMs = median(ours);
      const skopeoMs = median(skopeo);
      const mb = image.bytes / 1e6;
      const line = `${image.label} (${mb.toFixed(1)} MB): tsswarm image pull ${oursMs.toFixed(0)} ms (${(mb / (oursMs / 1000)).toFixed(1)} MB/s, layers unpacked), skopeo copy ${skopeoMs.toFixed(0)} ms (${(mb / (skopeoMs / 1000)).toFixed(1)} MB/s); ImageService.pull in-process ${inProcessMs.toFixed(0)} ms (${(skopeoMs / inProcessMs).toFixed(2)}x)`;
      process.stdout.write(`${line}: ${(skopeoMs / oursMs).toFixed(2)}x\n`);
      comparisons.push({
        name: `image pull vs skopeo copy, ${image.label}, pulls/s`,
        ratio: skopeoMs / oursMs,
        detail: `median of ${runsPerSide}, ${mb.toFixed(1)} MB from a local docker-registry: ours ${oursMs.toFixed(0)} ms with layers unpacked, skopeo copy to oci: ${skopeoMs.toFixed(0)} ms; in-process ImageService.pull ${inProcessMs.toFixed(0)} ms = ${(skopeoMs / inProcessMs).toFixed(2)}x`,
      });
    }
    await recordComparisons('Images', comparisons);
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

await main();
