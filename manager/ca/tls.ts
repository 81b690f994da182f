/**
 * gRPC credentials for node-to-node calls: mutual TLS, TLS 1.3 only, trust anchored on the cluster
 * root alone (never the system roots).
 *
 * grpc-js 1.14's `ServerCredentials.createSsl(root, pairs, true)` builds exactly the server we want
 * but gives no way to set the TLS version. Its public base class does (constructor takes the
 * http2/TLS server options), so `mtlsServerCredentials` builds the same options createSsl builds
 * plus `minVersion: 'TLSv1.3'`. On the client, `credentials.createFromSecureContext` takes a
 * context with `minVersion: 'TLSv1.3'`. A TLS 1.2 peer fails the handshake either way.
 */
import { credentials, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { SecureServerOptions } from 'node:http2';
import { createSecureContext, type PeerCertificate, type SecureContextOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { errorMessage } from '../../lib/errors.js';
import { identityOf, type CertRole } from './identity.js';

/** The only TLS version node-to-node calls speak. */
export const tlsVersion = 'TLSv1.3';

/** What a node needs to speak mTLS: the cluster root, its certificate and its key (all PEM). */
export interface TlsKeyMaterial {
  readonly rootCertPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** Options of mtlsServerCredentials. */
export interface ServerTlsOptions {
  /**
   * When true, a client may connect without a certificate (or with one the root did not sign) and
   * is then anonymous: the authorization interceptor lets it reach only the CA's join methods.
   * This is how manager port 2377 serves nodes that are joining. Default false: the handshake
   * fails without a certificate signed by the root.
   */
  readonly allowAnonymous?: boolean;
}

class PinnedTlsServerCredentials extends ServerCredentials {
  constructor(constructorOptions: SecureServerOptions, contextOptions: SecureContextOptions) {
    super(constructorOptions, contextOptions);
  }

  override _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * Server credentials for a manager: its certificate and key, the cluster root as the only trusted
 * CA for client certificates, TLS 1.3 only, client certificates required (unless allowAnonymous).
 */
export function mtlsServerCredentials(material: TlsKeyMaterial, options: ServerTlsOptions = {}): ServerCredentials {
  const allowAnonymous = options.allowAnonymous ?? false;
  return new PinnedTlsServerCredentials(
    { requestCert: true, rejectUnauthorized: !allowAnonymous, minVersion: tlsVersion, maxVersion: tlsVersion },
    {
      ca: Buffer.from(material.rootCertPem),
      cert: [Buffer.from(material.certPem)],
      key: [Buffer.from(material.keyPem)],
      minVersion: tlsVersion,
      maxVersion: tlsVersion,
    },
  );
}

/** What a client expects of the server's certificate (it replaces host name checking). */
export interface ServerExpectation {
  /** The server's certificate must carry this cluster ID. */
  readonly clusterId?: string;
  /** The server's certificate must carry this role; 'manager' when left out. */
  readonly role?: CertRole;
}

/**
 * Client credentials for a node: presents its certificate, trusts only the cluster root, TLS 1.3
 * only, and accepts the server only if its certificate is a node certificate of the expected role
 * (manager by default) and cluster. Host names are not checked: managers are known by node ID.
 */
export function mtlsChannelCredentials(material: TlsKeyMaterial, expect: ServerExpectation = {}): ChannelCredentials {
  const context = createSecureContext({
    ca: material.rootCertPem,
    cert: material.certPem,
    key: material.keyPem,
    minVersion: tlsVersion,
    maxVersion: tlsVersion,
  });
  return credentials.createFromSecureContext(context, { checkServerIdentity: serverIdentityCheck(expect) });
}

/**
 * Client credentials for a joining node that has the root certificate (already checked against
 * its join token) but no certificate of its own yet: the server must be a manager signed by that root.
 */
export function joinChannelCredentials(rootCertPem: string, expect: ServerExpectation = {}): ChannelCredentials {
  const context = createSecureContext({ ca: rootCertPem, minVersion: tlsVersion, maxVersion: tlsVersion });
  return credentials.createFromSecureContext(context, { checkServerIdentity: serverIdentityCheck(expect) });
}

/**
 * Client credentials that do not verify the server at all: only for fetching the root certificate
 * before joining, whose digest the caller then checks against its join token. Never send a secret
 * over a channel made with these.
 */
export function unverifiedChannelCredentials(): ChannelCredentials {
  const context = createSecureContext({ minVersion: tlsVersion, maxVersion: tlsVersion });
  return credentials.createFromSecureContext(context, { rejectUnauthorized: false });
}

function serverIdentityCheck(expect: ServerExpectation): (host: string, cert: PeerCertificate) => Error | undefined {
  const role = expect.role ?? 'manager';
  return (_host, cert) => {
    try {
      const identity = identityOf(new X509Certificate(cert.raw));
      if (identity.role !== role) return new Error(`server certificate is for a ${identity.role}, expected a ${role}`);
      if (expect.clusterId !== undefined && identity.clusterId !== expect.clusterId) {
        return new Error(`server certificate is of cluster ${identity.clusterId}, expected ${expect.clusterId}`);
      }
      return undefined;
    } catch (err) {
      return new Error(`server certificate is not a tsswarm node certificate: ${errorMessage(err)}`);
    }
  };
}
