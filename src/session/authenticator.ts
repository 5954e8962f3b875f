import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { AuthenticationError, isNtlmError, type NtlmError, ServiceUnavailableError } from '../errors.js';
import type { Mechanism, MechanismContext, Step } from '../mechanisms/mechanism.js';
import type { MechanismRegistry } from '../mechanisms/registry.js';
import { type AuthenticatorObserver, type LogonOutcome, Observers } from '../metrics/observer.js';
import { Operations } from '../metrics/operations.js';
import type { NtlmMetrics } from '../metrics/prometheus.js';
import type { ReadinessReport } from '../metrics/readiness.js';
import { channelBindingsHash, tlsServerEndPoint } from '../ntlm/extended-protection.js';
import type { JsonWebKeySet, Logger, NtlmIdentity, NtlmRequestInfo } from '../types.js';
import { isAllowed } from './access-rules.js';
import { assertOneToken, type ConnectionScheme, isScheme, parseAuthorization } from './authorization.js';
import { type BearerTokens, DEFAULT_COOKIE_NAME, readCookie, type VerifiedToken } from './bearer-tokens.js';
import {
  ConnectionRegistry,
  type ConnectionState,
  type HandshakeSlot,
  type PendingEntry,
} from './connection-registry.js';
import { HandshakeAbort } from './handshake-abort.js';
import { IdentityInterner } from './identity-interner.js';
import type { ResolvedOptions } from './resolved-options.js';

/**
 * The GSS channel bindings of a TLS connection (our certificate's `tls-server-end-point`), or
 * undefined over plain TCP. Read from the socket, so every framework gets it alike.
 */
function channelBindingsOf(socket: Socket): Buffer | undefined {
  if (!(socket as TLSSocket).encrypted) return undefined;
  const certificate = (socket as TLSSocket).getCertificate();
  const der = certificate && 'raw' in certificate ? certificate.raw : undefined;
  return der ? channelBindingsHash(tlsServerEndPoint(der)) : undefined;
}

const NO_KEYS: JsonWebKeySet = Object.freeze({ keys: Object.freeze([]) });

/** Where one leg left the exchange, with the slot and abort signal it holds. */
interface Leg {
  readonly step: Step;
  /** None for a logon decided in the call that read it: nothing of it waited. */
  readonly slot: HandshakeSlot | undefined;
  readonly controller: HandshakeAbort;
}

/** The request a leg answers, and the connection's handshake generation when it began. */
interface LegRequest {
  readonly state: ConnectionState;
  readonly generation: number;
  readonly request: AuthRequest;
  readonly scheme: ConnectionScheme;
  readonly mechanism: Mechanism;
  readonly token: Buffer;
}

/**
 * What a first leg hands its mechanism, as a class, not an object literal with `get` accessors:
 * V8 gives such a literal a new hidden class for every object it makes, and scavenges keep those,
 * with what the getters' closures hold, until a full collection. Here that was the request and its
 * connection, ~6 KB a Kerberos logon promoted out of the young generation, which cost more than
 * the promises this leg no longer makes (bench/analysis.md, session 17).
 */
class FirstLegContext implements MechanismContext {
  /** The handshake slot, once the mechanism (or the authenticator) took it. */
  slot: HandshakeSlot | undefined;
  readonly controller = new HandshakeAbort();

