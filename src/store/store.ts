import { LRUCache } from 'lru-cache';
import type { Store } from '../types.js';

export type { Store };

/**
 * In-process store. lru-cache rather than node-cache (the design's first pick): node-cache is
 * unmaintained since 2020 and its `maxKeys` throws ECACHEFULL instead of evicting, which would
 * turn a full cache into failed logons; lru-cache evicts the least recently used entry.
 */
export class MemoryStore implements Store {
  readonly #cache: LRUCache<string, string>;

  constructor(options: { maxEntries?: number } = {}) {
    this.#cache = new LRUCache({ max: options.maxEntries ?? 100_000, ttlAutopurge: false });
  }

  async get(key: string): Promise<string | undefined> {
    return this.#cache.get(key);
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.#cache.set(key, value, { ttl: Math.max(1, ttlSeconds) * 1000 });
  }

  async delete(key: string): Promise<void> {
    this.#cache.delete(key);
  }

  // Atomic because nothing awaits between the check and the write (one event-loop turn).
  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    if (this.#cache.has(key)) return false;
    this.#cache.set(key, value, { ttl: Math.max(1, ttlSeconds) * 1000 });
    return true;
  }
}
