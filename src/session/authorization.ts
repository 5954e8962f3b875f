import { InvalidTokenError } from '../errors.js';
import { MAX_SPNEGO_TOKEN_BYTES } from '../negotiate/spnego.js';
import { MAX_TOKEN_BYTES } from '../ntlm/fields.js';

export type ConnectionScheme = 'NTLM' | 'Negotiate';

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
};

/**
 * Reads the Authorization header, the one place that does. `NTLM <token>` and `Negotiate <token>`
 * (RFC 4559) carry a handshake leg, whatever the mechanism inside; anything else (Basic, Bearer)
 * is "other". A malformed NTLM/Negotiate header is an InvalidTokenError (400).
 */
export function parseAuthorization(header: string | undefined): ParsedAuthorization {
  if (header === undefined || header.trim() === '') return { kind: 'none' };
  const match = /^\s*(\S+)(?:\s+(\S*))?\s*$/.exec(header);
  if (!match)
    throw new InvalidTokenError('Authorization header is not "<scheme> <token>"', 'ERR_NTLM_INVALID_HEADER');
  const [, rawScheme = '', credentials = ''] = match;
  const lower = rawScheme.toLowerCase();
  if (lower !== 'ntlm' && lower !== 'negotiate') return { kind: 'other', scheme: rawScheme, credentials };
  const scheme: ConnectionScheme = lower === 'ntlm' ? 'NTLM' : 'Negotiate';
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
