import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NtlmMetrics } from '../metrics/prometheus.js';
import type { ReadinessReport } from '../metrics/readiness.js';
import type { Authenticator, Decision } from '../session/authenticator.js';
import type { JsonWebKeySet, NtlmOptions, NtlmRequestInfo } from '../types.js';
import { httpAuthentication, type ResponseHeaders, refusalOf } from './adapter.js';
import { type PlainResponse, refusalResponse } from './decision-response.js';
import { JWKS_CACHE_CONTROL, sendJson, sendPlain } from './responses.js';

export { createAuthenticator } from '../compose.js';

declare module 'node:http' {
  interface IncomingMessage {
    /** The verified identity of this request's connection, set by the ntlm() middleware. */
    ntlm?: NtlmRequestInfo;
  }
}

export type NextFunction = (error?: unknown) => void;

/** A Connect/Express middleware that also works as a plain node:http handler with a `next` of your own. */
export interface NtlmMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: NextFunction): void;
  /** Releases what the verifier pools (LDAP connections, secure channels). Call on shutdown. */
  close(): Promise<void>;
  /**
   * Logs the request's user out: revokes its Bearer token (if any) until it expires, and forgets
   * the identity of its connection, so that the next request must authenticate again. Pass `res`
   * to clear the token cookie too. Resolves false when a shared store did not take the revocation
   * yet (this process refuses the token at once; the store gets it when it answers).
   */
  logout(req: IncomingMessage, res?: ServerResponse): Promise<boolean>;
  /** The authenticator behind it, shared with other adapters (the gateway). */
  readonly authenticator: Authenticator;
  /** With `metrics` on: the registry, its text, and a handler serving it (`app.get('/metrics', auth.metrics.handler)`). */
  readonly metrics: NtlmMetrics | undefined;
  /** Readiness: whether a DC (or the Netlogon channel), and the store when it is Redis, answer now. */
  ready(): Promise<ReadinessReport>;
  /**
   * The public keys that check the Bearer tokens (asymmetric `bearer.keys` only, never a secret),
   * as a JWK Set; also served at `bearer.jwksPath` when set.
   */
  jwks(): JsonWebKeySet;
}

/** A ServerResponse's headers as the shared adapter code writes them (a class: no closures per request). */
class ServerResponseHeaders implements ResponseHeaders {
  constructor(private readonly res: ServerResponse) {}
  get(name: string): unknown {
    return this.res.getHeader(name);
  }
  set(name: string, value: string): void {
    this.res.setHeader(name, value);
  }
  append(name: string, value: string): void {
    this.res.appendHeader(name, value);
  }
}

/**
 * Windows single sign-on for one HTTP server (Express 4/5, Connect, node:http): runs the
 * handshake once per TCP connection, then lets every request on that connection through with
 * `req.ntlm` and X-Ntlm-* headers set. The decisions are the Authenticator's; this only
 * translates them into node:http responses.
 */
export function ntlm(userOptions: NtlmOptions): NtlmMiddleware {
  const auth = httpAuthentication(userOptions);

  const apply = (decision: Decision, req: IncomingMessage, res: ServerResponse, next: NextFunction) => {
    switch (decision.kind) {
      case 'pass': {
        auth.pass(decision, req, new ServerResponseHeaders(res));
        // An own property, as passport makes it: code that logs out with `delete req.user` must
        // see it go (an accessor would keep it; see request-property.ts).
        if (auth.options.setUser) (req as IncomingMessage & { user?: NtlmRequestInfo }).user = decision.info;
        // Express renders templates with res.locals: the identity is there too.
        const locals = (res as ServerResponse & { locals?: Record<string, unknown> }).locals;
        if (locals) locals.ntlm = decision.info;
        next();
        return;
      }
      case 'next':
        next();
        return;
      default:
        refuse(refusalResponse(decision), decision, req, res);
    }
  };

  /** A refusal: our status and headers always; the body from the application's handler, if it has one. */
  const refuse = (response: PlainResponse, decision: Decision, req: IncomingMessage, res: ServerResponse) => {
    const handler = auth.handlers[response.status];
    if (!handler || res.headersSent) return sendPlain(res, response);
    res.statusCode = response.status;
    for (const [name, value] of Object.entries(response.headers))
      res.setHeader(name, value as string | string[]);
    try {
      handler(req, res, refusalOf(decision, response));
    } catch (error) {
      auth.handlerFailed(response, error);
      sendPlain(res, response);
    }
  };

  const middleware = ((req: IncomingMessage, res: ServerResponse, next: NextFunction): void => {
    if (auth.isJwksRequest(req)) {
      sendJson(res, 200, auth.authenticator.jwks(), JWKS_CACHE_CONTROL);
      return;
    }
    let decision: Decision | Promise<Decision>;
    try {
      decision = auth.decide(req);
    } catch (error) {
      next(error);
      return;
    }
    if ('then' in decision) decision.then((settled) => apply(settled, req, res, next), next);
    else apply(decision, req, res, next);
  }) as NtlmMiddleware;

  middleware.logout = async (req: IncomingMessage, res?: ServerResponse) => {
    if (auth.logoutCookie && res && !res.headersSent) res.appendHeader('Set-Cookie', auth.logoutCookie);
    return auth.logout(req, req.ntlm);
  };
  middleware.close = () => auth.close();
  Object.defineProperty(middleware, 'authenticator', { value: auth.authenticator });
  Object.defineProperty(middleware, 'metrics', { value: auth.authenticator.metrics });
  middleware.ready = () => auth.authenticator.ready();
  middleware.jwks = () => auth.authenticator.jwks();
  return middleware;
}
