import t from 'tap';
import { ErrorCode } from '../../../lib/errors.js';
import { NodeRole } from '../../../proto/index.js';
import { certRoleOf, identityOf, nodeRoleOf, parseCertificate } from '../../../manager/ca/identity.js';
import { createRootCa, randomSerialHex } from '../../../manager/ca/root-ca.js';
import { ecdsaP256, generateP256Key, x509 } from '../../../manager/ca/x509.js';
import { clusterA, issueNode, newAuthority } from './helpers.js';

/** A certificate with subject `name`, signed by a fresh root (to test subjects the CA never writes). */
async function certWithSubject(name: string): Promise<string> {
  const root = await createRootCa();
  const key = await generateP256Key();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: name,
    issuer: 'CN=tsswarm-root-ca',
    publicKey: key.publicKey,
    signingKey: root.key.privateKey,
    signingAlgorithm: ecdsaP256,
  });
  return cert.toString('pem');
}

t.test('the identity of an issued certificate is read back', async (t) => {
  const ca = await newAuthority();
  const node = await issueNode(ca, 'manager');
  const identity = identityOf(parseCertificate(node.certPem, 'test'));
  t.same(identity, node.identity);
  t.equal(identity.role, 'manager');
  t.equal(identity.clusterId, clusterA);
});

t.test('subjects that are not node certificates are refused with the reason', async (t) => {
  const cases: [string, RegExp][] = [
    ['CN=tsswarm-root-ca', /CN "tsswarm-root-ca" is not a node ID/],
    [`CN=nodeaaaaaaaaaaaaaaaaaaaaa,OU=swarm-admin,O=${clusterA}`, /OU "swarm-admin" is not a node role/],
    ['CN=nodeaaaaaaaaaaaaaaaaaaaaa,OU=swarm-worker', /O "" is not a cluster ID/],
    [`CN=nodeaaaaaaaaaaaaaaaaaaaaa,OU=swarm-worker,OU=swarm-manager,O=${clusterA}`, /more than one OU/],
  ];
  for (const [subject, message] of cases) {
    const cert = parseCertificate(await certWithSubject(subject), 'test');
    t.throws(() => identityOf(cert), { code: ErrorCode.PERMISSION, message }, subject);
  }
  t.throws(() => parseCertificate('nope', 'peer certificate'), { code: ErrorCode.CORRUPT, message: /^peer certificate: not a valid X\.509 certificate/ });
});

t.test('roles map to proto NodeRole and back', async (t) => {
  t.equal(nodeRoleOf('manager'), NodeRole.MANAGER);
  t.equal(nodeRoleOf('worker'), NodeRole.WORKER);
  t.equal(certRoleOf(NodeRole.MANAGER), 'manager');
  t.equal(certRoleOf(NodeRole.WORKER), 'worker');
});
