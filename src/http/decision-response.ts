import type { Decision, IssuedToken } from '../session/authenticator.js';
import { tokenCookie } from '../session/bearer-tokens.js';
import type { CookieOptions } from '../types.js';

/** A response in plain terms, for any framework to write. */
export interface PlainResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body: string;
}

/**
 * The response for every decision but `pass` and `next`. Bodies are short and carry an error's
 * code at most: the reason is in the log, and a client is never told which part of its logon
 * was wrong. No Set-Cookie on a 401 (some browsers then drop the connection's auth state).
 */
export function refusalResponse(decision: Exclude<Decision, { kind: 'pass' | 'next' }>): PlainResponse {
  switch (decision.kind) {
    case 'challenge': {
      const leg = decision.offers.length === 1 && decision.offers[0]!.includes(' ');
      return {
        status: 401,
        headers: { 'WWW-Authenticate': decision.offers },
        body: leg ? 'Authentication in progress\n' : 'Authentication required\n',
      };
    }
    case 'forbidden':
      return {
        status: 403,
        headers: {},
        body: `Forbidden: ${decision.info.domain}\\${decision.info.username} is not allowed to use this site.\n`,
      };
    case 'fail': {
      const { error, offers } = decision;
      if (error.statusCode === 400)
        return { status: 400, headers: {}, body: `Bad authentication token (${error.code})\n` };
      if (error.statusCode === 401)
        return { status: 401, headers: { 'WWW-Authenticate': offers }, body: 'Authentication required\n' };
      if (error.statusCode === 503) {
        const retryAfter = (error as { retryAfterSeconds?: number }).retryAfterSeconds;
        return {
          status: 503,
          headers: retryAfter ? { 'Retry-After': String(retryAfter) } : {},
          body: `Authentication is unavailable; try again later (${error.code})\n`,
        };
      }
      return { status: 500, headers: {}, body: 'Internal authentication error\n' };
    }
  }
}

/**
 * Headers for the response to a request that passed: on the leg that completes a handshake, the
 * new Bearer token (readable by scripts through Access-Control-Expose-Headers) and its cookie, and
 * Negotiate's final token; nothing on later requests.
 */
export function passHeaders(
  decision: Extract<Decision, { kind: 'pass' }>,
  cookie: CookieOptions | undefined,
  lifetimeSeconds: number,
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (decision.mutual) headers['WWW-Authenticate'] = decision.mutual;
  const issued: IssuedToken | undefined = decision.issued;
  if (issued) {
    headers.Authorization = `Bearer ${issued.token}`;
    if (cookie) headers['Set-Cookie'] = tokenCookie(cookie, issued.token, lifetimeSeconds);
  }
  return headers;
}
