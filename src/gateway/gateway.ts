import type http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { stripClientIdentityHeaders } from '../http/identity-headers.js';
import { ntlm } from '../http/middleware.js';
import { sendText } from '../http/responses.js';
import { promClientAvailable } from '../metrics/prometheus.js';
import { clientAddress } from '../session/client-address.js';
import type { Gateway, GatewayOptions } from '../types.js';
import { assignRequestId, logAccess } from './access-log.js';
import { createClientServer } from './client-server.js';
import { ConnectionShares } from './connection-shares.js';
import { setForwardingHeaders } from './forwarded-headers.js';
import { GatewayMetrics } from './gateway-metrics.js';
import { resolveGatewayOptions } from './gateway-settings.js';
import { GracefulShutdown } from './graceful-shutdown.js';
import { PinnedUpstreams } from './pinned-upstreams.js';
import { prepareUpstreamRequest } from './upstream-headers.js';
import { createUpstreamProxy } from './upstream-proxy.js';
import { websocketUpgrades } from './websocket-upgrades.js';

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
