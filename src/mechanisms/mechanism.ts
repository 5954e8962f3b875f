import type { MechanismName, NtlmIdentity } from '../types.js';

/** What a mechanism learns from the request besides the token. */
export interface MechanismContext {
  /** Aborted when the exchange is abandoned: timeout, client gone, or a new handshake. */
  readonly signal: AbortSignal;
  /**
   * Over TLS, the MD5 of the GSS channel bindings for our certificate (RFC 5929
   * `tls-server-end-point`, RFC 2744 3.11): what a client that binds its logon to this TLS
   * channel signs. Undefined over plain HTTP.
   */
  readonly channelBindings: Buffer | undefined;
  /** Whether the request came over TLS (see isSecureRequest): Basic runs only then. */
  readonly secure: boolean;
  /** Who per-client limits count the request against (the peer, or what a trusted proxy forwards). */
  readonly clientAddress: string;
  /**
   * Takes this handshake's place among `maxPendingHandshakes` (throws the 503 when they are
   * full). A mechanism calls it before it starts anything that waits (a DC connection, a store,
   * a KDC), so that a burst of first legs cannot all start that work. A logon decided in the call
   * itself (a Kerberos ticket checked with the keytab) holds nothing, and need not. Safe to call
   * twice; a leg that ends pending, or answers with a promise, holds its place either way.
   */
  hold(): void;
}

/**
 * Where an exchange stands after one leg: finished with the identity (and, for Kerberos, a token
 * for the client to check us by), or waiting for the client's next token.
 */
export type Step =
  | { readonly done: true; readonly identity: NtlmIdentity; readonly responseToken?: Buffer | undefined }
  | { readonly done: false; readonly responseToken: Buffer; readonly pending: PendingExchange };

/** An exchange waiting for the client's next leg. It may hold a DC connection or a challenge. */
export interface PendingExchange {
  /** The client's next token; called at most once. */
  next(token: Buffer): Promise<Step>;
  /** Releases what it holds; safe to call twice. */
  abort(): void;
}

/**
 * One authentication mechanism behind an HTTP scheme (NTLM; Negotiate with SPNEGO, Kerberos or
 * NTLM inside). The authenticator owns the connections and their pending exchanges; a mechanism
 * only reads tokens and decides, and nothing above it looks inside a token.
 */
export interface Mechanism {
  /**
   * Whether the token begins a new exchange (which drops whatever the connection had) or
   * continues the pending one. Throws InvalidTokenError (400) for a token it cannot place.
   */
  begins(token: Buffer): boolean;
  /**
   * The first leg of a new exchange: the step itself when it is decided without waiting on
   * anything, else a promise of it (after `context.hold()`).
   */
  start(token: Buffer, context: MechanismContext): Step | Promise<Step>;
  /** A few fields about a token for log lines (its message type, the user it names...), never secrets. */
  describe(token: Buffer): Record<string, unknown>;
  /**
   * Which mechanism a token belongs to (`NTLM`, `SPNEGO-NTLM`, `Kerberos`), for the log and the
   * metrics of a logon that fails; undefined when the token cannot be read. Never throws.
   */
  mechanismOf(token: Buffer): MechanismName | undefined;
}
