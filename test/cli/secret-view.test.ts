/** The secret and config views: create input checks, references, the ls table, inspect documents without a secret's value. */
import t from 'tap';
import { Config, Secret } from '../../proto/index.js';
import { filterSecrets, parseSecretFilters, resolveSecretLike, secretDocument, secretPretty, secretRow, secretSpec, secretTable } from '../../cli/secret-view.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const meta = { version: { index: 12 }, createdAt: { seconds: 1_700_000_000, nanos: 0 }, updatedAt: { seconds: 1_700_000_060, nanos: 0 } };
const secret = Secret.create({ id: 'abcdefghijklmnopqrstuvwxy', meta, spec: { annotations: { name: 'db_pw', labels: { team: 'a' } }, data: new Uint8Array(0) } });
const config = Config.create({ id: 'zyxwvutsrqponmlkjihgfedcb', meta, spec: { annotations: { name: 'app.conf', labels: {} }, data: enc('port=80') } });

t.test('secretSpec checks name, size and labels before anything is sent', async (t) => {
  t.same(secretSpec('secret', 'db_pw', enc('x'), ['a=b', 'c']), { annotations: { name: 'db_pw', labels: { a: 'b', c: '' } }, data: enc('x') });
  t.throws(() => secretSpec('secret', 'bad name', enc('x'), []), { code: 'EINVAL', message: /invalid secret name "bad name"/ });
  t.throws(() => secretSpec('config', 'a/b', enc('x'), []), { code: 'EINVAL', message: /invalid config name "a\/b"/ });
  t.throws(() => secretSpec('secret', 'ok', new Uint8Array(0), []), { code: 'EINVAL', message: /secret data is empty/ });
  t.throws(() => secretSpec('secret', 'ok', new Uint8Array(500 * 1024 + 1), []), { code: 'EINVAL', message: /at most 500 KiB/ });
  t.throws(() => secretSpec('secret', 'ok', enc('x'), ['=v']), { code: 'EINVAL', message: /--label/ });
});

t.test('ls rows and table, filters, references', async (t) => {
  const now = 1_700_000_120_000;
  const row = secretRow(secret, now);
  t.same(row, { ID: secret.id, Name: 'db_pw', CreatedAt: '2 minutes ago', UpdatedAt: 'About a minute ago', Labels: 'team=a' });
  t.match(secretTable([row]), /^ID\s+NAME\s+CREATED\s+UPDATED\nabcdefghijklmnopqrstuvwxy\s+db_pw\s+2 minutes ago\s+About a minute ago\n$/);
  t.same(filterSecrets([secret], parseSecretFilters(['label=team=a'])).length, 1);
  t.same(filterSecrets([secret], parseSecretFilters(['name=other'])).length, 0);
  t.throws(() => parseSecretFilters(['driver=x']), { code: 'EINVAL' });
  t.equal(resolveSecretLike('secret', [secret], 'db_pw'), secret);
  t.equal(resolveSecretLike('secret', [secret], 'abc'), secret, 'a unique ID prefix');
  t.throws(() => resolveSecretLike('secret', [secret], 'nope'), { code: 'ENOTFOUND', message: 'secret nope not found' });
});

t.test('inspect: a secret without data, a config with it', async (t) => {
  t.same(secretDocument('secret', secret), {
    ID: secret.id,
    Version: { Index: 12 },
    CreatedAt: '2023-11-14T22:13:20.000Z',
    UpdatedAt: '2023-11-14T22:14:20.000Z',
    Spec: { Name: 'db_pw', Labels: { team: 'a' } },
  });
  const leaky = Secret.create({ ...secret, spec: { annotations: { name: 'x', labels: {} }, data: enc('should-not-show') } });
  t.notMatch(JSON.stringify(secretDocument('secret', leaky)) + secretPretty('secret', leaky), /should-not-show|c2hvdWxk/, 'even data that reached the CLI is not shown');
  t.equal((secretDocument('config', config)['Spec'] as { Data: string }).Data, Buffer.from('port=80').toString('base64'));
  t.match(secretPretty('config', config), /Name:\s+app\.conf\n[\s\S]*Data:\nport=80\n$/);
});
