import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { ConfigurationError } from '../errors.js';
import type { BearerKey, PublicJwk, TokenAlgorithm } from '../types.js';

export interface ResolvedKey {
  readonly kid: string;
  readonly algorithm: TokenAlgorithm;
  readonly signKey: KeyObject | undefined;
  readonly verifyKey: KeyObject;
}

export const DEFAULT_KID = 'default';

/** HMAC secrets at least as long as the hash (RFC 7518 3.2). */
const SECRET_BYTES: Partial<Record<TokenAlgorithm, number>> = { HS256: 32, HS384: 48, HS512: 64 };

interface KeyRule {
  readonly check: (key: KeyObject) => boolean;
  readonly needs: string;
}
const RSA: KeyRule = {
  check: (key) => key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048,
  needs: 'an RSA key of at least 2048 bits',
};
const onCurve = (curve: string, name: string): KeyRule => ({
  check: (key) => key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === curve,
  needs: `an EC key on ${name}`,
});
/** What each asymmetric algorithm needs of its key (RFC 7518 3.3-3.5, RFC 8037). */
const ASYMMETRIC: Partial<Record<TokenAlgorithm, KeyRule>> = {
  RS256: RSA,
  RS384: RSA,
  RS512: RSA,
  PS256: RSA,
  PS384: RSA,
  PS512: RSA,
  ES256: onCurve('prime256v1', 'P-256'),
  ES384: onCurve('secp384r1', 'P-384'),
  ES512: onCurve('secp521r1', 'P-521'),
  EdDSA: { check: (key) => key.asymmetricKeyType === 'ed25519', needs: 'an Ed25519 key' },
};

export const TOKEN_ALGORITHMS = [
  ...Object.keys(SECRET_BYTES),
  ...Object.keys(ASYMMETRIC),
] as TokenAlgorithm[];

function asKey(value: string | Buffer | KeyObject, make: (v: string | Buffer) => KeyObject): KeyObject {
  return typeof value === 'object' && !Buffer.isBuffer(value) ? value : make(value);
}

/** Checks each key once, at start-up: sizes, curves, and that the algorithm fits the key type. */
function resolveKey(key: BearerKey): ResolvedKey {
  const where = `bearer key "${key.kid}"`;
  const secretBytes = SECRET_BYTES[key.algorithm];
  if (secretBytes !== undefined) {
    if (key.key === undefined)
      throw new ConfigurationError(`${where}: ${key.algorithm} needs key (the secret)`);
    const secret = asKey(key.key, (v) => createSecretKey(typeof v === 'string' ? Buffer.from(v, 'utf8') : v));
    if (secret.type !== 'secret' || (secret.symmetricKeySize ?? 0) < secretBytes) {
      throw new ConfigurationError(
        `${where}: the ${key.algorithm} secret must be at least ${secretBytes} bytes (e.g. crypto.randomBytes(${secretBytes}))`,
      );
    }
    return { kid: key.kid, algorithm: key.algorithm, signKey: secret, verifyKey: secret };
  }
  const rule = ASYMMETRIC[key.algorithm];
  if (!rule)
    throw new ConfigurationError(`${where}: algorithm must be one of ${TOKEN_ALGORITHMS.join(', ')}`);
  const signKey = key.key === undefined ? undefined : asKey(key.key, (v) => createPrivateKey(v));
  const verifyKey =
    key.publicKey !== undefined
      ? asKey(key.publicKey, (v) => createPublicKey(v))
      : signKey && createPublicKey(signKey);
  if (!verifyKey) throw new ConfigurationError(`${where}: ${key.algorithm} needs key (private) or publicKey`);
  if (verifyKey.type !== 'public' || !rule.check(verifyKey)) {
    throw new ConfigurationError(`${where}: ${key.algorithm} needs ${rule.needs}`);
  }
  return { kid: key.kid, algorithm: key.algorithm, signKey, verifyKey };
}

/** The signing key and every accepted key, from `bearer.secret` or `bearer.keys`. */
export function resolveKeys(options: { secret?: string | Buffer; keys?: BearerKey[] }): {
  signer: ResolvedKey;
  byKid: ReadonlyMap<string, ResolvedKey>;
} {
  const keys =
    options.keys ??
    (options.secret !== undefined
      ? [{ kid: DEFAULT_KID, algorithm: 'HS256' as const, key: options.secret }]
      : []);
  if (keys.length === 0) throw new ConfigurationError('bearer needs secret (HS256) or keys');
  const resolved = keys.map(resolveKey);
  const byKid = new Map(resolved.map((key) => [key.kid, key]));
  if (byKid.size !== resolved.length) throw new ConfigurationError('bearer.keys: each kid must be unique');
  const signer = resolved[0]!;
  if (!signer.signKey)
    throw new ConfigurationError(
      `bearer key "${signer.kid}": the first key signs, so it needs its private key`,
    );
  return { signer, byKid };
}

/**
 * The public half of each asymmetric key, as a JWK with its kid and algorithm (RFC 7517), for
 * others to check our tokens with. A secret (HS*) is never published: whoever holds it can sign.
 */
export function publicJwks(keys: Iterable<ResolvedKey>): PublicJwk[] {
  const published: PublicJwk[] = [];
  for (const key of keys) {
    if (key.verifyKey.type !== 'public') continue;
    const { kty, n, e, crv, x, y } = key.verifyKey.export({ format: 'jwk' });
    published.push(
      Object.freeze({
        kty: kty as PublicJwk['kty'],
        kid: key.kid,
        alg: key.algorithm,
        use: 'sig' as const,
        ...(n === undefined ? {} : { n, e }),
        ...(crv === undefined ? {} : { crv, x }),
        ...(y === undefined ? {} : { y }),
      }),
    );
  }
  return published;
}
