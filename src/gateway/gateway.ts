import type http from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { stripClientIdentityHeaders } from '../http/identity-headers.js';
import { type NtlmMiddleware, ntlm } from '../http/middleware.js';
import { sendText } from '../http/responses.js';
import { promClientAvailable } from '../metrics/prometheus.js';
import { clientAddress } from '../net/client-address.js';
import type { Gateway, GatewayOptions } from '../types.js';
import { assignRequestId, logAccess } from './access-log.js';
import { createClientServer } from './client-server.js';
import { ConnectionShares } from './connection-shares.js';
import { setForwardingHeaders } from './forwarded-headers.js';
import { GatewayMetrics } from './gateway-metrics.js';
import { type GatewaySettings, resolveGatewayOptions } from './gateway-settings.js';
import { GracefulShutdown } from './graceful-shutdown.js';
import { operatorEndpoints } from './operator-endpoints.js';
import { PinnedUpstreams } from './pinned-upstreams.js';
import { readRequestTarget } from './request-target.js';
import { createForwarder, type Forward } from './upstream-forwarder.js';
import { prepareUpstreamRequest } from './upstream-headers.js';
import { createUpstreamProxy } from './upstream-proxy.js';
import { websocketUpgrades } from './websocket-upgrades.js';

/**
 * Header mode's middleware, with the authentication metrics when they can be served; and the
 * gateway's own request metrics on the same registry.
 */
function authentication(settings: GatewaySettings, options: GatewayOptions) {
  const metricsOn = settings.metricsPath !== false && promClientAvailable();
  if (settings.metricsPath !== false && !metricsOn)
    settings.logger.warn(
      `metrics off: prom-client is not installed (npm install prom-client); ${settings.metricsPath} answers 404`,
    );
  const auth =
    settings.mode === 'header'
      ? ntlm({
          logger: settings.logger,
          // Handshake shares count the client a --trusted-proxy forwards, as the gateway does.
          trustedProxies: options.trustedProxies,
          ...(metricsOn ? { metrics: { defaultMetrics: true } } : {}),
          ...options.auth!,
        })
      : undefined;
  const metrics = metricsOn ? new GatewayMetrics(auth?.metrics?.registry) : undefined;
  return { auth, metrics };
}

function listen(server: http.Server, port: number, host: string | undefined): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** `run` on the first call; every call returns its one promise (close() twice closes once). */
function once(run: () => Promise<void>): () => Promise<void> {
  let started: Promise<void> | undefined;
  return () => {
    started ??= run();
    return started;
  };
}

/** What the request path needs of the gateway. */
interface RequestPathParts {
  readonly settings: GatewaySettings;
  readonly tls: boolean;
  readonly shares: ConnectionShares;
  readonly shutdown: GracefulShutdown;
  readonly endpoints: ReturnType<typeof operatorEndpoints>;
  readonly metrics: GatewayMetrics | undefined;
  readonly pins: PinnedUpstreams | undefined;
  readonly auth: NtlmMiddleware | undefined;
  readonly forward: Forward;
  readonly sharedAgent: http.Agent;
  readonly forwardAuthenticated: (req: http.IncomingMessage, socket: Socket) => void;
}

/**
 * Every request: a request id, an access line, the gateway's own endpoints, then upstream. In
 * pass-through mode on the client connection's pin; in header mode once the middleware let it
 * through, with who it is from.
 */
function requestPath(parts: RequestPathParts): http.RequestListener {
  const { settings, tls, shares, shutdown, endpoints, metrics, pins, auth, forward, sharedAgent } = parts;
  const { logger, trusted } = settings;
  return (req, res) => {
    // Answered 503 on arrival (ConnectionShares): nothing it sends is served.
    if (shares.refused(req.socket)) return void req.resume();
    const requestId = assignRequestId(req, trusted);
    res.setHeader('X-Request-Id', requestId);
    const client = clientAddress(req, trusted);
    if (settings.accessLog) logAccess(req, res, { logger, requestId, client, quiet: endpoints.isPoll(req) });
    if (metrics) res.once('close', () => metrics.request(res.statusCode));
    shutdown.requestStarted(req, res);
    const target = readRequestTarget(req);
    // OPTIONS * asks about the server as a whole (RFC 9110 9.3.7), which the gateway is to its clients.
    if (target === 'server') return sendText(res, 200, {}, '');
    if (target === 'unreadable')
      return sendText(res, 400, { Connection: 'close' }, 'Bad request: the request target is not a path.\n');
    if (endpoints.answer(req, res)) return;
    if (pins) {
      stripClientIdentityHeaders(req);
      const agent = pins.agentFor(req, res, client);
      if (!agent)
        return sendText(
          res,
          503,
          { 'Retry-After': '5', Connection: 'close' },
          'Too many logons in progress; try again shortly.\n',
        );
      setForwardingHeaders(req, trusted, tls);
      return forward(req, res, agent);
    }
    auth!(req, res, (error) => {
      if (error) {
        logger.error('gateway error', { reason: (error as Error).message });
        return sendText(res, 500, {}, 'Internal gateway error\n');
      }
      parts.forwardAuthenticated(req, req.socket);
      forward(req, res, sharedAgent);
    });
  };
}