  constructor(
    private readonly request: AuthRequest,
    private readonly reserve: (client: string) => HandshakeSlot,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Read only by a mechanism that checks them: the certificate and two hashes per logon otherwise. */
  get channelBindings(): Buffer | undefined {
    return channelBindingsOf(this.request.socket);
  }

  get secure(): boolean {
    return this.request.secure === true;
  }

  /** Read only by a mechanism that counts it (Basic's failure limits): the peer's address otherwise. */
  get clientAddress(): string {
    return this.request.clientAddress;
  }

  hold(): void {
    this.slot ??= this.reserve(this.request.clientAddress);
  }
}

/** A pending step must hold a slot; when none is left, what the mechanism holds is let go. */
function holdOrAbort(context: FirstLegContext, step: Extract<Step, { done: false }>): void {
  try {
    context.hold();
  } catch (error) {
    context.controller.abort();
    step.pending.abort();
    throw error;
  }
}

/** What the authenticator needs of a request, whatever the framework. */
export interface AuthRequest {
  /** The TCP connection: NTLM and Negotiate authenticate it, so its state is keyed by it. */
  readonly socket: Socket;
  readonly authorization: string | undefined;
  /** The Cookie header, for a Bearer token kept in a cookie. */
  readonly cookie: string | undefined;
  /** Who per-client limits count the request against (the peer, or what a trusted proxy forwards). */
  readonly clientAddress: string;
  /** Whether it came over TLS (isSecureRequest): TLS-only mechanisms (Basic) are offered and taken then only. */
  readonly secure?: boolean | undefined;
  /** Where this request's log lines go (Fastify's `request.log`, with its reqId); else the `logger` option. */
  readonly logger?: Logger | undefined;
}

/** A Bearer token issued on the response that completes a handshake. */
export interface IssuedToken {
  readonly token: string;
  readonly tokenId: string;
  readonly expiresAt: number;
}

/**
 * The verdict on one request; each framework adapter only translates it into a response.
 * - `pass`: through to the application as `info`; `issued` and `mutual` go on the response.
 * - `challenge`: 401 with these `WWW-Authenticate` offers (a fresh start, or the next leg).
 * - `fail`: 400, 401 (with fresh offers) or 503, by `error.statusCode`.
 * - `forbidden`: authenticated, but not among allowUsers/allowGroups: 403.
 * - `next`: another scheme the application handles itself (`otherSchemes: 'next'`).
 */
export type Decision =
  | {
      readonly kind: 'pass';
      readonly info: NtlmRequestInfo;
      readonly issued?: IssuedToken | undefined;
      /** `WWW-Authenticate` for the final leg (Negotiate's mutual authentication), if any. */
      readonly mutual?: string | undefined;
    }
  | { readonly kind: 'challenge'; readonly offers: readonly string[] }
  | { readonly kind: 'fail'; readonly error: NtlmError; readonly offers: readonly string[] }
  | { readonly kind: 'forbidden'; readonly info: NtlmRequestInfo }
  | { readonly kind: 'next' };

/** What a failed request was, for its observers: a logon attempt (timed from its first leg), or a Bearer token. */
type Attempt =
  | {
      readonly kind: 'logon';
      readonly durationMs: number | undefined;
      /** The mechanism's name when the token could be read (`SPNEGO-NTLM`), else the scheme. */
      readonly mechanism?: string | undefined;
    }
  | { readonly kind: 'bearer' };
const UNTIMED_LOGON: Attempt = { kind: 'logon', durationMs: undefined };

/**
 * Decides every request: the connection's identity, a Bearer token, or a handshake leg of one of
 * the mechanisms (NTLM; Negotiate). It alone owns the per-connection registry, logs the outcome,
 * and knows nothing of HTTP responses or of what is inside a token.
 */
export class Authenticator {
  readonly #registry = new ConnectionRegistry();
  readonly #options: ResolvedOptions;
  /** The mechanisms by scheme, and the `WWW-Authenticate` offers of a fresh start. */
  readonly #mechanisms: MechanismRegistry;
  /** Who hears of each outcome (metrics); they never change a decision. */
  readonly #observers = new Observers<AuthenticatorObserver>();
  /** When each connection's current handshake began (performance.now()), for its duration. */
  readonly #handshakeStarts = new WeakMap<ConnectionState, number>();
  readonly #operations: Operations;
  /** One shared identity per user for every connection that logged on as them (idle memory). */
  readonly #identities = new IdentityInterner();
  /** `req.ntlm` of a verified Bearer token, built on its first request, not on every one. */
  readonly #bearerInfo = new WeakMap<VerifiedToken, NtlmRequestInfo>();
  /** Takes a handshake slot for a client, or throws the 503: what FirstLegContext.hold() calls. */
  readonly #reserveSlot = (client: string): HandshakeSlot => this.#reserve(client);

