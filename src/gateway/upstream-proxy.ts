import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { ProxyServer, ServerOptions } from 'http-proxy-3';
import { sendText } from '../http/responses.js';
import { lazyRequire } from '../lazy-require.js';
import type { Logger } from '../types.js';

export interface UpstreamSettings {
  readonly upstream: URL;
  readonly tls: https.AgentOptions;
  /** Longest silence from the upstream (ms), then 504; not counted while a slow client holds the answer back. */
  readonly timeoutMs: number;
  /** Longest a client may take none of an answer (ms), then its connection is closed. */
  readonly sendTimeoutMs: number;
  /** How long an idle connection is kept, client side and upstream side alike (ms). */
  readonly idleTimeoutMs: number;
  /** Whether the gateway is shutting down (its answers then close their client connections). */
  readonly draining: () => boolean;
}

const httpProxy = lazyRequire<typeof import('http-proxy-3')>('http-proxy-3');

/** A keep-alive agent for the upstream, with `extra` settings (a pin has exactly one socket). */
export type AgentFactory = (extra: http.AgentOptions) => http.Agent;

/**
 * The upstream side of the gateway: http-proxy-3 with our own timeout (a silent upstream is a
 * 504, a broken one a 502, and neither body says why: the log does), Keep-Alive rewritten hop by
 * hop, and WebSocket tunnels that end with their client.
 */
export function createUpstreamProxy(
  settings: UpstreamSettings,
  logger: Logger,
): { proxy: ProxyServer; newAgent: AgentFactory } {
  const { upstream, timeoutMs, idleTimeoutMs } = settings;
  const Agent = upstream.protocol === 'https:' ? https.Agent : http.Agent;
  // `timeout` closes an idle upstream connection after idleTimeoutMs, or sooner when the upstream
  // announced a shorter Keep-Alive (Node retires it a second early), so that a request is not
  // sent on a connection the upstream is closing.
  const newAgent: AgentFactory = (extra) =>
    new Agent({ ...settings.tls, keepAlive: true, timeout: idleTimeoutMs, ...extra });
  // X-Forwarded-* are ours to write (setForwardingHeaders), not http-proxy's: it appends to the client's.
  const proxy = httpProxy().createProxyServer({ target: upstream, xfwd: false } satisfies ServerOptions);
  proxy.on('proxyReq', (proxyReq) => {
    proxyReq.setTimeout(timeoutMs, () => {
      const error = new Error(`no answer in ${timeoutMs} ms`) as NodeJS.ErrnoException;
      error.code = 'UPSTREAM_TIMEOUT';
      proxyReq.destroy(error);
    });
  });
  proxy.on('error', (error, req, target) => {
    const code = (error as NodeJS.ErrnoException).code;
    logger.error('upstream request failed', {
      code,
      reason: error.message,
      url: req.url,
      upstream: upstream.origin,
    });
    if (!(target instanceof http.ServerResponse)) (target as Socket).destroy();
    // The cause and the upstream's address are in the log line above, not in the body.
    else if (code === 'UPSTREAM_TIMEOUT')
      sendText(
        target,
        504,
        { Connection: 'close' },
        'Gateway timeout: the upstream did not answer in time.\n',
      );
    else sendText(target, 502, { Connection: 'close' }, 'Bad gateway: the upstream could not be reached.\n');
  });
  // A client that left mid-response: nothing to answer.
  proxy.on('econnreset', () => {});
  proxy.on('proxyReqWs', (proxyReq, _req, socket) => {
    proxyReq.once('upgrade', (_res, upstreamSocket: Socket) => {
      socket.once('close', () => upstreamSocket.destroy());
    });
  });
  proxy.on('proxyRes', (proxyRes) => {
    // Keep-Alive is hop-by-hop (RFC 9110 7.6.1): the client is told our timeout, not the
    // upstream's (Node adds none itself once a response has a Connection header, as proxied
    // ones do). The upstream's goes back once the body is read: the agent reads it then.
    const upstreamHint = proxyRes.headers['keep-alive'];
    delete proxyRes.headers['keep-alive'];
    // Shutting down: the upstream's answer ends the client connection (it would keep it alive).
    if (settings.draining()) proxyRes.headers.connection = 'close';
    else if (!/\bclose\b/i.test(proxyRes.headers.connection ?? ''))
      proxyRes.headers['keep-alive'] = `timeout=${Math.floor(idleTimeoutMs / 1000)}`;
    proxyRes.once('end', () => {
      if (upstreamHint === undefined) delete proxyRes.headers['keep-alive'];
      else proxyRes.headers['keep-alive'] = upstreamHint;
    });
  });
  return { proxy, newAgent };
}
