import { type KeyObject, randomUUID, webcrypto } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { DEFAULTS } from '../defaults.js';
import { OPTION_KEYS } from '../option-keys.js';
import { ownString } from '../own-copy.js';
import type { Store } from '../store/store.js';
import type { BearerOptions, CookieOptions, JsonWebKeySet, NtlmIdentity } from '../types.js';
import { knownKeysOnly, positiveInteger } from '../validation.js';
import { RevocationList } from './revocation-list.js';
import { publicJwks, type ResolvedKey, resolveKeys } from './signing-keys.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

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
  /** Whose revocations apply to it (revocationOwner of its identity), computed once per token. */
  readonly owner: string;
  /** The token itself, a copy of its own (it may have come as a slice of a Cookie header). */
  readonly token: string;
}

/**
 * jose, loaded when the first token is signed or checked: it costs ~8 MB of RSS, which an app
 * without `bearer` should not pay. ESM-only; import() works from our CommonJS build too.
 */
let jose: Promise<typeof import('jose')> | undefined;
const loadJose = () => {
  jose ??= import('jose');
  return jose;
};

/**
 * A key as jose takes it fastest. jose accepts a KeyObject, but imports a secret into WebCrypto on
 * every call: an HMAC CryptoKey made once per key signs and checks about twice as fast. Asymmetric
 * KeyObjects jose converts once and remembers itself.
 */
const hmacKeys = new WeakMap<ResolvedKey, Promise<webcrypto.CryptoKey>>();
function joseKey(key: ResolvedKey, use: KeyObject): KeyObject | Promise<webcrypto.CryptoKey> {
  if (use.type !== 'secret') return use;
  let imported = hmacKeys.get(key);
  if (!imported) {
    const hash = { name: `SHA-${key.algorithm.slice(2)}` };
    imported = webcrypto.subtle.importKey('raw', use.export(), { name: 'HMAC', hash }, false, [
      'sign',
      'verify',
    ]);
    hmacKeys.set(key, imported);
  }
  return imported;
}

const REVOKED = 'ntlm-sso:revoked:';
/** How often revocations the shared store could not take are offered to it again. */
const RESYNC_MS = 2000;

/** Whose revocation it is: per user, so that one user's logouts cost only their own tokens. */
function revocationOwner(identity: Pick<NtlmIdentity, 'username' | 'domain'>): string {
  return `${identity.domain}\\${identity.username}`.toLowerCase();
}

/**
 * lua-resty-ntlm's idea: once a connection has done NTLM, the client gets a signed token and
 * later requests, on any connection and any instance with the key, skip NTLM. A JWT through jose
 * (no dependencies, strict by default), with the algorithm pinned to the key its kid names, and
 * the issuer and audience checked. The public keys of asymmetric algorithms are published as a
 * JWKS, so that other services can check the tokens with any JWT library.
 *
 * Revocations live in this process (a bounded RevocationList that never forgets one early and
 * bounds each user's own) and, when a store is shared with other instances, in that store too. A revocation the store cannot
 * take (Redis down) holds here at once and is written to the store when it answers again.
 */
/** Misspelt keys in `bearer`, its `cookie` or one of its `keys`, refused like those of ntlm(). */
function checkBearerKeys(options: BearerOptions | undefined): void {
  knownKeysOnly(options, OPTION_KEYS.bearer, 'ntlm()', 'bearer.');
  knownKeysOnly(options?.cookie, OPTION_KEYS.cookie, 'ntlm()', 'bearer.cookie.');
  if (Array.isArray(options?.keys))
    options.keys.forEach((key, index) => {
      knownKeysOnly(key, OPTION_KEYS.bearerKey, 'ntlm()', `bearer.keys[${index}].`);
    });
}

