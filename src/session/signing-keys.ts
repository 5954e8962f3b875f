import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { ConfigurationError } from '../errors.js';
import type { BearerKey, TokenAlgorithm } from '../types.js';

export interface ResolvedKey {
  readonly kid: string;
  readonly algorithm: TokenAlgorithm;
  readonly signKey: KeyObject | undefined;
  readonly verifyKey: KeyObject;
}

const MIN_SECRET_BYTES = 32;
export const DEFAULT_KID = 'default';

function asKey(value: string | Buffer | KeyObject, make: (v: string | Buffer) => KeyObject): KeyObject {
  return typeof value === 'object' && !Buffer.isBuffer(value) ? value : make(value);
}

/** Checks each key once, at start-up: sizes, curves, and that the algorithm fits the key type. */
function resolveKey(key: BearerKey): ResolvedKey {
  const where = `bearer key "${key.kid}"`;
  if (key.algorithm === 'HS256') {
    if (key.key === undefined) throw new ConfigurationError(`${where}: HS256 needs key (the secret)`);
    const secret = asKey(key.key, (v) => createSecretKey(typeof v === 'string' ? Buffer.from(v, 'utf8') : v));
    if (secret.type !== 'secret' || (secret.symmetricKeySize ?? 0) < MIN_SECRET_BYTES) {
      throw new ConfigurationError(
        `${where}: the HS256 secret must be at least ${MIN_SECRET_BYTES} bytes (e.g. crypto.randomBytes(32))`,
      );
    }
    return { kid: key.kid, algorithm: 'HS256', signKey: secret, verifyKey: secret };
  }
  if (key.algorithm !== 'RS256' && key.algorithm !== 'ES256') {
    throw new ConfigurationError(`${where}: algorithm must be HS256, RS256 or ES256`);
  }
  const signKey = key.key === undefined ? undefined : asKey(key.key, (v) => createPrivateKey(v));
  const verifyKey =
    key.publicKey !== undefined
      ? asKey(key.publicKey, (v) => createPublicKey(v))
      : signKey && createPublicKey(signKey);
  if (!verifyKey) throw new ConfigurationError(`${where}: ${key.algorithm} needs key (private) or publicKey`);
  const details = verifyKey.asymmetricKeyDetails;
  if (
    key.algorithm === 'RS256' &&
    (verifyKey.asymmetricKeyType !== 'rsa' || (details?.modulusLength ?? 0) < 2048)
  ) {
    throw new ConfigurationError(`${where}: RS256 needs an RSA key of at least 2048 bits`);
  }
  if (
    key.algorithm === 'ES256' &&
    (verifyKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'prime256v1')
  ) {
    throw new ConfigurationError(`${where}: ES256 needs an EC key on P-256`);
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
