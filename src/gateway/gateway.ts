import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { createProxyServer, type ServerOptions } from 'http-proxy-3';
import { ConfigurationError } from '../errors.js';
import { stripClientIdentityHeaders } from '../http/identity-headers.js';
import { type NtlmMiddleware, ntlm } from '../http/middleware.js';
import { sendText } from '../http/responses.js';
import { adaptLogger, consoleLogger, levelledLogger } from '../logger.js';
import { oneOf, positiveInteger } from '../options.js';
import { clientAddress, TrustedProxies } from '../session/client-address.js';
import type { Logger, NtlmOptions } from '../types.js';
import { ConnectionShares } from './connection-shares.js';
import { setForwardingHeaders } from './forwarded-headers.js';
import { GracefulShutdown } from './graceful-shutdown.js';
import { PinnedUpstreams, type PinningLimits } from './pinned-upstreams.js';
import { prepareUpstreamRequest } from './upstream-headers.js';

export type GatewayMode = 'header' | 'pass-through';

export interface GatewayOptions {
  /** Where requests go: `http://127.0.0.1:9000` or `https://app.internal`. */
  upstream: string | URL;
  /**
   * `header` (default): the gateway authenticates users and tells the upstream who they are in
   * X-Ntlm-* headers. `pass-through`: the upstream speaks NTLM itself (IIS); the gateway keeps
   * each client connection on its own upstream connection.
   */
  mode?: GatewayMode;
  /** Header mode: how users are authenticated; the options of `ntlm()` (a verifier at least). */
  auth?: NtlmOptions;
  /** Header mode: also send X-Ntlm-Groups (group names, comma-separated). @default false */
  forwardGroups?: boolean;
  /** Header mode: also send X-Ntlm-Token (the user's Bearer token). @default false */
  forwardToken?: boolean;
  /**
   * Pass-through mode: nginx-ntlm-module's limits. Defaults: 1000 connections, 60 s idle, 1 h,
   * 1000 requests; per client address a tenth of the connections (at least 4).
   */
  pinning?: Partial<PinningLimits>;
  /** Longest silence from the upstream (ms), then 504 (or a cut response). @default 60000 */
  upstreamTimeoutMs?: number;
  /** TLS options for an https:// upstream (`ca`, `servername`...). */
  upstreamTls?: https.AgentOptions;
  /** Answered by the gateway itself, without authentication; `false` turns it off. @default '/.ntlm-sso/health' */
  healthPath?: string | false;
  /**
   * Header mode: `POST` here logs the caller out (revokes their Bearer token, forgets the
   * connection's identity, clears the token cookie) instead of going upstream; `false` turns it off.
   * @default '/.ntlm-sso/logout'
   */
  logoutPath?: string | false;
  /** Listen with TLS (PEM `cert` and `key`). */
  tls?: SecureContextOptions;
  /** Client connections open at once; more are closed as they arrive (Node's server.maxConnections). @default 10000 */
  maxClientConnections?: number;
  /**
   * Of those, connections that have not authenticated (yet): beyond it a new connection is
   * answered 503 at once, so that silent or slow clients cannot take every slot.
   * @default half of maxClientConnections
   */
  maxUnauthenticatedConnections?: number;
  /**
   * A request's headers must arrive within this long (ms) of the connection opening (or of the
   * request's first byte on a kept-alive connection), else 408 and the connection is closed.
   * Also the TLS handshake's limit. @default 10000
   */
  headerTimeoutMs?: number;
  /**
   * Proxies in front of the gateway (addresses or networks: `10.0.0.5`, `10.0.0.0/8`). Their
   * X-Forwarded-* and Forwarded headers are kept and appended to, and the client address they
   * forward counts for per-client shares; everyone else's are replaced with what the gateway saw.
   * @default [] (nobody)
   */
  trustedProxies?: string[];
  /** On close(): how long in-flight requests may take before their connections are cut (ms). @default 10000 */
  shutdownTimeoutMs?: number;
  /** Where the gateway's own lines go (proxy errors, shutdown); header mode's `auth.logger` defaults to it. */
  logger?: Logger;
}

