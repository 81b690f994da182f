/**
 * Deploying and removing stacks (cli/stack/deploy.ts and deploy-plan.ts) against an in-memory
 * Control API that stores specs as the wire carries them: what is created, that a redeploy of an
 * unchanged file changes nothing, that an edited service is the only one updated, --prune, refusals
 * before any change, and `stack rm` touching only the stack's own objects.
 */
import t from 'tap';
import { ErrorCode, TsswarmError } from '../../../lib/errors.js';
import { convertProject, namespaceLabel, type DesiredStack } from '../../../cli/stack/convert.js';
import { deployStack, removeStack, type StackClient } from '../../../cli/stack/deploy.js';
import { loadProject } from '../../../cli/stack/load.js';
import { Config, ConfigSpec, Network, NetworkSpec, Secret, SecretSpec, Service, ServiceSpec, type DeepPartial } from '../../../proto/index.js';

/** An in-memory Control API recording every call. */
class MemoryControl implements StackClient {
  services: Service[] = [];
  networks: Network[] = [];
  secrets: Secret[] = [];
  configs: Config[] = [];
  calls: string[] = [];
  private next = 0;
  private version = 1;
  private id(prefix: string): string {
    return `${prefix}${String(++this.next).padStart(5, '0')}`;
  }
  private meta(): { version: { index: number } } {
    return { version: { index: ++this.version } };
  }
  /** Services hold a task for a while after removal: networks stay in use (CONFLICT) for `busyRemovals` tries. */
  busyRemovals = 0;
  /** What each image resolves to. */
  digests = new Map<string, string>();

  listServices(): Promise<Service[]> {
    this.calls.push('listServices');
    return Promise.resolve(this.services);
  }
  createService(spec: DeepPartial<ServiceSpec>): Promise<Service> {
    const wire = ServiceSpec.decode(ServiceSpec.encode(ServiceSpec.create(spec)));
    this.calls.push(`createService ${wire.annotations?.name}`);
    const s = Service.create({ id: this.id('svc'), meta: this.meta(), spec: wire });
    this.services.push(s);
    return Promise.resolve(s);
  }
  updateService(req: DeepPartial<{ serviceId: string; serviceVersion: { index: number }; spec: ServiceSpec }>): Promise<Service> {
    const old = this.services.find((s) => s.id === req.serviceId);
    if (old === undefined) throw new TsswarmError(ErrorCode.NOT_FOUND, 'no such service');
    if (old.meta?.version?.index !== req.serviceVersion?.index) throw new TsswarmError(ErrorCode.CONFLICT, 'update out of sequence');
    const wire = ServiceSpec.decode(ServiceSpec.encode(ServiceSpec.create(req.spec ?? {})));
    this.calls.push(`updateService ${wire.annotations?.name}`);
    const updated = { ...old, meta: this.meta(), spec: wire, ...(old.spec ? { previousSpec: old.spec } : {}) };
    this.services = this.services.map((s) => (s.id === old.id ? updated : s));
    return Promise.resolve(updated);
  }
  removeService(id: string): Promise<void> {
    this.calls.push(`removeService ${this.services.find((s) => s.id === id)?.spec?.annotations?.name}`);
    this.services = this.services.filter((s) => s.id !== id);
    return Promise.resolve();
  }
  listNetworks(): Promise<Network[]> {
    this.calls.push('listNetworks');
    return Promise.resolve(this.networks);
  }
  createNetwork(spec: DeepPartial<NetworkSpec>): Promise<Network> {
    const n = Network.create({ id: this.id('net'), meta: this.meta(), spec: NetworkSpec.create(spec) });
    this.calls.push(`createNetwork ${n.spec?.annotations?.name}`);
    this.networks.push(n);
    return Promise.resolve(n);
  }
  removeNetwork(id: string): Promise<void> {
    if (this.busyRemovals > 0) {
      this.busyRemovals--;
      return Promise.reject(new TsswarmError(ErrorCode.CONFLICT, 'network is in use'));
    }
    this.calls.push(`removeNetwork ${this.networks.find((n) => n.id === id)?.spec?.annotations?.name}`);
    this.networks = this.networks.filter((n) => n.id !== id);
    return Promise.resolve();
  }
  listSecrets(): Promise<Secret[]> {
    this.calls.push('listSecrets');
    return Promise.resolve(this.secrets);
  }
  createSecret(spec: DeepPartial<SecretSpec>): Promise<Secret> {
    const s = Secret.create({ id: this.id('sec'), meta: this.meta(), spec: SecretSpec.create(spec) });
    this.calls.push(`createSecret ${s.spec?.annotations?.name}`);
    this.secrets.push(s);
    return Promise.resolve(s);
  }
  removeSecret(id: string): Promise<void> {
    this.calls.push(`removeSecret ${this.secrets.find((n) => n.id === id)?.spec?.annotations?.name}`);
    this.secrets = this.secrets.filter((n) => n.id !== id);
    return Promise.resolve();
  }
  listConfigs(): Promise<Config[]> {
    this.calls.push('listConfigs');
    return Promise.resolve(this.configs);
  }
  createConfig(spec: DeepPartial<ConfigSpec>): Promise<Config> {
    const c = Config.create({ id: this.id('cfg'), meta: this.meta(), spec: ConfigSpec.create(spec) });
    this.calls.push(`createConfig ${c.spec?.annotations?.name}`);
    this.configs.push(c);
    return Promise.resolve(c);
  }
  removeConfig(id: string): Promise<void> {
    this.calls.push(`removeConfig ${this.configs.find((n) => n.id === id)?.spec?.annotations?.name}`);
    this.configs = this.configs.filter((n) => n.id !== id);
    return Promise.resolve();
  }
  resolveImage(image: string): Promise<{ image: string; warning: string }> {
    this.calls.push(`resolveImage ${image}`);
    const digest = this.digests.get(image);
    return Promise.resolve(digest === undefined ? { image, warning: `no registry answered for ${image}` } : { image: `${image}@${digest}`, warning: '' });
  }
  /** The calls that change something. */
  changes(): string[] {
    return this.calls.filter((c) => !c.startsWith('list') && !c.startsWith('resolveImage'));
  }
}

