import { InvalidTokenError } from '../errors.js';
import { MAX_BASIC_BASE64_LENGTH } from '../mechanisms/basic-credentials.js';
import type { MechanismScheme } from '../mechanisms/registry.js';
import { MAX_SPNEGO_TOKEN_BYTES } from '../negotiate/spnego.js';
import { MAX_TOKEN_BYTES } from '../ntlm/fields.js';

export type ConnectionScheme = MechanismScheme;

export type ParsedAuthorization =
  /** `NTLM <token>` or `Negotiate <token>`: a leg of a connection's handshake (any mechanism). */
  | { readonly kind: 'token'; readonly scheme: ConnectionScheme; readonly token: Buffer }
  /**
   * Any other scheme (Bearer), its credentials as sent: whether they are one token (no whitespace
   * inside) is the caller's to ask, with `assertOneToken`, since it need not for a Bearer token it
   * verified before (that scan of a ~1 KB JWT took ~3,600 instructions a request, bench/analysis.md,
   * session 11).
   */
  | { readonly kind: 'other'; readonly scheme: string; readonly credentials: string }
  | { readonly kind: 'none' };

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
  const trimmed = header?.trim() ?? '';
  if (trimmed === '') return { kind: 'none' };
  // "<scheme> <credentials>": the scheme ends at the first whitespace (a few characters in).
  const gap = schemeEnd(trimmed);
  const rawScheme = gap < 0 ? trimmed : trimmed.slice(0, gap);
  const credentials = gap < 0 ? '' : trimmed.slice(gap).trimStart();
  const scheme = accepted.find((name) => isScheme(rawScheme, name));
  if (scheme === undefined) return { kind: 'other', scheme: rawScheme, credentials };
  if (credentials === '') {
    throw new InvalidTokenError(`Authorization: ${rawScheme} carries no token`, 'ERR_NTLM_INVALID_HEADER');
  }
  if (credentials.length > MAX_BASE64_LENGTH[scheme]) {
    if (WHITESPACE.test(credentials)) throw notSchemeAndToken();
    throw new InvalidTokenError(
      `Authorization token of ${credentials.length} characters is too large`,
      'ERR_NTLM_TOKEN_TOO_LARGE',
    );
  }
  const token = strictBase64(credentials);
  if (token === undefined) {
    if (WHITESPACE.test(credentials)) throw notSchemeAndToken();
    throw new InvalidTokenError('Authorization token is not base64', 'ERR_NTLM_INVALID_HEADER');
  }
  return { kind: 'token', scheme, token };
}

/**
 * Whether `scheme`, as the client wrote it, names `name` (schemes are case-insensitive, RFC 9110
 * 11.1). Clients write them as registered, so the exact spelling is tried first, and a name of
 * another length is never lowercased: a Bearer request used to lowercase four strings (~500
 * instructions, bench/analysis.md, session 13).
 */
export function isScheme(scheme: string, name: string): boolean {
  return scheme.length === name.length && (scheme === name || scheme.toLowerCase() === name.toLowerCase());
}

/**
 * Where the first whitespace in `text` is (-1 for none), as `text.search(/\s/)` finds it. The
 * scheme before it is a few visible ASCII characters, none of them whitespace, so a scan of those
 * that meets a space has found it; anything else (a tab, a character beyond ASCII) is left to the
 * RegExp. The RegExp on every request cost more than the rest of a Bearer header's parse
 * (bench/analysis.md, session 14).
 */
function schemeEnd(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === SPACE) return i;
    if (code < FIRST_VISIBLE || code > LAST_VISIBLE) return text.search(WHITESPACE);
  }
  return -1;
}

/** Throws when the credentials of another scheme are more than one token: not "<scheme> <token>" (400). */
export function assertOneToken(credentials: string): void {
  if (WHITESPACE.test(credentials)) throw notSchemeAndToken();
}

/** What RegExp's \s and String.prototype.trim() take for whitespace. */
const WHITESPACE = /\s/;
const EQUALS = 0x3d;
const SPACE = 0x20;
/** `!` to `~`: visible ASCII, which holds no whitespace. */
const FIRST_VISIBLE = 0x21;
const LAST_VISIBLE = 0x7e;

function notSchemeAndToken(): InvalidTokenError {
  return new InvalidTokenError('Authorization header is not "<scheme> <token>"', 'ERR_NTLM_INVALID_HEADER');
}

/**
 * `text` decoded when it is base64 of the standard alphabet with at most two `=` at its end, and
 * neither it nor its data part is 4n+1 characters long (which no encoder makes); else undefined.
 * Node's decoder does the reading: it skips an ASCII character outside its alphabet and stops at
 * `=`, so the bytes it gives are fewer than a data part of that length makes exactly when
 * something in it was not base64 (floor(3d/4) counts every character when d is not 4n+1). What
 * it would take that the alphabet does not is looked for first: the URL-safe `-` and `_`, and
 * characters beyond ASCII (it reads a character above 255 by its low byte: `ī` as `+`), which
 * cannot come off the wire (Node reads headers as latin1) but can from code that rewrote the
 * header. One pass in native code, where a RegExp over the ~2 KB of a Kerberos token cost more
 * than its decoding (bench/analysis.md, session 8).
 */
export function strictBase64(text: string): Buffer | undefined {
  let data = text.length;
  while (data > 0 && text.charCodeAt(data - 1) === EQUALS) data--;
  if (data === 0 || text.length - data > 2 || data % 4 === 1 || text.length % 4 === 1) return undefined;
  if (text.includes('-') || text.includes('_') || Buffer.byteLength(text, 'utf8') !== text.length) {
    return undefined;
  }
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === Math.floor((data * 3) / 4) ? bytes : undefined;
}
