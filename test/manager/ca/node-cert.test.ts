import t from 'tap';
import { existsSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { ErrorCode } from '../../../lib/errors.js';
import { createNodeKeyAndCsr, loadNodeTlsMaterial, nodeTlsMaterial, saveNodeTlsMaterial } from '../../../manager/ca/node-cert.js';
import { parseCsr } from '../../../manager/ca/authority.js';
import { join } from 'node:path';
import { tempDir } from '../../helpers/temp-dir.js';
import { clusterA, clusterB, issueNode, newAuthority } from './helpers.js';

t.test('a node makes its own P-256 key and a CSR the CA accepts', async (t) => {
  const { keyPem, csrPem } = await createNodeKeyAndCsr();
  t.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  t.match(csrPem, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
  const csr = await parseCsr(csrPem);
  t.equal(csr.subject, 'CN=tsswarm-node');
  const other = await createNodeKeyAndCsr();
  t.not(other.keyPem, keyPem, 'a new key every time');
});

t.test('the certificate the CA sends back is checked against root, key and cluster', async (t) => {
  const ca = await newAuthority();
  const otherCa = await newAuthority();
  const node = await issueNode(ca, 'worker');
  t.equal(node.identity.role, 'worker');
  t.ok(node.notAfterMs > node.notBeforeMs);
  const again = await nodeTlsMaterial(ca.root.certPem, node.certPem, node.keyPem, clusterA);
  t.same(again.identity, node.identity);
  await t.rejects(nodeTlsMaterial(otherCa.root.certPem, node.certPem, node.keyPem), { code: ErrorCode.PERMISSION, message: /not signed by the cluster root CA/ });
  const stranger = await createNodeKeyAndCsr();
  await t.rejects(nodeTlsMaterial(ca.root.certPem, node.certPem, stranger.keyPem), { code: ErrorCode.PERMISSION, message: /not for this node key/ });
  await t.rejects(nodeTlsMaterial(ca.root.certPem, node.certPem, node.keyPem, clusterB), { code: ErrorCode.PERMISSION, message: /of cluster clusteraa+, not clusterbb+/ });
});

t.test('node material is saved with an owner-only key and loaded back', async (t) => {
  const dir = join(await tempDir(t, 'node-cert'), 'tls');
  const ca = await newAuthority();
  const node = await issueNode(ca, 'manager');
  await saveNodeTlsMaterial(node, dir);
  t.equal((await stat(join(dir, 'node.key'))).mode & 0o777, 0o600);
  const loaded = await loadNodeTlsMaterial(dir, clusterA);
  t.same(loaded.identity, node.identity);
  t.equal(loaded.certPem, node.certPem);
  await t.rejects(loadNodeTlsMaterial(join(dir, 'missing')), { code: ErrorCode.NOT_FOUND });
});

t.test('a save cut short by a crash: the new key and certificate win together, or the old ones stay', async (t) => {
  const dir = join(await tempDir(t, 'node-cert'), 'tls');
  const ca = await newAuthority();
  const old = await issueNode(ca, 'worker');
  const renewed = await issueNode(ca, 'worker');
  await saveNodeTlsMaterial(old, dir);

  // Crash after the pending file and the new key, before the new certificate: the pending file wins.
  await writeFile(join(dir, 'node.pending.json'), JSON.stringify({ rootCertPem: renewed.rootCertPem, certPem: renewed.certPem, keyPem: renewed.keyPem }), { mode: 0o600 });
  await writeFile(join(dir, 'node.key'), renewed.keyPem, { mode: 0o600 });
  const loaded = await loadNodeTlsMaterial(dir, clusterA);
  t.equal(loaded.certPem, renewed.certPem, 'the renewed certificate');
  t.equal(loaded.keyPem, renewed.keyPem, 'with its key');
  t.notOk(existsSync(join(dir, 'node.pending.json')), 'the save was finished');
  t.equal((await loadNodeTlsMaterial(dir, clusterA)).certPem, renewed.certPem, 'and the files alone now hold it');

  // Crash while the pending file was still a temp file: the old material stays whole.
  await saveNodeTlsMaterial(old, dir);
  await writeFile(join(dir, `node.pending.json.tmp-${process.pid}`), '{"rootCertPem":"-----BEGIN', { mode: 0o600 });
  t.equal((await loadNodeTlsMaterial(dir, clusterA)).certPem, old.certPem, 'the old certificate and key');
});