export interface Gateway {
  readonly server: http.Server;
  readonly mode: GatewayMode;
  /** Starts listening; resolves with the bound address. */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /**
   * Graceful shutdown: stops accepting connections, answers health checks with 503, lets
   * in-flight requests finish (up to `shutdownTimeoutMs`), then closes everything it holds.
   */
  close(): Promise<void>;
}

function upstreamUrl(value: string | URL): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(`gateway: upstream ${JSON.stringify(String(value))} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigurationError(`gateway: upstream must be http:// or https://, got ${url.protocol}`);
  return url;
}

/** nginx-ntlm-module's defaults, except 1000 connections rather than 100; a client's share is a tenth. */
function pinningLimits(pinning: Partial<PinningLimits> = {}): PinningLimits {
  const limit = (name: keyof PinningLimits, fallback: number) =>
    positiveInteger(pinning[name], `pinning.${name}`, fallback, 'gateway');
  const maxConnections = limit('maxConnections', 1000);
  return {
    maxConnections,
    maxConnectionsPerClient: limit(
      'maxConnectionsPerClient',
      Math.min(maxConnections, Math.max(4, Math.ceil(maxConnections / 10))),
    ),
    idleTimeoutMs: limit('idleTimeoutMs', 60_000),
    maxAgeMs: limit('maxAgeMs', 3_600_000),
    maxRequests: limit('maxRequests', 1000),
  };
}

