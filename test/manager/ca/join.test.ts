/**
 * Joining and renewing over real gRPC on 127.0.0.1: a manager serving the CA service with anonymous
 * access for joins, and an impostor manager with a CA of its own.
 */
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { ErrorCode } from '../../../lib/errors.js';
import { CAService, type CAServer } from '../../../proto/index.js';
import type { CertificateAuthority } from '../../../manager/ca/authority.js';
import { authorizationInterceptor } from '../../../manager/ca/authz.js';
import { caService, type IssuedEvent } from '../../../manager/ca/ca-service.js';
import { fetchRootCertificate, joinCluster, renewCertificate } from '../../../manager/ca/join.js';
import { mtlsServerCredentials } from '../../../manager/ca/tls.js';
import type { Teardown } from '../../helpers/temp-dir.js';
import { clusterA, issueNode, listen, newAuthority, newServer } from './helpers.js';

async function startManager(t: Teardown, ca: CertificateAuthority, wrap?: (server: CAServer) => CAServer) {
  const managerNode = await issueNode(ca, 'manager');
  const events: IssuedEvent[] = [];
  const server = newServer([authorizationInterceptor({ clusterId: ca.clusterId })]);
  const handlers = caService({ ca, onIssued: (e) => events.push(e) });
  server.addService(CAService, wrap ? wrap(handlers) : handlers);
  const address = await listen(t, server, mtlsServerCredentials(managerNode, { allowAnonymous: true }));
  return { address, events, managerNode };
}

t.test('a node joins with the worker token and gets a worker certificate of this cluster', async (t) => {
  const ca = await newAuthority();
  const { address, events } = await startManager(t, ca);
  const node = await joinCluster({ address, token: ca.joinTokens().worker });
  t.equal(node.identity.role, 'worker');
  t.equal(node.identity.clusterId, clusterA);
  t.equal(node.rootCertPem, ca.root.certPem);
  t.equal(new X509Certificate(node.certPem).subject, `CN=${node.identity.nodeId}\nOU=swarm-worker\nO=${clusterA}`);
  t.equal(events.length, 1);
  t.same(events[0]?.issued.identity, node.identity);
  t.equal(events[0]?.joined, true);
});

t.test('the manager token gives a manager certificate', async (t) => {
  const ca = await newAuthority();
  const { address } = await startManager(t, ca);
  const node = await joinCluster({ address, token: ca.joinTokens().manager });
  t.equal(node.identity.role, 'manager');
});

t.test('wrong and rotated tokens are refused over the wire with the CA\'s message', async (t) => {
  const ca = await newAuthority();
  const { address, events } = await startManager(t, ca);
  const old = ca.joinTokens().worker;
  ca.rotateJoinToken('worker');
  await t.rejects(joinCluster({ address, token: old }), { code: ErrorCode.PERMISSION, message: /join token has been rotated/ });
  const wrongSecret = old.slice(0, -5) + 'zzzzz';
  await t.rejects(joinCluster({ address, token: wrongSecret }), { code: ErrorCode.PERMISSION, message: /wrong secret/ });
  await t.rejects(joinCluster({ address, token: 'SWMTKN-1-nope' }), { code: ErrorCode.INVALID_ARGUMENT, message: /invalid join token/ });
  t.equal(events.length, 0, 'nothing was issued');
  const node = await joinCluster({ address, token: ca.joinTokens().worker });
  t.equal(node.identity.role, 'worker', 'the new token works');
});

t.test('a token of another swarm is refused before its secret leaves the node', async (t) => {
  const ours = await newAuthority();
  const impostor = await newAuthority();
  let secretsSeen = 0;
  const { address } = await startManager(t, impostor, (handlers) => ({
    ...handlers,
    issueNodeCertificate: (call, callback) => {
      secretsSeen++;
      handlers.issueNodeCertificate(call, callback);
    },
  }));
  t.equal(await fetchRootCertificate(address), impostor.root.certPem, 'the impostor shows its own root');
  await t.rejects(joinCluster({ address, token: ours.joinTokens().manager }), {
    code: ErrorCode.PERMISSION,
    message: /is not the one the join token pins .*refusing to join/,
  });
  t.equal(secretsSeen, 0, 'IssueNodeCertificate was never called');
});

t.test('renewal needs no token, keeps node ID and role, and gives a new key', async (t) => {
  const ca = await newAuthority();
  const { address, events } = await startManager(t, ca);
  const node = await joinCluster({ address, token: ca.joinTokens().manager });
  ca.rotateJoinToken('manager');
  const renewed = await renewCertificate(address, node);
  t.same(renewed.identity, node.identity);
  t.not(renewed.keyPem, node.keyPem);
  t.not(renewed.certPem, node.certPem);
  t.equal(events.at(-1)?.joined, false);
  const worker = await joinCluster({ address, token: ca.joinTokens().worker });
  const renewedWorker = await renewCertificate(address, worker);
  t.same(renewedWorker.identity, worker.identity, 'a worker stays a worker (and may reach the CA to renew)');
  t.equal(renewedWorker.identity.role, 'worker');
});

t.test('an empty token is refused before anything is sent', async (t) => {
  await t.rejects(joinCluster({ address: '127.0.0.1:1', token: '' }), { code: ErrorCode.INVALID_ARGUMENT, message: /invalid join token/ });
});

t.test('an unreachable manager gives a clear error', async (t) => {
  await t.rejects(fetchRootCertificate('127.0.0.1:1'), { code: ErrorCode.CLOSED, message: /cannot reach manager at 127\.0\.0\.1:1/ });
});
