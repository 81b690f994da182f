/**
 * The engine's health monitor against real containers (runc under conmon): the image's
 * HEALTHCHECK applies when the request sets none and `["NONE"]` switches it off; CMD probes; a new
 * engine over the same folders (a restarted daemon) carries on probing; listeners hear status
 * changes. Everything made goes in teardown, even on failure.
 */
import t from 'tap';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBusyboxImage } from '../../../deploy/images/build-busybox.js';
import { removeCgroupTree } from '../../../lib/cgroups.js';
import { newId } from '../../../lib/ids.js';
import { silentLogger } from '../../../lib/log.js';
import { unmountBelow } from '../../../lib/mounts.js';
import { ContainerCreateRequest, type HealthConfig } from '../../../proto/index.js';
import { Engine, type ImageResolver } from '../../../worker/engine/engine.js';
import type { HealthStatus } from '../../../worker/engine/health.js';
import { storeImageResolver } from '../../../worker/engine/image-resolver.js';
import { ImageService } from '../../../worker/images/image-service.js';

const stepTimeoutMs = 15_000;
const base = await mkdtemp(join(tmpdir(), 'tsswarm-health-monitor-'));
const dataDir = join(base, 'data');
const runDir = join(base, 'run');
const cgroupParent = `tsswarm-test-${newId().slice(0, 8)}`;
const engines: Engine[] = [];
let images: ImageService;

/** The busybox image as if its config said HEALTHCHECK --interval=200ms --retries=2 CMD test -f /tmp/ok. */
function withImageHealthcheck(inner: ImageResolver): ImageResolver {
  return {
    async resolve(reference) {
      const image = await inner.resolve(reference);
      return { ...image, runtime: { ...image.runtime, healthcheck: { test: ['CMD', 'test', '-f', '/tmp/ok'], intervalNs: 200e6, retries: 2 } } };
    },
  };
}

function newEngine(): Engine {
  const engine = new Engine({ dataDir, runDir, cgroupParent }, withImageHealthcheck(storeImageResolver(images)), silentLogger());
  engines.push(engine);
  return engine;
}

t.before(async () => {
  await mkdir(dataDir, { recursive: true });
  await mkdir(runDir, { recursive: true });
  await buildBusyboxImage(join(base, 'busybox.tar'));
  images = new ImageService({ dataDir });
  await images.load(join(base, 'busybox.tar'));
});

t.teardown(async () => {
  const engine = engines[0];
  if (engine !== undefined) for (const c of await engine.list(true)) await engine.remove(c.record.config.id, true).catch(() => undefined);
  for (const e of engines) e.close();
  await unmountBelow(base);
  await removeCgroupTree(cgroupParent);
  await rm(base, { recursive: true, force: true });
});

function request(name: string, cmd: string[], healthcheck?: HealthConfig): ContainerCreateRequest {
  return ContainerCreateRequest.create({ image: 'busybox', name, cmd, ...(healthcheck !== undefined ? { healthcheck } : {}) });
}

async function untilStatus(engine: Engine, id: string, status: HealthStatus): Promise<void> {
  const deadline = Date.now() + stepTimeoutMs;
  for (;;) {
    const info = await engine.inspect(id);
    if (info.health?.status === status) return;
    if (Date.now() > deadline) throw new Error(`${id}: not ${status} within ${stepTimeoutMs} ms (${JSON.stringify(info.health)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test("the image's HEALTHCHECK applies (CMD form); NONE switches it off", async (t) => {
  const engine = newEngine();
  const id = await engine.create(request('from-image', ['sh', '-c', 'touch /tmp/ok; exec sleep 300']));
  t.same((await engine.inspect(id)).record.config.healthcheck?.test, ['CMD', 'test', '-f', '/tmp/ok']);
  await engine.start(id);
  await untilStatus(engine, id, 'healthy');
  const off = await engine.create(request('no-check', ['sleep', '300'], { test: ['NONE'], retries: 0 }));
  await engine.start(off);
  const info = await engine.inspect(off);
  t.equal(info.record.config.healthcheck, undefined, 'no check');
  t.equal(info.health, undefined, 'no health shown');
  const retimed = await engine.create(request('retimed', ['sleep', '300'], { test: [], retries: 5 }));
  t.match((await engine.inspect(retimed)).record.config.healthcheck, { test: ['CMD', 'test', '-f', '/tmp/ok'], intervalMs: 200, retries: 5 }, "the request's fields over the image's");
  for (const c of [id, off, retimed]) await engine.remove(c, true);
});

t.test('listeners hear the changes; a new engine over the same folders carries on probing', async (t) => {
  const first = newEngine();
  const id = await first.create(request('carried', ['sh', '-c', 'touch /tmp/ok; sleep 1; rm /tmp/ok; exec sleep 300']));
  const heard: string[] = [];
  const unsubscribe = first.watchHealth(id, (s) => heard.push(s.status));
  await first.start(id);
  await untilStatus(first, id, 'healthy');
  t.same(heard, ['healthy']);
  first.close(); // as tsswarmd going down: probes stop, the container keeps running
  unsubscribe();

  const second = newEngine();
  t.equal((await second.inspect(id)).health?.status, 'healthy', 'the saved state is read back');
  await second.recover();
  const heardAgain: string[] = [];
  second.watchHealth(id, (s) => heardAgain.push(s.status));
  await untilStatus(second, id, 'unhealthy');
  t.same(heardAgain, ['unhealthy'], 'the new engine probes again');
  await second.stop(id, 100);
  const stopped = await second.inspect(id);
  t.equal(stopped.status, 'exited');
  t.equal(stopped.health?.status, 'unhealthy', 'the last state stays readable after the stop');
  await second.remove(id, true);
});
