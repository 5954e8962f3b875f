import type { Context, Middleware } from 'koa';
import { type AdapterOptions, httpAuthentication, type Refusal, refusalOf } from '../http/adapter.js';
import { refusalResponse } from '../http/decision-response.js';
import { metricsAnswer, type OperatorAnswer, readinessAnswer } from '../http/operator-answers.js';
import { PLAIN_TEXT } from '../http/responses.js';
import type { NtlmMetrics } from '../metrics/prometheus.js';
import type { ReadinessReport } from '../metrics/readiness.js';
import type { Authenticator, Decision } from '../session/authenticator.js';
import type { NtlmRequestInfo } from '../types.js';

export type { Refusal } from '../http/adapter.js';

declare module 'koa' {
  interface DefaultState {
    /** The verified identity of this request, set by the ntlm-sso middleware. */
    ntlm?: NtlmRequestInfo;
  }
}

/**
 * Your page for a refusal (401, 403, 503): set `ctx.body` (and `ctx.type`). The status and
 * headers (`WWW-Authenticate`, `Retry-After`) are ours, set again after it returns; leaving the
 * body unset, or throwing, sends our plain-text answer.
 */
export type KoaRefusalHandler = (ctx: Context, refusal: Refusal) => void | Promise<void>;

/** The middleware's options: those of `ntlm()`, with refusal handlers of Koa's signature. */
export type NtlmKoaOptions = AdapterOptions<KoaRefusalHandler>;

/** Koa middleware with the same extras as the Express one. */
export interface NtlmKoaMiddleware extends Middleware {
  /**
   * Logs the request's user out: revokes its Bearer token (if any), forgets the identity of its
   * connection and clears the token cookie. Resolves false when a shared store did not take the
   * revocation yet (this process refuses the token at once).
   */
  logout(ctx: Context): Promise<boolean>;
  /** Releases what the verifier pools (LDAP connections, secure channels). Call on shutdown. */
  close(): Promise<void>;
  /** Readiness: whether a DC (or the Netlogon channel), and the store when it is Redis, answer now. */
  ready(): Promise<ReadinessReport>;
  /**
   * Middleware answering readiness as the gateway does (200 or 503, JSON with the names
   * checked); use it ahead of this middleware, so that probes need no logon.
   */
  readonly readyHandler: Middleware;
  /** With `metrics` on: the registry and its text (see NtlmMetrics). */
  readonly metrics: NtlmMetrics | undefined;
  /** Middleware serving the metrics (404 when `metrics` is off); ahead of this middleware, as `readyHandler`. */
  readonly metricsHandler: Middleware;
  /** The authenticator behind it. */
  readonly authenticator: Authenticator;
}

function answer(ctx: Context, reply: OperatorAnswer): void {
  ctx.status = reply.status;
  ctx.type = reply.contentType;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = reply.body;
}

/**
 * Windows single sign-on for a Koa app, as `ntlm()` does it for Express: runs the handshake once
 * per TCP connection, then lets every request on it through with `ctx.state.ntlm` and X-Ntlm-*
 * request headers set.
 */
export function ntlm(options: NtlmKoaOptions): NtlmKoaMiddleware {
  const auth = httpAuthentication<KoaRefusalHandler>(options);
  const { setUser } = auth.options;

  /** Our status and headers always; the body from the application's handler, if it has one. */
  const refuse = async (ctx: Context, decision: Exclude<Decision, { kind: 'pass' | 'next' }>) => {
    const response = refusalResponse(decision);
    const headers = response.headers as Record<string, string | string[]>;
    const ours = () => {
      ctx.status = response.status;
      ctx.set(headers);
    };
    ours();
    const handler = auth.handlers[response.status];
    if (handler) {
      try {
        await handler(ctx, refusalOf(decision, response));
        if (ctx.body !== undefined && ctx.body !== null) return ours();
      } catch (error) {
        auth.handlerFailed(response, error);
        ours();
      }
    }
    ctx.type = PLAIN_TEXT;
    ctx.body = response.body;
  };

  const middleware = (async (ctx, next) => {
    const decision = await auth.decide(ctx.req);
    switch (decision.kind) {
      case 'pass':
        auth.pass(decision, ctx.req, {
          get: (name) => ctx.response.get(name),
          set: (name, value) => ctx.set(name, value),
          append: (name, value) => ctx.append(name, value),
        });
        ctx.state.ntlm = decision.info;
        if (setUser) ctx.state.user = decision.info;
        return next();
      case 'next':
        return next();
      default:
        return refuse(ctx, decision);
    }
  }) as NtlmKoaMiddleware;

  middleware.logout = (ctx: Context) => {
    if (auth.logoutCookie && !ctx.headerSent) ctx.append('Set-Cookie', auth.logoutCookie);
    return auth.logout(ctx.req, ctx.state.ntlm);
  };
  middleware.close = () => auth.close();
  middleware.ready = () => auth.authenticator.ready();
  Object.defineProperties(middleware, {
    authenticator: { value: auth.authenticator },
    metrics: { value: auth.authenticator.metrics },
    readyHandler: {
      value: (async (ctx) =>
        answer(ctx, await readinessAnswer(middleware.ready, auth.options.logger))) as Middleware,
    },
    metricsHandler: {
      value: (async (ctx) => answer(ctx, await metricsAnswer(auth.authenticator.metrics))) as Middleware,
    },
  });
  return middleware;
}

export default ntlm;
