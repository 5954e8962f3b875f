import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { isNtlmError, type NtlmError } from '../errors.js';
import { describeFlags } from '../ntlm/flags.js';
import { type ResolvedOptions, resolveOptions } from '../options.js';
import { NtlmAcceptor } from '../session/acceptor.js';
import { ConnectionRegistry } from '../session/connection-registry.js';
import type { NtlmIdentity, NtlmOptions, NtlmRequestInfo } from '../types.js';
import { parseAuthorization } from './authorization.js';
import { attachIdentity, stripClientIdentityHeaders } from './identity-headers.js';
import { sendChallenge, sendNtlmError } from './responses.js';

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
    identity: NtlmIdentity,
    scheme: 'NTLM' | 'Negotiate',
    at: number,
    next: NextFunction,
  ) => {
    attachIdentity(req, {
      ...identity,
      remoteUser: remoteUser(identity, options),
      scheme,
      authenticatedAt: at,
    });
    next();
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

  const middleware = ((req: IncomingMessage, res: ServerResponse, next: NextFunction): void => {
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

    if (authorization.kind !== 'ntlm') {
      const known = registry.peek(socket);
      if (known?.identity) {
        pass(req, known.identity, known.scheme, known.authenticatedAt, next);
      } else if (authorization.kind === 'other' && options.otherSchemes === 'next') {
        next();
      } else {
        sendChallenge(res, 'NTLM');
      }
      return;
    }

    const { scheme, token } = authorization;
    if (options.debug >= 2)
      logger.debug('NTLM token received', { remote: socket.remoteAddress, token: token.toString('base64') });
    acceptor.step(socket, token, scheme).then(
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
        pass(req, result.identity, scheme, state.authenticatedAt, next);
      },
      (error: unknown) => {
        if (isNtlmError(error)) fail(res, error, socket, scheme);
        else next(error);
      },
    );
  }) as NtlmMiddleware;

  middleware.close = async () => {
    await options.verifier.close?.();
  };
  return middleware;
}
