import type http from 'node:http';
import type https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { stripClientIdentityHeaders } from '../http/identity-headers.js';
import { ntlm } from '../http/middleware.js';
import { sendText } from '../http/responses.js';
import { promClientAvailable } from '../metrics/prometheus.js';
import { clientAddress } from '../session/client-address.js';
import type { Logger, NtlmOptions } from '../types.js';
import { assignRequestId, logAccess } from './access-log.js';
import { createClientServer } from './client-server.js';
import { ConnectionShares } from './connection-shares.js';
import { setForwardingHeaders } from './forwarded-headers.js';
import { GatewayMetrics } from './gateway-metrics.js';
import { resolveGatewayOptions } from './gateway-settings.js';
import { GracefulShutdown } from './graceful-shutdown.js';
import { PinnedUpstreams, type PinningLimits } from './pinned-upstreams.js';
import { prepareUpstreamRequest } from './upstream-headers.js';
import { createUpstreamProxy } from './upstream-proxy.js';
import { websocketUpgrades } from './websocket-upgrades.js';

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
   * Readiness, answered without authentication: 200 while logons can be decided (a DC, the
   * Netlogon channel, and Redis when configured, answer), 503 otherwise and while shutting down.
   * `false` turns it off. @default '/.ntlm-sso/ready'
   */
  readyPath?: string | false;
  /**
   * Prometheus metrics, answered without authentication (listen where only your scraper can
   * reach it, or turn it off): header mode's authentication metrics, the gateway's requests and
   * Node's process metrics. Needs prom-client; without it the path answers 404 and the start-up
   * log says why. `false` turns it off. @default '/.ntlm-sso/metrics'
   */
  metricsPath?: string | false;
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

