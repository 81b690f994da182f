import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { ErrorCode } from '../../../lib/errors.js';
import { CertificateAuthority, defaultCertExpiryMs } from '../../../manager/ca/authority.js';
import { createNodeKeyAndCsr } from '../../../manager/ca/node-cert.js';
import { createRootCa } from '../../../manager/ca/root-ca.js';
import { newJoinToken } from '../../../manager/ca/join-token.js';
import { x509 } from '../../../manager/ca/x509.js';
import { clusterA, clusterB, newAuthority } from './helpers.js';

const dayMs = 24 * 60 * 60 * 1000;

t.test('the role comes from whichever token matched', async (t) => {
  const ca = await newAuthority();
  const tokens = ca.joinTokens();
  t.not(tokens.worker, tokens.manager);
  t.equal(ca.roleForToken(tokens.worker), 'worker');
  t.equal(ca.roleForToken(tokens.manager), 'manager');
});

t.test('bad tokens are refused with clear messages', async (t) => {
  const ca = await newAuthority();
  const other = await newAuthority();
  const { worker } = ca.joinTokens();
  t.throws(() => ca.roleForToken('SWMTKN-9-abc'), { code: ErrorCode.INVALID_ARGUMENT, message: /^invalid join token: / }, 'malformed');
  t.throws(() => ca.roleForToken(other.joinTokens().worker), { code: ErrorCode.PERMISSION, message: /different swarm: the CA digest/ }, 'token of another CA');
  t.throws(() => ca.roleForToken(newJoinToken(ca.root.digestHex)), { code: ErrorCode.PERMISSION, message: /not valid for this swarm \(wrong secret\)/ }, 'right CA, wrong secret');
  const flipped = worker.slice(0, -1) + (worker.endsWith('a') ? 'b' : 'a');
  t.throws(() => ca.roleForToken(flipped), { code: ErrorCode.PERMISSION, message: /wrong secret/ }, 'one character off');
});

t.test('a rotated token stops working at once; the new one and the other role keep working', async (t) => {
  const ca = await newAuthority();
  const before = ca.joinTokens();
  const fresh = ca.rotateJoinToken('worker');
  t.equal(ca.joinTokens().worker, fresh);
  t.equal(ca.joinTokens().manager, before.manager, 'the manager token is untouched');
  t.throws(() => ca.roleForToken(before.worker), { code: ErrorCode.PERMISSION, message: /join token has been rotated/ });
  const { csrPem } = await createNodeKeyAndCsr();
  await t.rejects(ca.issueForJoin({ csrPem, token: before.worker }), { code: ErrorCode.PERMISSION }, 'issuance refuses it too');
  t.equal(ca.roleForToken(fresh), 'worker');
  t.equal(ca.roleForToken(before.manager), 'manager');
  ca.rotateJoinToken('manager');
  t.throws(() => ca.roleForToken(before.manager), { code: ErrorCode.PERMISSION, message: /rotated/ });
});

t.test('tokens restored from the cluster object are used; tokens of another CA are refused', async (t) => {
  const ca = await newAuthority();
  const restored = new CertificateAuthority({ root: ca.root, clusterId: clusterA, joinTokens: ca.joinTokens() });
  t.equal(restored.roleForToken(ca.joinTokens().manager), 'manager');
  const other = await newAuthority();
  t.throws(() => new CertificateAuthority({ root: ca.root, clusterId: clusterA, joinTokens: other.joinTokens() }), { code: ErrorCode.CORRUPT });
  t.throws(() => new CertificateAuthority({ root: ca.root, clusterId: 'Not-An-Id' }), { code: ErrorCode.INVALID_ARGUMENT });
});

t.test('a certificate carries CN=node ID, OU=role, O=cluster, SAN node ID and DNS names, signed by the root', async (t) => {
  const ids = ['nodeaaaaaaaaaaaaaaaaaaaaa', 'nodebbbbbbbbbbbbbbbbbbbbb'];
  const ca = new CertificateAuthority({ root: await createRootCa(), clusterId: clusterA, newNodeId: () => ids.shift() ?? 'x' });
  for (const role of ['worker', 'manager'] as const) {
    const { csrPem } = await createNodeKeyAndCsr();
    const issued = await ca.issueForJoin({ csrPem, token: ca.joinTokens()[role], dnsNames: ['h1.lab', 'manager-1'] });
    const cert = new X509Certificate(issued.certPem);
    const nodeId = issued.identity.nodeId;
    t.equal(cert.subject, `CN=${nodeId}\nOU=swarm-${role}\nO=${clusterA}`, role);
    t.equal(cert.subjectAltName, `DNS:${nodeId}, DNS:h1.lab, DNS:manager-1`);
    t.equal(cert.issuer, 'CN=tsswarm-root-ca');
    t.equal(cert.ca, false);
    const root = new X509Certificate(ca.root.certPem);
    t.ok(cert.checkIssued(root) && cert.verify(root.publicKey), 'signed by the root');
    t.same(issued.identity, { nodeId, role, clusterId: clusterA });
    t.match(cert.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], 'serverAuth and clientAuth');
  }
  t.same(ids, [], 'each joining node got a new ID');
});