/**
 * `operatorListen`: health, readiness and metrics on a plain-HTTP listener of their own, where only
 * operators reach it, and not on the public one. Access lines at debug, as polls are.
 */
function operatorListener(
  settings: GatewaySettings,
  endpoints: ReturnType<typeof operatorEndpoints>,
): http.Server | undefined {
  if (!settings.operatorListen) return undefined;
  const server = createServer(
    { headersTimeout: settings.headerTimeoutMs, requestTimeout: settings.headerTimeoutMs },
    (req, res) => {
      const requestId = assignRequestId(req, settings.trusted);
      res.setHeader('X-Request-Id', requestId);
      if (settings.accessLog)
        logAccess(req, res, {
          logger: settings.logger,
          requestId,
          client: req.socket.remoteAddress ?? '',
          quiet: true,
        });
      endpoints.operatorRequest(req, res);
    },
  );
  server.keepAliveTimeout = settings.idleTimeoutMs;
  return server;
}

/** A reverse proxy that puts Windows single sign-on in front of any HTTP upstream. */
export function createGateway(options: GatewayOptions): Gateway {
  const settings = resolveGatewayOptions(options);
  const { mode, logger, trusted, forward, pinning } = settings;
  const tls = Boolean(options.tls);
  const { auth, metrics } = authentication(settings, options);
  const upstreamSettings = {
    upstream: settings.upstream,
    tls: options.upstreamTls ?? {},
    timeoutMs: settings.upstreamTimeoutMs,
    sendTimeoutMs: settings.sendTimeoutMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    draining: () => shutdown.draining,
  };
  // http-proxy-3 for WebSocket upgrades; every other request on undici's Pool in header mode,
  // on node:http's client in pass-through mode (upstream-forwarder.ts says why).
  const { proxy, newAgent } = createUpstreamProxy(upstreamSettings, logger);
  // One keep-alive pool. In header mode it is everyone's: safe, because the upstream learns who
  // is asking from each request's headers only (its requests go on undici's Pool; this agent
  // names that route). In pass-through mode it carries only requests from connections that
  // never presented credentials.
  const sharedAgent = newAgent({ maxFreeSockets: 64 });
  const upstreamClient = createForwarder(upstreamSettings, logger, pinning ? undefined : sharedAgent);
  const pins = pinning
    ? new PinnedUpstreams(pinning, sharedAgent, newAgent, logger, (client) => shares.authenticated(client))
    : undefined;

  const endpoints = operatorEndpoints(settings, {
    auth,
    metrics,
    logger,
    state: () => ({
      draining: shutdown.draining,
      connections: shutdown.connectionCount,
      unauthenticated: shares.unauthenticatedCount,
      pinned: pins?.pinnedCount,
    }),
  });

  /** Header mode: a request the middleware let through goes upstream with who it is from. */
  const forwardAuthenticated = (req: http.IncomingMessage, socket: Socket) => {
    shares.authenticated(socket);
    prepareUpstreamRequest(req, forward);
    setForwardingHeaders(req, trusted, tls);
  };

  const server = createClientServer(
    {
      tls: options.tls,
      headerTimeoutMs: settings.headerTimeoutMs,
      maxHeaderBytes: settings.maxHeaderBytes,
      idleTimeoutMs: settings.idleTimeoutMs,
      maxClientConnections: settings.maxClientConnections,
    },
    (req, res) => onRequest(req, res),
  );
  const connectionEvent = tls ? 'secureConnection' : 'connection';
  const shares = new ConnectionShares(server, connectionEvent, settings.shares, trusted, logger);
  const shutdown = new GracefulShutdown(server, connectionEvent);
  const onRequest = requestPath({
    settings,
    tls,
    shares,
    shutdown,
    endpoints,
    metrics,
    pins,
    auth,
    forward: upstreamClient.forward,
    sharedAgent,
    forwardAuthenticated,
  });
  server.on(
    'upgrade',
    websocketUpgrades({ server, proxy, shares, shutdown, pins, auth, trusted, tls, forwardAuthenticated }),
  );

  const operatorServer = operatorListener(settings, endpoints);

  return {
    server,
    operatorServer,
    mode,
    listen: async (port, host) => {
      const { operatorListen } = settings;
      if (!operatorServer || !operatorListen) return listen(server, port, host);
      await listen(operatorServer, operatorListen.port, operatorListen.host);
      // Both or neither: a public port in use must not leave the operator listener behind.
      return listen(server, port, host).catch((error: unknown) => {
        operatorServer.close();
        throw error;
      });
    },
    close: once(async () => {
      await shutdown.drain(settings.shutdownTimeoutMs, logger);
      // Last: health says "draining" (503) there while the public listener drains.
      if (operatorServer?.listening) {
        const closed = new Promise((resolve) => operatorServer.close(resolve));
        operatorServer.closeAllConnections();
        await closed;
      }
      pins?.close();
      sharedAgent.destroy();
      await upstreamClient.close();
      proxy.close?.();
      await auth?.close();
    }),
  };
}
