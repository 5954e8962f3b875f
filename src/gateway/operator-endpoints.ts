import type http from 'node:http';
import type { NtlmMiddleware } from '../http/middleware.js';
import { readinessAnswer } from '../http/operator-answers.js';
import { sendText } from '../http/responses.js';
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

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

const isAt = (req: http.IncomingMessage, path: string | false) =>
  path !== false && (req.url === path || req.url?.startsWith(`${path}?`) === true);

/**
 * The gateway's own answers, never sent upstream: liveness (health), readiness, Prometheus
 * metrics (GET, no authentication: listen where only operators reach them) and, in header mode,
 * POST logout. `answer` returns false for every other request.
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

  return {
    /** A health, readiness or metrics poll: logged quietly, answered here. */
    isPoll: (req: http.IncomingMessage) =>
      (req.method === 'GET' || req.method === 'HEAD') &&
      (isAt(req, settings.healthPath) || isAt(req, settings.readyPath) || isAt(req, settings.metricsPath)),
    /** Answers the request if it is one of ours; false otherwise. */
    answer(req: http.IncomingMessage, res: http.ServerResponse): boolean {
      if (this.isPoll(req)) {
        if (isAt(req, settings.healthPath)) health(res);
        else if (isAt(req, settings.readyPath)) ready(res);
        else if (metrics) metrics.serve(res);
        else sendText(res, 404, {}, 'Metrics are off: prom-client is not installed.\n');
        return true;
      }
      if (auth && isAt(req, settings.logoutPath)) {
        logout(req, res);
        return true;
      }
      return false;
    },
  };
}
