/**
 * The public types of ntlm-sso in one place. Every option documents its default.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthenticateMessage } from './ntlm/authenticate.js';
import type { NegotiateMessage } from './ntlm/negotiate.js';
import type { NtlmV2Response } from './ntlm/ntlmv2-response.js';
import type { BearerOptions } from './session/bearer-tokens.js';
import type { Store } from './store/store.js';

/** Who the user is, as the verifier (directory or domain controller) says, never as the client typed it. */
export interface NtlmIdentity {
  /** Account name as the directory knows it (sAMAccountName on Active Directory). */
  readonly username: string;
  /** NetBIOS name of the account's domain, e.g. `EXAMPLE`. */
  readonly domain: string;
  /** Workstation name the client sent. Client-supplied: show it, never trust it. */
  readonly workstation: string;
  readonly displayName?: string | undefined;
  readonly mail?: string | undefined;
  readonly userPrincipalName?: string | undefined;
  /** The account's SID, when the verifier knows it. */
  readonly sid?: string | undefined;
  /** Group names, nested groups included when the verifier can tell. */
  readonly groups?: readonly string[] | undefined;
  /** Group SIDs (tokenGroups: nested groups included), when the verifier is a domain controller. */
  readonly groupSids?: readonly string[] | undefined;
  /** The client's Kerberos realm (`EXAMPLE.TEST`), when it logged on with Kerberos. */
  readonly realm?: string | undefined;
  /** How the user proved who they are: NTLM (alone, or inside SPNEGO) or Kerberos. */
  readonly mechanism?: 'NTLM' | 'Kerberos' | undefined;
}

/** What the middleware puts on `req.ntlm`. */
export interface NtlmRequestInfo extends NtlmIdentity {
  /** The user name as `usernameFormat` shows it: `alice` or `EXAMPLE\alice`. Sent as X-Ntlm-Username. */
  readonly remoteUser: string;
  /** How this request was authenticated: the connection's handshake, or a Bearer token. */
  readonly scheme: 'NTLM' | 'Negotiate' | 'Bearer';
  /** When the handshake behind this identity completed (ms since the epoch). */
  readonly authenticatedAt: number;
  /** The id (`jti`) of the Bearer token issued or presented, when `bearer` is on. */
  readonly tokenId?: string | undefined;
  /** When that token expires (ms since the epoch). */
  readonly tokenExpiresAt?: number | undefined;
  /** The Bearer token itself, for passing on to services that accept it (the gateway's X-Ntlm-Token). */
  readonly token?: string | undefined;
}

/** The client's first message, handed to the verifier to start a handshake. */
export interface HandshakeStart {
  readonly negotiate: NegotiateMessage;
  /** The NEGOTIATE token exactly as received (a relay forwards it as is; the MIC covers it). */
  readonly negotiateToken: Buffer;
  /** Aborted when the handshake is abandoned: timeout, client gone, or a new handshake. */
  readonly signal: AbortSignal;
}

/** The client's last message, handed to the pending handshake for the verdict. */
export interface HandshakeFinish {
  readonly authenticate: AuthenticateMessage;
  readonly authenticateToken: Buffer;
  /** The NTLMv2 response, already decoded and checked by the logon policy. */
  readonly ntlmV2: NtlmV2Response;
}

/**
 * One handshake in progress inside a verifier: it produced the CHALLENGE and waits for the
 * AUTHENTICATE. A local verifier keeps its server challenge here; a domain-controller verifier
 * keeps its LDAP connection.
 */
export interface PendingHandshake {
  /** The CHALLENGE (Type 2) token to send to the client. */
  readonly challengeToken: Buffer;
  /**
   * Decides the logon. Resolves with the identity, or rejects with an AuthenticationError (401)
   * or ServiceUnavailableError (503). Called at most once.
   */
  complete(finish: HandshakeFinish): Promise<NtlmIdentity>;
  /**
   * The NTLM ExportedSessionKey (MS-NLMP 3.2.5.1.2) once `complete` has resolved: SPNEGO computes
   * its mechListMIC with it (RFC 4178 5, MS-SPNG 3.3.5.1). Optional: only a verifier that derives
   * the key itself has it (local directory, Netlogon); the LDAP relay never sees it. The key
   * stays with the mechanism and never reaches `req.ntlm` or a Bearer token.
   */
  exportedSessionKey?(): Buffer | undefined;
  /** Releases what the handshake holds. Called when it is abandoned; safe to call twice. */
  abort(): void;
}

