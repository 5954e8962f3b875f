import type { ServerResponse } from 'node:http';
import type { NtlmError } from '../errors.js';

/** A plain-text answer; on a response already under way, the connection is cut instead. */
export function sendText(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | string[]>,
  body: string,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/**
 * 401 with a challenge. Without a token it starts (or restarts) a handshake; with one it is the
 * CHALLENGE leg. Never a Set-Cookie here: some browsers drop the connection's auth when they see one.
 */
export function sendChallenge(res: ServerResponse, scheme: 'NTLM' | 'Negotiate', token?: Buffer): void {
  const value = token ? `${scheme} ${token.toString('base64')}` : scheme;
  sendText(
    res,
    401,
    { 'WWW-Authenticate': value },
    token ? 'NTLM handshake in progress\n' : 'Authentication required\n',
  );
}

/** 403: authenticated, but not among `allowUsers` / `allowGroups`. */
export function sendForbidden(res: ServerResponse, account: string): void {
  sendText(res, 403, {}, `Forbidden: ${account} is not allowed to use this site.\n`);
}

/**
 * Answers a request that ends in an NtlmError: 400, 401 with a fresh challenge, or 503. Bodies
 * carry the error's code and nothing else: DC addresses, timeouts, parser reasons and store
 * messages are for the log line, not for whoever sent the request.
 */
export function sendNtlmError(
  res: ServerResponse,
  error: NtlmError,
  scheme: 'NTLM' | 'Negotiate' = 'NTLM',
): void {
  switch (error.statusCode) {
    case 400:
      sendText(res, 400, {}, `Bad authentication token (${error.code})\n`);
      return;
    case 401:
      // The reason stays in the log: a client is not told which part of its logon was wrong.
      sendChallenge(res, scheme);
      return;
    case 503: {
      const retryAfter = (error as { retryAfterSeconds?: number }).retryAfterSeconds;
      sendText(
        res,
        503,
        retryAfter ? { 'Retry-After': String(retryAfter) } : {},
        `Authentication is unavailable; try again later (${error.code})\n`,
      );
      return;
    }
    default:
      sendText(res, 500, {}, 'Internal authentication error\n');
  }
}
