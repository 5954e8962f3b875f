import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import { DEFAULTS } from '../defaults.js';
import type { Store } from '../store/store.js';
import type { BearerOptions, CookieOptions, NtlmIdentity } from '../types.js';
import { positiveInteger } from '../validation.js';
import { RevocationList } from './revocation-list.js';
import { type ResolvedKey, resolveKeys } from './signing-keys.js';

export const DEFAULT_COOKIE_NAME = DEFAULTS.bearer.cookieName;

/** The Set-Cookie values for a token, and for clearing it at logout. */
export function tokenCookie(
  options: CookieOptions,
  token: string | undefined,
  maxAgeSeconds: number,
): string {
  const parts = [
    `${options.name ?? DEFAULT_COOKIE_NAME}=${token ?? ''}`,
    'Path=/',
    'HttpOnly',
    `SameSite=${options.sameSite ?? DEFAULTS.bearer.cookieSameSite}`,
    `Max-Age=${token ? maxAgeSeconds : 0}`,
  ];
  if (options.secure !== false) parts.push('Secure');
  return parts.join('; ');
}

/** The value of one cookie from a Cookie header (names are compared exactly, as browsers send them). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const pair of header?.split(';') ?? []) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return undefined;
}

export interface VerifiedToken {
  readonly identity: NtlmIdentity;
  readonly tokenId: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

const REVOKED = 'ntlm-sso:revoked:';
/** How often revocations the shared store could not take are offered to it again. */
const RESYNC_MS = 2000;

/**
 * lua-resty-ntlm's idea: once a connection has done NTLM, the client gets a signed token and
 * later requests, on any connection and any instance with the key, skip NTLM. JWT HS256 via
 * jsonwebtoken, with the algorithm, issuer and audience pinned (it would otherwise accept any
 * HS* algorithm, and `none` with an empty key), and the key as a KeyObject (25x faster than a
 * string, which jsonwebtoken first tries to parse as PEM).
 *
 * Revocations live in this process (a bounded RevocationList that never forgets one early) and,
 * when a store is shared with other instances, in that store too. A revocation the store cannot
 * take (Redis down) holds here at once and is written to the store when it answers again.
 */
export class BearerTokens {
  readonly #signer: ResolvedKey;
  readonly #keys: ReadonlyMap<string, ResolvedKey>;
  readonly #expiresIn: number;
  readonly #issuer: string;
  readonly #audience: string;
  readonly #revoked: RevocationList;
  readonly #verified: LRUCache<string, VerifiedToken>;
  /** Revocations the shared store has not taken yet: token id → expiry (ms). */
  readonly #unsynced = new Map<string, number>();
  #resync: NodeJS.Timeout | undefined;
  /** Cookie settings when `cookie` is on. */
  readonly cookie: CookieOptions | undefined;

