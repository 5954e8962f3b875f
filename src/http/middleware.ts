import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Mechanism } from '../mechanisms/mechanism.js';
import { NegotiateMechanism } from '../mechanisms/negotiate.js';
import { NtlmMechanism } from '../mechanisms/ntlm.js';
import type { NtlmMetrics } from '../metrics/prometheus.js';
import type { ReadinessReport } from '../metrics/readiness.js';
import { type ResolvedOptions, resolveOptions } from '../options.js';
import { Authenticator, type Decision } from '../session/authenticator.js';
import type { ConnectionScheme } from '../session/authorization.js';
import { tokenCookie } from '../session/bearer-tokens.js';
import { clientAddress } from '../session/client-address.js';
import type { NtlmOptions, NtlmRequestInfo } from '../types.js';
import { passHeaders, refusalResponse } from './decision-response.js';
import { attachIdentity, stripClientIdentityHeaders } from './identity-headers.js';
import { exposeHeader, sendPlain } from './responses.js';

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
}

/** The authenticator for `ntlm()`'s options: NTLM, and raw NTLMSSP under Negotiate. */
export function createAuthenticator(options: ResolvedOptions): Authenticator {
  const ntlmMechanism = new NtlmMechanism(options.verifier, options);
  const mechanisms = new Map<ConnectionScheme, Mechanism>([
    ['NTLM', ntlmMechanism],
    ['Negotiate', new NegotiateMechanism(ntlmMechanism)],
  ]);
  return new Authenticator(options, mechanisms, ['NTLM']);
}

/**
 * NTLM authenticates a connection: if Node closes idle connections sooner than we would keep
 * their identity (its default keepAliveTimeout is 5 s), every pause costs a new handshake and a
 * DC round trip. Said once, at the first request, where the server is first seen.
 */
function warnOnShortKeepAlive(socket: Socket, options: ResolvedOptions): void {
  const server = (socket as Socket & { server?: { keepAliveTimeout?: number } }).server;
  const keepAliveTimeout = server?.keepAliveTimeout;
  if (typeof keepAliveTimeout === 'number' && keepAliveTimeout < options.connectionIdleTimeoutMs) {
    options.logger.warn(
      'the HTTP server closes idle connections before their NTLM identity expires: set server.keepAliveTimeout to connectionIdleTimeoutMs, or every pause costs a new handshake',
      { keepAliveTimeout, connectionIdleTimeoutMs: options.connectionIdleTimeoutMs },
    );
  }
}

/**
 * Windows single sign-on for one HTTP server (Express 4/5, Connect, node:http): runs the
 * handshake once per TCP connection, then lets every request on that connection through with
 * `req.ntlm` and X-Ntlm-* headers set. The decisions are the Authenticator's; this only
 * translates them into node:http responses.
 */
export function ntlm(userOptions: NtlmOptions): NtlmMiddleware {
  const options = resolveOptions(userOptions);
  const authenticator = createAuthenticator(options);
  const { tokens } = options;
  let firstRequest = true;

  const apply = (decision: Decision, req: IncomingMessage, res: ServerResponse, next: NextFunction) => {
    switch (decision.kind) {
      case 'pass': {
        const headers = passHeaders(decision, tokens?.cookie, tokens?.lifetimeSeconds ?? 0);
        for (const [name, value] of Object.entries(headers)) {
          if (name === 'Set-Cookie') res.appendHeader(name, value);
          else res.setHeader(name, value);
        }
        if (headers.Authorization) exposeHeader(res, 'Authorization');
        attachIdentity(req, decision.info);
        next();
        return;
      }
      case 'next':
        next();
        return;
      default:
        sendPlain(res, refusalResponse(decision));
    }
  };

  const middleware = ((req: IncomingMessage, res: ServerResponse, next: NextFunction): void => {
    if (firstRequest) {
      firstRequest = false;
      warnOnShortKeepAlive(req.socket, options);
    }
    stripClientIdentityHeaders(req);
    let decision: Decision | Promise<Decision>;
    try {
      decision = authenticator.authenticate({
        socket: req.socket,
        authorization: req.headers.authorization,
        cookie: req.headers.cookie,
        clientAddress: clientAddress(req, options.trustedProxies),
      });
    } catch (error) {
      next(error);
      return;
    }
    if ('then' in decision) decision.then((settled) => apply(settled, req, res, next), next);
    else apply(decision, req, res, next);
  }) as NtlmMiddleware;

  middleware.logout = async (req: IncomingMessage, res?: ServerResponse) => {
    const cookie = tokens?.cookie;
    if (cookie && res && !res.headersSent) res.appendHeader('Set-Cookie', tokenCookie(cookie, undefined, 0));
    return authenticator.logout(req.socket, req.ntlm);
  };
  middleware.close = () => authenticator.close();
  Object.defineProperty(middleware, 'authenticator', { value: authenticator });
  Object.defineProperty(middleware, 'metrics', { value: authenticator.metrics });
  middleware.ready = () => authenticator.ready();
  return middleware;
}
