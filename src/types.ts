/**
 * The public types of ntlm-sso in one place. Every option documents its default.
 */

import type { KeyObject } from 'node:crypto';
import type * as http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type * as tls from 'node:tls';
import type { SecureContextOptions } from 'node:tls';
import type { AuthenticateMessage } from './ntlm/authenticate.js';
import type { NegotiateMessage } from './ntlm/negotiate.js';
import type { NtlmV2Response } from './ntlm/ntlmv2-response.js';

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
  /**
   * How the user proved who they are: `NTLM` (raw NTLMSSP, under `NTLM` or `Negotiate`),
   * `SPNEGO-NTLM` (NTLMSSP inside SPNEGO) or `Kerberos`. The same name is in the `logon accepted`
   * log line and the metrics' `mechanism` label.
   */
  readonly mechanism?: MechanismName | undefined;
}

/** The mechanism a logon used, as `req.ntlm.mechanism`, the log and the metrics name it. */
export type MechanismName = 'NTLM' | 'SPNEGO-NTLM' | 'Kerberos' | 'Basic';

/** What the middleware puts on `req.ntlm`. */
export interface NtlmRequestInfo extends NtlmIdentity {
  /** The user name as `usernameFormat` shows it: `alice` or `EXAMPLE\alice`. Sent as X-Ntlm-Username. */
  readonly remoteUser: string;
  /** How this request was authenticated: the connection's handshake, or a Bearer token. */
  readonly scheme: 'NTLM' | 'Negotiate' | 'Basic' | 'Bearer';
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
  /**
   * The domains whose users this verifier logs on, by NetBIOS and DNS name (`EXAMPLE`,
   * `example.test`). Logons from any other domain are refused unless listed in `trustedDomains`;
   * `ntlm()` refuses a verifier that names none, as it could not tell ours from a trust's.
   */
  readonly domains?: readonly string[];
  startHandshake(start: HandshakeStart): Promise<PendingHandshake>;
  /** Frees pooled resources when the application shuts down. */
  close?(): Promise<void>;
  /**
   * Fills `groups` (names) from `groupSids` through the directory, for identities that another
   * mechanism brings with SIDs only (Kerberos: the PAC). Present only when the verifier can name
   * SIDs (`netlogon()`; `domainController()` with a lookup account). It is given a shallow copy of
   * its own (the arrays in it are frozen), and may return it or a new object.
   */
  readonly nameGroups?: (<T extends NtlmIdentity>(identity: T) => Promise<T>) | undefined;
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
   * Handshakes (CHALLENGE sent, AUTHENTICATE awaited; or waiting for a DC) allowed at once across
   * all connections. Beyond it, new handshakes get 503 with Retry-After. A Kerberos logon checked
   * with the keytab waits on nothing and holds no place.
   * @default 1000
   */
  maxPendingHandshakes?: number;
  /**
   * Of `maxPendingHandshakes`, how many one client address (an IPv6 client: its /64) may hold
   * at once; beyond it that address gets 503 with Retry-After, and nobody else is affected. Behind a proxy, list it in
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
  /**
   * Our SPNs (`HTTP/www.example.test`), for the target-name check of `extendedProtection`. One
   * without a port accepts its host on any port (Chromium signs `HTTP/localhost:3443`); one with a
   * port, that port only. Another host is refused. @default []
   */
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
  /**
   * Requests served on one identity before the connection authenticates again. No limit by
   * default, as in IIS and nginx-ntlm-module: the identity is bound to the TCP connection, which
   * `maxConnectionAgeMs` and `connectionIdleTimeoutMs` already bound. @default Infinity
   */
  maxRequestsPerConnection?: number;
  /**
   * Apache's `require user`: only these users get through, any case: `alice` (of a configured
   * domain, see `trustedDomains`) or `EXAMPLE\alice`.
   * With `allowGroups` too, either one admits. Others get 403. @default everyone authenticated
   */
  allowUsers?: string[];
  /** Only members of these groups (by name, any case) get through; others get 403. */
  allowGroups?: string[];
  /**
   * Domains besides the configured one(s) whose users may log on (NetBIOS or DNS names, any case;
   * for Kerberos list the trust's realm too). The configured domains are the verifier's and the
   * keytab's realms; a user of any other domain gets 401 `ERR_NTLM_UNKNOWN_DOMAIN`. A bare `alice`
   * in allowUsers still means alice of a configured domain; write `OTHER\alice` for a trust's.
   * @default [] (the configured domains only)
   */
  trustedDomains?: string[];
  /**
   * Let accounts whose name ends in `$` (computer accounts, gMSAs) log on. Off, they get 401
   * `ERR_NTLM_COMPUTER_ACCOUNT_REFUSED`, whatever the mechanism.
   * @default false
   */
  allowComputerAccounts?: boolean;
  /**
   * Where log lines go. Errors, warnings (refused logons with their code, a DC going down) and
   * info lines (each logon accepted, with user, domain, mechanism, address and duration) are
   * always logged; debug lines only when `debug` is 1 or more.
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
   * Offer and take HTTP Basic, last, after `schemes`, over TLS only (the socket is TLS, or a
   * `trustedProxies` proxy says `X-Forwarded-Proto: https`), with the realm of the verifier's
   * first domain. The password is checked against the domain each time (with `kerberos`: the KDC,
   * the ticket it gives for our principal opened with the keytab; else netlogon(): an interactive
   * logon; domainController(): an LDAPS simple bind; localDirectory(): its records), under a
   * per-user and per-client limit on failures. Over plain HTTP it is never offered and Basic
   * credentials get 401.
   * @default false
   */
  basic?: boolean;
  /**
   * Like Apache::AuthenNTLM's ntlmdebug: 0 no debug lines (info and above only), 1 also each
   * handshake step, 2 also the tokens (base64).
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
   * WWW-Authenticate already set, to write the body (`res.end(html)`, `res.render(...)`), for
   * every 401 (the first, without credentials, included). If it throws, our plain-text body is
   * sent instead. Fastify and Koa take their own signature (FastifyRefusalHandler, KoaRefusalHandler).
   */
  onUnauthorized?: RefusalHandler;
  /** Your own page for a 403 (not among allowUsers/allowGroups); as `onUnauthorized`. */
  onForbidden?: RefusalHandler;
  /** Your own page for a 503 (no DC answered, too many handshakes...); as `onUnauthorized`. */
  onUnavailable?: RefusalHandler;
  /** Also set `req.user` (Fastify: `request.user`, Koa: `ctx.state.user`) to the identity, for passport-style code. @default false */
  setUser?: boolean;
  /**
   * Prometheus metrics (logons by mechanism and result, handshake and DC latency, DC up/down,
   * pending handshakes, authenticated connections, Bearer and directory-cache hits), read from
   * `auth.metrics` (`auth.metrics.handler` serves them). Needs prom-client (an optional peer
   * dependency), loaded only when this is set. `{ registry }` adds them to a Registry of yours.
   * @default off
   */
  metrics?: boolean | MetricsOptions;
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
  /**
   * Authenticators held in this process's replay cache, each for twice `maxClockSkewMs`, never
   * forgotten early: when full, new Kerberos logons get 503 until entries expire (a replay still
   * gets 401). @default 500000 (about 45 MB when full)
   */
  maxReplayEntries?: number;
  /**
   * Of those, what one client principal may hold: past it, that principal's new Kerberos logons
   * get 503 (`ERR_KRB_REPLAY_SHARE_FULL`) while everyone else's go on.
   * @default 50000 (a tenth of the default cache; never more than `maxReplayEntries`)
   */
  maxReplayEntriesPerClient?: number;
  /**
   * The KDCs that Basic (`basic: true`) checks passwords with, `host[:port]` (port 88 unless
   * given), tried in order while one cannot be reached; or 'auto': the SRV records
   * `_kerberos._tcp.<realm>` of the keytab's realm. With a keytab, Basic asks the KDC for a
   * ticket to our own principal with the password, and opens it with the keytab.
   * @default 'auto'
   */
  kdc?: string[] | 'auto';
  /** Longest wait for a KDC connection, and then for each of its answers (ms). @default 3000 */
  kdcTimeoutMs?: number;
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

// ---------------------------------------------------------------------------------------------
// Bearer tokens

export interface BearerOptions {
  /** HS256 secret, at least 32 bytes. Every instance that should accept the tokens needs it. */
  secret?: string | Buffer;
  /**
   * Instead of `secret`: keys by id, for asymmetric algorithms and rotation. The first signs new
   * tokens; tokens signed by any listed key are accepted, each checked with its own algorithm only.
   * The public halves of the asymmetric ones are published by `jwks()` (see `jwksPath`).
   */
  keys?: BearerKey[];
  /**
   * Answer `GET` on this path, before authentication, with `jwks()`: the public keys of the
   * asymmetric `keys`, so that other services can check our tokens (e.g. `'/.well-known/jwks.json'`).
   * Never a secret. @default false (the gateway answers `/.well-known/jwks.json`, see its `jwksPath`)
   */
  jwksPath?: string | false;
  /** Token lifetime in seconds. @default 3600 */
  expiresInSeconds?: number;
  /** `iss` claim, checked on the way in. @default 'ntlm-sso' */
  issuer?: string;
  /** `aud` claim, checked on the way in. @default 'ntlm-sso' */
  audience?: string;
  /**
   * Revocations (logouts) this process remembers until their tokens expire (and, at most, users
   * with a watermark). Beyond it, or beyond 100 of one user's, the oldest makes room and every
   * token of that user's that expires no later than it is refused too, so that a revoked token
   * never comes back and nobody else's pays (that user authenticates again). @default 100000
   */
  maxRevocations?: number;
  /**
   * Verified tokens remembered (by their text, until they expire), so that a token sent with
   * every request is checked once, not once per request; revocation is still honoured. When it is
   * full, the token remembered longest goes (it is checked again on its next request). @default 10000
   */
  verifiedCacheSize?: number;
  /**
   * Also hand the token out as an HttpOnly cookie (on the response that completes a handshake,
   * never on a 401 leg) and accept it from that cookie. `true` means the defaults below.
   */
  cookie?: boolean | CookieOptions;
}

export interface CookieOptions {
  /** @default 'ntlm_sso_token' */
  name?: string;
  /** Send it over HTTPS only. Turn off only for plain-HTTP development. @default true */
  secure?: boolean;
  /** @default 'Strict' */
  sameSite?: 'Strict' | 'Lax' | 'None';
}

/** JWS algorithms (RFC 7518; EdDSA with Ed25519, RFC 8037). Each key is checked with its own only. */
export type TokenAlgorithm =
  | 'HS256'
  | 'HS384'
  | 'HS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA';

/** The public half of an asymmetric token key, as `jwks()` publishes it (RFC 7517). */
export interface PublicJwk {
  readonly kty: 'RSA' | 'EC' | 'OKP';
  readonly kid: string;
  readonly alg: TokenAlgorithm;
  readonly use: 'sig';
  /** RSA modulus and exponent. */
  readonly n?: string;
  readonly e?: string;
  /** EC and OKP: the curve (`P-256`, `Ed25519`...) and the point. */
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
}

/** A JWK Set (RFC 7517 section 5): what `/.well-known/jwks.json` answers. */
export interface JsonWebKeySet {
  readonly keys: readonly PublicJwk[];
}

/** One token key. The first key of `bearer.keys` signs; every key listed is accepted (rotation by `kid`). */
export interface BearerKey {
  /** Key id, written in each token's header and used to pick the key that checks it. */
  kid: string;
  algorithm: TokenAlgorithm;
  /**
   * HS256/384/512: the secret (at least 32/48/64 bytes). RS*, PS*, ES*, EdDSA: the private key
   * (PEM or KeyObject), to sign.
   */
  key?: string | Buffer | KeyObject;
  /** RS*, PS*, ES*, EdDSA only: the public key, for an instance that checks tokens but never signs them. */
  publicKey?: string | Buffer | KeyObject;
}

/** One account of a local directory. Give `password` or `ntHash`, not both. */
// ---------------------------------------------------------------------------------------------
// Verifiers and the directory

export interface LocalUser {
  username: string;
  password?: string;
  /** The NT hash (NTOWFv1, MD4 of the UTF-16LE password) as 32 hex digits. */
  ntHash?: string;
  displayName?: string;
  mail?: string;
  groups?: string[];
  /** The account's SID, to give `req.ntlm.sid` the value a domain would (e.g. for a migration). */
  sid?: string;
  /** Group SIDs, matched by SID entries of `allowGroups`. */
  groupSids?: string[];
  /** A disabled account is refused as a domain controller would refuse it. @default false */
  disabled?: boolean;
}

export interface LocalDirectoryOptions {
  /** NetBIOS domain name the users belong to, e.g. `EXAMPLE` (at most 15 characters). */
  domain: string;
  /** DNS domain name, sent in the CHALLENGE and accepted in `user@dnsDomain`. @default `<domain>.local`, lower case */
  dnsDomain?: string;
  /** NetBIOS name of this server in the CHALLENGE. @default the host name, upper case, 15 characters */
  computerName?: string;
  users: LocalUser[];
  /** Largest difference between the client's NTLMv2 timestamp and our clock (ms). @default 300000 */
  maxClockSkewMs?: number;
}

export interface DomainControllerOptions {
  /**
   * NetBIOS domain name → its domain controllers, tried in order:
   * `{ EXAMPLE: ['ldap://dc1.example.test', 'ldap://dc2.example.test'] }`, or `'auto'` to find
   * them in DNS as Windows does (`_ldap._tcp.dc._msdcs.<dnsDomain>`, dialled as `ldap://`).
   */
  domains: Record<string, string | string[]>;
  /**
   * The DNS name of each domain whose DCs are `'auto'`: `'example.test'` when one is,
   * `{ EXAMPLE: 'example.test', CORP: 'corp.example.test' }` for several. Required with `'auto'`.
   */
  dnsDomain?: string | Record<string, string>;
  /** How DCs given as `'auto'` are found in DNS. @default the system's DNS servers */
  dns?: DcDnsOptions;
  /** Domain used when the client names none in its NEGOTIATE. @default the first of `domains` */
  defaultDomain?: string;
  /** Domain used when the client names one that is not configured (trusts do the rest). @default none: refused */
  fallbackDomain?: string;
  /** TCP (and TLS) connect timeout per DC (ms). @default 2000 */
  connectTimeoutMs?: number;
  /** Wait for each LDAP answer (ms). @default 3000 */
  operationTimeoutMs?: number;
  /** How long a DC that failed is skipped (ms). @default 30000 */
  downtimeMs?: number;
  /**
   * LDAP operations in flight at once per DC; more wait in line (up to 10 s, then 503) instead
   * of flooding it. @default 16
   */
  maxConcurrentOperations?: number;
  /**
   * TLS options for ldaps:// DCs: `ca`, `servername`... `rejectUnauthorized` stays true unless
   * you set it. A DC reached by address (`ldaps://10.0.0.5`) is checked against `servername`,
   * the host name its certificate was issued to (e.g. `dc1.example.test`).
   */
  tls?: tls.ConnectionOptions;
  /**
   * A read-only service account, used only to read the attributes of clients that negotiated
   * LDAP signing (their relayed connection cannot be used after the bind). Its `tls` defaults to
   * the `tls` above. Off by default.
   */
  lookup?: ServiceAccountOptions;
  /**
   * Reuse what the directory said about a user (attributes, group names) for `ttlSeconds`, so
   * repeated logons skip those searches; the DC still decides every logon, and group SIDs come
   * fresh from each logon. Pass the middleware's RedisStore to share it; `false` turns it off.
   * @default { ttlSeconds: 300 } in an in-process store
   */
  cache?: DirectoryCacheOptions | false;
}

/** Finding DCs in DNS (`'auto'`): the SRV records of `_ldap._tcp.dc._msdcs.<DNS domain>`. */
export interface DcDnsOptions {
  /** DNS servers to ask, e.g. `['10.0.0.53', '10.0.0.54:53']` (AD's DNS). @default the system's (/etc/resolv.conf) */
  servers?: string[];
  /** Longest wait for DNS to answer one look-up (ms); then the last answer is used, or 503. @default 2000 */
  timeoutMs?: number;
  /**
   * How long an answer is used before DNS is asked again (ms): node gives no TTL for SRV records,
   * so this stands in for it. DNS is also asked again at once when every DC found has failed.
   * @default 600000 (Windows' Netlogon registers its SRV records with a TTL of 600 s)
   */
  refreshMs?: number;
}

export interface ServiceAccountOptions {
  /** `ldaps://dc1.example.test` (recommended) or `ldap://...`; the first that answers is used. */
  readonly url: string | readonly string[];
  /** Bind DN or UPN of a read-only account, e.g. `svc-ntlm@example.test`. */
  readonly bindDN: string;
  readonly password: string;
  /** Connections kept open for lookups. @default 2 */
  readonly poolSize?: number;
  /**
   * TLS options for ldaps:// (`ca`, ...). A DC reached by address (`ldaps://10.0.0.5`) must
   * name the host its certificate was issued to in `servername` (e.g. `dc1.example.test`).
   * @default the domainController's `tls`
   */
  readonly tls?: tls.ConnectionOptions;
}

export interface DirectoryCacheOptions {
  /** Where entries live: the middleware's shared store (e.g. a RedisStore) or one of its own. @default an in-process MemoryStore */
  store?: Store;
  /** How long what the directory said about a user is reused. @default 300 */
  ttlSeconds?: number;
}

// ---------------------------------------------------------------------------------------------
// Stores

/**
 * What RedisStore uses of an ioredis client; an ioredis `Redis` you made fits it. Declared here so
 * that our types compile without ioredis, an optional peer that only RedisStore loads.
 */
export interface RedisClient {
  readonly status: string;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, expiry: 'EX', seconds: number): Promise<unknown>;
  set(key: string, value: string, expiry: 'EX', seconds: number, condition: 'NX'): Promise<'OK' | null>;
  del(key: string): Promise<number>;
  ping(): Promise<string>;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: 'ready' | 'error', listener: (error?: Error) => void): unknown;
}