  /** `shared`: the store other instances read revocations from; none when this process is alone. */
  constructor(
    options: BearerOptions,
    private readonly shared: Store | undefined,
  ) {
    ({ signer: this.#signer, byKid: this.#keys } = resolveKeys(options ?? {}));
    this.#expiresIn = positiveInteger(
      options.expiresInSeconds,
      'bearer.expiresInSeconds',
      DEFAULTS.bearer.expiresInSeconds,
    );
    this.#issuer = options.issuer ?? DEFAULTS.bearer.issuer;
    this.#audience = options.audience ?? DEFAULTS.bearer.audience;
    this.#revoked = new RevocationList(
      positiveInteger(options.maxRevocations, 'bearer.maxRevocations', DEFAULTS.bearer.maxRevocations),
    );
    this.#verified = new LRUCache({
      max: positiveInteger(
        options.verifiedCacheSize,
        'bearer.verifiedCacheSize',
        DEFAULTS.bearer.verifiedCacheSize,
      ),
    });
    this.cookie = options.cookie === true ? {} : options.cookie || undefined;
  }

  get lifetimeSeconds(): number {
    return this.#expiresIn;
  }

  issue(identity: NtlmIdentity): { token: string; tokenId: string; expiresAt: number } {
    const { username, domain, groups, displayName, mail, sid } = identity;
    const tokenId = randomUUID();
    // iat chosen here, so that expiresAt is exactly the token's exp, as verify() reports it.
    const iat = Math.floor(Date.now() / 1000);
    const claims = { username, domain, groups, displayName, mail, sid, iat };
    const token = jwt.sign(claims, this.#signer.signKey!, {
      algorithm: this.#signer.algorithm,
      keyid: this.#signer.kid,
      expiresIn: this.#expiresIn,
      issuer: this.#issuer,
      audience: this.#audience,
      subject: `${domain}\\${username}`,
      jwtid: tokenId,
    });
    return { token, tokenId, expiresAt: (iat + this.#expiresIn) * 1000 };
  }

  /**
   * The token's identity, or undefined when it is invalid, expired, tampered with or revoked.
   * Answered at once when no store is shared (the common case costs no promise); with a shared
   * store, a promise that rejects when the store cannot say whether another instance revoked it.
   */
  verify(token: string): VerifiedToken | undefined | Promise<VerifiedToken | undefined> {
    const verified = this.#verified.get(token) ?? this.#check(token);
    if (!verified || this.#revoked.isRevoked(verified.tokenId, verified.expiresAt)) return undefined;
    if (!this.shared) return verified;
    return this.shared
      .get(REVOKED + verified.tokenId)
      .then((revoked) => (revoked === undefined ? verified : undefined));
  }

  /** Signature, algorithm, issuer, audience, expiry and claims; remembered until the token expires. */
  #check(token: string): VerifiedToken | undefined {
    let claims: jwt.JwtPayload;
    try {
      // The key is chosen by kid, and only that key's own algorithm is allowed: an RS256 public
      // key can never be used as an HS256 secret (algorithm confusion), nor `none` accepted.
      const kid = jwt.decode(token, { complete: true })?.header.kid;
      const key = kid === undefined ? undefined : this.#keys.get(kid);
      if (!key) return undefined;
      claims = jwt.verify(token, key.verifyKey, {
        algorithms: [key.algorithm],
        issuer: this.#issuer,
        audience: this.#audience,
      }) as jwt.JwtPayload;
    } catch {
      return undefined;
    }
    if (
      typeof claims.jti !== 'string' ||
      typeof claims.username !== 'string' ||
      typeof claims.domain !== 'string' ||
      typeof claims.exp !== 'number' ||
      !hasOwnClaimTypes(claims)
    )
      return undefined;
    const verified: VerifiedToken = {
      tokenId: claims.jti,
      issuedAt: (claims.iat ?? 0) * 1000,
      expiresAt: claims.exp * 1000,
      identity: {
        username: claims.username,
        domain: claims.domain,
        // A token travels without its connection: there is no workstation to report.
        workstation: '',
        groups: claims.groups,
        displayName: claims.displayName,
        mail: claims.mail,
        sid: claims.sid,
      },
    };
    const ttl = verified.expiresAt - Date.now();
    if (ttl > 0) this.#verified.set(token, verified, { ttl });
    return verified;
  }

  /**
   * Revokes a token until it would have expired anyway: in this process at once, and in the
   * shared store. Resolves `false` when the store did not take it yet (it is offered again every
   * few seconds); this process refuses the token either way.
   */
  async revoke(tokenId: string, expiresAt: number): Promise<boolean> {
    this.#revoked.add(tokenId, expiresAt);
    if (!this.shared) return true;
    try {
      await this.#share(tokenId, expiresAt);
      return true;
    } catch {
      this.#unsynced.set(tokenId, expiresAt);
      this.#scheduleResync();
      return false;
    }
  }

  #share(tokenId: string, expiresAt: number): Promise<void> {
    return this.shared!.set(REVOKED + tokenId, '1', Math.ceil((expiresAt - Date.now()) / 1000));
  }

  #scheduleResync(): void {
    if (this.#resync) return;
    this.#resync = setTimeout(() => {
      this.#resync = undefined;
      void this.#resyncNow();
    }, RESYNC_MS);
    this.#resync.unref();
  }

  /** Offers the store what it missed, oldest first; what has expired meanwhile is dropped. */
  async #resyncNow(): Promise<void> {
    for (const [tokenId, expiresAt] of this.#unsynced) {
      if (expiresAt > Date.now()) {
        try {
          await this.#share(tokenId, expiresAt);
        } catch {
          this.#scheduleResync();
          return;
        }
      }
      this.#unsynced.delete(tokenId);
    }
  }

  /** Stops retrying (the application is shutting down). */
  close(): void {
    clearTimeout(this.#resync);
    this.#resync = undefined;
  }
}

/**
 * The optional claims `issue` writes, as it writes them: groups a list of names, the others text.
 * A token signed with our key but carrying anything else (another signer sharing the key, a bug)
 * is refused, rather than handing the access rules a group that is not a string.
 */
function hasOwnClaimTypes(claims: jwt.JwtPayload): boolean {
  const { groups, displayName, mail, sid } = claims;
  if (groups !== undefined && !(Array.isArray(groups) && groups.every((group) => typeof group === 'string')))
    return false;
  return [displayName, mail, sid].every((claim) => claim === undefined || typeof claim === 'string');
}
