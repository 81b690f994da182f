import t from 'tap';
import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { ErrorCode } from '../../../lib/errors.js';
import { generateP256Key, importP256Key, pemEncode } from '../../../manager/ca/x509.js';

t.test('a P-256 key survives export to PEM and import', async (t) => {
  const key = await generateP256Key();
  t.match(key.pem, /^-----BEGIN PRIVATE KEY-----\n(.{64}\n)*.{1,64}\n-----END PRIVATE KEY-----\n$/);
  const back = await importP256Key(key.pem, 'test key');
  t.equal(back.pem, key.pem);
  t.equal(createPrivateKey(back.pem).asymmetricKeyDetails?.namedCurve, 'prime256v1');
});

t.test('a SEC1 ("EC PRIVATE KEY") P-256 key is accepted and comes back as PKCS#8', async (t) => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const sec1 = String(privateKey.export({ type: 'sec1', format: 'pem' }));
  const key = await importP256Key(sec1, 'test key');
  t.match(key.pem, /^-----BEGIN PRIVATE KEY-----/);
});

t.test('other keys are refused as CORRUPT, naming what was read', async (t) => {
  const rsa = String(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await t.rejects(importP256Key(rsa, 'node key'), { code: ErrorCode.CORRUPT, message: /^node key: cannot read private key: not an ECDSA P-256 key \(rsa/ });
  const p384 = String(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await t.rejects(importP256Key(p384, 'node key'), { code: ErrorCode.CORRUPT, message: /not an ECDSA P-256 key \(ec secp384r1\)/ });
  await t.rejects(importP256Key('', 'node key'), { code: ErrorCode.CORRUPT });
});

t.test('pemEncode wraps base64 at 64 columns', async (t) => {
  t.equal(pemEncode('X', new Uint8Array(0)), '-----BEGIN X-----\n\n-----END X-----\n');
  const pem = pemEncode('DATA', new Uint8Array(100).fill(7));
  const body = pem.split('\n').slice(1, -2);
  t.same(body.map((l) => l.length), [64, 64, 8], '100 bytes are 136 base64 characters');
  t.equal(Buffer.from(body.join(''), 'base64').length, 100);
});
