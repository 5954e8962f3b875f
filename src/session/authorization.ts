import { InvalidTokenError } from '../errors.js';
import { MAX_BASIC_BASE64_LENGTH } from '../mechanisms/basic-credentials.js';
import type { MechanismScheme } from '../mechanisms/registry.js';
import { MAX_SPNEGO_TOKEN_BYTES } from '../negotiate/spnego.js';
import { MAX_TOKEN_BYTES } from '../ntlm/fields.js';

export type ConnectionScheme = MechanismScheme;

export type ParsedAuthorization =
  /** `NTLM <token>` or `Negotiate <token>`: a leg of a connection's handshake (any mechanism). */
  | { readonly kind: 'token'; readonly scheme: ConnectionScheme; readonly token: Buffer }
  | { readonly kind: 'other'; readonly scheme: string; readonly credentials: string }
  | { readonly kind: 'none' };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Base64 characters of the largest token each scheme may carry (SPNEGO carries Kerberos tickets, PAC and all). */
const MAX_BASE64_LENGTH: Record<ConnectionScheme, number> = {
  NTLM: Math.ceil(MAX_TOKEN_BYTES / 3) * 4,
  Negotiate: Math.ceil(MAX_SPNEGO_TOKEN_BYTES / 3) * 4,
  Basic: MAX_BASIC_BASE64_LENGTH,
};

/**
 * Reads the Authorization header, the one place that does. `NTLM <token>` and `Negotiate <token>`
 * (RFC 4559) carry a handshake leg, whatever the mechanism inside, and `Basic <token>` a whole
 * logon when Basic is on; anything else (Bearer) is "other". A malformed header of an accepted
 * scheme is an InvalidTokenError (400).
 */
export function parseAuthorization(
  header: string | undefined,
  /** The schemes read as tokens; Basic only when a mechanism runs it (else the application's). */
  accepted: readonly ConnectionScheme[] = ['NTLM', 'Negotiate'],
): ParsedAuthorization {
  if (header === undefined || header.trim() === '') return { kind: 'none' };
  const match = /^\s*(\S+)(?:\s+(\S*))?\s*$/.exec(header);
  if (!match)
    throw new InvalidTokenError('Authorization header is not "<scheme> <token>"', 'ERR_NTLM_INVALID_HEADER');
  const [, rawScheme = '', credentials = ''] = match;
  const lower = rawScheme.toLowerCase();
  const scheme = accepted.find((name) => name.toLowerCase() === lower);
  if (scheme === undefined) return { kind: 'other', scheme: rawScheme, credentials };
  if (credentials === '') {
    throw new InvalidTokenError(`Authorization: ${rawScheme} carries no token`, 'ERR_NTLM_INVALID_HEADER');
  }
  if (credentials.length > MAX_BASE64_LENGTH[scheme]) {
    throw new InvalidTokenError(
      `Authorization token of ${credentials.length} characters is too large`,
      'ERR_NTLM_TOKEN_TOO_LARGE',
    );
  }
  if (!BASE64.test(credentials) || credentials.length % 4 === 1) {
    throw new InvalidTokenError('Authorization token is not base64', 'ERR_NTLM_INVALID_HEADER');
  }
  return { kind: 'token', scheme, token: Buffer.from(credentials, 'base64') };
}