/** A reverse proxy that puts Windows single sign-on in front of any HTTP upstream. */
export function createGateway(options: GatewayOptions): Gateway {
  const mode = oneOf(options.mode, 'mode', ['header', 'pass-through'] as const, 'header', 'gateway');
  const upstream = upstreamUrl(options.upstream);
  const logger = options.logger
    ? adaptLogger(options.logger)
    : levelledLogger(consoleLogger, options.auth?.debug ?? 0);
  const healthPath = options.healthPath === undefined ? '/.ntlm-sso/health' : options.healthPath;
  const logoutPath = options.logoutPath === undefined ? '/.ntlm-sso/logout' : options.logoutPath;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
  const forward = { groups: options.forwardGroups ?? false, token: options.forwardToken ?? false };
  const upstreamTls = options.upstreamTls ?? {};
  const trusted = new TrustedProxies(options.trustedProxies, 'gateway');
  const maxClientConnections = positiveInteger(
    options.maxClientConnections,
    'maxClientConnections',
    10_000,
    'gateway',
  );
  const maxUnauthenticated = positiveInteger(
    options.maxUnauthenticatedConnections,
    'maxUnauthenticatedConnections',
    Math.ceil(maxClientConnections / 2),
    'gateway',
  );
  const headerTimeoutMs = positiveInteger(options.headerTimeoutMs, 'headerTimeoutMs', 10_000, 'gateway');

  let auth: NtlmMiddleware | undefined;
  if (mode === 'header') {
    if (!options.auth) throw new ConfigurationError('gateway: header mode needs auth: { verifier, ... }');
    // Everything the gateway forwards must carry a verified identity.
    if (options.auth.otherSchemes === 'next')
      throw new ConfigurationError(
        'gateway: auth.otherSchemes "next" would let unauthenticated requests through',
      );
    auth = ntlm({ logger, ...options.auth });
  } else {
    if (options.auth)
      throw new ConfigurationError(
        'gateway: auth is for header mode; in pass-through mode the upstream authenticates',
      );
  }
  const Agent = upstream.protocol === 'https:' ? https.Agent : http.Agent;
  const pinning = mode === 'pass-through' ? pinningLimits(options.pinning) : undefined;
  // How long an idle connection is kept, client side and upstream side alike.
  const idleTimeoutMs = pinning?.idleTimeoutMs ?? options.auth?.connectionIdleTimeoutMs ?? 60_000;
  // `timeout` closes an idle upstream connection after idleTimeoutMs, or sooner when the upstream
  // announced a shorter Keep-Alive (Node retires it a second early), so that a request is not
  // sent on a connection the upstream is closing.
  const newAgent = (extra: http.AgentOptions) =>
    new Agent({ ...upstreamTls, keepAlive: true, timeout: idleTimeoutMs, ...extra });
  // One keep-alive pool. In header mode it is everyone's: safe, because the upstream learns who
  // is asking from each request's headers only. In pass-through mode it carries only requests
  // from connections that never presented credentials.
  const sharedAgent = newAgent({ maxFreeSockets: 64 });
  const pins = pinning
    ? new PinnedUpstreams(pinning, sharedAgent, newAgent, logger, (client) => shares.authenticated(client))
    : undefined;

  let closing: Promise<void> | undefined;

  const upstreamTimeoutMs = options.upstreamTimeoutMs ?? 60_000;
  // X-Forwarded-* are ours to write (setForwardingHeaders), not http-proxy's: it appends to the client's.
  const proxy = createProxyServer({ target: upstream, xfwd: false } satisfies ServerOptions);
  // Our own timeout rather than http-proxy's proxyTimeout, so that a silent upstream is told
  // apart from a broken one (504, not 502).
  proxy.on('proxyReq', (proxyReq) => {
    proxyReq.setTimeout(upstreamTimeoutMs, () => {
      const error = new Error(`no answer in ${upstreamTimeoutMs} ms`) as NodeJS.ErrnoException;
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
    if (shutdown.draining) proxyRes.headers.connection = 'close';
    else if (!/\bclose\b/i.test(proxyRes.headers.connection ?? ''))
      proxyRes.headers['keep-alive'] = `timeout=${Math.floor(idleTimeoutMs / 1000)}`;
    proxyRes.once('end', () => {
      if (upstreamHint === undefined) delete proxyRes.headers['keep-alive'];
      else proxyRes.headers['keep-alive'] = upstreamHint;
    });
  });

  const health = (res: http.ServerResponse) => {
    const { draining } = shutdown;
    const body = JSON.stringify({
      status: draining ? 'draining' : 'ok',
      mode,
      connections: shutdown.connectionCount,
      unauthenticated: shares.unauthenticatedCount,
      pinned: pins?.pinnedCount,
    });
    res.writeHead(draining ? 503 : 200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(body);
  };

  const isAt = (req: http.IncomingMessage, path: string | false) =>
    path !== false && (req.url === path || req.url?.startsWith(`${path}?`) === true);

  const logout = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.method !== 'POST') {
      sendText(res, 405, { Allow: 'POST' }, 'Use POST to log out\n');
      return;
    }
    // Only who is logged in can log out; the middleware answers everyone else with a challenge.
    auth!(req, res, () => {
      auth!.logout(req, res).then(
        () => {
          res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
          res.end(JSON.stringify({ loggedOut: req.ntlm!.remoteUser }));
        },
        (error: unknown) => {
          logger.error('logout failed', { reason: (error as Error).message });
          sendText(res, 503, {}, 'Logout failed: the token store did not answer\n');
        },
      );
    });
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    // Answered 503 on arrival (ConnectionShares): nothing it sends is served.
    if (shares.refused(req.socket)) return void req.resume();
    shutdown.requestStarted(req, res);
    if (isAt(req, healthPath) && (req.method === 'GET' || req.method === 'HEAD')) return health(res);
    if (auth && isAt(req, logoutPath)) return logout(req, res);
    if (pins) {
      stripClientIdentityHeaders(req);
      const agent = pins.agentFor(req, res, clientAddress(req, trusted));
      if (!agent) {
        sendText(
          res,
          503,
          { 'Retry-After': '5', Connection: 'close' },
          'Too many logons in progress; try again shortly.\n',
        );
        return;
      }
      setForwardingHeaders(req, trusted, Boolean(options.tls));
      proxy.web(req, res, { agent });
      return;
    }
    auth!(req, res, (error) => {
      if (error) {
        logger.error('gateway error', { reason: (error as Error).message });
        sendText(res, 500, {}, 'Internal gateway error\n');
        return;
      }
      shares.authenticated(req.socket);
      prepareUpstreamRequest(req, forward);
      setForwardingHeaders(req, trusted, Boolean(options.tls));
      proxy.web(req, res, { agent: sharedAgent });
    });
  };

  const tunnel = (req: http.IncomingMessage, socket: Socket, head: Buffer, agent: http.Agent | undefined) => {
    shutdown.tunnelOpened(socket);
    // A WebSocket has no use for half-open TCP: when the client is done, so is the tunnel, both
    // ways, whether or not the upstream closes its side.
    socket.once('end', () => socket.end());
    proxy.ws(req, socket, head, { agent });
  };

  const onUpgrade = (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => {});
    if (shares.refused(socket)) return;
    if (pins) {
      stripClientIdentityHeaders(req);
      setForwardingHeaders(req, trusted, Boolean(options.tls));
      tunnel(req, socket, head, pins.upgradeAgent(req));
      return;
    }
    // Run the middleware on the upgrade request with a response bound to its socket. If it lets
    // the request through, the socket becomes the tunnel. If it answers (a 401 leg of the
    // handshake, 403, 503), the socket goes back to the HTTP server, so that the next leg is
    // read from the same connection and the handshake completes on it.
    const res = new http.ServerResponse(req);
    res.assignSocket(socket);
    let tunnelled = false;
    res.once('finish', () => {
      if (tunnelled) return;
      res.detachSocket(socket);
      if (head.length > 0) socket.unshift(head);
      if (shutdown.draining || socket.destroyed) socket.destroy();
      // (A TLS server's HTTP layer listens on 'secureConnection'; 'connection' would start TLS again.)
      else server.emit(options.tls ? 'secureConnection' : 'connection', socket);
    });
    auth!(req, res, (error) => {
      if (error) {
        socket.destroy();
        return;
      }
      tunnelled = true;
      res.detachSocket(socket);
      shares.authenticated(socket);
      prepareUpstreamRequest(req, forward);
      setForwardingHeaders(req, trusted, Boolean(options.tls));
      tunnel(req, socket, head, undefined);
    });
  };

  // A request's headers get headerTimeoutMs (checked every second or so, not Node's 30 s); the
  // whole request, body included, Node's 5 minutes. Between requests a connection stays open as
  // long as the gateway remembers it (the idle timeout), not Node's 5 s keep-alive default:
  // every reconnect would cost an NTLM handshake.
  const serverOptions: http.ServerOptions = {
    headersTimeout: headerTimeoutMs,
    requestTimeout: Math.max(300_000, headerTimeoutMs),
    connectionsCheckingInterval: Math.min(1000, headerTimeoutMs),
  };
  const server = options.tls
    ? https.createServer({ ...options.tls, ...serverOptions, handshakeTimeout: headerTimeoutMs }, onRequest)
    : http.createServer(serverOptions, onRequest);
  server.keepAliveTimeout = idleTimeoutMs;
  server.on('upgrade', onUpgrade);
  server.maxConnections = maxClientConnections;
  const connectionEvent = options.tls ? 'secureConnection' : 'connection';
  const shares = new ConnectionShares(server, connectionEvent, maxUnauthenticated, logger);
  const shutdown = new GracefulShutdown(server, connectionEvent);
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    const status =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? '408 Request Timeout'
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    else socket.destroy();
  });

  return {
    server,
    mode,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    close: () => {
      closing ??= drain();
      return closing;
    },
  };

  async function drain(): Promise<void> {
    await shutdown.drain(shutdownTimeoutMs, logger);
    pins?.close();
    sharedAgent.destroy();
    proxy.close?.();
    await auth?.close();
  }
}
