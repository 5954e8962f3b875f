import http from 'node:http';
import https from 'node:https';
import type { Dispatcher, Pool } from 'undici';
import { sendText } from '../http/responses.js';
import type { Logger } from '../types.js';
import { createUpstreamPool, poolRequest } from './upstream-pool.js';
import type { UpstreamSettings } from './upstream-proxy.js';

/** Response headers that are the upstream connection's, not the client's. */
const HOP_BY_HOP_ANSWER = new Set(['connection', 'keep-alive', 'transfer-encoding']);

/** Sends one client request upstream on `agent` and its answer back; errors become 502/504. */
export type Forward = (req: http.IncomingMessage, res: http.ServerResponse, agent: http.Agent) => void;

/** The upstream answered `error` instead of a response; the client gets a 502/504 (or its connection ends). */
type Failed = (error: NodeJS.ErrnoException, req: http.IncomingMessage, res: http.ServerResponse) => void;

/** The client took none of the answer for sendTimeoutMs: its connection is closed. */
type Stalled = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * The answer waits for a client that reads slowly: `resume` once it has taken what was written
 * (drain). One that takes nothing for sendTimeoutMs is `stalled` (nginx's send_timeout), so a
 * client that stops reading cannot hold an upstream request, and its connection, for ever. A
 * client that leaves ends the wait at once: its timer would otherwise hold the request, and keep
 * the process alive after close(), for sendTimeoutMs.
 */
function resumeWhenDrained(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  sendTimeoutMs: number,
  resume: () => void,
  stalled: Stalled,
): void {
  const settle = () => {
    clearTimeout(timer);
    res.off('drain', drained);
    res.off('close', settle);
  };
  const drained = () => {
    settle();
    resume();
  };
  const timer = setTimeout(() => {
    settle();
    if (!res.destroyed) stalled(req, res);
  }, sendTimeoutMs);
  res.once('drain', drained);
  res.once('close', settle);
}

/** undici's timeouts: the upstream was silent (504), not broken (502). */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** Writes the upstream's answer head on `res`: its headers but the hop-by-hop ones, which are ours to set. */
function writeAnswerHead(
  res: http.ServerResponse,
  settings: UpstreamSettings,
  keepAliveHint: string,
  /** Pass-through: the upstream connection is the client's own (pinned), so its close is the client's too. */
  pinned: boolean,
  status: number,
  statusMessage: string | undefined,
  answer: http.IncomingHttpHeaders,
): void {
  res.statusCode = status;
  if (statusMessage) res.statusMessage = statusMessage;
  for (const name in answer) {
    if (HOP_BY_HOP_ANSWER.has(name)) continue;
    const value = answer[name];
    if (value !== undefined) res.setHeader(name, value);
  }
  // Hop by hop (RFC 9110 7.6.1): ours to set towards the client. The client's request says
  // whether its connection stays (res.shouldKeepAlive: Node read its version and Connection
  // header). In header mode the upstream's Connection is about a pooled connection of ours: a HEAD
  // (undici closes after one) or an upstream closing its own must not end a logged-on client
  // connection and cost it a new handshake. Shutting down, the answer ends the client connection.
  // Otherwise the client is told our keep-alive timeout (Node adds none once Connection is set).
  const close =
    settings.draining() ||
    !res.shouldKeepAlive ||
    (pinned && /\bclose\b/i.test(String(answer.connection ?? '')));
  res.setHeader('connection', close ? 'close' : 'keep-alive');
  if (!close) res.setHeader('keep-alive', keepAliveHint);
}

/**
 * The upstream's trailer fields, on to the client (its `Trailer` header went with the head).
 * Node writes them on a chunked answer only: an HTTP/1.0 client gets none, as from the upstream.
 */
function forwardTrailers(res: http.ServerResponse, trailers: http.IncomingHttpHeaders): void {
  const fields: [string, string][] = [];
  for (const name in trailers) {
    const value = trailers[name];
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) fields.push([name, one]);
  }
  if (fields.length === 0) return;
  try {
    res.addTrailers(fields);
  } catch {
    // A field Node will not write (a character it refuses): the answer goes without trailers.
  }
}

/**
 * One request on the undici pool: the answer streams back to `res` (undici pauses while the
 * client reads slowly), and a client that leaves aborts the upstream request. A class: one
 * object per request, no closures.
 */
