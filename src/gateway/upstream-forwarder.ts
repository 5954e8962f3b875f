import http from 'node:http';
import https from 'node:https';
import { sendText } from '../http/responses.js';
import type { Logger } from '../types.js';
import type { UpstreamSettings } from './upstream-proxy.js';

/** Response headers that are the upstream connection's, not the client's. */
const HOP_BY_HOP_ANSWER = new Set(['connection', 'keep-alive', 'transfer-encoding']);

/** Sends one client request upstream on `agent` and its answer back; errors become 502/504. */
export type Forward = (req: http.IncomingMessage, res: http.ServerResponse, agent: http.Agent) => void;

/**
 * The gateway's HTTP requests upstream, on node:http's client directly. Measured (gateway CPU per
 * proxied request from /proc, one interleaved run, header mode with local users, 8 keep-alive
 * clients): through http-proxy-3 192 µs, this way 138 µs; http-proxy-3 copied the headers,
 * emitted events and ran its passes on every request (a tenth of the gateway's profile).
 * undici's Pool did better still in the same run (bench/servers/plain-proxy.ts: 63 µs against
 * 96 µs on node:http's client), but it would be a new runtime dependency and a Client per pinned
 * connection in pass-through mode: the next step, not taken yet. WebSocket upgrades still go
 * through http-proxy-3 (websocket-upgrades.ts). Does what http-proxy-3 did for us: the client's Host and headers
 * (already rewritten by the gateway), the upstream URL's path before the request's, no
 * `Trailer`, `Content-Length: 0` on a bodiless DELETE/OPTIONS, no `Transfer-Encoding` back, a
 * Connection header for HTTP/1.0 clients, and the status message.
 */
export function createForwarder(settings: UpstreamSettings, logger: Logger): Forward {
  const { upstream, timeoutMs, idleTimeoutMs } = settings;
  const request = upstream.protocol === 'https:' ? https.request : http.request;
  const hostname = upstream.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(upstream.port) || (upstream.protocol === 'https:' ? 443 : 80);
  const prefix = upstream.pathname === '/' ? '' : upstream.pathname.replace(/\/$/, '');
  const keepAliveHint = `timeout=${Math.floor(idleTimeoutMs / 1000)}`;

  const failed = (error: NodeJS.ErrnoException, req: http.IncomingMessage, res: http.ServerResponse) => {
    // A client that left mid-response: nothing to answer.
    if (req.socket.destroyed && error.code === 'ECONNRESET') return;
    logger.error('upstream request failed', {
      code: error.code,
      reason: error.message,
      url: req.url,
      upstream: upstream.origin,
    });
    if (res.headersSent) return void res.destroy();
    // The cause and the upstream's address are in the log line above, not in the body.
    if (error.code === 'UPSTREAM_TIMEOUT')
      sendText(res, 504, { Connection: 'close' }, 'Gateway timeout: the upstream did not answer in time.\n');
    else sendText(res, 502, { Connection: 'close' }, 'Bad gateway: the upstream could not be reached.\n');
  };

  return (req, res, agent) => {
    const headers = req.headers;
    delete headers.trailer;
    if ((req.method === 'DELETE' || req.method === 'OPTIONS') && !headers['content-length']) {
      headers['content-length'] = '0';
      delete headers['transfer-encoding'];
    }
    const upstreamReq = request({
      hostname,
      port,
      method: req.method,
      path: prefix + (req.url ?? '/'),
      headers,
      agent,
      ...(upstream.protocol === 'https:' ? settings.tls : {}),
    });
    upstreamReq.setTimeout(timeoutMs, () => {
      const error = new Error(`no answer in ${timeoutMs} ms`) as NodeJS.ErrnoException;
      error.code = 'UPSTREAM_TIMEOUT';
      upstreamReq.destroy(error);
    });
    upstreamReq.on('error', (error) => failed(error, req, res));
    req.on('error', (error) => failed(error, req, res));
    res.on('close', () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
    upstreamReq.on('response', (upstreamRes) => {
      const answer = upstreamRes.headers;
      res.statusCode = upstreamRes.statusCode ?? 502;
      if (upstreamRes.statusMessage) res.statusMessage = upstreamRes.statusMessage;
      // Copied, not edited: the agent reads the upstream's own Keep-Alive once the body is done.
      for (const name in answer) {
        if (HOP_BY_HOP_ANSWER.has(name)) continue;
        const value = answer[name];
        if (value !== undefined) res.setHeader(name, value);
      }
      // Hop by hop (RFC 9110 7.6.1): ours to set towards the client. Shutting down, the answer
      // ends the client connection (it would keep it alive); otherwise the client is told our
      // keep-alive timeout, not the upstream's (Node adds none itself once there is a Connection header).
      const connection = settings.draining()
        ? 'close'
        : req.httpVersion === '1.0'
          ? (headers.connection ?? 'close')
          : (answer.connection ?? 'keep-alive');
      res.setHeader('connection', connection);
      if (!/\bclose\b/i.test(connection)) res.setHeader('keep-alive', keepAliveHint);
      upstreamRes.on('error', (error) => failed(error, req, res));
      upstreamRes.pipe(res);
    });
    req.pipe(upstreamReq);
  };
}