export interface RedisStoreOptions {
  /**
   * `redis://127.0.0.1:6379/0` (install ioredis beside ntlm-sso), or an ioredis client you already
   * have (it is not closed by us).
   */
  redis: string | RedisClient;
  /** Prefix of every key we write. @default 'ntlm-sso:' */
  prefix?: string;
  /** Longest wait for a connection or a command (ms): a silent Redis must not hang a request. @default 1000 */
  timeoutMs?: number;
  /**
   * After a command failed or timed out, how long later commands fail at once instead of each
   * waiting `timeoutMs` (ms). While disconnected after having been up, commands fail at once too.
   * @default 2000
   */
  unavailablePauseMs?: number;
}

/** A `node:cluster` worker's view of the store its primary serves (`serveWorkerStore`). */
export interface WorkerStoreOptions {
  /** Longest wait for the primary's answer (ms): a busy or gone primary must not hang a request. @default 1000 */
  timeoutMs?: number;
}

export interface NetlogonOptions {
  /** NetBIOS name of the domain, e.g. `EXAMPLE` (1-15 characters). */
  domain: string;
  /**
   * DNS name of the domain, sent in our CHALLENGE's TargetInfo; with `dcs: 'auto'`, where the DCs
   * are looked up (required then). @default `<domain>.local`, lower case
   */
  dnsDomain?: string;
  /**
   * Domain controllers, tried in order: `['dc1.example.test', 'dc2.example.test:49152']`. Without a port, the endpoint mapper (TCP 135) is asked.
   * `'auto'`: found in DNS as Windows does (`_ldap._tcp.dc._msdcs.<dnsDomain>`), each reached through its endpoint mapper.
   */
  dcs: string[] | 'auto';
  /** How `dcs: 'auto'` finds the DCs in DNS. @default the system's DNS servers */
  dns?: DcDnsOptions;
  /** The computer account the secure channel is opened as, e.g. `WEB01$` (the `$` may be left out). */
  machineAccount: string;
  /** Its password. Prefer `machinePasswordFile`; never pass it on a command line. */
  machinePassword?: string;
  /**
   * A file holding the machine password (one line; a trailing newline is ignored). Read again
   * when a DC refuses the machine account, so that a rotated password (file replaced atomically)
   * is used without a restart.
   */
  machinePasswordFile?: string;
  /** TCP connect timeout per DC (ms). @default 2000 */
  connectTimeoutMs?: number;
  /** Deadline of each RPC call, secure channel set-up included (ms). @default 5000 */
  callTimeoutMs?: number;
  /** Sealed connections per DC, each carrying one logon at a time. @default 4 */
  maxChannelsPerDc?: number;
  /**
   * Logons waiting for a free channel per DC; beyond it, 503. By default there is no line of its
   * own: every waiting logon holds one of ntlm()'s `maxPendingHandshakes`, and waits at most
   * `queueTimeoutMs`. @default none (bounded by maxPendingHandshakes)
   */
  maxQueuedLogons?: number;
  /** How long a logon waits for a free channel (ms). @default 5000 */
  queueTimeoutMs?: number;
  /** How long a DC that failed is skipped (ms). @default 30000 */
  downtimeMs?: number;
  /** Largest difference between the client's NTLMv2 timestamp and our clock (ms). @default 300000 */
  maxClockSkewMs?: number;
  /**
   * Reuse group names (each SID's name, from LsarLookupSids3) for `ttlSeconds`; the SIDs come
   * fresh from each logon. Pass the middleware's RedisStore to share it; `false` turns it off.
   * @default { ttlSeconds: 300 } in an in-process store
   */
  cache?: DirectoryCacheOptions | false;
  /**
   * A read-only service account (LDAPS), only to read `mail` (the Netlogon answer and the PAC
   * have none); group names need none. Off by default.
   */
  lookup?: ServiceAccountOptions;
}

