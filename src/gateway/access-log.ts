import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { plainAddress, type TrustedProxies } from '../net/client-address.js';
import type { Logger } from '../types.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/** What a request id from a trusted proxy may look like: a UUID, a trace id, nothing that breaks a log line. */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * The request's id, sent upstream as X-Request-Id and back to the client: the one a trusted
 * proxy in front gave it (so that one id follows the request through every hop), else ours. A
 * client's own is replaced: it could otherwise put any text in the upstream's logs and ours.
 */
export function assignRequestId(req: IncomingMessage, trusted: TrustedProxies): string {
  const given = req.headers[REQUEST_ID_HEADER];
  const id =
    typeof given === 'string' && REQUEST_ID.test(given) && trusted.has(plainAddress(req.socket.remoteAddress))
      ? given
      : randomUUID();
  req.headers[REQUEST_ID_HEADER] = id;
  return id;
}

/**
 * One access line per request, when its response is done or its client has gone: method, path
 * (without the query, which may carry secrets), status, user, duration, request id and client.
 * `quiet` requests (health, readiness, metrics: polled every few seconds) log at debug.
 */
export function logAccess(
  req: IncomingMessage,
  res: ServerResponse,
  context: { logger: Logger; requestId: string; client: string; quiet: boolean },
): void {
  const started = performance.now();
  res.once('close', () => {
    const { logger, requestId, client, quiet } = context;
    const path = (req.url ?? '').split('?', 1)[0];
    const fields = {
      method: req.method,
      path,
      status: res.statusCode,
      user: req.ntlm?.username,
      domain: req.ntlm?.domain,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      requestId,
      remote: client,
      // The client left before the response was complete.
      aborted: res.writableFinished ? undefined : true,
    };
    if (quiet) logger.debug('request', fields);
    else logger.info('request', fields);
  });
}