/**
 * Decides NTLM logons (the overridable hooks of Apache::AuthenNTLM, as an interface).
 * The middleware owns the HTTP side and the per-connection state; a verifier owns the crypto
 * or the conversation with a domain controller.
 */
export interface Verifier {
  /** A short name for log lines, e.g. `local-directory` or `ldap://dc1.example.test`. */
  readonly name: string;
  startHandshake(start: HandshakeStart): Promise<PendingHandshake>;
  /** Frees pooled resources when the application shuts down. */
  close?(): Promise<void>;
}

/** Structured log lines. `console` fits; for pino use `(msg, fields) => log.info(fields, msg)`. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export type UsernameFormat = 'user' | 'domain\\user';

export interface NtlmOptions {
  /** Decides logons: `localDirectory(...)` or, later, a domain-controller verifier. Required. */
  verifier: Verifier;
  /**
   * How the user name is shown in X-Ntlm-Username and `req.ntlm.remoteUser`:
   * `'user'` (`alice`, Apache's splitdomainprefix 1) or `'domain\\user'` (`EXAMPLE\alice`).
   * @default 'user'
   */
  usernameFormat?: UsernameFormat;
  /**
   * What to do with a request whose Authorization header uses another scheme (Basic, Bearer...):
   * `'challenge'` answers 401 with `WWW-Authenticate: NTLM`; `'next'` calls `next()` without
   * `req.ntlm`, so that another middleware can handle it.
   * @default 'challenge'
   */
  otherSchemes?: 'challenge' | 'next';
  /**
   * Handshakes (CHALLENGE sent, AUTHENTICATE awaited) allowed at once across all connections.
   * Beyond it, new handshakes get 503 with Retry-After.
   * @default 1000
   */
  maxPendingHandshakes?: number;
  /**
   * Of `maxPendingHandshakes`, how many one client address may hold at once; beyond it that
   * address gets 503 with Retry-After, and nobody else is affected. Behind a proxy, list it in
   * `trustedProxies` so that the address is the one it forwards.
   * @default a tenth of maxPendingHandshakes (100), at least 1
   */
  maxPendingHandshakesPerClient?: number;
  /**
   * Addresses of reverse proxies in front of this server. For a request from one of them, the
   * client address used by per-client limits is taken from X-Forwarded-For (the right-most entry
   * that is not a trusted proxy); from anyone else that header is ignored.
   * @default [] (the TCP peer is the client)
   */
  trustedProxies?: string[];
  /**
   * Extended Protection (IIS's `extendedProtection`): an NTLMv2 client signs the TLS channel it
   * logs on over (MsvAvChannelBindings, RFC 5929 `tls-server-end-point`) and the service it logs
   * on to (MsvAvTargetName). `'allow'` refuses a binding or target that does not match ours;
   * `'require'` also refuses a client that sends none (over HTTPS the binding, over plain HTTP a
   * target among `servicePrincipalNames`). Stops a logon from being relayed to us from another
   * site. A TLS-terminating proxy in front changes the channel: use it only where ntlm-sso holds
   * the certificate.
   * @default 'off'
   */
  extendedProtection?: 'off' | 'allow' | 'require';
  /** Our SPNs (`HTTP/www.example.test`), for the target-name check of `extendedProtection`. @default [] */
  servicePrincipalNames?: string[];
  /**
   * How long a CHALLENGE waits for its AUTHENTICATE before the handshake is dropped (ms).
   * @default 30000
   */
  handshakeTimeoutMs?: number;
  /**
   * Authenticated connections tracked at once; beyond it the oldest loses its identity and must
   * authenticate again (nginx-ntlm-module's `ntlm` connections).
   * @default 10000
   */
  maxConnections?: number;
  /** An authenticated connection idle longer than this authenticates again (ms; `ntlm_timeout`). @default 60000 */
  connectionIdleTimeoutMs?: number;
  /** A connection's identity lasts at most this long (ms; `ntlm_time`). @default 3600000 */
  maxConnectionAgeMs?: number;
  /** Requests served on one identity before the connection authenticates again (`ntlm_requests`). @default 1000 */
  maxRequestsPerConnection?: number;
  /**
   * Apache's `require user`: only these users get through (`alice` or `EXAMPLE\alice`, any case).
   * With `allowGroups` too, either one admits. Others get 403. @default everyone authenticated
   */
  allowUsers?: string[];
  /** Only members of these groups (by name, any case) get through; others get 403. */
  allowGroups?: string[];
  /**
   * Where log lines go. Warnings and errors are always logged; info and debug lines only when
   * `debug` is 1 or more.
   * @default console
   */
  logger?: Logger;
  /**
   * Issue a signed Bearer token (JWT, HS256) when a handshake completes, sent back in the
   * response's `Authorization: Bearer ...` header; later requests that carry it skip NTLM, on
   * any connection and any instance with the same secret. Off unless set.
   */
  bearer?: BearerOptions;
  /**
   * Where revoked token ids are kept until they expire. Share one Redis-backed store between
   * instances so that a logout on one is seen by all.
   * @default an in-process MemoryStore
   */
  store?: Store;
  /**
   * Accept Kerberos (inside SPNEGO, under `Negotiate`) with the service's keys from a keytab: the
   * ticket is opened locally and the PAC gives the SID and group SIDs, with no domain controller
   * round trip. Authenticators already seen are kept in `store` (shared across instances with a
   * RedisStore), else in memory. Off unless set.
   */
  kerberos?: KerberosOptions;
  /**
   * The schemes a 401 offers, in this order. Raw NTLMSSP and SPNEGO under `Negotiate` are
   * accepted whether it is offered or not; offering it makes domain browsers try Kerberos first.
   * @default ['Negotiate', 'NTLM'] with `kerberos`, else ['NTLM']
   */
  schemes?: ('Negotiate' | 'NTLM')[];
  /**
   * Like Apache::AuthenNTLM's ntlmdebug: 0 quiet, 1 each handshake step, 2 also the tokens (base64).
   * @default 0
   */
  debug?: 0 | 1 | 2;
  /**
   * Requests for which no authentication runs (health checks, public assets): they go to `next()`
   * without `req.ntlm`. Client X-Ntlm-* headers are removed from them all the same.
   * @default none skipped
   */
  skip?: (req: IncomingMessage) => boolean;
  /**
   * Your own page for a 401 (Express, Connect, node:http): called with the status and
   * WWW-Authenticate already set, to write the body (`res.end(html)`, `res.render(...)`). If it
   * throws, our plain-text body is sent instead.
   */
  onUnauthorized?: RefusalHandler;
  /** Your own page for a 403 (not among allowUsers/allowGroups); as `onUnauthorized`. */
  onForbidden?: RefusalHandler;
  /** Your own page for a 503 (no DC answered, too many handshakes...); as `onUnauthorized`. */
  onUnavailable?: RefusalHandler;
  /** Also set `req.user` to the identity, for passport-style code that reads it there. @default false */
  setUser?: boolean;
}

/** The Kerberos acceptor of `ntlm({ kerberos })`. */
export interface KerberosOptions {
  /** Path of the service's MIT keytab (`ktpass` / `samba-tool domain exportkeytab`), or its bytes. */
  keytab: string | Buffer;
  /**
   * Accept only tickets for this principal, `HTTP/web.example.com` (optionally `@REALM`).
   * @default any principal with a key in the keytab
   */
  servicePrincipal?: string;
  /** How far the client's clock and the ticket times may be from ours (ms). @default 300000 */
  maxClockSkewMs?: number;
  /** Accept rc4-hmac tickets (accounts without AES keys). @default false */
  allowRc4?: boolean;
}

/**
 * Writes the body of a refusal (401, 403 or 503) whose status and headers ntlm-sso has set.
 * `code` is the error's code, when there is one (never the reason: that is for the log).
 */
export type RefusalHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  refusal: { readonly status: number; readonly code?: string | undefined },
) => void;