/**
 * Where the verified-token cache keeps a token: under a small integer made from the last
 * characters of its signature, not under text. The header's string is new on every request, so a
 * text key is hashed again each time: the whole ~1 KB token cost ~3,800 instructions a request
 * (bench/analysis.md, session 11), and with the signature as the key a lookup still took ~220 ns
 * in a loop, against ~70 with this one (session 14). A signature's characters are random, so two
 * tokens the cache holds seldom share a key. An entry answers only for a token equal to its own,
 * character for character; a token that shares its key is checked in full and then takes its place.
 */
function cacheKey(token: string): number {
  let key = 0;
  for (let i = Math.max(0, token.length - KEY_CHARACTERS); i < token.length; i++) {
    key = (Math.imul(key, 31) + token.charCodeAt(i)) | 0;
  }
  // 30 bits: an integer V8 keeps unboxed (a Smi), whose hash is itself.
  return key & 0x3fffffff;
}
/** How many of the signature's last characters make the key (up to 6 random bits each). */
const KEY_CHARACTERS = 8;

/**
 * A token as `issue` writes it: compact JWS, three base64url parts without padding. jose also
 * reads one with whitespace inside a part (its decoder skips it); such a token is never ours and
 * is refused before jose sees it, so that every token the cache holds is one token, which the
 * Authenticator need not scan again.
 */
const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]+$/;

export class BearerTokens {
  readonly #signer: ResolvedKey;
  readonly #keys: ReadonlyMap<string, ResolvedKey>;
  readonly #jwks: JsonWebKeySet;
  readonly #expiresIn: number;
  readonly #issuer: string;
  readonly #audience: string;
  readonly #revoked: RevocationList;
  /** Tokens verified: cacheKey (from the signature's last characters) → what they say. */
  readonly #verified: VerifiedTokenCache<number, VerifiedToken>;
  /** Revocations the shared store has not taken yet: token id → expiry (ms). */
  readonly #unsynced = new Map<string, number>();
  #resync: NodeJS.Timeout | undefined;
  /** Cookie settings when `cookie` is on. */
  readonly cookie: CookieOptions | undefined;
  /** Where the adapters answer GET with the JWKS, when they do. */
  readonly jwksPath: string | false;