class PoolAnswer implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #clientGone = false;

  constructor(
    private readonly req: http.IncomingMessage,
    private readonly res: http.ServerResponse,
    private readonly settings: UpstreamSettings,
    private readonly keepAliveHint: string,
    private readonly failed: Failed,
    private readonly stalled: Stalled,
  ) {
    res.once('close', () => {
      if (res.writableFinished) return;
      this.#clientGone = true;
      this.#controller?.abort(new Error('the client closed its connection'));
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#clientGone) controller.abort(new Error('the client closed its connection'));
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    status: number,
    headers: http.IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    // "headers" is what undici parsed: values of repeated names (Set-Cookie) come as arrays.
    writeAnswerHead(this.res, this.settings, this.keepAliveHint, false, status, statusMessage, headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.res.write(chunk)) return;
    // undici's body timeout does not run while paused: the wait is the client's.
    controller.pause();
    resumeWhenDrained(
      this.req,
      this.res,
      this.settings.sendTimeoutMs,
      () => controller.resume(),
      this.stalled,
    );
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: http.IncomingHttpHeaders): void {
    forwardTrailers(this.res, trailers);
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#clientGone) return;
    const code = (error as NodeJS.ErrnoException).code;
    // The same words as node:http's path: an operator reads one reason for a silent upstream.
    const reported: NodeJS.ErrnoException =
      code && TIMEOUT_CODES.has(code)
        ? Object.assign(new Error(`no answer in ${this.settings.timeoutMs} ms`, { cause: error }), {
            code: 'UPSTREAM_TIMEOUT',
          })
        : error;
    this.failed(reported, this.req, this.res);
  }
}

/**
 * The gateway's HTTP requests upstream. Header mode's (all on one shared pool) go on undici's
 * Pool: measured in bench scenario 7 (gateway CPU per proxied request from /proc, LDAP relay, 8
 * keep-alive clients, interleaved rounds of one run, 2026-12-05) 145–178 µs on node:http's client,
 * 95–110 µs on undici's (the minimal proxies of 7d/7e: 87–100 and 75–77 µs). Pass-through mode
 * stays on node:http's client: a pinned client connection keeps a node:http agent of one socket,
 * because a WebSocket upgrade must go on the very upstream connection the client authenticated
 * and http-proxy-3, which tunnels upgrades, speaks node:http agents; and with undici's Pool also
 * loaded for its unpinned requests, the pinned ones cost 10–15% more CPU (162–171 µs against
 * 146–152 µs in the same rounds: two HTTP clients in one process). Does what http-proxy-3 did for
 * us: the client's Host and headers (already rewritten by the gateway), the upstream URL's path
 * before the request's, no `Trailer`, `Content-Length: 0` on a bodiless DELETE/OPTIONS (on
 * node:http's client; undici sends one with neither Content-Length nor chunking, which RFC 9112
 * 6.3 reads as no body), no `Transfer-Encoding` back, a Connection header for HTTP/1.0 clients,
 * and the status message.
 */
export function createForwarder(
  settings: UpstreamSettings,
  logger: Logger,
  /** Header mode's shared agent: the requests for it go on undici's Pool instead (pass-through: none). */
  pooled: http.Agent | undefined,
): { forward: Forward; close: () => Promise<void> } {
  const { upstream, timeoutMs, sendTimeoutMs, idleTimeoutMs } = settings;
  const request = upstream.protocol === 'https:' ? https.request : http.request;
  const hostname = upstream.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(upstream.port) || (upstream.protocol === 'https:' ? 443 : 80);
  const prefix = upstream.pathname === '/' ? '' : upstream.pathname.replace(/\/$/, '');
  const keepAliveHint = `timeout=${Math.floor(idleTimeoutMs / 1000)}`;

  // Made at the first request it carries (a gateway that only answers its own endpoints never loads undici).
  let pool: Pool | undefined;
  const failed: Failed = (error, req, res) => {
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
  const stalled: Stalled = (req, res) => {
    logger.info('client stopped reading', {
      reason: `took none of the answer in ${sendTimeoutMs} ms`,
      url: req.url,
    });
    res.destroy();
  };

  const forward: Forward = (req, res, agent) => {
    const headers = req.headers;
    delete headers.trailer;
    // A bodiless DELETE or OPTIONS says so (RFC 9112 6.3). A chunked one keeps its framing: a length
    // of 0 in front of a body still piped would have the upstream read the body as a request of
    // its own, smuggled past the headers set here.
    if (
      (req.method === 'DELETE' || req.method === 'OPTIONS') &&
      !headers['content-length'] &&
      !headers['transfer-encoding']
    ) {
      headers['content-length'] = '0';
    }
    if (pooled !== undefined && agent === pooled) {
      const handler = new PoolAnswer(req, res, settings, keepAliveHint, failed, stalled);
      pool ??= createUpstreamPool(settings);
      pool.dispatch(poolRequest(req, prefix + (req.url ?? '/')), handler);
      return;
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
      writeAnswerHead(
        res,
        settings,
        keepAliveHint,
        true,
        upstreamRes.statusCode ?? 502,
        upstreamRes.statusMessage,
        upstreamRes.headers,
      );
      upstreamRes.on('error', (error) => failed(error, req, res));
      // As pipe() would, but the upstream's silence clock stops while the client is the one
      // holding the answer back: a slow download is not a silent upstream (504, a cut answer).
      upstreamRes.on('data', (chunk: Buffer) => {
        if (res.write(chunk)) return;
        upstreamRes.pause();
        upstreamReq.socket?.setTimeout(0);
        const resume = () => {
          upstreamReq.socket?.setTimeout(timeoutMs);
          upstreamRes.resume();
        };
        resumeWhenDrained(req, res, sendTimeoutMs, resume, stalled);
      });
      upstreamRes.on('end', () => {
        forwardTrailers(res, upstreamRes.trailers);
        res.end();
      });
    });
    req.pipe(upstreamReq);
  };
  return { forward, close: async () => pool?.destroy() };
}
