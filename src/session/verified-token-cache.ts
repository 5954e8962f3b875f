/** What the cache needs of an entry: when it stops answering (ms since the epoch). */
export interface Expiring {
  readonly expiresAt: number;
}

/**
 * Bounded memory of verified Bearer tokens, each until it expires. Its `get` runs on every Bearer
 * request, so it does the least it can: one Map lookup and one clock read.
 *
 * Why not lru-cache (which the in-process store keeps): its `get` reorders the entry and checks a
 * TTL of its own, and under callgrind's cache simulation it was about a third of the Bearer path's
 * instruction-cache misses above an empty layer, and ~2,400 instructions a request
 * (bench/analysis.md, sessions 12 and 13). What is given up is recency: when the cache is full,
 * the entry dropped is the oldest inserted, not the least recently used. Dropping a busy token
 * costs one more signature check on its next request and never lets a token through; an expired
 * entry never answers.
 */
export class VerifiedTokenCache<Key, Entry extends Expiring> {
  /** Key → entry, in insertion order: the first is the one to drop when full. */
  readonly #entries = new Map<Key, Entry>();

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.#entries.size;
  }

  /** The entry under `key` while it has not expired; an expired one is dropped. */
  get(key: Key): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.expiresAt > Date.now()) return entry;
    this.#entries.delete(key);
    return undefined;
  }

  /** Keeps `entry` until its expiresAt (one already expired is not kept), dropping the oldest when full. */
  set(key: Key, entry: Entry): void {
    if (entry.expiresAt <= Date.now()) return;
    this.#entries.delete(key);
    if (this.#entries.size >= this.maxEntries) this.#dropOldest();
    this.#entries.set(key, entry);
  }

  /**
   * The oldest inserted. An expired entry nobody reads again keeps its place until it is the
   * oldest; the bound holds either way, and no set pays for a scan.
   */
  #dropOldest(): void {
    this.#entries.delete(this.#entries.keys().next().value!);
  }
}
