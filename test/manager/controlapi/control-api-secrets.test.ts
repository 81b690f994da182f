import t, { type Test } from 'tap';
import { Cluster, SecretSpec, ConfigSpec, type DeepPartial } from '../../../proto/index.js';
import { isSealed, openSecretData, revealSecret, secretKeyOf } from '../../../manager/controlapi/secrets-encryption.js';
import { seed, serviceFixture, withContainer } from './service-helpers.js';

type Fixture = ReturnType<typeof serviceFixture>;

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

const clusterObject = (id = 'cluster1', key = '-----BEGIN PRIVATE KEY-----\nnot-a-real-key-but-secret-enough\n-----END PRIVATE KEY-----\n'): Cluster =>
  Cluster.create({ id, rootCa: { caKey: enc(key), caCert: enc('cert'), caCertHash: 'h' } });

/** A fixture whose store holds a cluster object with a CA key (what secrets are encrypted with). */
async function fixture(): Promise<Fixture> {
  const f = serviceFixture();
  await f.store.update((tx) => tx.create('cluster', clusterObject()));
  return f;
}

const secretSpec = (name: string, data = 'p4ssw0rd', labels: Record<string, string> = {}): SecretSpec =>
  SecretSpec.create({ annotations: { name, labels }, data: enc(data) });
const configSpec = (name: string, data = 'listen 80;', labels: Record<string, string> = {}): ConfigSpec =>
  ConfigSpec.create({ annotations: { name, labels }, data: enc(data) });

function snapshot(f: Fixture): unknown {
  return { version: f.store.memory.version, secrets: structuredClone(f.store.memory.list('secret')), configs: structuredClone(f.store.memory.list('config')) };
}

async function refused(t: Test, f: Fixture, promise: () => Promise<unknown>, code: string, message: RegExp | string): Promise<void> {
  const before = snapshot(f);
  await t.rejects(promise(), { code, message });
  t.same(snapshot(f), before, 'the store is unchanged');
}

t.test('CreateSecret stores the data encrypted and never returns it', async (t) => {
  const f = await fixture();
  const { secret } = await f.api.secrets.createSecret({ spec: secretSpec('db_password', 'hunter2-very-secret', { team: 'a' }) });
  t.ok(secret?.id, 'an ID');
  t.equal(secret?.spec?.annotations?.name, 'db_password');
  t.same(secret?.spec?.annotations?.labels, { team: 'a' });
  t.equal(secret?.spec?.data.length, 0, 'the response carries no data');
  const stored = f.store.memory.get('secret', secret?.id ?? '');
  t.ok(stored && isSealed(stored.spec?.data ?? new Uint8Array(0)), 'the store holds sealed data');
  t.notOk(Buffer.from(stored?.spec?.data ?? []).includes('hunter2'), 'no plaintext in the stored object');
  const got = (await f.api.secrets.getSecret({ secretId: secret?.id ?? '' })).secret;
  t.equal(got?.spec?.data.length, 0, 'GetSecret redacts the data');
  const listed = (await f.api.secrets.listSecrets({})).secrets;
  t.equal(listed.length, 1);
  t.equal(listed[0]?.spec?.data.length, 0, 'ListSecrets redacts the data');
  const cluster = f.store.memory.list('cluster')[0];
  t.equal(dec(revealSecret(stored!, cluster).spec?.data), 'hunter2-very-secret', 'the dispatcher can open it with the cluster key');
});

t.test('sealed data opens only with the same cluster key and secret ID', async (t) => {
  const f = await fixture();
  const { secret } = await f.api.secrets.createSecret({ spec: secretSpec('s1', 'abc') });
  const stored = f.store.memory.get('secret', secret?.id ?? '')!;
  const data = stored.spec?.data ?? new Uint8Array(0);
  t.throws(() => openSecretData(secretKeyOf(clusterObject('cluster1', 'another key')), stored.id, data), { code: 'ECORRUPT' }, 'another CA key cannot open it');
  t.throws(() => openSecretData(secretKeyOf(clusterObject('cluster2')), stored.id, data), { code: 'ECORRUPT' }, 'another cluster ID cannot open it');
  t.throws(() => openSecretData(secretKeyOf(clusterObject()), 'other-id', data), { code: 'ECORRUPT' }, 'moved to another secret it does not open');
  const again = (await f.api.secrets.createSecret({ spec: secretSpec('s2', 'abc') })).secret;
  t.notSame(f.store.memory.get('secret', again?.id ?? '')?.spec?.data, data, 'the same plaintext seals differently (fresh nonce)');
});

