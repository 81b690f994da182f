/**
 * Who may call what on a manager. The caller's identity comes only from its TLS certificate, as
 * verified in the handshake against the cluster root: node ID (CN), role (OU), cluster (O).
 * Managers reach every service; workers reach only the Dispatcher and the CA; callers without a
 * verified certificate reach only the CA's join methods; a certificate of another cluster reaches
 * nothing. Enforced for every call by one grpc-js server interceptor.
 */
import { Metadata, ServerInterceptingCall, status, type ServerInterceptor, type ServerUnaryCall } from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { errorCodeKey } from '../../lib/rpc-errors.js';
import { identityOf, type CertRole, type NodeIdentity } from './identity.js';

/** Methods a caller without a certificate may call: what a joining node needs. */
export const anonymousMethods: ReadonlySet<string> = new Set([
  '/tsswarm.CA/GetRootCACertificate',
  '/tsswarm.CA/IssueNodeCertificate',
  '/tsswarm.CA/NodeCertificateStatus',
]);

/** Services each role may call; a role not listed for a service is refused. Managers may call everything. */
export const workerServices: ReadonlySet<string> = new Set(['tsswarm.CA', 'tsswarm.Dispatcher']);

/** Anything with grpc-js's getAuthContext: every server call object and server interceptor call. */
export type HasAuthContext = Pick<ServerUnaryCall<unknown, unknown>, 'getAuthContext'>;

/**
 * The identity in the caller's verified TLS certificate, or undefined when the caller presented
 * none (or one the handshake did not verify: grpc-js reports only authorized peers). PERMISSION
 * when the certificate is verified but is not a node certificate.
 */
export function peerIdentity(call: HasAuthContext): NodeIdentity | undefined {
  const raw = call.getAuthContext().sslPeerCertificate?.raw;
  if (raw === undefined) return undefined;
  return identityOf(new X509Certificate(raw));
}

/** The role a peer needs for `methodPath` ("/package.Service/Method"): 'worker' means any node, 'manager' managers only. */
export function requiredRole(methodPath: string): CertRole {
  const service = serviceOf(methodPath);
  return workerServices.has(service) ? 'worker' : 'manager';
}

/**
 * Throws PERMISSION unless `peer` (undefined: no verified certificate) may call `methodPath` on a
 * manager of cluster `clusterId`.
 */
export function authorize(methodPath: string, peer: NodeIdentity | undefined, clusterId: string): void {
  serviceOf(methodPath);
  if (peer === undefined) {
    if (anonymousMethods.has(methodPath)) return;
    throw new TsswarmError(ErrorCode.PERMISSION, `${methodPath} needs a node certificate of this cluster`);
  }
  if (peer.clusterId !== clusterId) {
    throw new TsswarmError(ErrorCode.PERMISSION, `node ${peer.nodeId} has a certificate of cluster ${peer.clusterId}, not of this cluster ${clusterId}`);
  }
  if (peer.role === 'manager') return;
  if (requiredRole(methodPath) === 'manager') {
    throw new TsswarmError(ErrorCode.PERMISSION, `${methodPath} is for managers only; node ${peer.nodeId} has a ${peer.role} certificate`);
  }
}

/** Options of authorizationInterceptor. */
export interface AuthorizationOptions {
  /** This cluster's ID. */
  readonly clusterId: string;
  /** Where refusals are logged (warn); nothing is logged when left out. */
  readonly log?: Logger;
}

/**
 * A grpc-js server interceptor (pass it in `new Server({ interceptors: [...] })`) that refuses
 * every call `authorize` refuses with PERMISSION_DENIED, before the handler sees the request.
 */
export function authorizationInterceptor(options: AuthorizationOptions): ServerInterceptor {
  return (method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            let peer: NodeIdentity | undefined;
            try {
              peer = peerIdentity(call);
              authorize(method.path, peer, options.clusterId);
            } catch (err) {
              const message = err instanceof Error ? err.message : String(err);
              options.log?.warn({ method: method.path, peer: call.getPeer(), node: peer?.nodeId }, `refused call: ${message}`);
              const trailer = new Metadata();
              trailer.set(errorCodeKey, ErrorCode.PERMISSION);
              call.sendStatus({ code: status.PERMISSION_DENIED, details: message, metadata: trailer });
              return;
            }
            mdNext(metadata);
          },
        });
      },
    });
}

function serviceOf(methodPath: string): string {
  const match = /^\/([A-Za-z0-9_.]+)\/[A-Za-z0-9_]+$/.exec(methodPath);
  if (match?.[1] === undefined) throw new TsswarmError(ErrorCode.PERMISSION, `malformed method path ${JSON.stringify(methodPath)}`);
  return match[1];
}
