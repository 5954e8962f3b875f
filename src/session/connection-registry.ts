import type { Socket } from 'node:net';
import type { NtlmIdentity, PendingHandshake } from '../types.js';

/** A handshake waiting for its AUTHENTICATE on one connection. */
export interface PendingEntry {
  readonly handshake: PendingHandshake;
  readonly controller: AbortController;
  readonly timer: NodeJS.Timeout;
}

/** What we know about one TCP connection. */
export interface ConnectionState {
  identity: NtlmIdentity | undefined;
  scheme: 'NTLM' | 'Negotiate';
  authenticatedAt: number;
  pending: PendingEntry | undefined;
  /** The Bearer token issued when this connection's handshake completed, if any. */
  tokenId?: string | undefined;
  tokenExpiresAt?: number | undefined;
  /** Bumped by every new handshake, so that a slow verifier cannot overwrite a newer one. */
  generation: number;
}

/**
 * Per-connection NTLM state, keyed by the socket object itself: never by an address, port or
 * header a client could choose. Entries die with the socket (WeakMap), and a pending handshake
 * is aborted when its socket closes or its timer fires.
 */
export class ConnectionRegistry {
  readonly #states = new WeakMap<Socket, ConnectionState>();
  #pendingCount = 0;

  get pendingCount(): number {
    return this.#pendingCount;
  }

  peek(socket: Socket): ConnectionState | undefined {
    return this.#states.get(socket);
  }

  state(socket: Socket): ConnectionState {
    let state = this.#states.get(socket);
    if (!state) {
      const created: ConnectionState = {
        identity: undefined,
        scheme: 'NTLM',
        authenticatedAt: 0,
        pending: undefined,
        generation: 0,
      };
      state = created;
      this.#states.set(socket, created);
      socket.once('close', () => this.dropPending(created));
    }
    return state;
  }

  /** Records a handshake; the caller has checked the limit with `hasRoomForHandshake`. */
  setPending(
    state: ConnectionState,
    entry: Omit<PendingEntry, 'timer'>,
    timeoutMs: number,
    onTimeout: () => void,
  ): void {
    this.dropPending(state);
    const timer = setTimeout(() => {
      if (state.pending?.handshake === entry.handshake) {
        this.dropPending(state);
        onTimeout();
      }
    }, timeoutMs);
    timer.unref();
    state.pending = { ...entry, timer };
    this.#pendingCount++;
  }

  hasRoomForHandshake(limit: number): boolean {
    return this.#pendingCount < limit;
  }

  /** Takes the pending handshake out of the state (single use) without aborting it. */
  takePending(state: ConnectionState): PendingEntry | undefined {
    const entry = state.pending;
    if (entry) {
      clearTimeout(entry.timer);
      state.pending = undefined;
      this.#pendingCount--;
    }
    return entry;
  }

  /** Abandons the pending handshake, if any, and releases what its verifier holds. */
  dropPending(state: ConnectionState): void {
    const entry = this.takePending(state);
    if (entry) {
      entry.controller.abort();
      entry.handshake.abort();
    }
  }
}