/** nginx-ntlm-module's `ntlm`, `ntlm_timeout`, `ntlm_time` and `ntlm_requests`, and a per-client share. */
// ---------------------------------------------------------------------------------------------
// The gateway

export interface PinningLimits {
  /**
   * Client connections pinned to an upstream connection at once. A newcomer may take the slot of
   * the least recently used pin that never completed a handshake and is idle; when there is none
   * it is refused (503), never put on someone else's connection or cut in flight.
   */
  readonly maxConnections: number;
  /** Pins one client address (an IPv6 /64) may hold at once; beyond it its newcomers are refused. */
  readonly maxConnectionsPerClient: number;
  /** A pinned upstream connection idle this long (ms) is closed. */
  readonly idleTimeoutMs: number;
  /** A pinned upstream connection older than this (ms) is not reused: the client authenticates again. */
  readonly maxAgeMs: number;
  /** Requests over one pinned upstream connection before it is replaced. */
  readonly maxRequests: number;
}

export type GatewayMode = 'header' | 'pass-through';

export interface GatewayOptions {
  /** Where requests go: `http://127.0.0.1:9000` or `https://app.internal`. */
  upstream: string | URL;
  /**
   * `header` (default): the gateway authenticates users and tells the upstream who they are in
   * X-Ntlm-* headers. `pass-through`: the upstream speaks NTLM itself (IIS); the gateway keeps
   * each client connection on its own upstream connection.
   */
  mode?: GatewayMode;
  /** Header mode: how users are authenticated; the options of `ntlm()` (a verifier at least). */
  auth?: NtlmOptions;
  /** Header mode: also send X-Ntlm-Groups (group names, comma-separated). @default false */
  forwardGroups?: boolean;
  /** Header mode: also send X-Ntlm-Token (the user's Bearer token). @default false */
  forwardToken?: boolean;
  /**
   * Pass-through mode: nginx-ntlm-module's limits. Defaults: 1000 connections, 60 s idle, 1 h,
   * 1000 requests; per client address a tenth of the connections (at least 4).
   */
  pinning?: Partial<PinningLimits>;
  /**
   * Longest silence from the upstream (ms), then 504 (or a cut response). Time spent waiting for
   * a slow client to read is not the upstream's. @default 60000
   */
  upstreamTimeoutMs?: number;
  /**
   * Longest a client may take none of an answer (ms), then its connection is closed and the
   * upstream request ended (nginx's send_timeout). @default 60000
   */
  sendTimeoutMs?: number;
  /** TLS options for an https:// upstream (`ca`, `servername`...). */
  upstreamTls?: https.AgentOptions;
  /** Answered by the gateway itself, without authentication; `false` turns it off. @default '/.ntlm-sso/health' */
  healthPath?: string | false;
  /**
   * Readiness, answered without authentication: 200 while logons can be decided (a DC, the
   * Netlogon channel, and Redis when configured, answer), 503 otherwise and while shutting down.
   * `false` turns it off. @default '/.ntlm-sso/ready'
   */
  readyPath?: string | false;
  /**
   * Prometheus metrics, answered without authentication (listen where only your scraper can
   * reach it, or turn it off): header mode's authentication metrics, the gateway's requests and
   * Node's process metrics. Needs prom-client; without it the path answers 404 and the start-up
   * log says why. `false` turns it off. @default '/.ntlm-sso/metrics'
   */
  metricsPath?: string | false;
  /**
   * Header mode: `POST` here logs the caller out (revokes their Bearer token, forgets the
   * connection's identity, clears the token cookie) instead of going upstream; `false` turns it off.
   * @default '/.ntlm-sso/logout'
   */
  logoutPath?: string | false;
  /**
   * A listener of their own, plain HTTP, for the health, readiness and metrics paths, e.g.
   * `{ host: '127.0.0.1', port: 9100 }`: started by `listen()`, closed by `close()`. The public
   * listener then treats those paths as any other (authenticated, sent upstream); logout stays
   * there. @default undefined (they are answered on the public listener)
   */
  operatorListen?: { host: string; port: number };
  /**
   * Header mode: `GET` here answers the JWK Set of `auth.bearer`'s asymmetric keys, without
   * authentication, so that upstream services can check X-Ntlm-Token or the Bearer token
   * themselves; `false` turns it off. @default '/.well-known/jwks.json'
   */
  jwksPath?: string | false;
  /** Listen with TLS (PEM `cert` and `key`). */
  tls?: SecureContextOptions;
  /** Client connections open at once; more are closed as they arrive (Node's server.maxConnections). @default 10000 */
  maxClientConnections?: number;
  /**
   * Of those, connections that have not authenticated (yet): beyond it a new connection is
   * answered 503 at once, so that silent or slow clients cannot take every slot.
   * @default half of maxClientConnections
   */
  maxUnauthenticatedConnections?: number;
  /**
   * Of those, what one client may hold: an IPv4 address, an IPv6 /64, or behind `trustedProxies`
   * the address forwarded; beyond it its new connections get 503 and everyone else's do not.
   * @default a tenth of maxUnauthenticatedConnections (at least 4)
   */
  maxUnauthenticatedConnectionsPerClient?: number;
  /**
   * A connection not logged in (yet) that was answered 401 is closed unless the client's next
   * request arrives within this long (ms). Browsers answer a 401 at once; one that must ask its
   * user first opens a new connection after. @default 10000
   */
  challengeTimeoutMs?: number;
  /**
   * A request's headers must arrive within this long (ms) of the connection opening (or of the
   * request's first byte on a kept-alive connection), else 408 and the connection is closed.
   * Also the TLS handshake's limit. @default 10000
   */
  headerTimeoutMs?: number;
  /**
   * The most a request's headers may hold, all together (bytes); a larger head is answered 431
   * and the connection closed. Node's own limit is 16 KiB, too small for the Kerberos token of a
   * user in a few hundred groups. @default 98304 (96 KiB: a 64 KiB token in base64, and the rest)
   */
  maxHeaderBytes?: number;
  /**
   * Proxies in front of the gateway (addresses or networks: `10.0.0.5`, `10.0.0.0/8`). Their
   * X-Forwarded-* and Forwarded headers are kept and appended to, and the client address they
   * forward counts for per-client shares; everyone else's are replaced with what the gateway saw.
   * @default [] (nobody)
   */
  trustedProxies?: string[];
  /** On close(): how long in-flight requests may take before their connections are cut (ms). @default 10000 */
  shutdownTimeoutMs?: number;
  /** Where the gateway's own lines go (proxy errors, shutdown); header mode's `auth.logger` defaults to it. */
  logger?: Logger;
  /**
   * One access line per request (`msg: "request"`, at info). Turn it off where a proxy or load
   * balancer in front already logs every request: on the bench machine the line costs 15–23 µs of
   * CPU a request, a sixth of the gateway's rate (bench row 7i). Logons, refusals, DC transitions
   * and errors are logged either way. @default true
   */
  accessLog?: boolean;
}