t.test('CreateSecret refuses bad input and changes nothing', async (t) => {
  const f = await fixture();
  await f.api.secrets.createSecret({ spec: secretSpec('taken') });
  await refused(t, f, () => f.api.secrets.createSecret({}), 'EINVAL', 'invalid secret spec: a spec is required');
  await refused(t, f, () => f.api.secrets.createSecret({ spec: secretSpec('') }), 'EINVAL', /a secret name is required/);
  await refused(t, f, () => f.api.secrets.createSecret({ spec: secretSpec('bad name') }), 'EINVAL', /invalid secret name "bad name"/);
  await refused(t, f, () => f.api.secrets.createSecret({ spec: secretSpec('-dash') }), 'EINVAL', /invalid secret name/);
  await refused(t, f, () => f.api.secrets.createSecret({ spec: secretSpec('trailing.') }), 'EINVAL', /invalid secret name/);
  await refused(t, f, () => f.api.secrets.createSecret({ spec: secretSpec('x'.repeat(65)) }), 'EINVAL', /only 64/);
  await refused(t, f, () => f.api.secrets.createSecret({ spec: secretSpec('empty', '') }), 'EINVAL', /secret data must not be empty/);
  await refused(t, f, () => f.api.secrets.createSecret({ spec: secretSpec('big', 'x'.repeat(500 * 1024 + 1)) }), 'EINVAL', /at most 500 KiB/);
  await refused(t, f, () => f.api.secrets.createSecret({ spec: { ...secretSpec('drv'), driver: { name: 'vault', options: {} } } }), 'EINVAL', /secret driver "vault" is not supported/);
  await refused(t, f, () => f.api.secrets.createSecret({ spec: secretSpec('taken') }), 'EEXIST', 'secret taken already exists');
  const ok = await f.api.secrets.createSecret({ spec: secretSpec('a.b-c_d9', 'x'.repeat(500 * 1024)) });
  t.ok(ok.secret?.id, 'exactly 500 KiB and every allowed character are fine');
});

t.test('CreateSecret needs a leader and the cluster key', async (t) => {
  const f = serviceFixture();
  await t.rejects(f.api.secrets.createSecret({ spec: secretSpec('s') }), { code: 'ECLOSED', message: /root CA key/ });
  f.membership.leader = undefined;
  await t.rejects(f.api.secrets.createSecret({ spec: secretSpec('s') }), { code: 'ENOQUORUM' });
  t.equal(f.store.memory.list('secret').length, 0);
});

t.test('UpdateSecret changes labels only', async (t) => {
  const f = await fixture();
  const { secret } = await f.api.secrets.createSecret({ spec: secretSpec('s', 'data', { a: '1' }) });
  const id = secret?.id ?? '';
  const version = secret?.meta?.version ?? { index: -1 };
  const sealedBefore = f.store.memory.get('secret', id)?.spec?.data;
  const updated = (await f.api.secrets.updateSecret({ secretId: id, secretVersion: version, spec: { annotations: { name: 's', labels: { b: '2' } }, data: new Uint8Array(0) } })).secret;
  t.same(updated?.spec?.annotations?.labels, { b: '2' });
  t.equal(updated?.spec?.data.length, 0, 'redacted');
  t.same(f.store.memory.get('secret', id)?.spec?.data, sealedBefore, 'the sealed data is kept');
  const now = f.store.memory.get('secret', id)?.meta?.version ?? { index: -1 };
  await refused(t, f, () => f.api.secrets.updateSecret({ secretId: id, secretVersion: now, spec: secretSpec('s', 'new data') }), 'EINVAL', /only updates to labels are allowed: the data cannot change/);
  await refused(t, f, () => f.api.secrets.updateSecret({ secretId: id, secretVersion: now, spec: secretSpec('s', 'dat') }), 'EINVAL', /the data cannot change/);
  const resent = (await f.api.secrets.updateSecret({ secretId: id, secretVersion: now, spec: secretSpec('s', 'data', { c: '3' }) })).secret;
  t.same(resent?.spec?.annotations?.labels, { c: '3' }, 'the same data sent again is allowed (stack deploy redeploys so)');
  t.same(f.store.memory.get('secret', id)?.spec?.data, sealedBefore, 'and the sealed data is still the first one');
  const latest = resent?.meta?.version ?? { index: -1 };
  await refused(t, f, () => f.api.secrets.updateSecret({ secretId: id, secretVersion: latest, spec: { annotations: { name: 't', labels: {} }, data: new Uint8Array(0) } }), 'EINVAL', /the name cannot change/);
  await refused(t, f, () => f.api.secrets.updateSecret({ secretId: id, secretVersion: version, spec: { annotations: { name: 's', labels: {} }, data: new Uint8Array(0) } }), 'ECONFLICT', /update out of sequence/);
  await refused(t, f, () => f.api.secrets.updateSecret({ secretId: 'nope', secretVersion: now, spec: secretSpec('s', '') }), 'ENOTFOUND', 'secret nope not found');
  await refused(t, f, () => f.api.secrets.updateSecret({ secretId: id, secretVersion: now, spec: { annotations: { name: 's', labels: {} }, data: new Uint8Array(0) } }), 'ECONFLICT', /update out of sequence/);
});

