/**
 * Shared fixtures of the CA tests: a root CA with a CertificateAuthority, node material issued by
 * it, and gRPC servers on 127.0.0.1 port 0 that are shut down in the test's teardown.
 */
import { Client, Server, type ChannelCredentials, type ServerCredentials, type ServerInterceptor, type ServiceError, type UntypedServiceImplementation, type ServiceDefinition, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { CertificateAuthority } from '../../../manager/ca/authority.js';
import type { CertRole } from '../../../manager/ca/identity.js';
import { createNodeKeyAndCsr, nodeTlsMaterial, type NodeTlsMaterial } from '../../../manager/ca/node-cert.js';
import { createRootCa, type RootCa } from '../../../manager/ca/root-ca.js';
import type { Teardown } from '../../helpers/temp-dir.js';

/** A cluster ID for tests. */
export const clusterA = 'clusteraaaaaaaaaaaaaaaaaa';
/** Another cluster's ID. */
export const clusterB = 'clusterbbbbbbbbbbbbbbbbbb';

/** A new root CA and a CertificateAuthority of cluster `clusterId` on it. */
export async function newAuthority(clusterId = clusterA, root?: RootCa): Promise<CertificateAuthority> {
  return new CertificateAuthority({ root: root ?? (await createRootCa()), clusterId });
}

/** Node material issued by `ca` through the join path with the token of `role`. */
export async function issueNode(ca: CertificateAuthority, role: CertRole): Promise<NodeTlsMaterial> {
  const { keyPem, csrPem } = await createNodeKeyAndCsr();
  const issued = await ca.issueForJoin({ csrPem, token: ca.joinTokens()[role] });
  return nodeTlsMaterial(ca.root.certPem, issued.certPem, keyPem);
}

/** Starts `server` on 127.0.0.1 port 0 and returns "127.0.0.1:<port>"; forceShutdown on teardown. */
export async function listen(t: Teardown, server: Server, credentials: ServerCredentials): Promise<string> {
  t.teardown(() => server.forceShutdown());
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p)));
  });
  return `127.0.0.1:${port}`;
}

/** A server with the given interceptors (the authorization interceptor, in these tests). */
export function newServer(interceptors: ServerInterceptor[]): Server {
  return new Server({ interceptors });
}

const identity = (b: Buffer): Buffer => b;

/** A test-only unary method that echoes raw bytes, at `path`. */
export function echoService(path: string): ServiceDefinition {
  return {
    echo: { path, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  };
}

/** The handlers of echoService. */
export const echoHandlers: UntypedServiceImplementation = {
  echo: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => callback(null, call.request),
};

/** Calls the echo method at `path` of `address`; resolves with the reply or the ServiceError. */
export function callEcho(t: Teardown, address: string, creds: ChannelCredentials, path: string): Promise<{ reply?: string; error?: ServiceError }> {
  const client = new Client(address, creds);
  t.teardown(() => client.close());
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, identity, identity, Buffer.from('ping'), { deadline: Date.now() + 5000 }, (err: ServiceError | null, reply?: Buffer) => {
      if (err) resolve({ error: err });
      else resolve({ reply: reply?.toString() ?? '' });
    });
  });
}
