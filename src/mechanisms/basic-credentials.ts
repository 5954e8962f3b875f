import { InvalidTokenError } from '../errors.js';

/** The longest Basic credentials we read (base64 characters): a long UPN and a long passphrase fit. */
export const MAX_BASIC_BASE64_LENGTH = 4096;

export interface BasicCredentials {
  /** `EXAMPLE` of `EXAMPLE\alice`; '' when the client named none. */
  readonly domain: string;
  readonly username: string;
  readonly password: string;
}

/**
 * The decoded `Basic` token (RFC 7617 2): `user-id ":" password`, UTF-8 (what browsers, curl and
 * Java send for non-ASCII when asked; Latin-1 clients get their ASCII right). The user-id may be
 * `DOMAIN\user`, `user@dns.domain` (a UPN, left whole) or a bare name. A token without a colon,
 * or with an empty user or password, is a 400: an empty password would be an unauthenticated
 * bind on LDAP (RFC 4513 5.1.2) and proves nothing anywhere.
 */
export function readBasicCredentials(token: Buffer): BasicCredentials {
  const text = token.toString('utf8');
  const colon = text.indexOf(':');
  const userId = colon < 0 ? '' : text.slice(0, colon);
  const password = colon < 0 ? '' : text.slice(colon + 1);
  const slash = userId.indexOf('\\');
  const domain = slash < 0 ? '' : userId.slice(0, slash);
  const username = slash < 0 ? userId : userId.slice(slash + 1);
  if (username === '' || password === '' || /[\0-\x1f]/.test(userId)) {
    throw new InvalidTokenError(
      'Basic credentials are not "user:password" with both parts present',
      'ERR_NTLM_INVALID_HEADER',
    );
  }
  return { domain, username, password };
}
