/**
 * `tsswarm stack ...` against the fake tsswarmd: bad compose input is refused with one line naming
 * file, line and key path before any request; a deploy creates the stack's network and services;
 * a redeploy of an edited file updates only the edited service; ls, services, ps and rm.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { NetworkSpec, ServiceSpec } from '../../../proto/index.js';
import { tsswarmWith } from '../../helpers/cli.js';
import { startFakeDaemon, type FakeDaemon } from '../../helpers/fake-control.js';
import { tempDir } from '../../helpers/temp-dir.js';

const namespaceLabel = 'com.docker.stack.namespace';

const stackFile = (apiReplicas: number): string => `version: "3.8"
services:
  web:
    image: nginx:1.25
    ports:
      - "8080:80"
    deploy:
      replicas: \${WEB_REPLICAS:-2}
    depends_on: [api]
  api:
    image: example/api:1
    environment:
      KV_ADDR: kv:6379
    deploy:
      replicas: ${apiReplicas}
      update_config:
        delay: 5s
  kv:
    image: busybox
    command: ["sh", "-c", "sleep 1000"]
    container_name: kv
`;

async function writeStack(t: Test, files: Record<string, string>): Promise<string> {
  const dir = await tempDir(t, 'stack');
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

function oneLineFailure(t: Test, r: { code: number; stderr: string }, message: RegExp | string, what: string): void {
  t.equal(r.code, 2, `${what}: exit code 2`);
  if (typeof message === 'string') t.equal(r.stderr, `tsswarm: ${message}\n`, what);
  else t.match(r.stderr, message, `${what}: ${r.stderr.trim()}`);
  t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
}

function named<T extends { spec?: { annotations?: { name: string } } }>(items: readonly T[]): string[] {
  return items.map((x) => x.spec?.annotations?.name ?? '').sort();
}

t.test('stack deploy: bad input is refused before any request', async (t) => {
  const d = await startFakeDaemon(t);
  const bad: Record<string, [string, string]> = {
    'broken.yml': ['services:\n  web:\n    image: [nginx\n', 'broken.yml:'],
    'toplevel.yml': ['services:\n  web:\n    image: a\nnetwork:\n  front: {}\n', 'toplevel.yml:4: network: unknown top-level key (allowed: version, name, services, networks, volumes, secrets, configs, x-*)'],
    'types.yml': ['version: "3.8"\nservices:\n  web:\n    image: nginx\n    deploy:\n      replicas: three\n', 'types.yml:6: services.web.deploy.replicas: expected an integer, got "three"'],
    'noimage.yml': ['services:\n  web:\n    build: .\n', 'noimage.yml:2: services.web.image: a service needs an image (stacks do not build images)'],
    'duration.yml': ['services:\n  web:\n    image: a\n    deploy:\n      update_config:\n        delay: soon\n', 'duration.yml:6: services.web.deploy.update_config.delay: invalid duration "soon": use a duration such as 10s, 1m30s or 500ms'],
    'required.yml': ['services:\n  web:\n    image: "nginx:${TAG:?set TAG}"\n', 'required.yml:3: services.web.image: required variable TAG is missing a value: set TAG'],
    'undeclared.yml': ['services:\n  web:\n    image: a\n    networks: [front]\n', 'undeclared.yml:4: services.web.networks.front: network "front" is not declared under the top-level networks key'],
  };
  const dir = await writeStack(t, Object.fromEntries(Object.entries(bad).map(([f, [text]]) => [f, text])));
  for (const [file, [, message]] of Object.entries(bad)) {
    const r = await d.cli('stack', 'deploy', '-c', join(dir, file), 'shop');
    const shown = message.replace(/^[^:]+/, (f) => join(dir, f));
    if (file === 'broken.yml') oneLineFailure(t, r, new RegExp(`^tsswarm: ${shown.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}3: invalid YAML: `), file);
    else oneLineFailure(t, r, shown, file);
  }
  const good = await writeStack(t, { 'ok.yml': 'services:\n  web: {image: a}\n' });
  oneLineFailure(t, await d.cli('stack', 'deploy', '-c', join(good, 'missing.yml'), 'shop'), `cannot read compose file ${join(good, 'missing.yml')}: ENOENT`, 'missing file');
  oneLineFailure(t, await d.cli('stack', 'deploy', '-c', join(good, 'ok.yml'), 'bad name'), /invalid stack name "bad name"/, 'bad stack name');
  oneLineFailure(t, await d.cli('stack', 'deploy', 'shop'), /required option '-c, --compose-file <file>' not specified/, 'no -c');
  t.same(d.calls, [], 'no request at all');
  t.equal(d.services.length, 3, 'nothing deployed');
});

t.test('stack deploy: creates NAME_default and the services; a redeploy updates only the edited service', async (t) => {
  const d = await startFakeDaemon(t);
  const dir = await writeStack(t, { 'app/docker-compose.yml': stackFile(1), 'app/.env': 'WEB_REPLICAS=3\n' });
  const file = join(dir, 'app', 'docker-compose.yml');
  const r = await d.cli('stack', 'deploy', '-c', file, 'shop');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'Creating network shop_default\nCreating service shop_api\nCreating service shop_kv\nCreating service shop_web\n');
  t.equal(r.stderr, 'Ignoring unsupported options: container_name, depends_on\n', 'ignored keys in one warning line');
  const [net] = d.requests('createNetwork') as { spec: NetworkSpec }[];
  t.equal(net?.spec.annotations?.name, 'shop_default');
  t.equal(net?.spec.annotations?.labels[namespaceLabel], 'shop');
  t.equal(net?.spec.driver?.name, 'overlay');
  const netId = d.networks.find((n) => n.spec?.annotations?.name === 'shop_default')?.id;
  const created = (d.requests('createService') as { spec: ServiceSpec }[]).map((x) => x.spec);
  t.same(created.map((s) => s.annotations?.name), ['shop_api', 'shop_kv', 'shop_web']);
  for (const s of created) {
    t.equal(s.annotations?.labels[namespaceLabel], 'shop', `${s.annotations?.name}: namespace label`);
    t.same(s.task?.networks.map((n) => n.target), [netId], `${s.annotations?.name}: on the stack network, by ID`);
  }
  const web = created.find((s) => s.annotations?.name === 'shop_web');
  t.same(web?.replicated, { replicas: 3 }, '${WEB_REPLICAS:-2} read from .env beside the file');
  t.same(web?.task?.networks[0]?.aliases, ['web'], 'the short name is an alias');
  t.same(web?.endpoint?.ports.map((p) => [p.publishedPort, p.targetPort]), [[8080, 80]]);

  const same = await d.cli('stack', 'deploy', '-c', file, 'shop');
  t.equal(same.code, 0, same.stderr);
  t.same(d.requests('updateService'), [], 'an unchanged file sends no UpdateService');
  t.equal(d.requests('createService').length, 3);
  t.equal(same.stdout, '', 'and prints nothing');

  await writeFile(file, stackFile(4));
  const edited = await d.cli('stack', 'deploy', '-c', file, 'shop');
  t.equal(edited.code, 0, edited.stderr);
  const updates = d.requests('updateService') as { serviceId: string; spec: ServiceSpec }[];
  t.same(updates.map((u) => u.spec.annotations?.name), ['shop_api'], 'only the edited service gets UpdateService');
  t.same(updates[0]?.spec.replicated, { replicas: 4 });
  t.match(edited.stdout, /^Updating service shop_api \(id: s0+\d+\)\n$/);
  t.equal(d.requests('createService').length, 3, 'nothing created again');
  t.equal(d.requests('createNetwork').length, 1);

  const env = await tsswarmWith({ env: { WEB_REPLICAS: '5' } }, '-H', d.host, 'stack', 'deploy', '-c', file, 'shop');
  t.equal(env.code, 0, env.stderr);
  t.same((d.requests('updateService') as { spec: ServiceSpec }[]).slice(1).map((u) => [u.spec.annotations?.name, u.spec.replicated?.replicas]), [['shop_web', 5]], 'the environment wins over .env');

  const ls = await d.cli('stack', 'ls');
  t.equal(ls.code, 0, ls.stderr);
  t.equal(ls.stdout, 'NAME   SERVICES\nshop   3\n');
  const services = await d.cli('stack', 'services', 'shop');
  t.equal(services.code, 0, services.stderr);
  t.match(services.stdout, /^ID\s+NAME\s+MODE\s+REPLICAS\s+IMAGE\s+PORTS\n/);
  t.same(services.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[1]), ['shop_api', 'shop_kv', 'shop_web']);
  const ps = await d.cli('stack', 'ps', 'shop', '--format', '{{.Name}}');
  t.equal(ps.code, 0, ps.stderr);
  t.match(ps.stdout, /shop_web\.1/);
  t.notMatch(ps.stdout, /^web\.1$/m, 'tasks of services outside the stack are not shown');
  const none = await d.cli('stack', 'services', 'nothing');
  t.equal(none.code, 0);
  t.equal(none.stderr, 'Nothing found in stack: nothing\n');

  await check(t, d);
});

async function check(t: Test, d: FakeDaemon): Promise<void> {
  const rm = await d.cli('stack', 'rm', 'shop');
  t.equal(rm.code, 0, rm.stderr);
  t.equal(rm.stdout, 'Removing service shop_api\nRemoving service shop_kv\nRemoving service shop_web\nRemoving network shop_default\n');
  t.same(named(d.services), ['api', 'batch', 'web'], 'services outside the stack stay');
  t.same(named(d.networks), ['back', 'front'], 'networks outside the stack stay');
  const again = await d.cli('stack', 'rm', 'shop');
  t.equal(again.code, 0);
  t.equal(again.stderr, 'Nothing found in stack: shop\n');
  t.equal((await d.cli('stack', 'ls')).stdout, 'NAME   SERVICES\n');
}

t.test('stack deploy --prune removes services dropped from the file', async (t) => {
  const d = await startFakeDaemon(t);
  const dir = await writeStack(t, { 'a.yml': stackFile(1), 'b.yml': 'services:\n  kv:\n    image: busybox\n    command: ["sh", "-c", "sleep 1000"]\n' });
  t.equal((await d.cli('stack', 'deploy', '-c', join(dir, 'a.yml'), 'shop')).code, 0);
  const keep = await d.cli('stack', 'deploy', '-c', join(dir, 'b.yml'), 'shop');
  t.equal(keep.code, 0, keep.stderr);
  t.same(d.requests('removeService'), [], 'without --prune nothing is removed');
  const pruned = await d.cli('stack', 'deploy', '--prune', '-c', join(dir, 'b.yml'), 'shop');
  t.equal(pruned.code, 0, pruned.stderr);
  t.equal(pruned.stdout, 'Removing service shop_api\nRemoving service shop_web\n');
  t.same(named(d.services), ['api', 'batch', 'shop_kv', 'web']);
});

t.test('stack deploy with an override file', async (t) => {
  const d = await startFakeDaemon(t);
  const dir = await writeStack(t, { 'a.yml': stackFile(1), 'prod.yml': 'services:\n  api:\n    image: example/api:2\n    deploy:\n      replicas: 6\n' });
  const r = await d.cli('stack', 'deploy', '-c', join(dir, 'a.yml'), '-c', join(dir, 'prod.yml'), 'shop');
  t.equal(r.code, 0, r.stderr);
  const api = (d.requests('createService') as { spec: ServiceSpec }[]).find((x) => x.spec.annotations?.name === 'shop_api')?.spec;
  t.equal(api?.task?.container?.image, 'example/api:2');
  t.same(api?.replicated, { replicas: 6 });
  t.same(api?.task?.container?.env, ['KV_ADDR=kv:6379'], 'what the override leaves out stays');
});
