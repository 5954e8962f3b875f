import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { sendText } from '../http/responses.js';
import { clientAddress, plainAddress, shareKey, type TrustedProxies } from '../net/client-address.js';
import type { Logger } from '../types.js';

const BUSY_BODY = 'Too many connections that have not logged in; try again shortly.\n';
const BUSY =
  'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\n' +
  `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(BUSY_BODY)}\r\n\r\n${BUSY_BODY}`;
/** How long a refused connection may stay open for its 503 to be read before it is cut. */
const REFUSED_LINGER_MS = 2000;

export interface ShareLimits {
  /** Connections not logged in, from everyone together. */
  readonly maxUnauthenticated: number;
  /** Of those, what one client (an IPv4 address, an IPv6 /64) may hold. */
  readonly maxUnauthenticatedPerClient: number;
  /** How long a connection not logged in stays open after a 401, for the client's answer (ms). */
  readonly challengeTimeoutMs: number;
}

/** A connection that has not logged in. */
interface Unauthenticated {
  /** The client it counts against (shareKey); none yet for a trusted proxy's, until its first request says for whom. */
  key: string | undefined;
  /** Runs while the connection owes the answer to a 401. */
  timer: NodeJS.Timeout | undefined;
}

type Refusal = 'full' | 'client-full';

/**
 * Keeps client connections that have not authenticated to their own share of the server's
 * connections, so that silent, trickling or idle ones cannot take the slots that authenticated
 * users and new clients need:
 * - all of them together hold at most `maxUnauthenticated`, and one client at most
 *   `maxUnauthenticatedPerClient` (by address, an IPv6 client by its /64; behind a trusted
 *   proxy, by the address it forwards, from each request on), so that one address cannot fill
 *   the share for everyone;
 * - a connection answered 401 is closed unless the client's next request comes within
 *   `challengeTimeoutMs`: a browser answers a 401 at once, so a connection idling after one is
 *   not logging in, only holding a place (5,000 such connections from one address, each
 *   sending a request every 50 s, locked everyone out).
 * A connection beyond a share gets a 503 rather than a silent drop; the header timeout ends the
 * ones that send nothing at all.
 */
export class ConnectionShares {
  readonly #limits: ShareLimits;
  readonly #trusted: TrustedProxies;
  readonly #logger: Logger;
  readonly #unauthenticated = new Map<Socket, Unauthenticated>();
  /** Connections held per client (shareKey); a client leaves the map with its last one. */
  readonly #perClient = new Map<string, number>();
  readonly #refused = new WeakSet<Socket>();
  #refusals = 0;

  /** Watches `server`'s connections (`event`: 'connection', or 'secureConnection' with TLS) and requests. */
  constructor(
    server: Server,
    event: 'connection' | 'secureConnection',
    limits: ShareLimits,
    trusted: TrustedProxies,
    logger: Logger,
  ) {
    this.#limits = limits;
    this.#trusted = trusted;
    this.#logger = logger;
    // Before the HTTP server's own listeners, so that a refused socket never carries a request.
    server.prependListener(event, (socket: Socket) => this.#admit(socket));
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.#request(req, res));
    // A WebSocket upgrade is a request too (an answer to a 401 among them): no 'request' event.
    server.prependListener('upgrade', (req: IncomingMessage) => this.#answered(req.socket));
  }

  /** Connections open now that have not authenticated. */
  get unauthenticatedCount(): number {
    return this.#unauthenticated.size;
  }

  #admit(socket: Socket): void {
    // A WebSocket upgrade's 401 leg hands its socket back as a new connection: it is counted already.
    if (this.#unauthenticated.has(socket) || this.#refused.has(socket)) return;
    const peer = plainAddress(socket.remoteAddress);
    // A trusted proxy speaks for many clients: its requests say which one (see #request).
    const key = this.#trusted.has(peer) ? undefined : shareKey(peer);
    if (this.#unauthenticated.size >= this.#limits.maxUnauthenticated) {
      this.#refuse(socket, 'full');
      return;
    }
    if (key !== undefined && !this.#hasRoom(key)) {
      this.#refuse(socket, 'client-full', key);
      return;
    }
    const entry: Unauthenticated = { key: undefined, timer: undefined };
    this.#unauthenticated.set(socket, entry);
    this.#count(entry, key);
    socket.once('close', () => this.authenticated(socket));
  }

  /** Every request on a connection not logged in: whose it is, and whether it answers a 401 in time. */
  #request(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    const entry = this.#answered(socket);
    if (!entry) return;
    if (this.#trusted.has(socket.remoteAddress)) {
      const key = shareKey(clientAddress(req, this.#trusted));
      if (key !== entry.key) {
        this.#count(entry, undefined);
        if (!this.#hasRoom(key)) {
          this.#forget(socket);
          this.#refused.add(socket);
          this.#logRefusal('client-full', key);
          sendText(res, 503, { 'Retry-After': '5', Connection: 'close' }, BUSY_BODY);
          return;
        }
        this.#count(entry, key);
      }
    }
    res.once('finish', () => {
      if (res.statusCode !== 401 || this.#unauthenticated.get(socket) !== entry) return;
      clearTimeout(entry.timer);
      entry.timer = setTimeout(() => {
        this.#logger.debug('connection closed: no answer to its 401 in time', {
          client: entry.key,
          timeoutMs: this.#limits.challengeTimeoutMs,
        });
        socket.destroy();
      }, this.#limits.challengeTimeoutMs);
      entry.timer.unref();
    });
  }

  /** The client sent its next request: whatever 401 it was answering, it did. */
  #answered(socket: Socket): Unauthenticated | undefined {
    const entry = this.#unauthenticated.get(socket);
    if (entry) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
    }
    return entry;
  }

  #hasRoom(key: string): boolean {
    return (this.#perClient.get(key) ?? 0) < this.#limits.maxUnauthenticatedPerClient;
  }

  /** Moves the connection's count to `key` (none: counted in the total only). */
  #count(entry: Unauthenticated, key: string | undefined): void {
    if (entry.key !== undefined) {
      const held = (this.#perClient.get(entry.key) ?? 1) - 1;
      if (held > 0) this.#perClient.set(entry.key, held);
      else this.#perClient.delete(entry.key);
    }
    entry.key = key;
    if (key !== undefined) this.#perClient.set(key, (this.#perClient.get(key) ?? 0) + 1);
  }

  #forget(socket: Socket): void {
    const entry = this.#unauthenticated.get(socket);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.#count(entry, undefined);
    this.#unauthenticated.delete(socket);
  }

  #refuse(socket: Socket, reason: Refusal, client?: string): void {
    this.#refused.add(socket);
    this.#logRefusal(reason, client);
    socket.on('error', () => {});
    socket.end(BUSY);
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
  }

  #logRefusal(reason: Refusal, client: string | undefined): void {
    if (this.#refusals++ % 1000 !== 0) return;
    const { maxUnauthenticated, maxUnauthenticatedPerClient } = this.#limits;
    this.#logger.warn(
      reason === 'full'
        ? 'connection refused: the share of unauthenticated connections is full'
        : "connection refused: this client's share of unauthenticated connections is full",
      reason === 'full'
        ? { limit: maxUnauthenticated, refused: this.#refusals }
        : { client, limit: maxUnauthenticatedPerClient, refused: this.#refusals },
    );
  }

  /** Was answered 503: whatever it sends is ignored. */
  refused(socket: Socket): boolean {
    return this.#refused.has(socket);
  }

  /** The connection carries a logged-in user now (or is gone): it no longer counts against the shares. */
  authenticated(socket: Socket): void {
    this.#forget(socket);
  }
}
