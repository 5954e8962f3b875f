import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface SelfSignedCertificate {
  /** Paths of the PEM files. */
  readonly cert: string;
  readonly key: string;
  /** The certificate's PEM text, for a client's `ca`. */
  readonly pem: string;
  /** The certificate's DER bytes, for channel bindings (RFC 5929 tls-server-end-point). */
  readonly der: Buffer;
}

/**
 * A fresh self-signed RSA certificate from openssl, written into `dir` as `<name>.pem` and
 * `<name>-key.pem`. `altNames` is the subjectAltName list (`DNS:localhost,IP:127.0.0.1`); none
 * when empty.
 */
export async function selfSignedCertificate(
  dir: string,
  { name = 'cert', commonName = 'localhost', altNames = 'DNS:localhost,IP:127.0.0.1' } = {},
): Promise<SelfSignedCertificate> {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  const subject = [
    '-subj',
    `/CN=${commonName}`,
    ...(altNames ? ['-addext', `subjectAltName=${altNames}`] : []),
  ];
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    ...subject,
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  const pem = readFileSync(cert, 'utf8');
  return { cert, key, pem, der: Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64') };
}