const stackText = (webImage = 'nginx:1.25', apiReplicas = 2): string =>
  [
    'services:',
    '  web:',
    `    image: ${webImage}`,
    '    ports: ["8080:80"]',
    '    secrets: [pw]',
    '    configs: [conf]',
    '    volumes: ["data:/data"]',
    '  api:',
    '    image: example/api:1',
    '    environment: {MODE: prod}',
    '    deploy:',
    `      replicas: ${apiReplicas}`,
    '      labels: {tier: back}',
    '  kv:',
    '    image: busybox',
    '    command: ["sh", "-c", "sleep 1000"]',
    'volumes:',
    '  data:',
    'secrets:',
    '  pw: {environment: PW}',
    'configs:',
    '  conf: {content: "listen 80"}',
  ].join('\n');

function desired(text: string, stack = 'shop'): DesiredStack {
  const { project } = loadProject({ sources: [{ file: 's.yml', text }], projectDir: '/', env: { PW: 'hunter2' }, readFile: () => new Uint8Array() });
  return convertProject(stack, project);
}

function output(): { lines: string[]; warnings: string[]; line: (s: string) => void; warn: (s: string) => void } {
  const o = { lines: [] as string[], warnings: [] as string[], line: (s: string) => void o.lines.push(s), warn: (s: string) => void o.warnings.push(s) };
  return o;
}

const opts = { prune: false, pinImages: true };

