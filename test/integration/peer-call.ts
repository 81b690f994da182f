/**
 * Run inside a lab host's namespace by the cluster test: one call to a manager's port 2377 as a
 * given peer, printing `ok` or `refused <code>: <message>` and never throwing.
 *
 *   node dist/test/integration/peer-call.js ADDR worker-cert CERT_DIR   (a worker certificate → Control.ListNodes)
 *   node dist/test/integration/peer-call.js ADDR foreign-ca CERT_DIR    (a certificate of another CA, trusting the real root from CERT_DIR → Dispatcher.Heartbeat)
 */
import { Client, type ServiceError } from '@grpc/grpc-js';
import { CertificateAuthority, createNodeKeyAndCsr, createRootCa, loadNodeTlsMaterial, mtlsChannelCredentials, nodeTlsMaterial, type NodeTlsMaterial } from '../../manager/ca/index.js';
import { newId } from '../../lib/ids.js';
import { ControlService, DispatcherService, type GrpcMethod } from '../../proto/index.js';

async function foreignMaterial(realRootPem: string): Promise<NodeTlsMaterial> {
  const root = await createRootCa();
  const clusterId = newId();
  const ca = new CertificateAuthority({ root, clusterId });
  const { keyPem, csrPem } = await createNodeKeyAndCsr();
  const issued = await ca.issueFor({ nodeId: newId(), role: 'worker', clusterId }, csrPem);
  const foreign = await nodeTlsMaterial(root.certPem, issued.certPem, keyPem, clusterId);
  // Trust the real cluster root (so the manager's certificate checks out) but present the foreign one.
  return { ...foreign, rootCertPem: realRootPem };
}

function call<Req, Res>(client: Client, method: GrpcMethod<Req, Res>, request: Req): Promise<string> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, { deadline: Date.now() + 5_000 }, (err: ServiceError | null) => {
      resolve(err ? `refused ${err.code}: ${err.details}` : 'ok');
    });
  });
}

const [addr, mode, certDir] = process.argv.slice(2);
try {
  if (addr === undefined || (mode !== 'worker-cert' && mode !== 'foreign-ca')) throw new Error('usage: peer-call ADDR worker-cert|foreign-ca CERT_DIR');
  const real = await loadNodeTlsMaterial(certDir ?? '');
  const material = mode === 'worker-cert' ? real : await foreignMaterial(real.rootCertPem);
  const client = new Client(addr, mtlsChannelCredentials(material));
  const result = mode === 'worker-cert' ? await call(client, ControlService.listNodes, {}) : await call(client, DispatcherService.heartbeat, { sessionId: 'x' });
  client.close();
  process.stdout.write(`${result}\n`);
} catch (err) {
  process.stdout.write(`refused local: ${(err as Error).message}\n`);
}