  /** `shared`: the store other instances read revocations from; none when this process is alone. */
  constructor(
    options: BearerOptions,
    private readonly shared: Store | undefined,
  ) {
    checkBearerKeys(options);
    ({ signer: this.#signer, byKid: this.#keys } = resolveKeys(options ?? {}));
    this.#jwks = Object.freeze({ keys: Object.freeze(publicJwks(this.#keys.values())) });
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
    this.#verified = new VerifiedTokenCache(
      positiveInteger(
        options.verifiedCacheSize,
        'bearer.verifiedCacheSize',
        DEFAULTS.bearer.verifiedCacheSize,
      ),
    );
    this.cookie = options.cookie === true ? {} : options.cookie || undefined;
    this.jwksPath = options.jwksPath ?? DEFAULTS.bearer.jwksPath;
  }

  get lifetimeSeconds(): number {
    return this.#expiresIn;
  }

  /** The public keys that check our tokens (asymmetric keys only; never a secret). */
  jwks(): JsonWebKeySet {
    return this.#jwks;
  }

  async issue(identity: NtlmIdentity): Promise<{ token: string; tokenId: string; expiresAt: number }> {
    const { SignJWT } = await loadJose();
    const { username, domain, groups, displayName, mail, sid } = identity;
    const tokenId = randomUUID();
    // iat chosen here, so that expiresAt is exactly the token's exp, as verify() reports it.
    const iat = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ username, domain, groups, displayName, mail, sid })
      .setProtectedHeader({ alg: this.#signer.algorithm, kid: this.#signer.kid, typ: 'JWT' })
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.#expiresIn)
      .setIssuer(this.#issuer)
      .setAudience(this.#audience)
      .setSubject(`${domain}\\${username}`)
      .setJti(tokenId)
      .sign(await joseKey(this.#signer, this.#signer.signKey!));
    return { token, tokenId, expiresAt: (iat + this.#expiresIn) * 1000 };
  }

  /**
   * The token's identity, or undefined when it is invalid, expired, tampered with or revoked.
   * A token checked before is answered at once when no store is shared (the common case costs no
   * promise); a new one, or any with a shared store, through a promise, which rejects when the
   * store cannot say whether another instance revoked it.
   */
  verify(
    token: string,
    /** What `known(token)` answered, when the caller asked it already. */
    known = this.known(token),
  ): VerifiedToken | undefined | Promise<VerifiedToken | undefined> {
    if (known === undefined)
      return this.#check(token).then((verified) => verified && this.#unlessRevoked(verified));
    return this.#unlessRevoked(known);
  }

  /** `token` as this process verified it before and still remembers it (revoked or not): compact JWS. */
  known(token: string): VerifiedToken | undefined {
    const entry = this.#verified.get(cacheKey(token));
    return entry?.token === token ? entry : undefined;
  }

  #unlessRevoked(verified: VerifiedToken): VerifiedToken | undefined | Promise<VerifiedToken | undefined> {
    if (this.#revoked.isRevoked(verified.owner, verified.tokenId, verified.expiresAt)) return undefined;
    if (!this.shared) return verified;
    return this.shared
      .get(REVOKED + verified.tokenId)
      .then((revoked) => (revoked === undefined ? verified : undefined));
  }

  /** Signature, algorithm, issuer, audience, expiry and claims; remembered until the token expires. */
  async #check(token: string): Promise<VerifiedToken | undefined> {
    if (!COMPACT_JWS.test(token)) return undefined;
    let claims: JWTPayload;
    try {
      const { decodeProtectedHeader, jwtVerify } = await loadJose();
      // The key is chosen by kid, and only that key's own algorithm is allowed: an RS256 public
      // key can never be used as an HS256 secret (algorithm confusion), nor `none` accepted.
      const { kid } = decodeProtectedHeader(token);
      const key = typeof kid === 'string' ? this.#keys.get(kid) : undefined;
      if (!key) return undefined;
      ({ payload: claims } = await jwtVerify(token, await joseKey(key, key.verifyKey), {
        algorithms: [key.algorithm],
        issuer: this.#issuer,
        audience: this.#audience,
        requiredClaims: ['exp', 'jti'],
      }));
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
      token: ownString(token),
      owner: revocationOwner(claims as { username: string; domain: string }),
      tokenId: claims.jti,
      issuedAt: (claims.iat ?? 0) * 1000,
      expiresAt: claims.exp * 1000,
      identity: {
        username: claims.username,
        domain: claims.domain,
        // A token travels without its connection: there is no workstation to report.
        workstation: '',
        groups: Array.isArray(claims.groups) ? (claims.groups as string[]) : undefined,
        displayName: claims.displayName as string | undefined,
        mail: claims.mail as string | undefined,
        sid: claims.sid as string | undefined,
      },
    };
    this.#verified.set(cacheKey(verified.token), verified);
    return verified;
  }

  /**
   * Revokes a token until it would have expired anyway: in this process at once, and in the
   * shared store. Resolves `false` when the store did not take it yet (it is offered again every
   * few seconds); this process refuses the token either way. `owner`: the token's user.
   */
  async revoke(
    tokenId: string,
    expiresAt: number,
    owner: Pick<NtlmIdentity, 'username' | 'domain'>,
  ): Promise<boolean> {
    this.#revoked.add(revocationOwner(owner), tokenId, expiresAt);
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
function hasOwnClaimTypes(claims: JWTPayload): boolean {
  const { groups, displayName, mail, sid } = claims;
  if (groups !== undefined && !(Array.isArray(groups) && groups.every((group) => typeof group === 'string')))
    return false;
  return [displayName, mail, sid].every((claim) => claim === undefined || typeof claim === 'string');
}
