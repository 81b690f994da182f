import t from 'tap';
import { ErrorCode } from '../../../lib/errors.js';
import { authorize, requiredRole } from '../../../manager/ca/authz.js';
import type { NodeIdentity } from '../../../manager/ca/identity.js';
import { clusterA, clusterB } from './helpers.js';

const manager: NodeIdentity = { nodeId: 'nodemmmmmmmmmmmmmmmmmmmmm', role: 'manager', clusterId: clusterA };
const worker: NodeIdentity = { nodeId: 'nodewwwwwwwwwwwwwwwwwwwww', role: 'worker', clusterId: clusterA };

t.test('managers reach every service', async (t) => {
  for (const path of ['/tsswarm.Control/GetNode', '/tsswarm.Raft/Send', '/tsswarm.Dispatcher/Session', '/tsswarm.CA/IssueNodeCertificate']) {
    t.doesNotThrow(() => authorize(path, manager, clusterA), path);
  }
});

t.test('workers reach only the Dispatcher and the CA', async (t) => {
  t.doesNotThrow(() => authorize('/tsswarm.Dispatcher/Session', worker, clusterA));
  t.doesNotThrow(() => authorize('/tsswarm.CA/NodeCertificateStatus', worker, clusterA));
  for (const path of ['/tsswarm.Control/GetNode', '/tsswarm.Raft/Send', '/tsswarm.Engine/Info']) {
    t.throws(() => authorize(path, worker, clusterA), { code: ErrorCode.PERMISSION, message: `${path} is for managers only; node ${worker.nodeId} has a worker certificate` });
  }
  t.equal(requiredRole('/tsswarm.Dispatcher/Heartbeat'), 'worker');
  t.equal(requiredRole('/tsswarm.Control/UpdateNode'), 'manager');
});

t.test('callers without a certificate reach only the CA join methods', async (t) => {
  for (const path of ['/tsswarm.CA/GetRootCACertificate', '/tsswarm.CA/IssueNodeCertificate', '/tsswarm.CA/NodeCertificateStatus']) {
    t.doesNotThrow(() => authorize(path, undefined, clusterA), path);
  }
  for (const path of ['/tsswarm.Dispatcher/Session', '/tsswarm.Control/GetNode', '/tsswarm.CA/Other']) {
    t.throws(() => authorize(path, undefined, clusterA), { code: ErrorCode.PERMISSION, message: /needs a node certificate of this cluster/ }, path);
  }
});

t.test('a certificate of another cluster reaches nothing, not even as a manager', async (t) => {
  for (const path of ['/tsswarm.CA/GetRootCACertificate', '/tsswarm.Dispatcher/Session', '/tsswarm.Control/GetNode']) {
    t.throws(() => authorize(path, manager, clusterB), { code: ErrorCode.PERMISSION, message: /certificate of cluster clusteraa+, not of this cluster clusterbb+/ }, path);
  }
});

t.test('a malformed method path is refused', async (t) => {
  for (const path of ['', 'tsswarm.CA/GetRootCACertificate', '/tsswarm.CA', '/tsswarm.CA/Get/Root', '/../x/y']) {
    t.throws(() => authorize(path, manager, clusterA), { code: ErrorCode.PERMISSION, message: /malformed method path/ }, JSON.stringify(path));
  }
});
