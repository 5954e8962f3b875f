import http from 'node:http';
import type { Socket } from 'node:net';
import type { ProxyServer } from 'http-proxy-3';
import { stripClientIdentityHeaders } from '../http/identity-headers.js';
import type { NtlmMiddleware } from '../http/middleware.js';
import type { TrustedProxies } from '../net/client-address.js';
import { assignRequestId } from './access-log.js';
import type { ConnectionShares } from './connection-shares.js';
import { setForwardingHeaders } from './forwarded-headers.js';
import type { GracefulShutdown } from './graceful-shutdown.js';
import type { PinnedUpstreams } from './pinned-upstreams.js';

export interface UpgradeContext {
  readonly server: http.Server;
  readonly proxy: ProxyServer;
  readonly shares: ConnectionShares;
  readonly shutdown: GracefulShutdown;
  /** Pass-through mode's pins; undefined in header mode. */
  readonly pins: PinnedUpstreams | undefined;
  /** Header mode's middleware; undefined in pass-through mode. */
  readonly auth: NtlmMiddleware | undefined;
  readonly trusted: TrustedProxies;
  readonly tls: boolean;
  /** Header mode: readies a request the middleware let through for the upstream. */
  readonly forwardAuthenticated: (req: http.IncomingMessage, socket: Socket) => void;
}

/**
 * The server's 'upgrade' handler: WebSocket tunnels to the upstream. In header mode the
 * handshake may run on the upgrade requests themselves (Chromium does that): each 401 leg is
 * answered on the socket, which then goes back to the HTTP server so that the next leg is read
 * from the same connection.
 */
export function websocketUpgrades(context: UpgradeContext) {
  const { server, proxy, shares, shutdown, pins, auth, trusted, tls } = context;

  const tunnel = (req: http.IncomingMessage, socket: Socket, head: Buffer, agent: http.Agent | undefined) => {
    shutdown.tunnelOpened(socket);
    // A WebSocket has no use for half-open TCP: when the client is done, so is the tunnel, both
    // ways, whether or not the upstream closes its side.
    socket.once('end', () => socket.end());
    proxy.ws(req, socket, head, { agent });
  };

  return (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => {});
    if (shares.refused(socket)) return;
    assignRequestId(req, trusted);
    if (pins) {
      stripClientIdentityHeaders(req);
      setForwardingHeaders(req, trusted, tls);
      tunnel(req, socket, head, pins.upgradeAgent(req));
      return;
    }
    // Run the middleware with a response bound to the socket. If it lets the request through,
    // the socket becomes the tunnel; if it answers (a 401 leg, 403, 503), the socket goes back.
    const res = new http.ServerResponse(req);
    res.assignSocket(socket);
    let tunnelled = false;
    res.once('finish', () => {
      if (tunnelled) return;
      res.detachSocket(socket);
      if (head.length > 0) socket.unshift(head);
      if (shutdown.draining || socket.destroyed) socket.destroy();
      // (A TLS server's HTTP layer listens on 'secureConnection'; 'connection' would start TLS again.)
      else server.emit(tls ? 'secureConnection' : 'connection', socket);
    });
    auth!(req, res, (error) => {
      if (error) {
        socket.destroy();
        return;
      }
      tunnelled = true;
      res.detachSocket(socket);
      context.forwardAuthenticated(req, socket);
      tunnel(req, socket, head, undefined);
    });
  };
}