t.test('first deploy creates the network, secret, config and services, in that order', async (t) => {
  const c = new MemoryControl();
  c.digests.set('nginx:1.25', 'sha256:aaa');
  const out = output();
  const r = await deployStack(c, desired(stackText()), opts, out);
  t.same(c.changes(), ['createNetwork shop_default', 'createSecret shop_pw', 'createConfig shop_conf', 'createService shop_api', 'createService shop_kv', 'createService shop_web']);
  t.same(out.lines, ['Creating network shop_default', 'Creating secret shop_pw', 'Creating config shop_conf', 'Creating service shop_api', 'Creating service shop_kv', 'Creating service shop_web']);
  t.same(r.created, ['shop_api', 'shop_kv', 'shop_web']);
  const web = c.services.find((s) => s.spec?.annotations?.name === 'shop_web');
  t.equal(web?.spec?.task?.container?.image, 'nginx:1.25@sha256:aaa', 'images are pinned at create');
  t.same(web?.spec?.task?.networks.map((n) => [n.target, n.aliases]), [[c.networks[0]?.id, ['web']]], 'network names became IDs');
  t.equal(web?.spec?.task?.container?.secrets[0]?.secretId, c.secrets[0]?.id, 'secret name became its ID');
  t.equal(web?.spec?.task?.container?.configs[0]?.configId, c.configs[0]?.id, 'config name became its ID');
  t.equal(new TextDecoder().decode(c.secrets[0]?.spec?.data), 'hunter2');
  t.same(out.warnings, ['warning: no registry answered for example/api:1', 'warning: no registry answered for busybox'], 'one warning per image');
  for (const o of [...c.services, ...c.networks, ...c.secrets, ...c.configs]) t.equal(o.spec?.annotations?.labels[namespaceLabel], 'shop', `${o.spec?.annotations?.name} labelled`);
});

t.test('redeploy: unchanged file changes nothing; an edited service is the only update', async (t) => {
  const c = new MemoryControl();
  c.digests.set('nginx:1.25', 'sha256:aaa');
  await deployStack(c, desired(stackText()), opts, output());
  c.calls = [];
  const again = await deployStack(c, desired(stackText()), opts, output());
  t.same(c.changes(), [], 'nothing sent for an unchanged file (pinned images count as the same)');
  t.same(again.unchanged, ['shop_api', 'shop_kv', 'shop_web']);
  t.same(c.calls.filter((x) => x.startsWith('resolveImage')), [], 'unchanged images are not resolved again');

  c.calls = [];
  const out = output();
  const edited = await deployStack(c, desired(stackText('nginx:1.25', 5)), opts, out);
  t.same(c.changes(), ['updateService shop_api'], 'only the edited service gets UpdateService');
  t.same(edited.updated, ['shop_api']);
  t.match(out.lines, [/^Updating service shop_api \(id: svc\d+\)$/]);
  t.same(c.services.find((s) => s.spec?.annotations?.name === 'shop_api')?.spec?.replicated, { replicas: 5 });
  t.equal(c.services.find((s) => s.spec?.annotations?.name === 'shop_web')?.spec?.task?.container?.image, 'nginx:1.25@sha256:aaa', 'the others keep their pinned image');

  c.calls = [];
  c.digests.set('nginx:1.27', 'sha256:bbb');
  await deployStack(c, desired(stackText('nginx:1.27', 5)), opts, output());
  t.same(c.changes(), ['updateService shop_web'], 'a new image updates that service only');
  t.equal(c.services.find((s) => s.spec?.annotations?.name === 'shop_web')?.spec?.task?.container?.image, 'nginx:1.27@sha256:bbb', 'and is pinned');
});

t.test('--prune removes services of the stack that the file dropped, and only with --prune', async (t) => {
  const c = new MemoryControl();
  await deployStack(c, desired(stackText()), opts, output());
  const other = desired('services:\n  lone: {image: a}\n', 'other');
  await deployStack(c, other, opts, output());
  const smaller = desired('services:\n  api:\n    image: example/api:1\n    environment: {MODE: prod}\n    deploy: {replicas: 2, labels: {tier: back}}\n');
  c.calls = [];
  await deployStack(c, smaller, opts, output());
  t.same(c.changes(), [], 'without --prune nothing is removed');
  const out = output();
  const r = await deployStack(c, smaller, { ...opts, prune: true }, out);
  t.same(c.changes(), ['removeService shop_kv', 'removeService shop_web']);
  t.same(r.removed, ['shop_kv', 'shop_web']);
  t.same(c.services.map((s) => s.spec?.annotations?.name).sort(), ['other_lone', 'shop_api'], "another stack's services are untouched");
});

