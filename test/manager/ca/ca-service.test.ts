/** The CA service's own refusals, called directly over gRPC (no join helper in between). */
import t from 'tap';
import { Client } from '@grpc/grpc-js';
import { ErrorCode } from '../../../lib/errors.js';
import { CAService, IssuanceState, NodeAvailability, NodeRole } from '../../../proto/index.js';
import { authorizationInterceptor } from '../../../manager/ca/authz.js';
import { caService, type IssuedEvent } from '../../../manager/ca/ca-service.js';
import { unary } from '../../../manager/ca/join.js';
import { createNodeKeyAndCsr } from '../../../manager/ca/node-cert.js';
import { joinChannelCredentials, mtlsServerCredentials } from '../../../manager/ca/tls.js';
import { issueNode, listen, newAuthority, newServer } from './helpers.js';

t.test('the CA service issues, reports status, and refuses what it must', async (t) => {
  const ca = await newAuthority();
  const managerNode = await issueNode(ca, 'manager');
  const events: IssuedEvent[] = [];
  const server = newServer([authorizationInterceptor({ clusterId: ca.clusterId })]);
  server.addService(CAService, caService({ ca, onIssued: (e) => events.push(e) }));
  const address = await listen(t, server, mtlsServerCredentials(managerNode, { allowAnonymous: true }));
  const client = new Client(address, joinChannelCredentials(ca.root.certPem));
  t.teardown(() => client.close());
  const { csrPem } = await createNodeKeyAndCsr();
  const csr = new TextEncoder().encode(csrPem);

  const root = await unary(client, address, CAService.getRootCACertificate, {});
  t.equal(new TextDecoder().decode(root.certificate), ca.root.certPem, 'the root is served to anyone');

  await t.rejects(unary(client, address, CAService.issueNodeCertificate, { csr, token: '', availability: NodeAvailability.ACTIVE }), {
    code: ErrorCode.PERMISSION,
    message: 'a join token is needed to join (or a node certificate to renew)',
  });
  await t.rejects(unary(client, address, CAService.issueNodeCertificate, { csr: new TextEncoder().encode('junk'), token: ca.joinTokens().worker, availability: NodeAvailability.ACTIVE }), {
    code: ErrorCode.INVALID_ARGUMENT,
    message: /not a PEM certificate signing request/,
  });
  await t.rejects(unary(client, address, CAService.nodeCertificateStatus, { nodeId: 'nosuchnode' }), { code: ErrorCode.NOT_FOUND, message: /no certificate issued for node "nosuchnode"/ });
  t.equal(events.length, 0);

  const { nodeId } = await unary(client, address, CAService.issueNodeCertificate, { csr, token: ca.joinTokens().manager, availability: NodeAvailability.DRAIN });
  const statusResponse = await unary(client, address, CAService.nodeCertificateStatus, { nodeId });
  t.equal(statusResponse.status?.state, IssuanceState.ISSUED);
  t.equal(statusResponse.certificate?.role, NodeRole.MANAGER);
  t.equal(statusResponse.certificate?.cn, nodeId);
  t.equal(new TextDecoder().decode(statusResponse.certificate?.csr), csrPem);
  t.equal(events.length, 1);
  t.equal(events[0]?.availability, NodeAvailability.DRAIN, 'the availability the node asked for reaches onIssued');
});
