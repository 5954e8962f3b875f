import type http from 'node:http';
import type { Socket } from 'node:net';
import { MessageType, peekMessageType } from '../ntlm/fields.js';
import type { Logger } from '../types.js';

/** nginx-ntlm-module's `ntlm`, `ntlm_timeout`, `ntlm_time` and `ntlm_requests`. */
export interface PinningLimits {
  /** Client connections pinned to an upstream connection at once; beyond it the least recently used is released. */
  readonly maxConnections: number;
  /** A pinned upstream connection idle this long (ms) is closed. */
  readonly idleTimeoutMs: number;
  /** A pinned upstream connection older than this (ms) is not reused: the client authenticates again. */
  readonly maxAgeMs: number;
  /** Requests over one pinned upstream connection before it is replaced. */
  readonly maxRequests: number;
}

/** Makes a keep-alive agent for the upstream, with these extra settings. */
export type AgentFactory = (options: http.AgentOptions) => http.Agent;

/** One client connection's own upstream connection (an agent that holds at most one socket). */
interface Pin {
  readonly client: Socket;
  readonly agent: http.Agent;
  readonly createdAt: number;
  requests: number;
  inFlight: number;
  lastStatus: number;
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

/**
 * Pass-through mode's one job: an upstream that authenticates connections (IIS with Windows
 * authentication) must see every request of one client connection on one upstream connection,
 * and never a request of anyone else there. Requests that carry no NTLM/Negotiate credentials on
 * a connection never pinned share an ordinary keep-alive pool: no upstream connection in that
 * pool has ever seen credentials.
 */
export class PinnedUpstreams {
  readonly #limits: PinningLimits;
  readonly #logger: Logger;
  readonly #shared: http.Agent;
  readonly #newAgent: AgentFactory;
  /** Least recently used first. */
  readonly #pins = new Map<Socket, Pin>();
  /** Client connections whose 'close' we already listen to (one listener each, however often re-pinned). */
  readonly #watched = new WeakSet<Socket>();

  /**
   * `shared` carries the requests that are not pinned; `newAgent` makes the keep-alive agents
   * (for the upstream's protocol and TLS settings) that pinned connections get.
   */
  constructor(limits: PinningLimits, shared: http.Agent, newAgent: AgentFactory, logger: Logger) {
    this.#limits = limits;
    this.#logger = logger;
    this.#shared = shared;
    this.#newAgent = newAgent;
  }

  get pinnedCount(): number {
    return this.#pins.size;
  }

  /** The agent for this request, pinning its client connection when it presents credentials. */
  agentFor(req: http.IncomingMessage, res: http.ServerResponse): http.Agent {
    const client = req.socket;
    let pin = this.#pins.get(client);
    const token = connectionAuthToken(req.headers.authorization);
    if (pin) {
      const stale = this.#staleReason(pin, token);
      if (stale) {
        this.release(pin, stale);
        pin = undefined;
      }
    }
    if (!pin && !token) return this.#shared;
    pin ??= this.#pin(client);
    this.#pins.delete(client);
    this.#pins.set(client, pin);
    pin.requests += 1;
    pin.inFlight += 1;
    clearTimeout(pin.idleTimer);
    const active = pin;
    res.once('finish', () => {
      active.lastStatus = res.statusCode;
    });
    res.once('close', () => {
      active.inFlight -= 1;
      if (active.inFlight === 0 && this.#pins.get(client) === active) {
        active.idleTimer = setTimeout(() => this.release(active, 'idle'), this.#limits.idleTimeoutMs);
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

  #pin(client: Socket): Pin {
    if (this.#pins.size >= this.#limits.maxConnections) this.#evictOne();
    const pin: Pin = {
      client,
      // One socket, never shared: the agent holds this client's upstream connection and no other.
      agent: this.#newAgent({ maxSockets: 1, maxFreeSockets: 1 }),
      createdAt: Date.now(),
      requests: 0,
      inFlight: 0,
      lastStatus: 0,
      idleTimer: undefined,
    };
    this.#pins.set(client, pin);
    if (!this.#watched.has(client)) {
      this.#watched.add(client);
      client.once('close', () => {
        const current = this.#pins.get(client);
        if (current) this.release(current, 'client closed');
      });
    }
    return pin;
  }

  /** Frees a slot: the least recently used idle pin, or the least recently used of all. */
  #evictOne(): void {
    let victim: Pin | undefined;
    for (const pin of this.#pins.values()) {
      victim ??= pin;
      if (pin.inFlight === 0) {
        victim = pin;
        break;
      }
    }
    if (victim) this.release(victim, 'too many pinned connections');
  }

  /** Closes a client's upstream connection; its next request goes out unpinned (and re-authenticates). */
  release(pin: Pin, reason: string): void {
    if (this.#pins.get(pin.client) !== pin) return;
    this.#pins.delete(pin.client);
    clearTimeout(pin.idleTimer);
    pin.agent.destroy();
    this.#logger.debug('upstream connection released', { reason, requests: pin.requests });
  }

  close(): void {
    for (const pin of [...this.#pins.values()]) this.release(pin, 'shutdown');
  }
}
