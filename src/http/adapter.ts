import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { composeOptions, createAuthenticator, type ResolvedOptions } from '../compose.js';
import { isSecureRequest } from '../mechanisms/secure-request.js';
import { clientAddress, type TrustedProxies } from '../net/client-address.js';
import type { Authenticator, AuthRequest, Decision } from '../session/authenticator.js';
import { tokenCookie } from '../session/bearer-tokens.js';
import type { Logger, NtlmOptions, NtlmRequestInfo, RefusalHandler } from '../types.js';
import { type PlainResponse, passHeaders } from './decision-response.js';
import { attachIdentity, stripClientIdentityHeaders } from './identity-headers.js';
import { exposedHeaders } from './responses.js';

/** The response headers as each framework reaches them (ServerResponse, Fastify's reply, Koa's ctx). */
export interface ResponseHeaders {
  get(name: string): unknown;
  set(name: string, value: string): void;
  /** Adds a value without replacing the others (Set-Cookie). */
  append(name: string, value: string): void;
}

type RefusalHandlerName = 'onUnauthorized' | 'onForbidden' | 'onUnavailable';

/**
 * The options of an adapter: those of `ntlm()`, with refusal handlers of the framework's own
 * signature (Express: `(req, res, refusal)`, Fastify: `(request, reply, refusal)`, Koa: `(ctx, refusal)`).
 */
export type AdapterOptions<Handler> = Omit<NtlmOptions, RefusalHandlerName> & {
  [Name in RefusalHandlerName]?: Handler;
};

/** What a refusal handler is told: the status we answer with, and the error's code when there is one. */
export interface Refusal {
  readonly status: number;
  readonly code?: string | undefined;
}

/**
 * What every adapter (Express/Connect/node:http, Fastify, Koa) shares: one authenticator per
 * options, and the node:http side of a request. Each adapter adds only its framework's way of
 * writing a response and of handing the identity to the application.
 */
export interface HttpAuthentication<Handler = RefusalHandler> {
  readonly authenticator: Authenticator;
  readonly options: ResolvedOptions;
  /** The application's pages for 401, 403 and 503, in the adapter's own signature. */
  readonly handlers: { readonly [status: number]: Handler | undefined };
  /**
   * Removes the client's X-Ntlm-* headers, then decides the request (a promise when a mechanism
   * or a store must answer); a request `skip` names is `next` at once. `logger`, when given,
   * takes this request's log lines (Fastify's `request.log`).
   */
  decide(req: IncomingMessage, logger?: Logger): Decision | Promise<Decision>;
  /** A request that passed: sets the token headers on the response and the identity on `req` (`req.ntlm`, X-Ntlm-*). */
  pass(decision: Extract<Decision, { kind: 'pass' }>, req: IncomingMessage, res: ResponseHeaders): void;
  /** Logs that the application's refusal handler threw: the adapter then sends the plain answer. */
  handlerFailed(response: PlainResponse, error: unknown): void;
  /** A GET of `bearer.jwksPath`: answered with `authenticator.jwks()`, before authentication. */
  isJwksRequest(req: IncomingMessage): boolean;
  /** The Set-Cookie value that clears the token cookie at logout, when tokens go in a cookie. */
  readonly logoutCookie: string | undefined;
  /** Ends the session of `req`'s connection and of the token in `info` (see NtlmMiddleware.logout). */
  logout(req: IncomingMessage, info: NtlmRequestInfo | undefined): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * A node:http request as the authenticator reads it. A class, so that making one per request is
 * cheap (one shape), and the client address is worked out only when a handshake leg, a refusal
 * or a log line asks for it.
 */
class NodeAuthRequest implements AuthRequest {
  readonly socket: Socket;
  readonly authorization: string | undefined;
  readonly cookie: string | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly trustedProxies: TrustedProxies,
    readonly logger: Logger | undefined,
  ) {
    this.socket = req.socket;
    const { headers } = req;
    this.authorization = headers.authorization;
    this.cookie = headers.cookie;
  }

  #clientAddress: string | undefined;

  /** Worked out once: a handshake leg reads it for its slot, its mechanism and its log line. */
  get clientAddress(): string {
    this.#clientAddress ??= clientAddress(this.req, this.trustedProxies);
    return this.#clientAddress;
  }

  get secure(): boolean {
    return isSecureRequest(this.req, this.trustedProxies);
  }
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

/** What a refusal handler is told about `decision`, answered with `response`. */
export function refusalOf(decision: Decision, response: PlainResponse): Refusal {
  return { status: response.status, code: decision.kind === 'fail' ? decision.error.code : undefined };
}

export function httpAuthentication<Handler = RefusalHandler>(
  userOptions: AdapterOptions<Handler>,
): HttpAuthentication<Handler> {
  // ntlm() checks that the handlers are functions; their signature is the adapter's business.
  const options = composeOptions(userOptions as NtlmOptions);
  const authenticator = createAuthenticator(options);
  const { tokens } = options;
  let firstRequest = true;
  return {
    authenticator,
    options,
    handlers: options.handlers as HttpAuthentication<Handler>['handlers'],
    decide(req, logger) {
      if (firstRequest) {
        firstRequest = false;
        warnOnShortKeepAlive(req.socket, options);
      }
      stripClientIdentityHeaders(req);
      if (options.skip?.(req)) return { kind: 'next' };
      return authenticator.authenticate(new NodeAuthRequest(req, options.trustedProxies, logger));
    },
    pass(decision, req, res) {
      // Most requests ride on an authenticated connection: nothing to add to their response.
      if (decision.issued || decision.mutual) {
        const headers = passHeaders(decision, tokens?.cookie, tokens?.lifetimeSeconds ?? 0);
        for (const [name, value] of Object.entries(headers)) {
          if (name === 'Set-Cookie') res.append(name, value);
          else res.set(name, value);
        }
        if (headers.Authorization) {
          const exposed = exposedHeaders(res.get('Access-Control-Expose-Headers'), 'Authorization');
          res.set('Access-Control-Expose-Headers', exposed);
        }
      }
      attachIdentity(req, decision.info);
    },
    handlerFailed(response, error) {
      options.logger.error('the application’s refusal handler failed; sending the plain answer', {
        status: response.status,
        reason: (error as Error)?.message ?? String(error),
      });
    },
    isJwksRequest: (req) =>
      tokens !== undefined &&
      tokens.jwksPath !== false &&
      (req.method === 'GET' || req.method === 'HEAD') &&
      req.url?.split('?', 1)[0] === tokens.jwksPath,
    logoutCookie: tokens?.cookie ? tokenCookie(tokens.cookie, undefined, 0) : undefined,
    logout: (req, info) => authenticator.logout(req.socket, info),
    close: () => authenticator.close(),
  };
}