  /** `mechanisms`: what each scheme is accepted with, and what a fresh 401 offers (buildRegistry). */
  constructor(options: ResolvedOptions, mechanisms: MechanismRegistry) {
    this.#options = options;
    this.#mechanisms = mechanisms;
    this.#operations = new Operations(options, this);
  }

  /** Hears of every logon outcome and Bearer token from now on; returns the function that stops it. */
  observe(observer: AuthenticatorObserver): () => void {
    return this.#observers.add(observer);
  }

  /** The Prometheus metrics, when `metrics` is on. */
  get metrics(): NtlmMetrics | undefined {
    return this.#operations.metrics;
  }

  /** Whether logons can be decided now: a DC (or the Netlogon channel) and the store answer. */
  ready(): Promise<ReadinessReport> {
    return this.#operations.ready();
  }

  /** The public keys that check our Bearer tokens: none without `bearer` or asymmetric keys. */
  jwks(): JsonWebKeySet {
    return this.#options.tokens?.jwks() ?? NO_KEYS;
  }

  /** Authenticated connections and pending handshakes, for health and metrics. */
  get counts(): { authenticated: number; pending: number } {
    return { authenticated: this.#registry.authenticatedCount, pending: this.#registry.pendingCount };
  }

  authenticate(request: AuthRequest): Decision | Promise<Decision> {
    const { tokens, otherSchemes } = this.#options;
    let authorization: ReturnType<typeof parseAuthorization>;
    let bearerToken: string | undefined;
    let verifiedBefore: VerifiedToken | undefined;
    try {
      authorization = parseAuthorization(request.authorization, this.#mechanisms.schemes);
      if (authorization.kind === 'other') {
        if (tokens && isScheme(authorization.scheme, 'Bearer')) {
          bearerToken = authorization.credentials;
          verifiedBefore = tokens.known(bearerToken);
        }
        // A token verified before is compact JWS, one token: only new credentials are scanned.
        if (verifiedBefore === undefined) assertOneToken(authorization.credentials);
      }
    } catch (error) {
      return this.#fail(error, request, 'NTLM', UNTIMED_LOGON);
    }
    if (bearerToken !== undefined) return this.#bearer(bearerToken, request, verifiedBefore);
    if (authorization.kind === 'token') {
      const entry = this.#mechanisms.find(authorization.scheme)!;
      return this.#leg(request, authorization.scheme, entry.mechanism, authorization.token);
    }

    const known = this.#registry.peek(request.socket);
    const used = known ? this.#registry.use(known, this.#options) : undefined;
    if (typeof used === 'object') return this.#passConnection(known!, used, request);
    if (used !== undefined) {
      this.#log(request).debug('connection must authenticate again', {
        reason: used,
        remote: request.clientAddress,
      });
      return { kind: 'challenge', offers: this.#mechanisms.offers(request.secure === true) };
    }
    const fromCookie = this.#cookieToken(request.cookie);
    if (fromCookie !== undefined) return this.#bearer(fromCookie, request);
    if (authorization.kind === 'other' && otherSchemes === 'next') return { kind: 'next' };
    return { kind: 'challenge', offers: this.#mechanisms.offers(request.secure === true) };
  }

  /**
   * Ends the session of `socket` (and of the Bearer token `info` carries): the connection is
   * forgotten at once; the token is revoked here at once and in the shared store when it answers.
   * Resolves false when the shared store did not take the revocation yet.
   */
  async logout(socket: Socket, info: NtlmRequestInfo | undefined): Promise<boolean> {
    const state = this.#registry.peek(socket);
    if (state) this.#registry.forget(state);
    const { tokens, logger } = this.#options;
    let shared = true;
    if (info?.tokenId && info.tokenExpiresAt && tokens) {
      shared = await tokens.revoke(info.tokenId, info.tokenExpiresAt, info);
      if (!shared) {
        logger.warn(
          'logout: the shared store did not take the revocation; this process refuses the token and will write it when the store answers',
          { user: info.username, tokenId: info.tokenId },
        );
      }
    }
    logger.info('logged out', { user: info?.username, tokenId: info?.tokenId });
    return shared;
  }

  /** A request on an authenticated connection: its identity, with a fresh token when it outlived the last. */
  #passConnection(
    state: ConnectionState,
    info: NtlmRequestInfo,
    request: AuthRequest,
  ): Decision | Promise<Decision> {
    if (!state.allowed) return this.#forbidden(info, request);
    const { tokens } = this.#options;
    // A connection may outlive its token (maxConnectionAgeMs above the token lifetime): a fresh
    // one keeps req.ntlm.token, which others may be handed, valid.
    if (tokens && info.tokenExpiresAt !== undefined && info.tokenExpiresAt <= Date.now()) {
      const generation = state.generation;
      return tokens.issue(info).then((issued) => {
        const fresh = {
          ...info,
          token: issued.token,
          tokenId: issued.tokenId,
          tokenExpiresAt: issued.expiresAt,
        };
        // Kept for the connection's next requests unless a handshake began on it meanwhile.
        if (state.generation === generation && state.info === info) state.info = fresh;
        return { kind: 'pass', info: fresh };
      });
    }
    return { kind: 'pass', info };
  }

  /** `Authorization: Bearer <jwt>` (or the cookie): valid → through with its identity; anything else → a fresh challenge. */
  #bearer(token: string, request: AuthRequest, known?: VerifiedToken): Decision | Promise<Decision> {
    let verified: ReturnType<BearerTokens['verify']>;
    try {
      verified = this.#options.tokens!.verify(token, known);
    } catch (error) {
      return this.#storeUnavailable(error, request);
    }
    // Without a shared store the answer is at hand: no promise on the request path.
    if (verified instanceof Promise) {
      return verified.then(
        (settled) => this.#bearerVerdict(settled, request),
        (error: unknown) => this.#storeUnavailable(error, request),
      );
    }
    return this.#bearerVerdict(verified, request);
  }

