import type { Socket } from 'node:net';
import { AuthenticationError, InvalidTokenError, ServiceUnavailableError } from '../errors.js';
import { decodeAuthenticate } from '../ntlm/authenticate.js';
import { MessageType, readMessageType } from '../ntlm/fields.js';
import { decodeNegotiate } from '../ntlm/negotiate.js';
import { checkLogonPolicy } from '../ntlm/policy.js';
import type { NtlmIdentity, PendingHandshake, Verifier } from '../types.js';
import type {
  ConnectionRegistry,
  ConnectionState,
  HandshakeLimits,
  HandshakeSlot,
} from './connection-registry.js';

export type StepResult =
  | { readonly done: false; readonly challengeToken: Buffer }
  | { readonly done: true; readonly identity: NtlmIdentity };

export interface AcceptorLimits extends HandshakeLimits {
  readonly handshakeTimeoutMs: number;
  readonly maxConnections: number;
}

/**
 * The server side of the NTLM handshake for one connection at a time, as a small state machine:
 * NEGOTIATE → CHALLENGE (pending) → AUTHENTICATE → identity. It parses through the wire layer,
 * applies the logon policy, and leaves the verdict to the verifier. It knows nothing of HTTP.
 */
export class NtlmAcceptor {
  constructor(
    private readonly verifier: Verifier,
    private readonly registry: ConnectionRegistry,
    private readonly limits: AcceptorLimits,
    private readonly onHandshakeExpired: (socket: Socket) => void = () => {},
  ) {}

  /** One leg of the handshake on `socket`; `client` is the address per-client limits count against. */
  async step(
    socket: Socket,
    token: Buffer,
    scheme: 'NTLM' | 'Negotiate',
    client: string,
  ): Promise<StepResult> {
    const type = readMessageType(token);
    const state = this.registry.state(socket);
    // Any NTLM message on a connection ends what it was: the old identity is gone at once.
    this.registry.forget(state);
    state.generation++;
    switch (type) {
      case MessageType.NEGOTIATE:
        return this.#negotiate(socket, state, token, client);
      case MessageType.AUTHENTICATE:
        return this.#authenticate(state, token, scheme);
      default:
        this.registry.dropPending(state);
        throw new InvalidTokenError(
          `unexpected NTLM message type ${type} from a client`,
          'ERR_NTLM_UNEXPECTED_MESSAGE',
        );
    }
  }

  async #negotiate(
    socket: Socket,
    state: ConnectionState,
    token: Buffer,
    client: string,
  ): Promise<StepResult> {
    this.registry.dropPending(state);
    const negotiate = decodeNegotiate(token);
    // The slot is taken before any await: a burst of NEGOTIATEs cannot all pass the check
    // while the verifier is still opening DC connections for the first ones.
    const slot = this.#reserve(client);
    const generation = state.generation;
    const controller = new AbortController();
    let handshake: PendingHandshake;
    try {
      handshake = await this.verifier.startHandshake({
        negotiate,
        negotiateToken: token,
        signal: controller.signal,
      });
    } catch (error) {
      this.registry.releaseHandshake(slot);
      throw error;
    }
    if (state.generation !== generation || socket.destroyed) {
      // The client moved on (new message or gone) while the verifier worked: this one is stale.
      this.registry.releaseHandshake(slot);
      controller.abort();
      handshake.abort();
      throw new AuthenticationError(
        'ERR_NTLM_HANDSHAKE_EXPIRED',
        'handshake superseded before its CHALLENGE was sent',
      );
    }
    this.registry.setPending(state, { handshake, controller, slot }, this.limits.handshakeTimeoutMs, () =>
      this.onHandshakeExpired(socket),
    );
    return { done: false, challengeToken: handshake.challengeToken };
  }

  #reserve(client: string): HandshakeSlot {
    const slot = this.registry.reserveHandshake(client, this.limits);
    if (typeof slot === 'object') return slot;
    const message =
      slot === 'full'
        ? `${this.limits.maxPendingHandshakes} handshakes are already waiting for their AUTHENTICATE`
        : `${client} already has ${this.limits.maxPendingHandshakesPerClient} handshakes waiting for their AUTHENTICATE`;
    throw new ServiceUnavailableError('ERR_NTLM_TOO_MANY_HANDSHAKES', message, { retryAfterSeconds: 1 });
  }

  async #authenticate(
    state: ConnectionState,
    token: Buffer,
    scheme: 'NTLM' | 'Negotiate',
  ): Promise<StepResult> {
    const pending = this.registry.takePending(state);
    try {
      const authenticate = decodeAuthenticate(token);
      if (!pending) {
        throw new AuthenticationError(
          'ERR_NTLM_NO_PENDING_HANDSHAKE',
          'AUTHENTICATE on a connection with no CHALLENGE pending (the client or a proxy did not keep the connection alive)',
          { claimedUser: authenticate.user },
        );
      }
      const ntlmV2 = checkLogonPolicy(authenticate);
      const generation = state.generation;
      const identity = await pending.handshake.complete({ authenticate, authenticateToken: token, ntlmV2 });
      if (state.generation !== generation) {
        throw new AuthenticationError(
          'ERR_NTLM_HANDSHAKE_EXPIRED',
          'a newer handshake started on this connection meanwhile',
        );
      }
      this.registry.authenticate(state, identity, scheme, this.limits.maxConnections);
      return { done: true, identity };
    } catch (error) {
      pending?.controller.abort();
      pending?.handshake.abort();
      throw error;
    }
  }
}