/** A reverse proxy that puts Windows single sign-on in front of any HTTP upstream. */
export function createGateway(options: GatewayOptions): Gateway {
  const settings = resolveGatewayOptions(options);
  const { mode, logger, trusted, forward, pinning } = settings;
  const tls = Boolean(options.tls);
  const metricsOn = settings.metricsPath !== false && promClientAvailable();
  if (settings.metricsPath !== false && !metricsOn)
    logger.warn(
      `metrics off: prom-client is not installed (npm install prom-client); ${settings.metricsPath} answers 404`,
    );
  const auth =
    mode === 'header'
      ? ntlm({ logger, ...(metricsOn ? { metrics: { defaultMetrics: true } } : {}), ...options.auth! })
      : undefined;
  const metrics = metricsOn ? new GatewayMetrics(auth?.metrics?.registry) : undefined;
  const { proxy, newAgent } = createUpstreamProxy(
    {
      upstream: settings.upstream,
      tls: options.upstreamTls ?? {},
      timeoutMs: settings.upstreamTimeoutMs,
      idleTimeoutMs: settings.idleTimeoutMs,
      draining: () => shutdown.draining,
    },
    logger,
  );
  // One keep-alive pool. In header mode it is everyone's: safe, because the upstream learns who
  // is asking from each request's headers only. In pass-through mode it carries only requests
  // from connections that never presented credentials.
  const sharedAgent = newAgent({ maxFreeSockets: 64 });
  const pins = pinning
    ? new PinnedUpstreams(pinning, sharedAgent, newAgent, logger, (client) => shares.authenticated(client))
    : undefined;

  const isAt = (req: http.IncomingMessage, path: string | false) =>
    path !== false && (req.url === path || req.url?.startsWith(`${path}?`) === true);

  const health = (res: http.ServerResponse) => {
    const { draining } = shutdown;
    res.writeHead(draining ? 503 : 200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(
      JSON.stringify({
        status: draining ? 'draining' : 'ok',
        mode,
        connections: shutdown.connectionCount,
        unauthenticated: shares.unauthenticatedCount,
        pinned: pins?.pinnedCount,
      }),
    );
  };

  /** Readiness: the authenticator's probe in header mode (pass-through has nothing of its own to wait for). */
  const ready = (res: http.ServerResponse) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (shutdown.draining) return answer(503, { status: 'draining' });
    if (!auth) return answer(200, { status: 'ready', checks: [] });
    auth.ready().then(
      (report) =>
        // Names and verdicts only: why a DC failed is in the log, not in an unauthenticated answer.
        answer(report.ready ? 200 : 503, {
          status: report.ready ? 'ready' : 'unavailable',
          checks: report.checks.map(({ name, ok }) => ({ name, ok })),
        }),
      (error: Error) => {
        logger.error('readiness check failed', { reason: error.message });
        answer(503, { status: 'unavailable', checks: [] });
      },
    );
  };

  const isOperatorPath = (req: http.IncomingMessage) =>
    (req.method === 'GET' || req.method === 'HEAD') &&
    (isAt(req, settings.healthPath) || isAt(req, settings.readyPath) || isAt(req, settings.metricsPath));

  const logout = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.method !== 'POST') return sendText(res, 405, { Allow: 'POST' }, 'Use POST to log out\n');
    // Only who is logged in can log out; the middleware answers everyone else with a challenge.
    auth!(req, res, () => {
      // The session ends here whatever the shared store says (it gets the revocation later).
      void auth!.logout(req, res).then(() => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        res.end(JSON.stringify({ loggedOut: req.ntlm!.remoteUser }));
      });
    });
  };

  /** Header mode: a request the middleware let through goes upstream with who it is from. */
  const forwardAuthenticated = (req: http.IncomingMessage, socket: Socket) => {
    shares.authenticated(socket);
    prepareUpstreamRequest(req, forward);
    setForwardingHeaders(req, trusted, tls);
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    // Answered 503 on arrival (ConnectionShares): nothing it sends is served.
    if (shares.refused(req.socket)) return void req.resume();
    const requestId = assignRequestId(req, trusted);
    res.setHeader('X-Request-Id', requestId);
    const operatorPath = isOperatorPath(req);
    logAccess(req, res, { logger, requestId, client: clientAddress(req, trusted), quiet: operatorPath });
    if (metrics) res.once('close', () => metrics.request(res.statusCode));
    shutdown.requestStarted(req, res);
    if (operatorPath) {
      if (isAt(req, settings.healthPath)) return health(res);
      if (isAt(req, settings.readyPath)) return ready(res);
      if (metrics) return metrics.serve(res);
      return sendText(res, 404, {}, 'Metrics are off: prom-client is not installed.\n');
    }
    if (auth && isAt(req, settings.logoutPath)) return logout(req, res);
    if (pins) {
      stripClientIdentityHeaders(req);
      const agent = pins.agentFor(req, res, clientAddress(req, trusted));
      if (!agent)
        return sendText(
          res,
          503,
          { 'Retry-After': '5', Connection: 'close' },
          'Too many logons in progress; try again shortly.\n',
        );
      setForwardingHeaders(req, trusted, tls);
      return void proxy.web(req, res, { agent });
    }
    auth!(req, res, (error) => {
      if (error) {
        logger.error('gateway error', { reason: (error as Error).message });
        return sendText(res, 500, {}, 'Internal gateway error\n');
      }
      forwardAuthenticated(req, req.socket);
      proxy.web(req, res, { agent: sharedAgent });
    });
  };

  const server = createClientServer(
    {
      tls: options.tls,
      headerTimeoutMs: settings.headerTimeoutMs,
      idleTimeoutMs: settings.idleTimeoutMs,
      maxClientConnections: settings.maxClientConnections,
    },
    onRequest,
  );
  const connectionEvent = tls ? 'secureConnection' : 'connection';
  const shares = new ConnectionShares(server, connectionEvent, settings.maxUnauthenticated, logger);
  const shutdown = new GracefulShutdown(server, connectionEvent);
  server.on(
    'upgrade',
    websocketUpgrades({ server, proxy, shares, shutdown, pins, auth, trusted, tls, forwardAuthenticated }),
  );

  let closing: Promise<void> | undefined;
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
      closing ??= (async () => {
        await shutdown.drain(settings.shutdownTimeoutMs, logger);
        pins?.close();
        sharedAgent.destroy();
        proxy.close?.();
        await auth?.close();
      })();
      return closing;
    },
  };
}
