import { createHash } from 'node:crypto';
import type { Store } from '../store/store.js';

export interface DirectoryCacheOptions {
  /** Where entries live: the middleware's shared store (e.g. a RedisStore) or one of its own. @default an in-process MemoryStore */
  store?: Store;
  /** How long what the directory said about a user is reused. @default 300 */
  ttlSeconds?: number;
}

/**
 * Remembers what the directory said about a user (attributes, group names) for a while, so that
 * repeated logons skip those searches. Never whether a logon is valid: the DC decides every one.
 * The cache is an optimisation only: a store that fails is read around, never a failed logon.
 */
export class DirectoryCache {
  readonly #store: Store;
  readonly #ttlSeconds: number;

  constructor(store: Store, ttlSeconds: number) {
    this.#store = store;
    this.#ttlSeconds = ttlSeconds;
  }

  async remember<T>(key: string, read: () => Promise<T>): Promise<T> {
    const fullKey = `directory:${key}`;
    const cached = await this.#store.get(fullKey).catch(() => undefined);
    if (cached !== undefined) {
      try {
        return JSON.parse(cached) as T;
      } catch {
        // Not ours after all (a shared store): read it again.
      }
    }
    const value = await read();
    await this.#store.set(fullKey, JSON.stringify(value), this.#ttlSeconds).catch(() => {});
    return value;
  }
}

/** A short, order-independent key for a set of SIDs. */
export function sidSetDigest(sids: readonly string[]): string {
  return createHash('sha256')
    .update([...sids].sort().join(','))
    .digest('base64url')
    .slice(0, 22);
}
