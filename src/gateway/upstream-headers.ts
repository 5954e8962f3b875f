import type { IncomingMessage } from 'node:http';

export const GROUPS_HEADER = 'x-ntlm-groups';
export const TOKEN_HEADER = 'x-ntlm-token';

/** Which optional identity headers the gateway adds besides X-Ntlm-Username / X-Ntlm-Domain. */
export interface ForwardedIdentity {
  /** X-Ntlm-Groups: the user's group names, comma-separated. */
  readonly groups: boolean;
  /** X-Ntlm-Token: the user's Bearer token, for an upstream that checks the signature itself. */
  readonly token: boolean;
}

/**
 * Header values must be Latin-1 (Node throws on anything else), and AD names need not be: every
 * byte outside printable ASCII, `%` and `,` is percent-encoded as UTF-8. Plain ASCII names arrive
 * unchanged; `decodeURIComponent()` gives back any name exactly.
 */
export function headerValue(name: string): string {
  return name.replace(/[^\x20-\x7e]|[%,]/gu, (char) => encodeURIComponent(char));
}

/** The identity headers' values for one identity, with what they were encoded from. */
interface EncodedIdentity {
  readonly remoteUser: string;
  readonly domain: string;
  readonly username: string;
  readonly encodedDomain: string;
  /** X-Ntlm-Groups, once asked for, with the (frozen) list it was encoded from. */
  groups?: { readonly from: readonly string[]; readonly value: string };
}

/**
 * Encoded once per identity object, not per request. `req.ntlm` is one object per authenticated
 * connection (the middleware's), or one frozen object shared by all of a user's connections (an
 * interned identity): its values are the same on every request, and the regular expression per
 * header was ~2 thousand instructions a request (bench/analysis.md, session 19). Strings cannot
 * change in place, so an entry is used while the object still holds the strings it was made from;
 * a list of groups is kept only when frozen. So a changed identity is encoded again.
 */
const encodedIdentities = new WeakMap<object, EncodedIdentity>();

function encodedIdentity(info: NonNullable<IncomingMessage['ntlm']>): EncodedIdentity {
  const { remoteUser, domain } = info;
  let encoded = encodedIdentities.get(info);
  if (encoded?.remoteUser === remoteUser && encoded.domain === domain) return encoded;
  encoded = { remoteUser, domain, username: headerValue(remoteUser), encodedDomain: headerValue(domain) };
  encodedIdentities.set(info, encoded);
  return encoded;
}

function encodedGroups(info: NonNullable<IncomingMessage['ntlm']>, encoded: EncodedIdentity): string {
  const groups = info.groups ?? [];
  if (encoded.groups?.from === groups) return encoded.groups.value;
  const value = groups.map(headerValue).join(',');
  if (Object.isFrozen(groups)) encoded.groups = { from: groups, value };
  return value;
}

/**
 * Turns the request the ntlm() middleware let through into the one the upstream gets: the
 * identity headers (encoded), and no credentials of ours (the gateway consumed them).
 */
export function prepareUpstreamRequest(req: IncomingMessage, forward: ForwardedIdentity): void {
  const info = req.ntlm;
  if (!info) throw new Error('prepareUpstreamRequest: the request has no verified identity');
  const headers = req.headers;
  // Client X-Ntlm-* headers are already gone (the middleware strips them).
  delete headers.authorization;
  // Headers named in Connection are hop-by-hop (RFC 9110 7.6.1): a client that names ours there
  // could have a proxy in front of the upstream drop them. Only "upgrade" has to go on.
  if (/\bupgrade\b/i.test(headers.connection ?? '')) headers.connection = 'upgrade';
  else delete headers.connection;
  const encoded = encodedIdentity(info);
  headers['x-ntlm-username'] = encoded.username;
  headers['x-ntlm-domain'] = encoded.encodedDomain;
  if (forward.groups) headers[GROUPS_HEADER] = encodedGroups(info, encoded);
  if (forward.token && info.token) headers[TOKEN_HEADER] = info.token;
}
