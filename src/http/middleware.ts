import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { AuthenticationError, isNtlmError, type NtlmError, ServiceUnavailableError } from '../errors.js';
import { describeFlags } from '../ntlm/flags.js';
import { type ResolvedOptions, resolveOptions } from '../options.js';
import { NtlmAcceptor } from '../session/acceptor.js';
import { DEFAULT_COOKIE_NAME, readCookie, tokenCookie } from '../session/bearer-tokens.js';
import { ConnectionRegistry, type ConnectionState } from '../session/connection-registry.js';
import type { NtlmIdentity, NtlmOptions, NtlmRequestInfo } from '../types.js';
import { parseAuthorization } from './authorization.js';
import { isAllowed } from './authorization-rules.js';
import { clientAddress } from './client-address.js';
import { attachIdentity, stripClientIdentityHeaders } from './identity-headers.js';
import { sendChallenge, sendForbidden, sendNtlmError } from './responses.js';

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
  /** Releases what the verifier pools (LDAP connections). Call on shutdown. */
  close(): Promise<void>;
  /**
   * Logs the request's user out: revokes its Bearer token (if any) until it expires, and forgets
   * the identity of its connection, so that the next request must authenticate again. Pass `res`
   * to clear the token cookie too.
   */
  logout(req: IncomingMessage, res?: ServerResponse): Promise<void>;
}

function remoteUser(identity: NtlmIdentity, options: ResolvedOptions): string {
  return options.usernameFormat === 'user' ? identity.username : `${identity.domain}\\${identity.username}`;
}

/**
 * Windows single sign-on for one HTTP server: runs the NTLM handshake once per TCP connection,
 * then lets every request on that connection through with `req.ntlm` and X-Ntlm-* headers set.
 */