export interface Gateway {
  readonly server: http.Server;
  /** The operator listener's server, when `operatorListen` is set. */
  readonly operatorServer: http.Server | undefined;
  readonly mode: GatewayMode;
  /** Starts listening (and the operator listener, when set); resolves with the public bound address. */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /**
   * Graceful shutdown: stops accepting connections, answers health checks with 503, lets
   * in-flight requests finish (up to `shutdownTimeoutMs`), then closes everything it holds.
   */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Stores and metrics

/**
 * The shared cache behind revoked token ids (and, later, cached identities): one small interface
 * so that a Redis store can stand in for the in-process one when several processes share tokens.
 */
export interface Store {
  get(key: string): Promise<string | undefined>;
  /** Stores `value` for `ttlSeconds`; the store forgets it afterwards. */
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Stores `value` for `ttlSeconds` only if `key` is absent (or expired), in one atomic step:
   * true when this call stored it, false when the key was already there. A replay cache needs
   * this: a get-then-set would let two instances both accept the same token.
   */
  setIfAbsent?(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  close?(): Promise<void>;
}

/** The part of a prom-client `Registry` that ntlm-sso uses and hands out. */
export interface MetricsRegistry {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface MetricsOptions {
  /**
   * A prom-client Registry to add ours to (e.g. prom-client's global `register`, to serve them
   * with the application's own). @default a Registry of our own
   */
  registry?: MetricsRegistry;
  /** Prefix of every metric name. @default 'ntlm_sso_' */
  prefix?: string;
  /** Also Node's process metrics (prom-client's collectDefaultMetrics). @default false */
  defaultMetrics?: boolean;
}
