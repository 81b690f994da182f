/**
 * The CA gRPC service on managers (proto/ca.proto). Joining nodes call it anonymously with a join
 * token; nodes renewing call it with their current certificate and no token. Issued certificates
 * are kept in a bounded in-memory table for NodeCertificateStatus and handed to `onIssued`, where
 * the daemon records them in the store.
 */
import { ErrorCode, TsswarmError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { toServiceError } from '../../lib/rpc-errors.js';
import {
  IssuanceState,
  type CAServer,
  type Certificate,
  type NodeAvailability,
} from '../../proto/index.js';
import type { CertificateAuthority, IssuedCertificate } from './authority.js';
import { peerIdentity } from './authz.js';
import { nodeRoleOf, type CertRole } from './identity.js';

/** Most issued certificates kept for NodeCertificateStatus; the oldest is dropped first. */
export const maxIssuedCertificatesKept = 10_000;

/** A certificate the service issued, with what the node asked for. */
export interface IssuedEvent {
  readonly issued: IssuedCertificate;
  /** The CSR it was issued for, PEM. */
  readonly csrPem: string;
  /** True for a new node, false for a renewal. */
  readonly joined: boolean;
  readonly availability: NodeAvailability;
}

/** Options of caService. */
export interface CAServiceOptions {
  readonly ca: CertificateAuthority;
  /**
   * The role a renewing node should have now (the store's node spec, changed by promote/demote);
   * the role of its current certificate when left out or undefined.
   */
  readonly desiredRole?: (nodeId: string) => CertRole | undefined;
  /** Called for every certificate issued (the daemon writes the node to the store). */
  readonly onIssued?: (event: IssuedEvent) => void;
  readonly log?: Logger;
}

/** The CA service handlers; pass to `server.addService(CAService, caService(...))`. */
export function caService(options: CAServiceOptions): CAServer {
  const { ca, log } = options;
  const issued = new Map<string, Certificate>();

  const remember = (event: IssuedEvent): void => {
    const { identity, certPem } = event.issued;
    issued.delete(identity.nodeId);
    issued.set(identity.nodeId, {
      role: nodeRoleOf(identity.role),
      csr: new TextEncoder().encode(event.csrPem),
      status: { state: IssuanceState.ISSUED, err: '' },
      certificate: new TextEncoder().encode(certPem),
      cn: identity.nodeId,
    });
    while (issued.size > maxIssuedCertificatesKept) {
      const oldest = issued.keys().next().value;
      if (oldest === undefined) break;
      issued.delete(oldest);
    }
    options.onIssued?.(event);
  };

  return {
    getRootCACertificate(_call, callback) {
      callback(null, { certificate: new TextEncoder().encode(ca.root.certPem) });
    },

    issueNodeCertificate(call, callback) {
      void (async () => {
        const request = call.request;
        const csrPem = new TextDecoder().decode(request.csr);
        const peer = peerIdentity(call);
        let result: IssuedCertificate;
        if (request.token !== '') {
          result = await ca.issueForJoin({ csrPem, token: request.token });
        } else if (peer !== undefined) {
          const role = options.desiredRole?.(peer.nodeId) ?? peer.role;
          result = role === peer.role ? await ca.renew({ csrPem, peer }) : await ca.issueFor({ ...peer, role }, csrPem);
        } else {
          throw new TsswarmError(ErrorCode.PERMISSION, 'a join token is needed to join (or a node certificate to renew)');
        }
        remember({ issued: result, csrPem, joined: request.token !== '', availability: request.availability });
        log?.info({ node: result.identity.nodeId, role: result.identity.role, peer: call.getPeer() }, request.token !== '' ? 'issued certificate to joining node' : 'renewed node certificate');
        return { nodeId: result.identity.nodeId };
      })().then(
        (response) => callback(null, response),
        (err: unknown) => {
          log?.warn({ peer: call.getPeer() }, `refused certificate request: ${errorMessage(err)}`);
          callback(toServiceError(err));
        },
      );
    },

    nodeCertificateStatus(call, callback) {
      const certificate = issued.get(call.request.nodeId);
      if (certificate === undefined) {
        callback(toServiceError(new TsswarmError(ErrorCode.NOT_FOUND, `no certificate issued for node ${JSON.stringify(call.request.nodeId)}`)));
        return;
      }
      callback(null, { status: certificate.status ?? { state: IssuanceState.ISSUED, err: '' }, certificate });
    },
  };
}