t.test('RemoveSecret and RemoveConfig are refused while a service references them, naming the services', async (t) => {
  const f = await fixture();
  const secret = (await f.api.secrets.createSecret({ spec: secretSpec('db_pw') })).secret!;
  const config = (await f.api.secrets.createConfig({ spec: configSpec('nginx.conf') })).config!;
  const ref = { secretId: secret.id, secretName: 'db_pw', file: { name: 'db_pw', uid: '0', gid: '0', mode: 0o400 } };
  const cref = { configId: config.id, configName: 'nginx.conf', file: { name: '/etc/nginx.conf', uid: '0', gid: '0', mode: 0o444 } };
  const web = (await f.api.createService({ spec: withContainer('web', { secrets: [ref], configs: [cref] }) })).service!;
  await f.api.createService({ spec: withContainer('api', { secrets: [ref] }) });
  await refused(t, f, () => f.api.secrets.removeSecret({ secretId: secret.id }), 'ECONFLICT', "secret 'db_pw' is in use by the following services: api, web; remove it from those services first");
  await refused(t, f, () => f.api.secrets.removeConfig({ configId: config.id }), 'ECONFLICT', "config 'nginx.conf' is in use by the following service: web; remove it from that service first");
  await seed(f.store, {});
  await f.api.removeService({ serviceId: web.id });
  await f.api.secrets.removeConfig({ configId: config.id });
  t.equal(f.store.memory.get('config', config.id), undefined, 'the config went once no service used it');
  await refused(t, f, () => f.api.secrets.removeSecret({ secretId: 'missing' }), 'ENOTFOUND', 'secret missing not found');
});

t.test('configs: data kept and returned, the same name and size rules, labels-only updates', async (t) => {
  const f = await fixture();
  const { config } = await f.api.secrets.createConfig({ spec: configSpec('app.conf', 'port=80', { x: 'y' }) });
  t.equal(dec(config?.spec?.data), 'port=80', 'a config returns its data');
  t.equal(dec((await f.api.secrets.getConfig({ configId: config?.id ?? '' })).config?.spec?.data), 'port=80');
  t.equal((await f.api.secrets.listConfigs({ filters: { names: ['app.conf'], namePrefixes: [], idPrefixes: [], labels: {} } })).configs.length, 1);
  await refused(t, f, () => f.api.secrets.createConfig({ spec: configSpec('app.conf') }), 'EEXIST', 'config app.conf already exists');
  await refused(t, f, () => f.api.secrets.createConfig({ spec: configSpec('no/slash') }), 'EINVAL', /invalid config name/);
  await refused(t, f, () => f.api.secrets.createConfig({ spec: configSpec('big', 'x'.repeat(500 * 1024 + 1)) }), 'EINVAL', /at most 500 KiB/);
  const v = config?.meta?.version ?? { index: -1 };
  const same: DeepPartial<ConfigSpec> = { annotations: { name: 'app.conf', labels: { z: '1' } }, data: enc('port=80') };
  const updated = (await f.api.secrets.updateConfig({ configId: config?.id ?? '', configVersion: v, spec: ConfigSpec.create(same) })).config;
  t.same(updated?.spec?.annotations?.labels, { z: '1' }, 'the same data with new labels is an allowed update');
  await refused(
    t,
    f,
    () => f.api.secrets.updateConfig({ configId: config?.id ?? '', configVersion: updated?.meta?.version ?? { index: -1 }, spec: configSpec('app.conf', 'port=81') }),
    'EINVAL',
    /the data cannot change/,
  );
});