t.test('the certificate is for the key in the CSR, not the CA\'s', async (t) => {
  const ca = await newAuthority();
  const { csrPem } = await createNodeKeyAndCsr();
  const issued = await ca.issueForJoin({ csrPem, token: ca.joinTokens().worker });
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const cert = new X509Certificate(issued.certPem);
  t.same(cert.publicKey.export({ type: 'spki', format: 'der' }), Buffer.from(csr.publicKey.rawData));
});

t.test('expiry: 90 days by default, configurable, at least an hour, never past the root', async (t) => {
  let nowMs = Date.parse('2026-03-01T12:00:00Z');
  const root = await createRootCa({ nowMs });
  const ca = new CertificateAuthority({ root, clusterId: clusterA, wallNowMs: () => nowMs });
  const issue = async (): Promise<X509Certificate> => {
    const { csrPem } = await createNodeKeyAndCsr();
    return new X509Certificate((await ca.issueForJoin({ csrPem, token: ca.joinTokens().worker })).certPem);
  };
  t.equal(ca.certExpiryMs(), 90 * dayMs);
  t.equal(defaultCertExpiryMs, 90 * dayMs);
  const cert = await issue();
  t.equal(Date.parse(cert.validTo), nowMs + 90 * dayMs);
  t.ok(Date.parse(cert.validFrom) <= nowMs && Date.parse(cert.validFrom) >= nowMs - 10 * 60 * 1000, 'valid from now, backdated a little');
  ca.setCertExpiryMs(7 * dayMs);
  t.equal(Date.parse((await issue()).validTo), nowMs + 7 * dayMs, 'cert-expiry applies to the next certificate');
  t.throws(() => ca.setCertExpiryMs(59 * 60 * 1000), { code: ErrorCode.INVALID_ARGUMENT, message: /at least one hour/ });
  t.throws(() => ca.setCertExpiryMs(Number.NaN), { code: ErrorCode.INVALID_ARGUMENT });
  nowMs = Date.parse(root.cert.validTo) - dayMs;
  t.equal(Date.parse((await issue()).validTo), Date.parse(root.cert.validTo), 'capped at the root\'s end');
  nowMs = Date.parse(root.cert.validTo) + 1;
  await t.rejects(issue(), { code: ErrorCode.CONFLICT, message: /root CA expired/ });
});

t.test('renewal keeps node ID and role from the current certificate and needs no token', async (t) => {
  const ca = await newAuthority();
  const { csrPem } = await createNodeKeyAndCsr();
  const first = await ca.issueForJoin({ csrPem, token: ca.joinTokens().manager });
  ca.rotateJoinToken('manager');
  const next = await createNodeKeyAndCsr();
  const renewed = await ca.renew({ csrPem: next.csrPem, peer: first.identity });
  t.same(renewed.identity, first.identity);
  t.match(new X509Certificate(renewed.certPem).subject, /OU=swarm-manager/);
  await t.rejects(ca.renew({ csrPem: next.csrPem, peer: { ...first.identity, clusterId: clusterB } }), {
    code: ErrorCode.PERMISSION,
    message: /belongs to cluster clusterb/,
  });
});

t.test('bad CSRs and DNS names are refused', async (t) => {
  const ca = await newAuthority();
  const token = ca.joinTokens().worker;
  const { csrPem } = await createNodeKeyAndCsr();
  await t.rejects(ca.issueForJoin({ csrPem: 'hello', token }), { code: ErrorCode.INVALID_ARGUMENT, message: /not a PEM certificate signing request/ });
  await t.rejects(ca.issueForJoin({ csrPem: 'x'.repeat(20_000), token }), { code: ErrorCode.INVALID_ARGUMENT, message: /larger than/ });
  // Flip a byte inside the signature: the CSR still parses but no longer verifies.
  const der = Buffer.from(new x509.Pkcs10CertificateRequest(csrPem).rawData);
  der[der.length - 3] = (der[der.length - 3] ?? 0) ^ 0x01;
  const tampered = new x509.Pkcs10CertificateRequest(der).toString('pem');
  await t.rejects(ca.issueForJoin({ csrPem: tampered, token }), { code: ErrorCode.INVALID_ARGUMENT, message: /signature/ });
  // An RSA key is not accepted.
  const rsaAlg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const rsaKeys = await crypto.subtle.generateKey(rsaAlg, true, ['sign', 'verify']);
  const rsaCsr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys: rsaKeys, signingAlgorithm: rsaAlg });
  await t.rejects(ca.issueForJoin({ csrPem: rsaCsr.toString('pem'), token }), { code: ErrorCode.INVALID_ARGUMENT, message: /must be for an ECDSA P-256 key/ });
  await t.rejects(ca.issueForJoin({ csrPem, token, dnsNames: ['bad name'] }), { code: ErrorCode.INVALID_ARGUMENT, message: /"bad name" is not a valid DNS name/ });
  await t.rejects(ca.issueForJoin({ csrPem, token, dnsNames: Array.from({ length: 17 }, (_, i) => `h${i}`) }), { code: ErrorCode.INVALID_ARGUMENT, message: /at most 16/ });
});
