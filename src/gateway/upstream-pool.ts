import type http from 'node:http';
import type { ConnectionOptions } from 'node:tls';
import type { Dispatcher, Pool } from 'undici';
import { lazyRequire } from '../lazy-require.js';
import type { UpstreamSettings } from './upstream-proxy.js';

// Loaded by the gateway only: an application that uses the middleware never pays for undici.
const undici = lazyRequire<typeof import('undici')>('undici');

/** Request headers undici writes itself or refuses (it throws on them): hop-by-hop, and Expect (Node's server already sent 100 Continue). */
const NOT_FORWARDED = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect', 'te', 'trailer'];

/**
 * The keep-alive pool that carries every request no pinned connection must carry (all of header
 * mode's): undici's Pool, whose client parses and writes HTTP/1.1 with less work per request than
 * node:http's (measured: bench scenario 7, 7d/7e). Every upstream wait has a timeout: connecting,
 * the answer's head, and each silence in its body.
 */
export function createUpstreamPool(settings: UpstreamSettings): Pool {
  const { upstream, timeoutMs, idleTimeoutMs } = settings;
  return new (undici().Pool)(upstream.origin, {
    connect: { ...(settings.tls as ConnectionOptions), timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    // An idle upstream connection is closed after idleTimeoutMs, or sooner when the upstream's
    // own Keep-Alive says so (undici retires it a second early, as Node's agent does).
    keepAliveTimeout: idleTimeoutMs,
    keepAliveMaxTimeout: idleTimeoutMs,
    keepAliveTimeoutThreshold: 1000,
  });
}

/** The request as undici is given it: the client's headers without those it refuses, and the body when there is one. */
export function poolRequest(req: http.IncomingMessage, path: string): Dispatcher.DispatchOptions {
  const headers = req.headers;
  const hasBody = headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined;
  for (const name of NOT_FORWARDED) if (headers[name] !== undefined) delete headers[name];
  return {
    method: req.method as Dispatcher.HttpMethod,
    path,
    headers: headers as Record<string, string | string[]>,
    body: hasBody ? req : null,
  };
}
