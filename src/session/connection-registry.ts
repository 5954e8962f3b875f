import type { Socket } from 'node:net';
import type { PendingExchange } from '../mechanisms/mechanism.js';
import { shareKey } from '../net/client-address.js';
import type { NtlmRequestInfo } from '../types.js';
import type { HandshakeAbort } from './handshake-abort.js';

/**
 * One of the `maxPendingHandshakes` places, taken when a handshake begins, before the mechanism
 * is asked for its answer (which may open a DC connection): so the cap holds however many first
 * legs arrive at once. Given back once, when the handshake ends in any way.
 */
export interface HandshakeSlot {
  /** The client it is counted against (its shareKey: an IPv6 client by its /64). */
  readonly client: string;
  released: boolean;
}

export interface HandshakeLimits {
  readonly maxPendingHandshakes: number;
  readonly maxPendingHandshakesPerClient: number;
}

/** A handshake waiting for the client's next leg on one connection. */
export interface PendingEntry {
  readonly exchange: PendingExchange;
  readonly controller: HandshakeAbort;
  readonly slot: HandshakeSlot;
  readonly timer: NodeJS.Timeout;
}

export interface ConnectionRules {
  readonly maxConnections: number;
  readonly connectionIdleTimeoutMs: number;
  readonly maxConnectionAgeMs: number;
  readonly maxRequestsPerConnection: number;
}

/** What we know about one TCP connection. */
export interface ConnectionState {
  /** `req.ntlm` for every request on this connection, built once when its handshake completed. */
  info: NtlmRequestInfo | undefined;
  /** Whether `info` passes allowUsers/allowGroups, decided once with it. */
  allowed: boolean;
  pending: PendingEntry | undefined;
  /** Requests served on this identity, and when the last one came (nginx-ntlm-module's limits). */
  requests: number;
  lastSeenAt: number;
  /** Bumped by every new handshake, so that a slow mechanism cannot overwrite a newer one. */
  generation: number;
}

export type ExpiredReason = 'max-age' | 'max-requests' | 'idle';

/**
 * Per-connection state, keyed by the socket object itself: never by an address, port or header
 * a client could choose. Entries die with the socket (WeakMap), and a pending handshake is
 * aborted when its socket closes or its timer fires. Only the Authenticator uses it.
 */
export class ConnectionRegistry {
  readonly #states = new WeakMap<Socket, ConnectionState>();
  #pendingCount = 0;
  /** Slots held per client (shareKey); a client leaves the map with its last slot. */
  readonly #pendingByClient = new Map<string, number>();
  /** Authenticated connections, oldest first: the first to lose its identity when there are too many. */
  readonly #authenticated = new Set<ConnectionState>();

  get pendingCount(): number {
    return this.#pendingCount;
  }

  get authenticatedCount(): number {
    return this.#authenticated.size;
  }

  peek(socket: Socket): ConnectionState | undefined {
    return this.#states.get(socket);
  }

  state(socket: Socket): ConnectionState {
    let state = this.#states.get(socket);
    if (!state) {
      const created: ConnectionState = {
        info: undefined,
        allowed: false,
        pending: undefined,
        generation: 0,
        requests: 0,
        lastSeenAt: 0,
      };
      state = created;
      this.#states.set(socket, created);
      // One listener function for every socket (it finds the state by `this`): a closure and a
      // once() wrapper per connection were a tenth of an idle connection's heap.
      socket.on('close', this.#onSocketClose);
    }
    return state;
  }

  readonly #onSocketClose = ((registry: ConnectionRegistry) =>
    function onSocketClose(this: Socket): void {
      const state = registry.#states.get(this);
      if (!state) return;
      registry.dropPending(state);
      registry.#authenticated.delete(state);
    })(this);

  /** Gives a connection its identity; beyond `maxConnections`, the oldest other one loses its own. */
  authenticate(
    state: ConnectionState,
    info: NtlmRequestInfo,
    allowed: boolean,
    maxConnections: number,
  ): void {
    Object.assign(state, { info, allowed, lastSeenAt: info.authenticatedAt, requests: 0 });
    this.#authenticated.delete(state);
    this.#authenticated.add(state);
    for (const oldest of this.#authenticated) {
      if (this.#authenticated.size <= maxConnections) break;
      this.forget(oldest);
    }
  }

  /** Drops a connection's identity (new handshake, logout, limits): it must authenticate again. */
  forget(state: ConnectionState): void {
    state.info = undefined;
    this.#authenticated.delete(state);
  }

  /**
   * The connection's identity for one more request, or why it has none any more: too old
   * (ntlm_time), too many requests (ntlm_requests), or idle too long (ntlm_timeout).
   */
  use(
    state: ConnectionState,
    rules: ConnectionRules,
    now = Date.now(),
  ): NtlmRequestInfo | ExpiredReason | undefined {
    const info = state.info;
    if (!info) return undefined;
    const expired =
      now - info.authenticatedAt > rules.maxConnectionAgeMs
        ? 'max-age'
        : state.requests >= rules.maxRequestsPerConnection
          ? 'max-requests'
          : now - state.lastSeenAt > rules.connectionIdleTimeoutMs
            ? 'idle'
            : undefined;
    if (expired) {
      this.forget(state);
      return expired;
    }
    state.requests++;
    state.lastSeenAt = now;
    return info;
  }

  /**
   * Takes a handshake slot for `address`, or says which cap is full. One client (an IPv4
   * address, an IPv6 /64) gets at most `maxPendingHandshakesPerClient` of them, so that a client
   * who starts handshakes and never finishes cannot take every place and lock everyone else out.
   */
  reserveHandshake(address: string, limits: HandshakeLimits): HandshakeSlot | 'full' | 'client-full' {
    const client = shareKey(address);
    if (this.#pendingCount >= limits.maxPendingHandshakes) return 'full';
    const held = this.#pendingByClient.get(client) ?? 0;
    if (held >= limits.maxPendingHandshakesPerClient) return 'client-full';
    this.#pendingCount++;
    this.#pendingByClient.set(client, held + 1);
    return { client, released: false };
  }

  /** Gives a slot back; safe to call twice. */
  releaseHandshake(slot: HandshakeSlot): void {
    if (slot.released) return;
    slot.released = true;
    this.#pendingCount--;
    const held = (this.#pendingByClient.get(slot.client) ?? 1) - 1;
    if (held > 0) this.#pendingByClient.set(slot.client, held);
    else this.#pendingByClient.delete(slot.client);
  }

  /** Records a handshake under the slot reserved for it; it ends by `takePending`, `dropPending` or the timer. */
  setPending(
    state: ConnectionState,
    entry: Omit<PendingEntry, 'timer'>,
    timeoutMs: number,
    onTimeout: () => void,
  ): void {
    this.dropPending(state);
    const timer = setTimeout(() => {
      if (state.pending?.exchange === entry.exchange) {
        this.dropPending(state);
        onTimeout();
      }
    }, timeoutMs);
    timer.unref();
    state.pending = { ...entry, timer };
  }

  /** Takes the pending handshake out of the state (single use) and frees its slot, without aborting it. */
  takePending(state: ConnectionState): PendingEntry | undefined {
    const entry = state.pending;
    if (entry) {
      clearTimeout(entry.timer);
      state.pending = undefined;
      this.releaseHandshake(entry.slot);
    }
    return entry;
  }

  /** Abandons the pending handshake, if any, and releases what its mechanism holds. */
  dropPending(state: ConnectionState): void {
    const entry = this.takePending(state);
    if (entry) {
      entry.controller.abort();
      entry.exchange.abort();
    }
  }
}
