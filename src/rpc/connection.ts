import {
  AuthLevel,
  authPadLength,
  COMMON_HEADER_LENGTH,
  decodeBindAck,
  decodeBindNak,
  decodeFaultStatus,
  decodePdu,
  decodeResponseBody,
  encodeBindBody,
  encodePdu,
  encodeRequestHeader,
  NDR20,
  PacketType,
  type Pdu,
  PfcFlags,
  REQUEST_HEADER_LENGTH,
  RpcFault,
  RpcProtocolError,
  SEC_TRAILER_LENGTH,
  type SyntaxId,
} from './pdu.js';
import { RpcTransport } from './transport.js';

/**
 * An authentication provider for one connection (MS-RPCE 3.3.1.5.2): what goes in the bind's
 * auth_value, and how each request stub is protected and each response stub checked.
 * The Netlogon secure channel (schannel) is the one we have.
 */
export interface SecurityContext {
  readonly authType: number;
  readonly authLevel: number;
  /** auth_length of the verifier on requests and responses. */
  readonly verifierLength: number;
  bindToken(): Buffer;
  /** Checks the server's auth_value in the bind_ack; throws when it is not an acceptance. */
  acceptBindAck(token: Buffer): void;
  /** Seals one fragment's stub (its auth padding included). */
  seal(stub: Buffer): { sealed: Buffer; verifier: Buffer };
  /** Unseals one response fragment's stub and checks its verifier; throws RpcProtocolError when it does not verify. */
  unseal(sealed: Buffer, verifier: Buffer): Buffer;
}

export interface ConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly connectTimeoutMs: number;
  /** Deadline of one bind or call, all fragments included. */
  readonly callTimeoutMs: number;
  /** Largest reassembled response stub we accept. @default 1 MiB */
  readonly maxMessageBytes?: number;
}

/** We offer 4280 bytes both ways, like Windows; the server may lower it. */
const MAX_FRAGMENT = 4280;
const CONTEXT_ID = 0;
/** Any auth_context_id works; it only has to stay the same on the connection. */
const AUTH_CONTEXT_ID = 1;

/**
 * One DCE/RPC association over TCP: bind to an interface (with or without a security context),
 * then calls, one at a time. Any protocol error, bad verifier or timeout closes the connection:
 * its sequence numbers are out of step from then on.
 */
export class RpcConnection {
  #callId = 1;
  #maxXmitFrag = MAX_FRAGMENT;
  #security: SecurityContext | undefined;
  #busy = false;

  private constructor(
    private readonly transport: RpcTransport,
    private readonly options: ConnectionOptions,
  ) {}

  static async open(options: ConnectionOptions): Promise<RpcConnection> {
    return new RpcConnection(await RpcTransport.open(options), options);
  }

  get usable(): boolean {
    return !this.transport.closed;
  }

  close(): void {
    this.transport.close();
  }

