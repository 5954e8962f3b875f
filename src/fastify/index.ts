import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { httpAuthentication } from '../http/adapter.js';
import { refusalResponse } from '../http/decision-response.js';
import { JWKS_CACHE_CONTROL, PLAIN_TEXT } from '../http/responses.js';
import type { Authenticator } from '../session/authenticator.js';
import type { JsonWebKeySet, NtlmOptions, NtlmRequestInfo } from '../types.js';

/** What the plugin adds to the Fastify instance as `app.ntlm`. */
export interface NtlmFastify {
  /**
   * Logs the request's user out: revokes its Bearer token (if any) and forgets the identity of its
   * connection; pass `reply` to clear the token cookie too. Resolves false when a shared store did
   * not take the revocation yet (this process refuses the token at once).
   */
  logout(request: FastifyRequest, reply?: FastifyReply): Promise<boolean>;
  /** The public keys that check the Bearer tokens, as a JWK Set (see `bearer.jwksPath`). */
  jwks(): JsonWebKeySet;
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
}

/**
 * Windows single sign-on for a Fastify app, as `ntlm()` does it for Express: an `onRequest` hook
 * runs the handshake once per TCP connection (the state is keyed by `request.raw.socket`), then
 * lets every request on it through with `request.ntlm` and X-Ntlm-* headers set. Not encapsulated
 * (see `unencapsulated`), so that the hook covers the whole app, not one encapsulated context.
 */
const plugin: FastifyPluginAsync<NtlmOptions> = async (app, options) => {
  const auth = httpAuthentication(options);
  app.decorateRequest('ntlm', undefined);
  app.decorate('ntlm', {
    authenticator: auth.authenticator,
    jwks: () => auth.authenticator.jwks(),
    logout: (request: FastifyRequest, reply?: FastifyReply) => {
      if (auth.logoutCookie && reply && !reply.sent) reply.header('Set-Cookie', auth.logoutCookie);
      return auth.logout(request.raw, request.ntlm);
    },
  } satisfies NtlmFastify);

  app.addHook('onRequest', async (request, reply) => {
    if (auth.isJwksRequest(request.raw)) {
      return reply
        .header('Cache-Control', JWKS_CACHE_CONTROL)
        .type('application/json')
        .send(JSON.stringify(auth.authenticator.jwks()));
    }
    const decision = await auth.decide(request.raw);
    switch (decision.kind) {
      case 'pass':
        // Fastify's reply.header appends to Set-Cookie and replaces any other header.
        auth.pass(decision, request.raw, {
          get: (name) => reply.getHeader(name),
          set: (name, value) => reply.header(name, value),
          append: (name, value) => reply.header(name, value),
        });
        request.ntlm = decision.info;
        return;
      case 'next':
        return;
      default: {
        const response = refusalResponse(decision);
        const headers = response.headers as Record<string, string | string[]>;
        return reply.code(response.status).headers(headers).type(PLAIN_TEXT).send(response.body);
      }
    }
  });
  app.addHook('onClose', () => auth.close());
};

/**
 * What fastify-plugin does, without the package: Fastify reads these three symbols when a plugin
 * is registered (lib/plugin-utils.js): skip-override runs it in the parent's context, so its hook
 * sees every route; the name shows in errors; the meta's `fastify` range is checked on register.
 */
function unencapsulated<T extends object>(fn: T, meta: { name: string; fastify: string }): T {
  return Object.assign(fn, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: meta.name,
    [Symbol.for('plugin-meta')]: meta,
  });
}

export const ntlmPlugin: FastifyPluginAsync<NtlmOptions> = unencapsulated(plugin, {
  name: 'ntlm-sso',
  fastify: '5.x',
});
export default ntlmPlugin;
