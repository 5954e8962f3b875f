/**
 * Revoked Bearer tokens held in this process until each would have expired anyway, in bounded
 * memory without ever forgetting one early. When the list is full, the oldest revocation makes
 * room and a watermark rises to its expiry: from then on every token that expires no later than
 * it is refused too. That can refuse some tokens nobody revoked (their holders authenticate
 * again, silently for NTLM) but never lets a revoked one back in: an LRU that simply dropped the
 * oldest entry did (after 100,000 logouts, the first revoked token worked again).
 */
export class RevocationList {
  /** Token id → expiry (ms), in the order revoked. */
  readonly #expiries = new Map<string, number>();
  /** Tokens that expire at or before this instant (ms) are refused whatever their id. */
  #refusedUpTo = 0;

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.#expiries.size;
  }

  /** The watermark: every token that expires at or before it counts as revoked (ms since the epoch). */
  get refusedUpTo(): number {
    return this.#refusedUpTo;
  }

  add(tokenId: string, expiresAt: number, now = Date.now()): void {
    if (expiresAt <= now || expiresAt <= this.#refusedUpTo) return;
    this.#expiries.delete(tokenId);
    if (this.#expiries.size >= this.maxEntries) this.#makeRoom(now);
    this.#expiries.set(tokenId, expiresAt);
  }

  isRevoked(tokenId: string, expiresAt: number): boolean {
    return expiresAt <= this.#refusedUpTo || this.#expiries.has(tokenId);
  }

  /**
   * Drops expired revocations from the front (revoked first, so with one token lifetime also the
   * first to expire); if that frees nothing, the oldest revocation goes and the watermark rises
   * to cover it. Amortised O(1): each entry is looked at once on its way out.
   */
  #makeRoom(now: number): void {
    for (const [tokenId, expiresAt] of this.#expiries) {
      if (expiresAt > now && expiresAt > this.#refusedUpTo) break;
      this.#expiries.delete(tokenId);
    }
    if (this.#expiries.size < this.maxEntries) return;
    const [oldestId, oldestExpiry] = this.#expiries.entries().next().value as [string, number];
    this.#expiries.delete(oldestId);
    this.#refusedUpTo = Math.max(this.#refusedUpTo, oldestExpiry);
  }
}
