import type http from 'node:http';
import type { NtlmMiddleware } from '../http/middleware.js';
import { readinessAnswer } from '../http/operator-answers.js';
import { JWKS_CACHE_CONTROL, sendJson, sendText } from '../http/responses.js';
import type { Logger } from '../types.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { GatewaySettings } from './gateway-settings.js';

/** What the endpoints report on: the gateway's moving parts, read when a request asks. */
export interface GatewayState {
  readonly draining: boolean;
  readonly connections: number;
  readonly unauthenticated: number;
  readonly pinned: number | undefined;
}

const isAt = (req: http.IncomingMessage, path: string | false) =>
  path !== false && (req.url === path || req.url?.startsWith(`${path}?`) === true);

/**
 * The gateway's own answers, never sent upstream: liveness (health), readiness, Prometheus
 * metrics (GET, no authentication: on the operator listener when `operatorListen` is set, else on
 * the public one) and, in header mode, POST logout and the JWKS (GET, no authentication: public
 * keys). `answer` returns false for every other request.
 */
export function operatorEndpoints(
  settings: GatewaySettings,
  parts: {
    readonly auth: NtlmMiddleware | undefined;
    readonly metrics: GatewayMetrics | undefined;
    readonly state: () => GatewayState;
    readonly logger: Logger;
  },
) {
  const { auth, metrics, logger } = parts;

  const health = (res: http.ServerResponse) => {
    const { draining, connections, unauthenticated, pinned } = parts.state();
    sendJson(res, draining ? 503 : 200, {
      status: draining ? 'draining' : 'ok',
      mode: settings.mode,
      connections,
      unauthenticated,
      pinned,
    });
  };

  /**
   * Readiness: the shared answer of auth.ready(), Fastify's and Koa's handlers (header mode; pass-through
   * has nothing of its own to wait for), and 503 while draining.
   */
  const ready = (res: http.ServerResponse) => {
    if (parts.state().draining) return sendJson(res, 503, { status: 'draining' });
    const report = auth ? auth.ready : async () => ({ ready: true, checks: [] });
    void readinessAnswer(report, logger).then(({ status, contentType, body }) => {
      res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
      res.end(body);
    });
  };

  const logout = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.method !== 'POST') return sendText(res, 405, { Allow: 'POST' }, 'Use POST to log out\n');
    // Only who is logged in can log out; the middleware answers everyone else with a challenge.
    auth!(req, res, () => {
      // The session ends here whatever the shared store says (it gets the revocation later).
      void auth!.logout(req, res).then(() => sendJson(res, 200, { loggedOut: req.ntlm!.remoteUser }));
    });
  };

  const isPoll = (req: http.IncomingMessage) =>
    (req.method === 'GET' || req.method === 'HEAD') &&
    (isAt(req, settings.healthPath) || isAt(req, settings.readyPath) || isAt(req, settings.metricsPath));
  const poll = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (isAt(req, settings.healthPath)) health(res);
    else if (isAt(req, settings.readyPath)) ready(res);
    else if (metrics) metrics.serve(res);
    else sendText(res, 404, {}, 'Metrics are off: prom-client is not installed.\n');
  };
  // With an operator listener, the public one knows nothing of the polls: they go upstream.
  const pollsHere = settings.operatorListen === undefined;

  return {
    /** A health, readiness or metrics poll the public listener answers: logged quietly. */
    isPoll: (req: http.IncomingMessage) => pollsHere && isPoll(req),
    /** Answers a public request if it is one of ours (the polls, unless they have a listener of their own; logout); false otherwise. */
    answer(req: http.IncomingMessage, res: http.ServerResponse): boolean {
      if (pollsHere && isPoll(req)) {
        poll(req, res);
        return true;
      }
      if (auth && (req.method === 'GET' || req.method === 'HEAD') && isAt(req, settings.jwksPath)) {
        sendJson(res, 200, auth.jwks(), JWKS_CACHE_CONTROL);
        return true;
      }
      if (auth && isAt(req, settings.logoutPath)) {
        logout(req, res);
        return true;
      }
      return false;
    },
    /** The operator listener (`operatorListen`): the polls, and 404 for anything else. */
    operatorRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
      if (isPoll(req)) poll(req, res);
      else
        sendText(
          res,
          404,
          {},
          'Not found: this listener answers the health, readiness and metrics paths only.\n',
        );
    },
  };
}
