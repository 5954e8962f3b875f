import type http from 'node:http';
import type { Socket } from 'node:net';
import { shareKey } from '../net/client-address.js';
import { MessageType, peekMessageType } from '../ntlm/fields.js';
import type { Logger, PinningLimits } from '../types.js';

/** Makes a keep-alive agent for the upstream, with these extra settings. */
export type AgentFactory = (options: http.AgentOptions) => http.Agent;

/**
 * How long a CHALLENGE protects its pin while the client owes the AUTHENTICATE. A real client
 * answers within milliseconds (MS-NLMP 3.1.5.1.2 needs no user input); one that has not after
 * this long has abandoned the handshake, and its pin is released or may be taken.
 */
export const HANDSHAKE_WINDOW_MS = 10_000;

/** One client connection's own upstream connection (an agent that holds at most one socket). */
interface Pin {
  readonly client: Socket;
  /** The client's address as shares count it. */
  readonly owner: string;
  readonly agent: http.Agent;
  readonly createdAt: number;
  requests: number;
  inFlight: number;
  lastStatus: number;
  /** The upstream accepted credentials on this connection: it is someone's now. */
  authenticated: boolean;
  /** When the upstream last answered with a CHALLENGE (401 with a token); undefined otherwise. */
  challengedAt: number | undefined;
  idleTimer: NodeJS.Timeout | undefined;
}

/**
 * The token of an `Authorization: NTLM|Negotiate ...` header (empty if it is not base64), or
 * undefined for any other header. A malformed one still counts: whatever the upstream makes of
 * it, it must not be on a shared connection.
 */
function connectionAuthToken(header: string | undefined): Buffer | undefined {
  const match = /^\s*(?:NTLM|Negotiate)(?:\s+|$)/i.exec(header ?? '');
  if (!match) return undefined;
  const token = header!.slice(match[0].length).trim();
  return /^[A-Za-z0-9+/]*={0,2}$/.test(token) ? Buffer.from(token, 'base64') : Buffer.alloc(0);
}

/** A 401 that carries a token (`NTLM <base64>`): the CHALLENGE leg of a handshake in progress. */
function isChallenge(header: number | string | string[] | undefined): boolean {
  const values = Array.isArray(header) ? header : [String(header ?? '')];
  return values.some((value) => /^\s*(?:NTLM|Negotiate)\s+\S/i.test(value));
}

/**
 * Pass-through mode's one job: an upstream that authenticates connections (IIS with Windows
 * authentication) must see every request of one client connection on one upstream connection,
 * and never a request of anyone else there. Requests that carry no NTLM/Negotiate credentials on
 * a connection never pinned share an ordinary keep-alive pool: no upstream connection in that
 * pool has ever seen credentials.
 *
 * Pins are a bounded resource strangers can ask for with one NEGOTIATE each, so a pin that is
 * someone's (authenticated), mid-handshake (CHALLENGE answered less than HANDSHAKE_WINDOW_MS
 * ago) or carrying a request is never taken for a newcomer, and one client address holds at
 * most its share.
 */
export class PinnedUpstreams {
  readonly #limits: PinningLimits;
  readonly #logger: Logger;
  readonly #shared: http.Agent;
  readonly #newAgent: AgentFactory;
  readonly #onAuthenticated: (client: Socket) => void;
  /** Least recently used first. */
  readonly #pins = new Map<Socket, Pin>();
  /** Pins held per client address (shareKey); an address holding none has no entry. */
  readonly #perClient = new Map<string, number>();
  /** Client connections whose 'close' we already listen to (one listener each, however often re-pinned). */
  readonly #watched = new WeakSet<Socket>();

  /**
   * `shared` carries the requests that are not pinned; `newAgent` makes the keep-alive agents
   * (for the upstream's protocol and TLS settings) that pinned connections get;
   * `onAuthenticated` hears of each client connection the upstream accepted credentials on.
   */
  constructor(
    limits: PinningLimits,
    shared: http.Agent,
    newAgent: AgentFactory,
    logger: Logger,
    onAuthenticated: (client: Socket) => void = () => {},
  ) {
    this.#limits = limits;
    this.#logger = logger;
    this.#shared = shared;
    this.#newAgent = newAgent;
    this.#onAuthenticated = onAuthenticated;
  }

  get pinnedCount(): number {
    return this.#pins.size;
  }