t.test('refusals come before any change', async (t) => {
  const c = new MemoryControl();
  c.networks.push(Network.create({ id: 'netx', spec: { annotations: { name: 'shop_default', labels: {} } } }));
  await t.rejects(deployStack(c, desired(stackText()), opts, output()), /network shop_default already exists and is not part of stack shop/);
  t.same(c.changes(), [], 'nothing created');

  const d = new MemoryControl();
  const ext = desired('services:\n  web: {image: a, networks: [corp], secrets: [key]}\nnetworks:\n  corp: {external: true}\nsecrets:\n  key: {external: true, name: shared-key}\n');
  await t.rejects(deployStack(d, ext, opts, output()), /network corp is declared as external, but could not be found/);
  d.networks.push(Network.create({ id: 'netcorp', spec: { annotations: { name: 'corp', labels: {} } } }));
  await t.rejects(deployStack(d, ext, opts, output()), /secret shared-key is declared as external, but could not be found/);
  t.same(d.changes(), [], 'nothing created');
  d.secrets.push(Secret.create({ id: 'seckey', spec: { annotations: { name: 'shared-key', labels: {} } } }));
  await deployStack(d, ext, opts, output());
  t.same(d.changes(), ['createService shop_web'], 'externals are used, not created');
  t.same(d.services[0]?.spec?.task?.networks.map((n) => n.target), ['netcorp']);
  t.equal(d.services[0]?.spec?.task?.container?.secrets[0]?.secretId, 'seckey');

  const m = new MemoryControl();
  await deployStack(m, desired('services:\n  web: {image: a}\n  api: {image: b}\n'), opts, output());
  m.calls = [];
  await t.rejects(
    deployStack(m, desired('services:\n  web: {image: a2}\n  api: {image: b, deploy: {mode: global}}\n'), opts, output()),
    /service shop_api cannot change its mode from replicated to global: remove the service \(or the stack\) first/,
  );
  t.same(m.changes(), [], 'a mode change is refused before web is updated');

  const changed = new MemoryControl();
  await deployStack(changed, desired(stackText()), opts, output());
  changed.calls = [];
  await t.rejects(
    deployStack(changed, desired(stackText('nginx:1.27').replace('listen 80', 'listen 81')), opts, output()),
    /config shop_conf has changed, but configs cannot change: give it a new name in the file \(name: shop_conf_v2\) or remove the stack first/,
  );
  t.same(changed.changes(), [], 'a changed config is refused before web is updated');

  const e = new MemoryControl();
  e.services.push(Service.create({ id: 'svcx', spec: { annotations: { name: 'shop_web', labels: {} } } }));
  await t.rejects(deployStack(e, desired('services:\n  web: {image: a}\n'), opts, output()), /service shop_web already exists and is not part of stack shop/);
  t.same(e.changes(), []);
});

t.test('stack rm removes services, then networks, secrets and configs of the stack, nothing else', async (t) => {
  const c = new MemoryControl();
  await deployStack(c, desired(stackText()), opts, output());
  await deployStack(c, desired('services:\n  lone: {image: a}\n', 'other'), opts, output());
  c.networks.push(Network.create({ id: 'netplain', spec: { annotations: { name: 'plain', labels: {} } } }));
  c.busyRemovals = 2;
  c.calls = [];
  const out = output();
  const found = await removeStack(c, 'shop', out, () => Promise.resolve());
  t.equal(found, true);
  t.same(c.changes(), ['removeService shop_api', 'removeService shop_kv', 'removeService shop_web', 'removeNetwork shop_default', 'removeSecret shop_pw', 'removeConfig shop_conf'], 'a network still in use is retried');
  t.same(out.lines, ['Removing service shop_api', 'Removing service shop_kv', 'Removing service shop_web', 'Removing network shop_default', 'Removing secret shop_pw', 'Removing config shop_conf']);
  t.same(c.services.map((s) => s.spec?.annotations?.name), ['other_lone']);
  t.same(c.networks.map((n) => n.spec?.annotations?.name), ['other_default', 'plain']);
  t.equal(await removeStack(c, 'nothing-here', output(), () => Promise.resolve()), false, 'an unknown stack has nothing');
});
