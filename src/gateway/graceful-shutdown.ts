import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../types.js';

/**
 * Knows how busy each client connection of a server is, so that a shutdown can close every
 * connection that is between requests at once (Node's closeIdleConnections() skips those that
 * never sent one), each busy one as soon as its response is done, and cut what is left (slow
 * responses, WebSocket tunnels) after a deadline.
 */
export class GracefulShutdown {
  readonly #server: http.Server;
  /** Requests in flight per connection. */
  readonly #inFlight = new Map<Socket, number>();
  readonly #tunnels = new Set<Socket>();
  #draining = false;

  constructor(server: http.Server, connectionEvent: 'connection' | 'secureConnection') {
    this.#server = server;
    server.on(connectionEvent, (socket: Socket) => this.#track(socket));
  }

  /** Client connections open now (WebSocket tunnels included). */
  get connectionCount(): number {
    return this.#inFlight.size;
  }

  get draining(): boolean {
    return this.#draining;
  }

  #track(socket: Socket): void {
    if (this.#inFlight.has(socket)) return;
    this.#inFlight.set(socket, 0);
    socket.once('close', () => this.#inFlight.delete(socket));
  }

  requestStarted(req: http.IncomingMessage, res: http.ServerResponse): void {
    const socket = req.socket;
    this.#track(socket);
    this.#inFlight.set(socket, (this.#inFlight.get(socket) ?? 0) + 1);
    if (this.#draining) res.setHeader('Connection', 'close');
    res.once('close', () => {
      const left = (this.#inFlight.get(socket) ?? 1) - 1;
      this.#inFlight.set(socket, left);
      if (this.#draining && left === 0) socket.end();
    });
  }

  /** The connection now carries a WebSocket: it has no requests, but is not idle either. */
  tunnelOpened(socket: Socket): void {
    this.#tunnels.add(socket);
    socket.once('close', () => this.#tunnels.delete(socket));
  }

  /** Stops accepting, closes what is quiet, waits for the rest up to `timeoutMs`, then cuts it. */
  async drain(timeoutMs: number, logger: Logger): Promise<void> {
    this.#draining = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const [socket, requests] of this.#inFlight) {
      if (requests === 0 && !this.#tunnels.has(socket)) socket.end();
    }
    const deadline = setTimeout(() => {
      logger.warn('shutdown: cutting connections still busy', { afterMs: timeoutMs });
      this.#server.closeAllConnections();
      for (const socket of this.#tunnels) socket.destroy();
    }, timeoutMs);
    await closed;
    clearTimeout(deadline);
  }
}