  async bind(abstractSyntax: SyntaxId, security?: SecurityContext): Promise<void> {
    if (security && security.authLevel !== AuthLevel.packetPrivacy) {
      throw new RangeError('RpcConnection: only PKT_PRIVACY is supported');
    }
    const callId = this.#callId++;
    const body = encodeBindBody({
      maxXmitFrag: MAX_FRAGMENT,
      maxRecvFrag: MAX_FRAGMENT,
      assocGroupId: 0,
      contextId: CONTEXT_ID,
      abstractSyntax,
    });
    const auth = security && {
      authType: security.authType,
      authLevel: security.authLevel,
      authPadLength: 0,
      authContextId: AUTH_CONTEXT_ID,
      authValue: security.bindToken(),
    };
    const pdu = await this.#exchange(async (deadline) => {
      this.transport.send(
        encodePdu({
          type: PacketType.bind,
          flags: PfcFlags.FIRST_FRAG | PfcFlags.LAST_FRAG,
          callId,
          body,
          ...(auth ? { auth } : {}),
        }),
      );
      return this.#receive(deadline);
    });
    if (pdu.type === PacketType.bindNak) {
      this.close();
      throw new RpcFault('bind refused (bind_nak)', decodeBindNak(pdu.body));
    }
    if (pdu.type !== PacketType.bindAck || pdu.callId !== callId) {
      this.close();
      throw new RpcProtocolError(
        `expected bind_ack for call ${callId}, got type ${pdu.type} call ${pdu.callId}`,
      );
    }
    const ack = decodeBindAck(pdu.body);
    if (ack.result !== 0 || ack.transferSyntax !== NDR20.uuid) {
      this.close();
      throw new RpcFault(`interface ${abstractSyntax.uuid} not accepted (reason ${ack.reason})`, ack.result);
    }
    if (security) {
      if (!pdu.auth || pdu.auth.authType !== security.authType) {
        this.close();
        throw new RpcProtocolError('bind_ack without the auth verifier we asked for');
      }
      security.acceptBindAck(pdu.auth.authValue);
    }
    this.#maxXmitFrag = Math.min(MAX_FRAGMENT, ack.maxRecvFrag);
    this.#security = security;
  }

  /** One call: the request stub in, the response stub out (reassembled, unsealed). */
  async call(opnum: number, stub: Buffer): Promise<Buffer> {
    const callId = this.#callId++;
    return this.#exchange(async (deadline) => {
      for (const pdu of this.#requestFragments(callId, opnum, stub)) this.transport.send(pdu);
      const parts: Buffer[] = [];
      let total = 0;
      const limit = this.options.maxMessageBytes ?? 1024 * 1024;
      for (let first = true; ; first = false) {
        const pdu = await this.#receive(deadline);
        if (pdu.callId !== callId)
          throw new RpcProtocolError(`answer for call ${pdu.callId}, expected ${callId}`);
        if (pdu.type === PacketType.fault) {
          throw new RpcFault(`call ${opnum} failed`, decodeFaultStatus(pdu.body));
        }
        if (pdu.type !== PacketType.response)
          throw new RpcProtocolError(`expected a response, got type ${pdu.type}`);
        if (first !== ((pdu.flags & PfcFlags.FIRST_FRAG) !== 0)) {
          throw new RpcProtocolError('response fragments out of order');
        }
        const part = this.#responseStub(pdu);
        total += part.length;
        if (total > limit) throw new RpcProtocolError(`response larger than ${limit} bytes`);
        parts.push(part);
        if (pdu.flags & PfcFlags.LAST_FRAG) return Buffer.concat(parts, total);
      }
    });
  }

  /** Runs one exchange; a failure or timeout leaves the connection closed. */
  async #exchange<T>(work: (deadline: number) => Promise<T>): Promise<T> {
    if (this.#busy) throw new Error('RpcConnection: one call at a time');
    this.#busy = true;
    try {
      return await work(Date.now() + this.options.callTimeoutMs);
    } catch (error) {
      // Even after a fault we cannot be sure both sides still count the same sequence numbers.
      this.close();
      throw error;
    } finally {
      this.#busy = false;
    }
  }

  async #receive(deadline: number): Promise<Pdu> {
    return decodePdu(await this.transport.receive(Math.max(1, deadline - Date.now())));
  }

  /** Splits the stub into fragments that fit the server's max_recv_frag, each sealed on its own. */
  *#requestFragments(callId: number, opnum: number, stub: Buffer): Generator<Buffer> {
    const security = this.#security;
    const overhead =
      COMMON_HEADER_LENGTH +
      REQUEST_HEADER_LENGTH +
      (security ? SEC_TRAILER_LENGTH + security.verifierLength + 15 : 0);
    const room = Math.floor((this.#maxXmitFrag - overhead) / 16) * 16;
    for (let offset = 0; offset === 0 || offset < stub.length; offset += room) {
      const piece = stub.subarray(offset, offset + room);
      let flags = 0;
      if (offset === 0) flags |= PfcFlags.FIRST_FRAG;
      if (offset + room >= stub.length) flags |= PfcFlags.LAST_FRAG;
      const header = encodeRequestHeader(stub.length - offset, CONTEXT_ID, opnum);
      if (!security) {
        yield encodePdu({ type: PacketType.request, flags, callId, body: Buffer.concat([header, piece]) });
        continue;
      }
      const pad = authPadLength(piece.length);
      const { sealed, verifier } = security.seal(Buffer.concat([piece, Buffer.alloc(pad)]));
      yield encodePdu({
        type: PacketType.request,
        flags,
        callId,
        body: Buffer.concat([header, sealed]),
        auth: {
          authType: security.authType,
          authLevel: security.authLevel,
          authPadLength: pad,
          authContextId: AUTH_CONTEXT_ID,
          authValue: verifier,
        },
      });
    }
  }

  #responseStub(pdu: Pdu): Buffer {
    const { stub, contextId } = decodeResponseBody(pdu.body);
    if (contextId !== CONTEXT_ID) throw new RpcProtocolError(`response for context ${contextId}`);
    const security = this.#security;
    if (!security) {
      if (pdu.auth) throw new RpcProtocolError('unexpected auth verifier');
      return stub;
    }
    const auth = pdu.auth;
    if (
      !auth ||
      auth.authType !== security.authType ||
      auth.authLevel !== security.authLevel ||
      auth.authContextId !== AUTH_CONTEXT_ID
    ) {
      throw new RpcProtocolError('response without the verifier of our security context');
    }
    if (auth.authPadLength > stub.length) throw new RpcProtocolError('auth padding longer than the stub');
    const plain = security.unseal(stub, auth.authValue);
    return plain.subarray(0, plain.length - auth.authPadLength);
  }
}
