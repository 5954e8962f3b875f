import type { Socket } from 'node:net';
import { AuthenticationError, InvalidTokenError, ServiceUnavailableError } from '../errors.js';
import { decodeAuthenticate } from '../ntlm/authenticate.js';
import { MessageType, readMessageType } from '../ntlm/fields.js';
import { decodeNegotiate } from '../ntlm/negotiate.js';
import { checkLogonPolicy } from '../ntlm/policy.js';
import type { NtlmIdentity, Verifier } from '../types.js';
import type { ConnectionRegistry, ConnectionState } from './connection-registry.js';

export type StepResult =
  | { readonly done: false; readonly challengeToken: Buffer }
  | { readonly done: true; readonly identity: NtlmIdentity };

export interface AcceptorLimits {
  readonly maxPendingHandshakes: number;
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

  async step(socket: Socket, token: Buffer, scheme: 'NTLM' | 'Negotiate'): Promise<StepResult> {
    const type = readMessageType(token);
    const state = this.registry.state(socket);
    // Any NTLM message on a connection ends what it was: the old identity is gone at once.
    this.registry.forget(state);
    state.generation++;
    switch (type) {
      case MessageType.NEGOTIATE:
        return this.#negotiate(socket, state, token);
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

  async #negotiate(socket: Socket, state: ConnectionState, token: Buffer): Promise<StepResult> {
    this.registry.dropPending(state);
    const negotiate = decodeNegotiate(token);
    if (!this.registry.hasRoomForHandshake(this.limits.maxPendingHandshakes)) {
      throw new ServiceUnavailableError(
        'ERR_NTLM_TOO_MANY_HANDSHAKES',
        `${this.limits.maxPendingHandshakes} handshakes are already waiting for their AUTHENTICATE`,
        { retryAfterSeconds: 1 },
      );
    }
    const generation = state.generation;
    const controller = new AbortController();
    const handshake = await this.verifier.startHandshake({
      negotiate,
      negotiateToken: token,
      signal: controller.signal,
    });
    if (state.generation !== generation || socket.destroyed) {
      // The client moved on (new message or gone) while the verifier worked: this one is stale.
      controller.abort();
      handshake.abort();
      throw new AuthenticationError(
        'ERR_NTLM_HANDSHAKE_EXPIRED',
        'handshake superseded before its CHALLENGE was sent',
      );
    }
    this.registry.setPending(state, { handshake, controller }, this.limits.handshakeTimeoutMs, () =>
      this.onHandshakeExpired(socket),
    );
    return { done: false, challengeToken: handshake.challengeToken };
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
