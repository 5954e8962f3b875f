import { createHash } from 'node:crypto';
import { type CacheObserver, Observers } from '../metrics/observer.js';
import type { Store } from '../store/store.js';

/**
 * Remembers what the directory said about a user (attributes, group names) for a while, so that
 * repeated logons skip those searches. Never whether a logon is valid: the DC decides every one.
 * The cache is an optimisation only: a store that fails is read around, never a failed logon.
 */
export class DirectoryCache {
  readonly #store: Store;
  readonly #ttlSeconds: number;
  readonly #observers = new Observers<CacheObserver>();

  constructor(store: Store, ttlSeconds: number) {
    this.#store = store;
    this.#ttlSeconds = ttlSeconds;
  }

  /** Hears of each hit and miss. */
  observe(observer: CacheObserver): () => void {
    return this.#observers.add(observer);
  }

  async remember<T>(key: string, read: () => Promise<T>): Promise<T> {
    const cached = await this.peek<T>(key);
    if (cached !== undefined) return cached;
    const value = await read();
    await this.keep(key, value);
    return value;
  }

  /** What is kept under `key`, or undefined (absent, not ours, or the store failed); a hit or a miss. */
  async peek<T>(key: string): Promise<T | undefined> {
    const cached = await this.#store.get(`directory:${key}`).catch(() => undefined);
    if (cached !== undefined) {
      try {
        const value = JSON.parse(cached) as T;
        this.#observers.each((observer) => observer.directoryCache(true));
        return value;
      } catch {
        // Not ours after all (a shared store): read it again.
      }
    }
    this.#observers.each((observer) => observer.directoryCache(false));
    return undefined;
  }

  /** Keeps `value` under `key` for the cache's lifetime; a store that fails is ignored. */
  async keep(key: string, value: unknown): Promise<void> {
    await this.#store.set(`directory:${key}`, JSON.stringify(value), this.#ttlSeconds).catch(() => {});
  }
}

/** A short, order-independent key for a set of SIDs. */
export function sidSetDigest(sids: readonly string[]): string {
  return createHash('sha256')
    .update([...sids].sort().join(','))
    .digest('base64url')
    .slice(0, 22);
}
