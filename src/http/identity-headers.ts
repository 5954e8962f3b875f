import type { IncomingMessage } from 'node:http';
import type { NtlmRequestInfo } from '../types.js';
import { requestProperty } from './request-property.js';

export const USERNAME_HEADER = 'x-ntlm-username';
export const DOMAIN_HEADER = 'x-ntlm-domain';
/**
 * Our header names in any spelling a server may treat as one of them: CGI, WSGI and PHP turn
 * `-` and `_` alike into `HTTP_X_NTLM_...`, so `X_Ntlm_Username` is as good as `X-Ntlm-Username`
 * to an upstream written in Python.
 */
const IDENTITY_HEADER = /^x[-_]ntlm[-_]/i;
const LOWER_X = 0x78;

/**
 * Removes every X-Ntlm-* header the client sent (and its `_` spellings), from both `headers` and
 * `rawHeaders`, so that neither the application nor an upstream can mistake them for ours.
 */
export function stripClientIdentityHeaders(req: IncomingMessage): void {
  // What the client sent is in rawHeaders (req.headers is built from it): a scan of its names,
  // most ruled out by their first letter, costs less than the keys of req.headers on every request.
  const raw = req.rawHeaders;
  let found = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if ((name.charCodeAt(0) | 0x20) === LOWER_X && IDENTITY_HEADER.test(name)) {
      found = true;
      break;
    }
  }
  if (!found) return;
  for (const name of Object.keys(req.headers)) {
    if (IDENTITY_HEADER.test(name)) delete req.headers[name];
  }
  const kept: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!IDENTITY_HEADER.test(raw[i]!)) kept.push(raw[i]!, raw[i + 1]!);
  }
  raw.splice(0, raw.length, ...kept);
}

const setNtlm = requestProperty<NtlmRequestInfo>('ntlm');

/** Sets the verified identity on the request: `req.ntlm` and the X-Ntlm-Username / X-Ntlm-Domain headers. */
export function attachIdentity(req: IncomingMessage, info: NtlmRequestInfo): void {
  const { remoteUser, domain } = info;
  setNtlm(req, info);
  const { headers } = req;
  headers[USERNAME_HEADER] = remoteUser;
  headers[DOMAIN_HEADER] = domain;
  req.rawHeaders.push('X-Ntlm-Username', remoteUser, 'X-Ntlm-Domain', domain);
}
