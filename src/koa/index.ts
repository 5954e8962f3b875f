import type { Context, Middleware } from 'koa';
import { httpAuthentication } from '../http/adapter.js';
import { refusalResponse } from '../http/decision-response.js';
import { JWKS_CACHE_CONTROL, PLAIN_TEXT } from '../http/responses.js';
import type { Authenticator } from '../session/authenticator.js';
import type { JsonWebKeySet, NtlmOptions, NtlmRequestInfo } from '../types.js';

declare module 'koa' {
  interface DefaultState {
    /** The verified identity of this request, set by the ntlm-sso middleware. */
    ntlm?: NtlmRequestInfo;
  }
}

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
  /** The public keys that check the Bearer tokens, as a JWK Set (see `bearer.jwksPath`). */
  jwks(): JsonWebKeySet;
  /** The authenticator behind it. */
  readonly authenticator: Authenticator;
}

/**
 * Windows single sign-on for a Koa app, as `ntlm()` does it for Express: runs the handshake once
 * per TCP connection, then lets every request on it through with `ctx.state.ntlm` and X-Ntlm-*
 * request headers set.
 */
export function ntlm(options: NtlmOptions): NtlmKoaMiddleware {
  const auth = httpAuthentication(options);
  const middleware = (async (ctx, next) => {
    if (auth.isJwksRequest(ctx.req)) {
      ctx.set('Cache-Control', JWKS_CACHE_CONTROL);
      ctx.body = auth.authenticator.jwks();
      return;
    }
    const decision = await auth.decide(ctx.req);
    switch (decision.kind) {
      case 'pass':
        auth.pass(decision, ctx.req, {
          get: (name) => ctx.response.get(name),
          set: (name, value) => ctx.set(name, value),
          append: (name, value) => ctx.append(name, value),
        });
        ctx.state.ntlm = decision.info;
        return next();
      case 'next':
        return next();
      default: {
        const response = refusalResponse(decision);
        ctx.status = response.status;
        ctx.set(response.headers as Record<string, string | string[]>);
        ctx.type = PLAIN_TEXT;
        ctx.body = response.body;
      }
    }
  }) as NtlmKoaMiddleware;

  middleware.logout = (ctx: Context) => {
    if (auth.logoutCookie && !ctx.headerSent) ctx.append('Set-Cookie', auth.logoutCookie);
    return auth.logout(ctx.req, ctx.state.ntlm);
  };
  middleware.close = () => auth.close();
  middleware.jwks = () => auth.authenticator.jwks();
  Object.defineProperty(middleware, 'authenticator', { value: auth.authenticator });
  return middleware;
}

export default ntlm;
