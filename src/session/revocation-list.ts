/**
 * How many live revocations one user keeps by token id. A person logs out a few times an hour;
 * a hundred within one token lifetime is a script, and beyond it that user's own older tokens
 * pay (see RevocationList), nobody else's.
 */
export const REVOCATIONS_PER_USER = 100;

/**
 * Revoked Bearer tokens held in this process until each would have expired anyway, in bounded
 * memory, without ever forgetting one early, and with each user paying for their own logouts.
 *
 * Revocations are kept by token id, per user (the token's `domain\user`). Making room never
 * drops a revocation outright: the dropped one raises a watermark for its own user, and every
 * token of that user expiring no later than it is refused too (its holder authenticates again,
 * silently for NTLM). Room is made
 * - per user: a user with REVOCATIONS_PER_USER live revocations loses their oldest one;
 * - overall: with `maxEntries` in all, the oldest revocation of anyone goes (to its own user's
 *   watermark), so a flood by one user (or many) never refuses another user's token.
 * An LRU that simply dropped the oldest entry let a revoked token back in (after 100,000
 * logouts); one watermark for everyone refused every token older than ~27 s, the tokens of
 * users who never logged out included.
 *
 * Watermarks are held per user, at most `maxEntries` of them (one per user with a dropped
 * revocation, until it passes). Only when that many users each have a live one does the lowest
 * watermark fold into a floor for everyone: the one case where a user who never revoked anything
 * pays (their tokens expiring before that watermark authenticate again). It takes more than
 * `maxEntries` distinct users whose revocations overflowed within one token lifetime, i.e. that
 * many accounts' credentials, and still never lets a revoked token back in.
 */
export class RevocationList {
  /** Token id → its user, in the order revoked (everyone's): the oldest is dropped first. */
  readonly #order = new Map<string, string>();
  /** User → their revoked token ids → expiry (ms), in the order revoked. */
  readonly #byUser = new Map<string, Map<string, number>>();
  /** User → every token of theirs that expires at or before this (ms) is refused. */
  readonly #watermarks = new Map<string, number>();
  /** Everyone's tokens that expire at or before this are refused: only after #watermarks overflowed. */
  #floor = 0;
  readonly maxPerUser: number;

  constructor(
    readonly maxEntries: number,
    maxPerUser = REVOCATIONS_PER_USER,
  ) {
    this.maxPerUser = Math.min(maxPerUser, maxEntries);
  }

  /** Revocations held by token id. */
  get size(): number {
    return this.#order.size;
  }

  /** Users with a watermark. */
  get watermarkCount(): number {
    return this.#watermarks.size;
  }

  /** Every token of `user` that expires at or before this (ms since the epoch) counts as revoked. */
  refusedUpTo(user: string): number {
    return Math.max(this.#floor, this.#watermarks.get(user) ?? 0);
  }

  add(user: string, tokenId: string, expiresAt: number, now = Date.now()): void {
    if (expiresAt <= now || expiresAt <= this.refusedUpTo(user)) return;
    this.#remove(tokenId);
    const held = this.#byUser.get(user);
    if (held && held.size >= this.maxPerUser) this.#makeRoom(held, user, now);
    if (this.#order.size >= this.maxEntries) this.#makeRoomOverall(now);
    // (Making room may have emptied, and so removed, the user's own map.)
    const own = this.#byUser.get(user) ?? new Map<string, number>();
    this.#byUser.set(user, own);
    own.set(tokenId, expiresAt);
    this.#order.set(tokenId, user);
  }

  isRevoked(user: string, tokenId: string, expiresAt: number): boolean {
    return expiresAt <= this.refusedUpTo(user) || this.#order.has(tokenId);
  }

  /** A user's own list is full: their expired revocations go, else their oldest, to their watermark. */
  #makeRoom(own: Map<string, number>, user: string, now: number): void {
    for (const [tokenId, expiresAt] of own) {
      if (expiresAt > now) break;
      this.#remove(tokenId);
    }
    if (own.size < this.maxPerUser) return;
    const [oldestId, oldestExpiry] = own.entries().next().value as [string, number];
    this.#remove(oldestId);
    this.#raise(user, oldestExpiry, now);
  }

  /**
   * Everyone's list is full: expired revocations go from the front (revoked first, so with one
   * token lifetime also the first to expire); if that frees nothing, the oldest revocation goes,
   * to its own user's watermark. Amortised O(1): each entry is looked at once on its way out.
   */
  #makeRoomOverall(now: number): void {
    for (const [tokenId, user] of this.#order) {
      const expiresAt = this.#byUser.get(user)?.get(tokenId) ?? 0;
      if (expiresAt > now && expiresAt > this.refusedUpTo(user)) break;
      this.#remove(tokenId);
    }
    if (this.#order.size < this.maxEntries) return;
    const [oldestId, user] = this.#order.entries().next().value as [string, string];
    const expiresAt = this.#byUser.get(user)!.get(oldestId)!;
    this.#remove(oldestId);
    this.#raise(user, expiresAt, now);
  }

  /** Raises `user`'s watermark; their revocations it now covers are dropped (it refuses them). */
  #raise(user: string, expiresAt: number, now: number): void {
    const level = Math.max(expiresAt, this.#watermarks.get(user) ?? 0);
    if (!this.#watermarks.has(user) && this.#watermarks.size >= this.maxEntries) this.#foldWatermark(now);
    this.#watermarks.set(user, level);
    for (const [tokenId, expiry] of this.#byUser.get(user) ?? []) {
      if (expiry > level) break;
      this.#remove(tokenId);
    }
  }

  /**
   * Too many users have a watermark: those that have passed go (every token they cover has
   * expired); if none has, the lowest one becomes the floor for everyone, so that the fewest
   * tokens pay. A scan of every watermark, but only in that rare state (see the class).
   */
  #foldWatermark(now: number): void {
    let lowest: [string, number] | undefined;
    for (const [user, level] of this.#watermarks) {
      if (level <= now || level <= this.#floor) this.#watermarks.delete(user);
      else if (!lowest || level < lowest[1]) lowest = [user, level];
    }
    if (this.#watermarks.size < this.maxEntries || !lowest) return;
    this.#watermarks.delete(lowest[0]);
    this.#floor = Math.max(this.#floor, lowest[1]);
  }

  #remove(tokenId: string): void {
    const user = this.#order.get(tokenId);
    if (user === undefined) return;
    this.#order.delete(tokenId);
    const own = this.#byUser.get(user)!;
    own.delete(tokenId);
    if (own.size === 0) this.#byUser.delete(user);
  }
}