  /**
   * The agent for this request, pinning its client connection when it presents credentials; or
   * undefined when it would need a pin and none may be had (the caller answers 503). `client` is
   * the client's address (behind a trusted proxy, the forwarded one).
   */
  agentFor(req: http.IncomingMessage, res: http.ServerResponse, client: string): http.Agent | undefined {
    const socket = req.socket;
    let pin = this.#pins.get(socket);
    const token = connectionAuthToken(req.headers.authorization);
    if (pin) {
      const stale = this.#staleReason(pin, token);
      if (stale) {
        this.release(pin, stale);
        pin = undefined;
      }
    }
    if (!pin && !token) return this.#shared;
    pin ??= this.#pin(socket, shareKey(client));
    if (!pin) return undefined;
    this.#pins.delete(socket);
    this.#pins.set(socket, pin);
    pin.requests += 1;
    pin.inFlight += 1;
    clearTimeout(pin.idleTimer);
    const active = pin;
    // Credentials other than a bare NTLM NEGOTIATE can complete a logon (an AUTHENTICATE, a
    // Kerberos token); an answer to them that is neither 401 nor an error means they did.
    const completing = token !== undefined && peekMessageType(token) !== MessageType.NEGOTIATE;
    res.once('finish', () => {
      const status = res.statusCode;
      active.lastStatus = status;
      active.challengedAt =
        status === 401 && isChallenge(res.getHeader('www-authenticate')) ? Date.now() : undefined;
      if (!active.authenticated && completing && status !== 401 && status !== 400 && status < 500) {
        active.authenticated = true;
        this.#onAuthenticated(socket);
      }
    });
    res.once('close', () => {
      active.inFlight -= 1;
      if (active.inFlight === 0 && this.#pins.get(socket) === active) {
        // A pin nobody completed a logon on is not worth an upstream connection for long.
        const idleMs = active.authenticated
          ? this.#limits.idleTimeoutMs
          : Math.min(this.#limits.idleTimeoutMs, HANDSHAKE_WINDOW_MS);
        active.idleTimer = setTimeout(() => this.release(active, 'idle'), idleMs);
        active.idleTimer.unref();
      }
    });
    return pin.agent;
  }

  /**
   * The agent for a WebSocket upgrade: the client's pinned upstream connection if it has one (an
   * upstream that authenticated the connection expects the upgrade there), else a new connection.
   */
  upgradeAgent(req: http.IncomingMessage): http.Agent | undefined {
    return this.#pins.get(req.socket)?.agent;
  }

  /** Why this pinned connection may not carry the request, if it may not. */
  #staleReason(pin: Pin, token: Buffer | undefined): string | undefined {
    if (Date.now() - pin.createdAt >= this.#limits.maxAgeMs) return 'max age';
    if (pin.requests >= this.#limits.maxRequests) return 'max requests';
    // New credentials on an authenticated connection start over on a fresh upstream connection,
    // so the old context can never answer for them (nginx-ntlm-module v2's stale-credential fix).
    if (token && (peekMessageType(token) === MessageType.NEGOTIATE || pin.lastStatus !== 401))
      return 'new credentials';
    return undefined;
  }

  /** Only a pin nobody is using, authenticated on, or in the middle of a handshake on. */
  #evictable(pin: Pin, now: number): boolean {
    if (pin.inFlight > 0 || pin.authenticated) return false;
    return pin.challengedAt === undefined || now - pin.challengedAt >= HANDSHAKE_WINDOW_MS;
  }

  /** Makes room (the client's share first, then the total), or says there is none. */
  #room(owner: string): boolean {
    const now = Date.now();
    const share = Math.min(this.#limits.maxConnectionsPerClient, this.#limits.maxConnections);
    if ((this.#perClient.get(owner) ?? 0) >= share) {
      const own = this.#oldest((pin) => pin.owner === owner && this.#evictable(pin, now));
      if (!own) return false;
      this.release(own, 'client share full');
    }
    if (this.#pins.size >= this.#limits.maxConnections) {
      const victim = this.#oldest((pin) => this.#evictable(pin, now));
      if (!victim) return false;
      this.release(victim, 'too many pinned connections');
    }
    return true;
  }

  #oldest(test: (pin: Pin) => boolean): Pin | undefined {
    for (const pin of this.#pins.values()) if (test(pin)) return pin;
    return undefined;
  }

  #pin(client: Socket, owner: string): Pin | undefined {
    if (!this.#room(owner)) {
      this.#logger.debug('pin refused', { client: owner, pinned: this.#pins.size });
      return undefined;
    }
    const pin: Pin = {
      client,
      owner,
      // One socket, never shared: the agent holds this client's upstream connection and no other.
      agent: this.#newAgent({ maxSockets: 1, maxFreeSockets: 1 }),
      createdAt: Date.now(),
      requests: 0,
      inFlight: 0,
      lastStatus: 0,
      authenticated: false,
      challengedAt: undefined,
      idleTimer: undefined,
    };
    this.#pins.set(client, pin);
    this.#perClient.set(owner, (this.#perClient.get(owner) ?? 0) + 1);
    if (!this.#watched.has(client)) {
      this.#watched.add(client);
      client.once('close', () => {
        const current = this.#pins.get(client);
        if (current) this.release(current, 'client closed');
      });
    }
    return pin;
  }

  /** Closes a client's upstream connection; its next request goes out unpinned (and re-authenticates). */
  release(pin: Pin, reason: string): void {
    if (this.#pins.get(pin.client) !== pin) return;
    this.#pins.delete(pin.client);
    const held = (this.#perClient.get(pin.owner) ?? 1) - 1;
    if (held > 0) this.#perClient.set(pin.owner, held);
    else this.#perClient.delete(pin.owner);
    clearTimeout(pin.idleTimer);
    pin.agent.destroy();
    this.#logger.debug('upstream connection released', { reason, requests: pin.requests });
  }

  close(): void {
    for (const pin of [...this.#pins.values()]) this.release(pin, 'shutdown');
  }
}
