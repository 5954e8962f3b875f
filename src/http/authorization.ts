import { InvalidTokenError } from '../errors.js';
import { MAX_TOKEN_BYTES, SIGNATURE } from '../ntlm/fields.js';

export type ParsedAuthorization =
  | { readonly kind: 'ntlm'; readonly scheme: 'NTLM' | 'Negotiate'; readonly token: Buffer }
  | { readonly kind: 'other'; readonly scheme: string; readonly credentials: string }
  | { readonly kind: 'none' };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const MAX_BASE64_LENGTH = Math.ceil(MAX_TOKEN_BYTES / 3) * 4;

/**
 * Reads the Authorization header. `NTLM <token>` is ours; so is `Negotiate <token>` when the token
 * is a raw NTLMSSP message (what browsers send when Negotiate falls back to NTLM without SPNEGO).
 * A SPNEGO (Kerberos) token or any other scheme is "other".
 */
export function parseAuthorization(header: string | undefined): ParsedAuthorization {
  if (header === undefined || header.trim() === '') return { kind: 'none' };
  const match = /^\s*(\S+)(?:\s+(\S*))?\s*$/.exec(header);
  if (!match)
    throw new InvalidTokenError('Authorization header is not "<scheme> <token>"', 'ERR_NTLM_INVALID_HEADER');
  const [, rawScheme = '', credentials = ''] = match;
  const scheme = rawScheme.toLowerCase();
  if (scheme !== 'ntlm' && scheme !== 'negotiate') return { kind: 'other', scheme: rawScheme, credentials };
  if (credentials === '') {
    throw new InvalidTokenError(`Authorization: ${rawScheme} carries no token`, 'ERR_NTLM_INVALID_HEADER');
  }
  if (credentials.length > MAX_BASE64_LENGTH) {
    throw new InvalidTokenError(
      `Authorization token of ${credentials.length} characters is too large`,
      'ERR_NTLM_TOKEN_TOO_LARGE',
    );
  }
  if (!BASE64.test(credentials) || credentials.length % 4 === 1) {
    throw new InvalidTokenError('Authorization token is not base64', 'ERR_NTLM_INVALID_HEADER');
  }
  const token = Buffer.from(credentials, 'base64');
  if (scheme === 'negotiate') {
    if (!token.subarray(0, SIGNATURE.length).equals(SIGNATURE))
      return { kind: 'other', scheme: rawScheme, credentials };
    return { kind: 'ntlm', scheme: 'Negotiate', token };
  }
  return { kind: 'ntlm', scheme: 'NTLM', token };
}