export function ntlm(userOptions: NtlmOptions): NtlmMiddleware {
  const options = resolveOptions(userOptions);
  const { logger } = options;
  const registry = new ConnectionRegistry();
  const acceptor = new NtlmAcceptor(options.verifier, registry, options, (socket) =>
    logger.info('handshake expired: no AUTHENTICATE arrived in time', {
      remote: socket.remoteAddress,
      timeoutMs: options.handshakeTimeoutMs,
    }),
  );

  const pass = (
    req: IncomingMessage,
    res: ServerResponse,
    identity: NtlmIdentity,
    details: Pick<NtlmRequestInfo, 'scheme' | 'authenticatedAt' | 'tokenId' | 'tokenExpiresAt' | 'token'>,
    next: NextFunction,
  ) => {
    const info = { ...identity, ...details, remoteUser: remoteUser(identity, options) };
    if (!isAllowed(info, options)) {
      logger.info('access denied by allowUsers/allowGroups', { user: info.username, domain: info.domain });
      sendForbidden(res, `${info.domain}\\${info.username}`);
      return;
    }
    attachIdentity(req, info);
    next();
  };

  /** `Authorization: Bearer <jwt>`: valid → through with its identity; anything else → a fresh NTLM challenge. */
  const bearer = (req: IncomingMessage, res: ServerResponse, token: string, next: NextFunction) => {
    const tokens = options.tokens!;
    tokens.verify(token).then(
      (verified) => {
        if (!verified) {
          const error = new AuthenticationError(
            'ERR_NTLM_INVALID_BEARER',
            'Bearer token invalid, expired or revoked',
          );
          fail(res, error, req.socket, 'NTLM');
          return;
        }
        const { identity, tokenId, issuedAt, expiresAt } = verified;
        pass(
          req,
          res,
          identity,
          { scheme: 'Bearer', authenticatedAt: issuedAt, tokenId, tokenExpiresAt: expiresAt, token },
          next,
        );
      },
      (error: unknown) =>
        fail(
          res,
          new ServiceUnavailableError(
            'ERR_NTLM_STORE_UNAVAILABLE',
            `the token store did not answer: ${(error as Error).message}`,
            {
              retryAfterSeconds: 1,
            },
          ),
          req.socket,
          'NTLM',
        ),
    );
  };

  const fail = (res: ServerResponse, error: NtlmError, socket: Socket, scheme: 'NTLM' | 'Negotiate') => {
    const fields = {
      code: error.code,
      reason: error.message,
      remote: socket.remoteAddress,
      user: (error as { claimedUser?: string }).claimedUser,
    };
    if (error.statusCode === 503) logger.error('authentication unavailable', fields);
    else if (error.statusCode === 400) logger.warn('bad NTLM token', fields);
    else logger.warn('logon refused', fields);
    sendNtlmError(res, error, scheme);
  };

  /** A new Bearer token for the connection's identity, remembered on the connection. */
  const issueToken = (state: ConnectionState, identity: NtlmIdentity) => {
    const issued = options.tokens!.issue(identity);
    state.tokenId = issued.tokenId;
    state.tokenExpiresAt = issued.expiresAt;
    state.token = issued.token;
    return issued;
  };

  const cookieToken = (req: IncomingMessage): string | undefined => {
    const cookie = options.tokens?.cookie;
    return cookie
      ? readCookie(req.headers.cookie, cookie.name ?? DEFAULT_COOKIE_NAME) || undefined
      : undefined;
  };

  let keepAliveChecked = false;
  /**
   * NTLM authenticates a connection: if Node closes idle connections sooner than we would keep
   * their identity (its default keepAliveTimeout is 5 s), every pause costs a new handshake and
   * a DC round trip. Said once, at the first request, where the server is first seen.
   */
  const checkKeepAlive = (socket: Socket) => {
    keepAliveChecked = true;
    const server = (socket as Socket & { server?: { keepAliveTimeout?: number } }).server;
    const keepAliveTimeout = server?.keepAliveTimeout;
    if (typeof keepAliveTimeout === 'number' && keepAliveTimeout < options.connectionIdleTimeoutMs) {
      logger.warn(
        'the HTTP server closes idle connections before their NTLM identity expires: set server.keepAliveTimeout to connectionIdleTimeoutMs, or every pause costs a new handshake',
        { keepAliveTimeout, connectionIdleTimeoutMs: options.connectionIdleTimeoutMs },
      );
    }
  };

  const middleware = ((req: IncomingMessage, res: ServerResponse, next: NextFunction): void => {
    if (!keepAliveChecked) checkKeepAlive(req.socket);
    stripClientIdentityHeaders(req);
    const socket = req.socket;
    let authorization: ReturnType<typeof parseAuthorization>;
    try {
      authorization = parseAuthorization(req.headers.authorization);
    } catch (error) {
      if (isNtlmError(error)) fail(res, error, socket, 'NTLM');
      else next(error);
      return;
    }

    if (authorization.kind === 'other' && options.tokens && authorization.scheme.toLowerCase() === 'bearer') {
      bearer(req, res, authorization.credentials, next);
      return;
    }
    if (authorization.kind !== 'ntlm') {
      const known = registry.peek(socket);
      const identity = known ? registry.use(known, options) : undefined;
      if (known && typeof identity === 'object') {
        // A connection may outlive its token (maxConnectionAgeMs above the token lifetime): a
        // fresh one keeps req.ntlm.token, which others may be handed, valid.
        if (options.tokens && known.tokenExpiresAt !== undefined && known.tokenExpiresAt <= Date.now())
          issueToken(known, identity);
        const { scheme, authenticatedAt, tokenId, tokenExpiresAt, token } = known;
        pass(req, res, identity, { scheme, authenticatedAt, tokenId, tokenExpiresAt, token }, next);
        return;
      }
      if (typeof identity === 'string') {
        logger.info('connection must authenticate again', { reason: identity, remote: socket.remoteAddress });
        sendChallenge(res, 'NTLM');
        return;
      }
      const fromCookie = cookieToken(req);
      if (fromCookie !== undefined) bearer(req, res, fromCookie, next);
      else if (authorization.kind === 'other' && options.otherSchemes === 'next') next();
      else sendChallenge(res, 'NTLM');
      return;
    }

    const { scheme, token } = authorization;
    if (options.debug >= 2)
      logger.debug('NTLM token received', { remote: socket.remoteAddress, token: token.toString('base64') });
    acceptor.step(socket, token, scheme, clientAddress(req, options.trustedProxies)).then(
      (result) => {
        if (!result.done) {
          if (options.debug >= 1) {
            logger.debug('CHALLENGE sent', {
              remote: socket.remoteAddress,
              flags: describeFlags(result.challengeToken.readUInt32LE(20)),
            });
          }
          sendChallenge(res, scheme, result.challengeToken);
          return;
        }
        const state = registry.state(socket);
        logger.info('logon accepted', {
          user: result.identity.username,
          domain: result.identity.domain,
          workstation: result.identity.workstation,
          remote: socket.remoteAddress,
        });
        if (options.tokens) {
          const issued = issueToken(state, result.identity);
          // Only on the leg that completes the handshake; never on a 401.
          res.setHeader('Authorization', `Bearer ${issued.token}`);
          res.setHeader('Access-Control-Expose-Headers', 'Authorization');
          const { cookie } = options.tokens;
          if (cookie)
            res.appendHeader('Set-Cookie', tokenCookie(cookie, issued.token, options.tokens.lifetimeSeconds));
        }
        const { authenticatedAt, tokenId, tokenExpiresAt } = state;
        registry.use(state, options);
        const details = { scheme, authenticatedAt, tokenId, tokenExpiresAt, token: state.token };
        pass(req, res, result.identity, details, next);
      },
      (error: unknown) => {
        if (isNtlmError(error)) fail(res, error, socket, scheme);
        else next(error);
      },
    );
  }) as NtlmMiddleware;

  middleware.logout = async (req: IncomingMessage, res?: ServerResponse) => {
    const cookie = options.tokens?.cookie;
    if (cookie && res && !res.headersSent) res.appendHeader('Set-Cookie', tokenCookie(cookie, undefined, 0));
    const info = req.ntlm;
    // The connection is forgotten first: whatever the shared store says, this session ends here.
    const state = registry.peek(req.socket);
    if (state) registry.forget(state);
    if (info?.tokenId && info.tokenExpiresAt && options.tokens) {
      const shared = await options.tokens.revoke(info.tokenId, info.tokenExpiresAt);
      if (!shared) {
        logger.warn(
          'logout: the shared store did not take the revocation; this process refuses the token and will write it when the store answers',
          {
            user: info.username,
            tokenId: info.tokenId,
          },
        );
      }
    }
    logger.info('logged out', { user: info?.username, tokenId: info?.tokenId });
  };

  middleware.close = async () => {
    options.tokens?.close();
    await options.verifier.close?.();
    await options.store?.close?.();
  };
  return middleware;
}
