import net from 'node:net';
import tls from 'node:tls';
import { type CheckResult, describeError, fail, formatMs, pass } from './check.js';

const CHECK = 'TLS certificate';

/** Codes of a certificate that does not chain to a CA we trust (OpenSSL's verify errors). */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
]);

/** The names a certificate is valid for: its DNS and IP subjectAltNames, else its subject CN. */
export function certificateNames(certificate: tls.PeerCertificate): string[] {
  const alt = (certificate.subjectaltname ?? '')
    .split(',')
    .map((entry) => entry.trim().replace(/^(DNS|IP Address):/, ''))
    .filter(Boolean);
  if (alt.length > 0) return alt;
  const cn = certificate.subject?.CN;
  return cn ? [Array.isArray(cn) ? cn[0]! : cn] : [];
}

/**
 * Whether an ldaps:// DC's certificate verifies with the TLS options the relay uses (the
 * same servername rule as LdapConnection): trusted CA, name, dates. One connection, read with
 * verification reported rather than enforced, so that a failure can name what the certificate
 * holds.
 */
export function checkLdapTls(
  host: string,
  port: number,
  options: tls.ConnectionOptions | undefined,
  timeoutMs: number,
): Promise<CheckResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port,
      servername: net.isIP(host) ? undefined : host,
      ...options,
      rejectUnauthorized: false,
    });
    const done = (result: CheckResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () =>
        done(
          fail(
            CHECK,
            `no TLS handshake with ${host}:${port} within ${formatMs(timeoutMs)}`,
            'is this an LDAPS port (636)? a plain ldap:// port never answers a TLS hello',
          ),
        ),
      timeoutMs,
    );
    socket.once('error', (error) =>
      done(
        fail(CHECK, `TLS handshake failed: ${describeError(error)}`, 'check that the DC serves LDAPS here'),
      ),
    );
    socket.once('secureConnect', () => {
      const requested = (options?.servername as string | undefined) ?? host;
      done(verifiedCertificate(socket, requested, started));
    });
  });
}

/** The verdict on the certificate of a completed handshake, as `rejectUnauthorized` would give it. */
function verifiedCertificate(socket: tls.TLSSocket, requested: string, started: number): CheckResult {
  const certificate = socket.getPeerCertificate();
  if (socket.authorized) {
    const { names, expires } = described(certificate);
    return pass(CHECK, `verified for ${names}${expires} (${formatMs(performance.now() - started)})`);
  }
  return certificateRefused(certificate, String(socket.authorizationError), requested);
}

/** Why OpenSSL (or Node's name check) refused the certificate, and what to change. */
function certificateRefused(certificate: tls.PeerCertificate, code: string, requested: string): CheckResult {
  const { names, expires } = described(certificate);
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return fail(
      CHECK,
      `the certificate is for ${names}, not ${requested}`,
      `use a URL with one of those names (ldaps://${certificateNames(certificate)[0] ?? 'dc.example.test'}), ` +
        'or set the TLS servername to one of them (domainController({ tls: { servername } }))',
    );
  }
  if (UNTRUSTED.has(code)) {
    const issuer = certificate.issuer?.CN ?? 'an unknown issuer';
    // OpenSSL reports the chain first; say now whether the name will be the next problem.
    const nameToo = tls.checkServerIdentity(requested, certificate)
      ? `; once trusted, the name will fail too: use a URL with ${names}, or set the TLS servername`
      : '';
    return fail(
      CHECK,
      `the certificate for ${names}, issued by ${issuer}, does not chain to a trusted CA (${code})`,
      `give the CA that issued the DC certificates with --dc-ca FILE (PEM)${nameToo}`,
    );
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return fail(
      CHECK,
      `the certificate for ${names} is outside its dates (${code}${expires})`,
      'renew the DC certificate, and check this host’s clock',
    );
  }
  return fail(CHECK, `the certificate for ${names} does not verify (${code})`, 'renew or reissue it');
}

/** How the report names a certificate: its names, and its end date when it has one. */
function described(certificate: tls.PeerCertificate): { names: string; expires: string } {
  return {
    names: certificateNames(certificate).join(', ') || '(no names)',
    expires: certificate.valid_to ? `, valid until ${certificate.valid_to}` : '',
  };
}