  #bearerVerdict(verified: VerifiedToken | undefined, request: AuthRequest): Decision {
    this.#observers.each((observer) => observer.bearer(verified !== undefined));
    if (!verified) {
      const invalid = new AuthenticationError(
        'ERR_NTLM_INVALID_BEARER',
        'Bearer token invalid, expired or revoked',
      );
      return this.#fail(invalid, request, 'NTLM', { kind: 'bearer' });
    }
    let info = this.#bearerInfo.get(verified);
    if (!info) {
      // verified.token: the token's own copy, not a slice of the Cookie header it came in.
      const { identity, tokenId, issuedAt, expiresAt, token: ownToken } = verified;
      info = this.#info(identity, 'Bearer', issuedAt, {
        tokenId,
        tokenExpiresAt: expiresAt,
        token: ownToken,
      });
      this.#bearerInfo.set(verified, info);
    }
    return this.#allowed(info) ? { kind: 'pass', info } : this.#forbidden(info, request);
  }

  #storeUnavailable(error: unknown, request: AuthRequest): Decision {
    const unavailable = new ServiceUnavailableError(
      'ERR_NTLM_STORE_UNAVAILABLE',
      `the token store did not answer: ${(error as Error).message}`,
      { retryAfterSeconds: 1, cause: error },
    );
    return this.#fail(unavailable, request, 'NTLM', { kind: 'bearer' });
  }

  /**
   * One leg of a connection handshake; any leg ends the identity the connection had. A logon
   * decided without waiting (a Kerberos ticket checked with the keytab, no token to sign) is
   * answered in this call; every other leg in a promise.
   */
  #leg(
    request: AuthRequest,
    scheme: ConnectionScheme,
    mechanism: Mechanism,
    token: Buffer,
  ): Decision | Promise<Decision> {
    const { debug } = this.#options;
    if (debug >= 2 && this.#mechanisms.find(scheme)?.loggableTokens)
      this.#log(request).debug('token received', {
        scheme,
        remote: request.clientAddress,
        token: token.toString('base64'),
      });
    const state = this.#registry.state(request.socket);
    this.#registry.forget(state);
    state.generation++;
    const generation = state.generation;
    const leg = { state, generation, request, scheme, mechanism, token };
    try {
      const reached = mechanism.begins(token)
        ? this.#firstLeg(state, request, mechanism, token)
        : this.#nextLeg(state, request, mechanism, token);
      if (reached instanceof Promise || (reached.step.done && this.#options.tokens))
        return this.#awaitedLeg(reached, leg);
      if (reached.step.done) this.#checkPolicy(reached.step.identity, reached.slot);
      return this.#concludeLeg(reached, undefined, leg);
    } catch (error) {
      return this.#legFailed(error, leg);
    }
  }

  /** A leg whose mechanism, or whose Bearer token, is waited for. */
  async #awaitedLeg(reached: Leg | Promise<Leg>, leg: LegRequest): Promise<Decision> {
    try {
      const settled = await reached;
      const { step, slot } = settled;
      // Whatever mechanism proved it: anonymous, Guest, computer accounts, other domains (401),
      // before any token is signed for it.
      if (step.done) this.#checkPolicy(step.identity, slot);
      // Signed before the staleness check in #concludeLeg, which must follow the last await.
      const issued = step.done && this.#options.tokens ? await this.#issue(step.identity, slot) : undefined;
      return this.#concludeLeg(settled, issued, leg);
    } catch (error) {
      return this.#legFailed(error, leg);
    }
  }

  /** Where the leg left the exchange: the connection's identity, or the next leg awaited. */
  #concludeLeg(reached: Leg, issued: IssuedToken | undefined, leg: LegRequest): Decision {
    const { step, slot, controller } = reached;
    const { state, request, scheme, mechanism, token } = leg;
    if (state.generation !== leg.generation || request.socket.destroyed) {
      // The client moved on (new leg or gone) while the mechanism worked: this one is stale.
      this.#release(slot);
      controller.abort();
      if (!step.done) step.pending.abort();
      throw new AuthenticationError(
        'ERR_NTLM_HANDSHAKE_EXPIRED',
        'a newer handshake started on this connection meanwhile',
      );
    }
    if (step.done) {
      this.#release(slot);
      return this.#completed(
        state,
        request,
        scheme,
        step,
        issued,
        () => mechanism.mechanismOf(token) ?? scheme,
      );
    }
    // A pending exchange always holds its place (#firstLeg, #nextLeg).
    this.#awaitNextLeg(state, request, { exchange: step.pending, controller, slot: slot! });
    if (this.#options.debug >= 1)
      this.#log(request).debug('challenge sent', {
        scheme,
        remote: request.clientAddress,
        ...mechanism.describe(step.responseToken),
      });
    return { kind: 'challenge', offers: [`${scheme} ${step.responseToken.toString('base64')}`] };
  }

  #legFailed(error: unknown, leg: LegRequest): Decision {
    return this.#fail(error, leg.request, leg.scheme, {
      kind: 'logon',
      durationMs: this.#handshakeTime(leg.state),
      mechanism: leg.mechanism.mechanismOf(leg.token),
    });
  }

  /** The identity policy's verdict; a refused identity gives its handshake slot back first. */
  #checkPolicy(identity: NtlmIdentity, slot: HandshakeSlot | undefined): void {
    try {
      this.#options.identityPolicy.check(identity);
    } catch (error) {
      this.#release(slot);
      throw error;
    }
  }

  /**
   * A first leg: a new exchange. Its handshake slot is taken when the mechanism holds it (before
   * it starts anything that waits), and in any case before the leg ends pending or in a promise:
   * only a logon decided in this call holds none.
   */
  #firstLeg(
    state: ConnectionState,
    request: AuthRequest,
    mechanism: Mechanism,
    token: Buffer,
  ): Leg | Promise<Leg> {
    this.#handshakeStarts.set(state, performance.now());
    this.#registry.dropPending(state);
    const context = new FirstLegContext(request, this.#reserveSlot);
    let started: Step | Promise<Step>;
    try {
      started = mechanism.start(token, context);
      if (!(started instanceof Promise)) {
        if (!started.done) holdOrAbort(context, started);
        return { step: started, slot: context.slot, controller: context.controller };
      }
    } catch (error) {
      this.#release(context.slot);
      throw error;
    }
    return this.#startedLater(started, context);
  }

  /** A first leg answered with a promise: it holds its slot now, whether the mechanism took it or not. */
  #startedLater(started: Promise<Step>, context: FirstLegContext): Promise<Leg> {
    try {
      context.hold();
    } catch (error) {
      // A mechanism that did not hold before starting its work: it is let go unanswered.
      context.controller.abort();
      started.then(
        (step) => step.done || step.pending.abort(),
        () => {},
      );
      throw error;
    }
    return started.then(
      (step) => ({ step, slot: context.slot, controller: context.controller }),
      (error: unknown) => {
        this.#release(context.slot);
        throw error;
      },
    );
  }

  /** A later leg: the connection's pending exchange goes on (and is used up). */
  async #nextLeg(
    state: ConnectionState,
    request: AuthRequest,
    mechanism: Mechanism,
    token: Buffer,
  ): Promise<Leg> {
    const entry = this.#registry.takePending(state);
    if (!entry) {
      throw new AuthenticationError(
        'ERR_NTLM_NO_PENDING_HANDSHAKE',
        'a handshake leg on a connection with none pending (the client or a proxy did not keep the connection alive)',
        { claimedUser: mechanism.describe(token).user as string | undefined },
      );
    }
    const { controller } = entry;
    try {
      const step = await entry.exchange.next(token);
      // A further leg, if the mechanism needs one, counts as a handshake again.
      return { step, controller, slot: step.done ? entry.slot : this.#reserve(request.clientAddress) };
    } catch (error) {
      controller.abort();
      entry.exchange.abort();
      throw error;
    }
  }

  /** Keeps the exchange for the client's next leg, until handshakeTimeoutMs. */
  #awaitNextLeg(state: ConnectionState, request: AuthRequest, entry: Omit<PendingEntry, 'timer'>): void {
    const timeoutMs = this.#options.handshakeTimeoutMs;
    this.#registry.setPending(state, entry, timeoutMs, () =>
      this.#log(request).info('handshake expired: the next leg did not arrive in time', {
        remote: request.clientAddress,
        timeoutMs,
      }),
    );
  }

  /** The Bearer token for a completed handshake, when `bearer` is on; the slot goes if signing fails. */
  async #issue(identity: NtlmIdentity, slot: HandshakeSlot | undefined): Promise<IssuedToken | undefined> {
    try {
      return await this.#options.tokens?.issue(identity);
    } catch (error) {
      this.#release(slot);
      throw error;
    }
  }

  #release(slot: HandshakeSlot | undefined): void {
    if (slot) this.#registry.releaseHandshake(slot);
  }

  /** The handshake is done: the connection has its identity, and the client maybe a Bearer token. */
  #completed(
    state: ConnectionState,
    request: AuthRequest,
    scheme: ConnectionScheme,
    step: Extract<Step, { done: true }>,
    issued: IssuedToken | undefined,
    /** What the token says it was, for an identity that does not: read only then (a second parse). */
    tokenMechanism: () => string,
  ): Decision {
    const { responseToken } = step;
    const identity = this.#identities.intern(step.identity);
    const logger = this.#log(request);
    const durationMs = this.#handshakeTime(state);
    // One name for the logon, wherever it shows: req.ntlm.mechanism, this line, the metrics.
    const mechanism = identity.mechanism ?? tokenMechanism();
    logger.info('logon accepted', {
      user: identity.username,
      domain: identity.domain,
      workstation: identity.workstation,
      mechanism,
      remote: request.clientAddress,
      durationMs: durationMs === undefined ? undefined : Math.round(durationMs),
    });
    const info = this.#info(identity, scheme, Date.now(), {
      tokenId: issued?.tokenId,
      tokenExpiresAt: issued?.expiresAt,
      token: issued?.token,
    });
    const allowed = this.#allowed(info);
    this.#report({ mechanism, result: allowed ? 'success' : 'forbidden', durationMs });
    this.#registry.authenticate(state, info, allowed, this.#options.maxConnections);
    this.#registry.use(state, this.#options);
    if (!allowed) return this.#forbidden(info, request);
    const mutual = responseToken ? `${scheme} ${responseToken.toString('base64')}` : undefined;
    return { kind: 'pass', info, issued, mutual };
  }

  /** allowUsers / allowGroups; a bare user name means one of the configured domains. */
  #allowed(info: NtlmRequestInfo): boolean {
    const { identityPolicy } = this.#options;
    return isAllowed(info, this.#options, (domain) => identityPolicy.isOwnDomain(domain));
  }

  #info(
    identity: NtlmIdentity,
    scheme: NtlmRequestInfo['scheme'],
    authenticatedAt: number,
    token: Pick<NtlmRequestInfo, 'tokenId' | 'tokenExpiresAt' | 'token'>,
  ): NtlmRequestInfo {
    const remoteUser =
      this.#options.usernameFormat === 'user'
        ? identity.username
        : `${identity.domain}\\${identity.username}`;
    return { ...identity, remoteUser, scheme, authenticatedAt, ...token };
  }

  /** How long the connection's handshake has taken (ms), once: the entry goes with the verdict. */
  #handshakeTime(state: ConnectionState): number | undefined {
    const started = this.#handshakeStarts.get(state);
    this.#handshakeStarts.delete(state);
    return started === undefined ? undefined : performance.now() - started;
  }

  #report(outcome: LogonOutcome): void {
    this.#observers.each((observer) => observer.logon(outcome));
  }

  #reserve(client: string): HandshakeSlot {
    const slot = this.#registry.reserveHandshake(client, this.#options);
    if (typeof slot === 'object') return slot;
    const { maxPendingHandshakes, maxPendingHandshakesPerClient } = this.#options;
    const message =
      slot === 'full'
        ? `${maxPendingHandshakes} handshakes are already waiting for their next leg`
        : `${client} already has ${maxPendingHandshakesPerClient} handshakes waiting for their next leg`;
    throw new ServiceUnavailableError('ERR_NTLM_TOO_MANY_HANDSHAKES', message, { retryAfterSeconds: 1 });
  }

  #forbidden(info: NtlmRequestInfo, request: AuthRequest): Decision {
    this.#log(request).warn('access denied by allowUsers/allowGroups', {
      user: info.username,
      domain: info.domain,
    });
    return { kind: 'forbidden', info };
  }

  /** A typed error becomes a decision and a log line; anything else is a bug, and is thrown on. */
  #fail(error: unknown, request: AuthRequest, scheme: ConnectionScheme, attempt: Attempt): Decision {
    if (!isNtlmError(error)) throw error;
    if (attempt.kind === 'logon')
      this.#report({
        mechanism: attempt.mechanism ?? scheme,
        result: error.code,
        durationMs: attempt.durationMs,
      });
    const fields = {
      code: error.code,
      reason: error.message,
      remote: request.clientAddress,
      user: (error as { claimedUser?: string }).claimedUser,
    };
    const logger = this.#log(request);
    if (error.statusCode === 503) logger.error('authentication unavailable', fields);
    else if (error.statusCode === 400) logger.warn('bad authentication token', fields);
    else logger.warn('logon refused', fields);
    // A refusal re-offers what we accept; a client that used a scheme we do not offer first
    // (raw NTLMSSP under Negotiate) hears its own scheme back.
    const offered = this.#mechanisms.find(scheme)?.challenge !== undefined;
    const offers = offered ? this.#mechanisms.offers(request.secure === true) : [scheme];
    return { kind: 'fail', error, offers };
  }

  #log(request: AuthRequest): Logger {
    return request.logger ?? this.#options.logger;
  }

  #cookieToken(header: string | undefined): string | undefined {
    const cookie = this.#options.tokens?.cookie;
    return cookie ? readCookie(header, cookie.name ?? DEFAULT_COOKIE_NAME) || undefined : undefined;
  }

  async close(): Promise<void> {
    this.#operations.close();
    this.#options.tokens?.close();
    this.#options.basic?.kdc?.close();
    await this.#options.verifier.close?.();
    await this.#options.store?.close?.();
  }
}
