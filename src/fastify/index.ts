import type { FastifyPluginAsync, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { type AdapterOptions, httpAuthentication, type Refusal, refusalOf } from '../http/adapter.js';
import { refusalResponse } from '../http/decision-response.js';
import { metricsAnswer, type OperatorAnswer, readinessAnswer } from '../http/operator-answers.js';
import { PLAIN_TEXT } from '../http/responses.js';
import type { NtlmMetrics } from '../metrics/prometheus.js';
import type { ReadinessReport } from '../metrics/readiness.js';
import type { Authenticator, Decision } from '../session/authenticator.js';
import type { NtlmRequestInfo } from '../types.js';
import { appLogs, RequestLogger } from './fastify-logger.js';

export type { Refusal } from '../http/adapter.js';

/**
 * Your page for a refusal (401, 403, 503), called with the status and headers (`WWW-Authenticate`,
 * `Retry-After`) already set on `reply`. Return the body, as a route handler does (a string,
 * a Buffer, an object for JSON; set its type with `reply.type()`), or send it yourself and
 * return `reply`. Returning nothing, or throwing, sends our plain-text answer.
 */
export type FastifyRefusalHandler = (
  request: FastifyRequest,
  reply: FastifyReply,
  refusal: Refusal,
) => unknown;

/** The plugin's options: those of `ntlm()`, with refusal handlers of Fastify's signature. */
export type NtlmFastifyOptions = AdapterOptions<FastifyRefusalHandler>;

/** What the plugin adds to the Fastify instance as `app.ntlm`. */
export interface NtlmFastify {
  /**
   * Logs the request's user out: revokes its Bearer token (if any) and forgets the identity of its
   * connection; pass `reply` to clear the token cookie too. Resolves false when a shared store did
   * not take the revocation yet (this process refuses the token at once).
   */
  logout(request: FastifyRequest, reply?: FastifyReply): Promise<boolean>;
  /** Readiness: whether a DC (or the Netlogon channel), and the store when it is Redis, answer now. */
  ready(): Promise<ReadinessReport>;
  /**
   * A route handler answering readiness as the gateway does: 200 or 503, JSON with the names
   * checked. Register it with `config: { ntlm: false }`, so that probes need no logon.
   */
  readonly readyHandler: RouteHandlerMethod;
  /** With `metrics` on: the registry and its text (see NtlmMetrics). */
  readonly metrics: NtlmMetrics | undefined;
  /** A route handler serving the metrics (404 when `metrics` is off); register it with `config: { ntlm: false }`. */
  readonly metricsHandler: RouteHandlerMethod;
  /** The authenticator behind it. */
  readonly authenticator: Authenticator;
}

declare module 'fastify' {
  interface FastifyInstance {
    ntlm: NtlmFastify;
  }
  interface FastifyRequest {
    /** The verified identity of this request, set by the ntlm-sso plugin. */
    ntlm?: NtlmRequestInfo;
  }
  interface FastifyContextConfig {
    /** `false`: this route is answered without authentication (readiness, metrics, public assets). */
    ntlm?: boolean;
  }
}

/** Fastify's own register options: not ntlm-sso's to check. */
const REGISTER_OPTIONS = new Set(['prefix', 'logLevel', 'logSerializers']);

const send = (reply: FastifyReply, answer: OperatorAnswer) =>
  reply.code(answer.status).type(answer.contentType).header('Cache-Control', 'no-store').send(answer.body);

/**
 * Windows single sign-on for a Fastify app, as `ntlm()` does it for Express: an `onRequest` hook
 * runs the handshake once per TCP connection (the state is keyed by `request.raw.socket`), then
 * lets every request on it through with `request.ntlm` and X-Ntlm-* headers set. Registered with
 * fastify-plugin so that the hook covers the whole app, not one encapsulated context. Refusals
 * are sent through `reply`, so the app's onSend and onResponse hooks see them.
 */
const plugin: FastifyPluginAsync<NtlmFastifyOptions> = async (app, registered) => {
  const options = Object.fromEntries(
    Object.entries(registered).filter(([key]) => !REGISTER_OPTIONS.has(key)),
  ) as NtlmFastifyOptions;
  // Without a logger of its own, ntlm-sso logs where the app does: request lines through
  // request.log (with its reqId), the others (DC transitions, readiness) through app.log.
  const usesAppLogger = options.logger === undefined ? appLogs(app) : options.logger === app.log;
  const auth = httpAuthentication<FastifyRefusalHandler>({
    ...options,
    logger: usesAppLogger ? app.log : options.logger,
  });
  const debugLines = auth.options.debug >= 1;
  const { setUser } = auth.options;
  if (setUser && !app.hasRequestDecorator('user')) app.decorateRequest('user', undefined);
  app.decorateRequest('ntlm', undefined);

  const readyHandler: RouteHandlerMethod = async (_request, reply) =>
    send(reply, await readinessAnswer(() => auth.authenticator.ready(), auth.options.logger));
  const metricsHandler: RouteHandlerMethod = async (_request, reply) =>
    send(reply, await metricsAnswer(auth.authenticator.metrics));
  app.decorate('ntlm', {
    authenticator: auth.authenticator,
    logout: (request: FastifyRequest, reply?: FastifyReply) => {
      if (auth.logoutCookie && reply && !reply.sent) reply.header('Set-Cookie', auth.logoutCookie);
      return auth.logout(request.raw, request.ntlm);
    },
    ready: () => auth.authenticator.ready(),
    readyHandler,
    metrics: auth.authenticator.metrics,
    metricsHandler,
  } satisfies NtlmFastify);

  /** Our status and headers always; the body from the application's handler, if it has one. */
  const refuse = async (
    request: FastifyRequest,
    reply: FastifyReply,
    decision: Exclude<Decision, { kind: 'pass' | 'next' }>,
  ) => {
    const response = refusalResponse(decision);
    const headers = response.headers as Record<string, string | string[]>;
    const handler = auth.handlers[response.status];
    if (handler) {
      reply.code(response.status).headers(headers);
      try {
        const body = await handler(request, reply, refusalOf(decision, response));
        if (body === reply) return reply;
        if (body !== undefined) return reply.code(response.status).headers(headers).send(body);
      } catch (error) {
        auth.handlerFailed(response, error);
      }
    }
    return reply.code(response.status).headers(headers).type(PLAIN_TEXT).send(response.body);
  };

  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.ntlm === false) return;
    const logger = usesAppLogger ? new RequestLogger(request.log, debugLines) : undefined;
    const decision = await auth.decide(request.raw, logger);
    switch (decision.kind) {
      case 'pass':
        // Fastify's reply.header appends to Set-Cookie and replaces any other header.
        auth.pass(decision, request.raw, {
          get: (name) => reply.getHeader(name),
          set: (name, value) => reply.header(name, value),
          append: (name, value) => reply.header(name, value),
        });
        request.ntlm = decision.info;
        if (setUser) (request as FastifyRequest & { user?: NtlmRequestInfo }).user = decision.info;
        return;
      case 'next':
        return;
      default:
        return refuse(request, reply, decision);
    }
  });
  app.addHook('onClose', () => auth.close());
};

export const ntlmPlugin = fastifyPlugin(plugin, { fastify: '5.x', name: 'ntlm-sso' });
export default ntlmPlugin;
