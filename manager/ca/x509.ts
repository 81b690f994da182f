/**
 * The one door to the X.509 library and to P-256 keys. @peculiar/x509 resolves its algorithms
 * through tsyringe, which refuses to load unless a Reflect metadata polyfill is installed first, so
 * this module imports `reflect-metadata` before it (ESM evaluates imports in order). Every other
 * file of the CA imports X.509 types and helpers from here, never from '@peculiar/x509' directly.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { ErrorCode, TsswarmError } from '../../lib/errors.js';

x509.cryptoProvider.set(webcrypto);

export { x509 };

/** The only key algorithm of the CA and of node certificates: ECDSA on P-256 with SHA-256. */
export const ecdsaP256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A P-256 key pair as WebCrypto keys, plus its PKCS#8 PEM for files and TLS. */
export interface P256Key {
  readonly privateKey: webcrypto.CryptoKey;
  readonly publicKey: webcrypto.CryptoKey;
  /** PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"). */
  readonly pem: string;
}

/** A new P-256 key pair. */
export async function generateP256Key(): Promise<P256Key> {
  const pair = await webcrypto.subtle.generateKey(ecdsaP256, true, ['sign', 'verify']);
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', pair.privateKey);
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, pem: pemEncode('PRIVATE KEY', new Uint8Array(pkcs8)) };
}

/** The P-256 key in `pem` (PKCS#8 or SEC1); CORRUPT when it is not a P-256 private key. */
export async function importP256Key(pem: string, what: string): Promise<P256Key> {
  let pkcs8: Buffer;
  let spki: Buffer;
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error(`not an ECDSA P-256 key (${key.asymmetricKeyType ?? 'unknown'} ${key.asymmetricKeyDetails?.namedCurve ?? ''})`);
    }
    pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
    spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  } catch (err) {
    throw new TsswarmError(ErrorCode.CORRUPT, `${what}: cannot read private key: ${(err as Error).message}`, { cause: err });
  }
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, ecdsaP256, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, ecdsaP256, true, ['verify']);
  return { privateKey, publicKey, pem: pemEncode('PRIVATE KEY', new Uint8Array(pkcs8)) };
}

/** PEM text of `der` under `label`, 64 characters a line. */
export function pemEncode(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
