import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../types.js';

const BUSY_BODY = 'Too many connections that have not logged in; try again shortly.\n';
const BUSY =
  'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\n' +
  `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(BUSY_BODY)}\r\n\r\n${BUSY_BODY}`;
/** How long a refused connection may stay open for its 503 to be read before it is cut. */
const REFUSED_LINGER_MS = 2000;

/**
 * Keeps client connections that have not authenticated to their own share of the server's
 * connections, so that silent or trickling ones (a slowloris) cannot take the slots that
 * authenticated users and new clients need. A connection beyond the share gets a 503 at once
 * rather than a silent drop; the header timeout ends the ones that hold the share.
 */
export class ConnectionShares {
  readonly #limit: number;
  readonly #logger: Logger;
  readonly #unauthenticated = new Set<Socket>();
  readonly #refused = new WeakSet<Socket>();
  #refusals = 0;

  /** Watches `server`'s connections (`event`: 'connection', or 'secureConnection' with TLS). */
  constructor(server: Server, event: 'connection' | 'secureConnection', limit: number, logger: Logger) {
    this.#limit = limit;
    this.#logger = logger;
    // Before the HTTP server's own listener, so that a refused socket never carries a request.
    server.prependListener(event, (socket: Socket) => this.#admit(socket));
  }

  /** Connections open now that have not authenticated. */
  get unauthenticatedCount(): number {
    return this.#unauthenticated.size;
  }

  #admit(socket: Socket): void {
    if (this.#unauthenticated.size >= this.#limit) {
      this.#refused.add(socket);
      if (this.#refusals++ % 1000 === 0)
        this.#logger.warn('connection refused: the share of unauthenticated connections is full', {
          limit: this.#limit,
          refused: this.#refusals,
        });
      socket.on('error', () => {});
      socket.end(BUSY);
      setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
      return;
    }
    this.#unauthenticated.add(socket);
    socket.once('close', () => this.#unauthenticated.delete(socket));
  }

  /** Was answered 503 on arrival: whatever it sends is ignored. */
  refused(socket: Socket): boolean {
    return this.#refused.has(socket);
  }

  /** The connection carries a logged-in user now: it no longer counts against the share. */
  authenticated(socket: Socket): void {
    this.#unauthenticated.delete(socket);
  }
}
