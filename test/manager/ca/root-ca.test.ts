import t from 'tap';
import { X509Certificate, createHash } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode } from '../../../lib/errors.js';
import {
  createRootCa,
  loadRootCa,
  rootCaFromMessage,
  rootCaMessage,
  rootCaFromPem,
  parseRootCertificate,
  rootValidityMs,
  saveRootCa,
} from '../../../manager/ca/root-ca.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { issueNode, newAuthority } from './helpers.js';

t.test('a new root CA is a self-signed P-256 CA certificate named tsswarm-root-ca, valid 20 years', async (t) => {
  const nowMs = Date.parse('2026-01-01T00:00:00Z');
  const ca = await createRootCa({ nowMs });
  const cert = new X509Certificate(ca.certPem);
  t.equal(cert.subject, 'CN=tsswarm-root-ca');
  t.equal(cert.issuer, 'CN=tsswarm-root-ca');
  t.equal(cert.ca, true, 'basicConstraints CA:true');
  t.ok(cert.checkIssued(cert) && cert.verify(cert.publicKey), 'self-signed');
  t.equal(cert.publicKey.asymmetricKeyType, 'ec');
  t.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  t.equal(Date.parse(cert.validTo), nowMs + rootValidityMs, 'valid for 20 years from creation');
  t.ok(Date.parse(cert.validFrom) <= nowMs, 'valid from creation (backdated for clock skew)');
  t.equal(ca.digestHex, createHash('sha256').update(cert.raw).digest('hex'));
  // keyCertSign is bit 5 of keyUsage; Node does not expose key usage, so read it from the DER.
  const keyUsage = keyUsageBits(cert.raw);
  t.ok(keyUsage !== undefined && (keyUsage & 0x04) !== 0, 'keyUsage has keyCertSign');
});

t.test('two root CAs differ (new key, new digest)', async (t) => {
  const a = await createRootCa();
  const b = await createRootCa();
  t.not(a.digestHex, b.digestHex);
  t.not(a.key.pem, b.key.pem);
});

t.test('save writes ca.crt and a 0600 ca.key; load gives back the same CA', async (t) => {
  const dir = join(await tempDir(t, 'ca'), 'certs');
  const ca = await createRootCa();
  await saveRootCa(ca, dir);
  t.equal((await stat(join(dir, 'ca.key'))).mode & 0o777, 0o600, 'key is owner-only');
  t.equal((await stat(dir)).mode & 0o777, 0o700, 'folder is owner-only');
  const loaded = await loadRootCa(dir);
  t.equal(loaded.certPem, ca.certPem);
  t.equal(loaded.digestHex, ca.digestHex);
  t.equal(loaded.key.pem, ca.key.pem);
});

t.test('load refuses a missing CA, a key of another CA, and garbage', async (t) => {
  const dir = await tempDir(t, 'ca');
  await t.rejects(loadRootCa(dir), { code: ErrorCode.NOT_FOUND, message: /ca\.crt does not exist/ });
  const ca = await createRootCa();
  const other = await createRootCa();
  await saveRootCa(ca, dir);
  await writeFile(join(dir, 'ca.key'), other.key.pem);
  await t.rejects(loadRootCa(dir), { code: ErrorCode.CORRUPT, message: 'root CA key does not belong to the root CA certificate' });
  await writeFile(join(dir, 'ca.key'), 'not a key');
  await t.rejects(loadRootCa(dir), { code: ErrorCode.CORRUPT, message: /root CA key: cannot read private key/ });
  await writeFile(join(dir, 'ca.crt'), 'junk');
  await t.rejects(loadRootCa(dir), { code: ErrorCode.CORRUPT, message: /root CA certificate: not a valid X\.509 certificate/ });
});

t.test('a non-CA certificate is refused as a root', async (t) => {
  const ca = await newAuthority();
  const node = await issueNode(ca, 'worker');
  t.throws(() => parseRootCertificate(node.certPem), { code: ErrorCode.CORRUPT, message: /not a CA certificate/ });
  await t.rejects(rootCaFromPem(node.certPem, node.keyPem), { code: ErrorCode.CORRUPT });
});

t.test('the cluster RootCA message round-trips and its hash is checked', async (t) => {
  const ca = await createRootCa();
  const tokens = { worker: 'w', manager: 'm' };
  const message = rootCaMessage(ca, tokens);
  t.equal(message.caCertHash, `sha256:${ca.digestHex}`);
  t.same(message.joinTokens, tokens);
  const back = await rootCaFromMessage(message);
  t.equal(back.digestHex, ca.digestHex);
  await t.rejects(rootCaFromMessage({ ...message, caCertHash: 'sha256:00' }), { code: ErrorCode.CORRUPT, message: /does not match its certificate/ });
  await t.rejects(rootCaFromMessage({ ...message, caKey: new Uint8Array() }), { code: ErrorCode.CORRUPT, message: /no CA key/ });
  t.equal(new TextDecoder().decode(message.caKey), ca.key.pem, 'the key travels as PEM (managers only)');
});

/** The first byte of the keyUsage BIT STRING in a certificate's DER, found by its OID 2.5.29.15. */
function keyUsageBits(der: Buffer): number | undefined {
  const oid = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f]);
  const at = der.indexOf(oid);
  if (at < 0) return undefined;
  let i = at + oid.length;
  if (der[i] === 0x01) i += 3; // critical BOOLEAN
  // OCTET STRING (04 len) wrapping BIT STRING (03 len unused bits...)
  if (der[i] !== 0x04) return undefined;
  i += 2;
  if (der[i] !== 0x03) return undefined;
  return der[i + 3];
}
